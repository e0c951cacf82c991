"""Keypoint codecs: how a pose network's raw output maps encode keypoints, in one place each.

A codec turns the network's raw output ``(B, K, h, w)`` into keypoints and back:

* :class:`HeatmapCodec`: one Gaussian heatmap per keypoint, decoded by argmax with the official
  quarter-pixel refinement; the score is the raw heatmap maximum.
* :class:`IntegralRegressionCodec`: symmetric integral keypoint regression (SIKR, paper Sec. 3.1):
  two-step normalisation (element-wise sigmoid, then divide by the sum), integral over x and y;
  the confidence is the maximum of the sigmoid map.
* :class:`CombinedCodec`: the official "Combined" models: heatmap decoding for the first
  (body and feet) channels, integral regression for the rest (face and hands).

Coordinate convention: decoded coordinates are ``(x, y)`` in *heatmap pixels* with the centre of
heatmap cell ``(row i, col j)`` at ``(j, i)``. The official models place heatmap cell ``j`` at
input-crop pixel ``stride * j`` (no half-pixel term); :mod:`alphapose.estimators.network` maps
these coordinates to the image.

The flip test (official ``alphapose/utils/transforms.py::flip`` and ``flip_heatmap``): run the
network on the crop and on its mirror image (:func:`flip_crops`), bring the mirror's output back
with :func:`flip_back` (mirror the width, swap left/right channels, shift right by one column) and
average the raw maps (:func:`flip_average`) before decoding.

Everything here is numpy; the differentiable torch versions (training, ONNX export with the decode
in the graph) live in :mod:`alphapose.codecs_torch`.

Example:
    >>> raw = np.zeros((1, 17, 64, 48), np.float32)
    >>> raw[0, :, 20, 30] = 1.0
    >>> coords, scores = HeatmapCodec().decode(raw)
    >>> coords[0, 0].tolist(), float(scores[0, 0])
    ([30.0, 20.0], 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from alphapose.skeletons import Layout

__all__ = [
    "NORM_TYPES",
    "Codec",
    "CombinedCodec",
    "HeatmapCodec",
    "IntegralRegressionCodec",
    "codec_from_loss",
    "flip_average",
    "flip_back",
    "flip_crops",
    "flip_maps",
    "normalize_maps",
    "sigmoid",
]

NormType = Literal["sigmoid", "softmax", "divide_sum"]
#: First-step normalisations the official integral decoder accepts (``LOSS.NORM_TYPE``).
NORM_TYPES: tuple[str, ...] = ("sigmoid", "softmax", "divide_sum")


@runtime_checkable
class Codec(Protocol):
    """What every codec offers: a name and a numpy decoder."""

    @property
    def name(self) -> str:
        """Short name: ``"heatmap"``, ``"integral"`` or ``"combined"``."""
        ...

    def decode(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``raw (B, K, h, w)`` -> ``(coords (B, K, 2) in heatmap pixels, scores (B, K))``."""
        ...


# ------------------------------------------------------------------------------------------------
# Checks and shared helpers
# ------------------------------------------------------------------------------------------------

def _check_maps(raw: np.ndarray, name: str = "raw") -> np.ndarray:
    raw = np.asarray(raw)
    if raw.ndim != 4:
        raise ValueError(f"{name}: expected maps of shape (B, K, h, w), got shape {raw.shape}")
    if not np.issubdtype(raw.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating-point array, got dtype {raw.dtype}")
    if raw.shape[2] < 1 or raw.shape[3] < 1:
        raise ValueError(f"{name}: maps must be at least 1x1, got shape {raw.shape}")
    return raw


def _check_norm_type(norm_type: str) -> None:
    if norm_type not in NORM_TYPES:
        raise ValueError(f"norm_type: expected one of {NORM_TYPES}, got {norm_type!r}")


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Elementwise logistic function, the one copy of the package (keeps the dtype of ``x``)."""
    # exp of a non-positive number only: no overflow and no warning for large |x|
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def normalize_maps(raw: np.ndarray, norm_type: str = "sigmoid") -> np.ndarray:
    """The first normalisation step of integral regression, per map (float64).

    ``"sigmoid"`` is element-wise (the paper's step one: its maximum does not depend on the blob
    size); ``"softmax"`` and ``"divide_sum"`` are global over each ``h x w`` map (they sum to one,
    so their maximum shrinks as the blob grows).

    Args:
        raw: ``(B, K, h, w)`` logits.
        norm_type: one of :data:`NORM_TYPES`.

    Returns:
        ``(B, K, h, w)`` float64 normalised maps.
    """
    raw = _check_maps(raw)
    _check_norm_type(norm_type)
    z = raw.astype(np.float64)
    if norm_type == "sigmoid":
        return sigmoid(z)
    flat = z.reshape(*z.shape[:2], -1)
    if norm_type == "softmax":
        e = np.exp(flat - flat.max(-1, keepdims=True))
        out = e / e.sum(-1, keepdims=True)
    else:  # divide_sum
        out = flat / flat.sum(-1, keepdims=True)
    return out.reshape(z.shape)


def _flip_index_array(flip_index: np.ndarray | Layout | None, num_channels: int) -> np.ndarray:
    if flip_index is None:
        return np.arange(num_channels)
    index = getattr(flip_index, "flip_index", flip_index)
    index = np.asarray(index, np.int64).reshape(-1)
    if index.shape != (num_channels,):
        raise ValueError(f"flip_index: expected {num_channels} entries (one per channel), "
                         f"got {index.shape[0]}")
    if not np.array_equal(np.sort(index), np.arange(num_channels)):
        raise ValueError("flip_index: expected a permutation of 0..K-1")
    return index


# ------------------------------------------------------------------------------------------------
# Flip test
# ------------------------------------------------------------------------------------------------

def flip_crops(batch: np.ndarray) -> np.ndarray:
    """Mirror a batch of crops along the width: ``(N, C, H, W)`` -> ``(N, C, H, W)`` (a copy)."""
    batch = np.asarray(batch)
    if batch.ndim != 4:
        raise ValueError(f"batch: expected (N, C, H, W), got shape {batch.shape}")
    return np.ascontiguousarray(batch[..., ::-1])


def flip_maps(maps: np.ndarray, flip_index: np.ndarray | Layout | None) -> np.ndarray:
    """Mirror maps along the width and swap left/right channels (its own inverse).

    Args:
        maps: ``(B, K, h, w)``.
        flip_index: ``(K,)`` permutation (e.g. ``Layout.flip_index``) or a layout; ``None``
            swaps nothing (e.g. a single hand).

    Returns:
        ``(B, K, h, w)`` with ``out[:, k, :, j] = maps[:, flip_index[k], :, w - 1 - j]``.
    """
    maps = _check_maps(maps, "maps")
    index = _flip_index_array(flip_index, maps.shape[1])
    return np.ascontiguousarray(maps[:, index, :, ::-1])


def flip_back(maps_of_flipped: np.ndarray, flip_index: np.ndarray | Layout | None,
              shift: bool = True) -> np.ndarray:
    """Bring the output for mirrored crops back to the original crops' frame (official flip).

    Mirror and swap with :func:`flip_maps`, then (``shift=True``, official) move every row one
    column to the right, keeping column 0: the official heatmap cell ``j`` sits at input pixel
    ``4 j``, whose mirror image ``W_in - 1 - 4 j`` lies at cell ``w - 0.25 - j``, so the shifted
    ``w - j`` is closer than the unshifted ``w - 1 - j``. (The official code shifts with an
    overlapping in-place copy whose result depends on the implementation; this is the intended
    clean shift.)

    Args:
        maps_of_flipped: ``(B, K, h, w)`` raw output of the network on :func:`flip_crops` input.
        flip_index: ``(K,)`` permutation swapping left and right, or a layout.
        shift: apply the official one-column shift.

    Returns:
        ``(B, K, h, w)`` maps aligned with the unflipped crops.
    """
    out = flip_maps(maps_of_flipped, flip_index)
    if shift and out.shape[-1] > 1:
        out[..., 1:] = out[..., :-1].copy()
    return out


def flip_average(raw: np.ndarray, raw_of_flipped: np.ndarray,
                 flip_index: np.ndarray | Layout | None, shift: bool = True) -> np.ndarray:
    """Official flip test: ``(raw + flip_back(raw_of_flipped)) / 2`` on the raw maps.

    The official demo averages the raw outputs (heatmaps and regression logits alike) before
    decoding; ``scripts/validate.py`` instead averages decoded integral coordinates (not done here).

    Args:
        raw: ``(B, K, h, w)`` output for the crops.
        raw_of_flipped: ``(B, K, h, w)`` output for the mirrored crops.
        flip_index: ``(K,)`` left/right permutation or a layout.
        shift: apply the official one-column shift.

    Returns:
        ``(B, K, h, w)`` averaged maps (dtype of ``raw``).
    """
    raw = _check_maps(raw)
    back = flip_back(raw_of_flipped, flip_index, shift)
    if back.shape != raw.shape:
        raise ValueError(f"raw_of_flipped: expected shape {raw.shape}, got {back.shape}")
    return ((raw + back) * 0.5).astype(raw.dtype, copy=False)


# ------------------------------------------------------------------------------------------------
# Heatmap
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HeatmapCodec:
    """Gaussian heatmaps (official ``MSELoss`` models).

    Decoding (official ``heatmap_to_coord_simple``): argmax of each map; where the maximum is
    ``<= 0`` the coordinate is forced to ``(0, 0)``; where the argmax cell ``(px, py)`` satisfies
    ``1 < px < w - 1`` and ``1 < py < h - 1`` (strict, as official) both coordinates move a
    quarter cell towards the higher neighbour, ``x += 0.25 * sign(m[py, px+1] - m[py, px-1])``
    and likewise for ``y``. The score is the raw maximum (not clipped to ``[0, 1]``).

    Attributes:
        sigma: standard deviation of the training target Gaussian, in heatmap cells.
    """

    sigma: float = 2.0
    name: ClassVar[str] = "heatmap"

    def decode(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Argmax decoding with the quarter-cell refinement.

        Args:
            raw: ``(B, K, h, w)`` heatmaps.

        Returns:
            ``(coords (B, K, 2) float32 in heatmap pixels, scores (B, K) float32 raw maxima)``.
        """
        raw = _check_maps(raw)
        b, k, h, w = raw.shape
        flat = raw.reshape(b, k, h * w)
        idx = flat.argmax(-1)
        scores = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
        px, py = idx % w, idx // w
        valid = scores > 0
        px, py = np.where(valid, px, 0), np.where(valid, py, 0)
        coords = np.stack([px, py], -1).astype(np.float64)
        inner = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
        # neighbour values; indices are clipped only to stay in range, `inner` masks the result
        bi, ki = np.meshgrid(np.arange(b), np.arange(k), indexing="ij")
        right = raw[bi, ki, py, np.minimum(px + 1, w - 1)]
        left = raw[bi, ki, py, np.maximum(px - 1, 0)]
        down = raw[bi, ki, np.minimum(py + 1, h - 1), px]
        up = raw[bi, ki, np.maximum(py - 1, 0), px]
        offset = 0.25 * np.sign(np.stack([right - left, down - up], -1).astype(np.float64))
        coords += np.where(inner[..., None], offset, 0.0)
        return coords.astype(np.float32), scores.astype(np.float32)

    def encode(self, keypoints: np.ndarray, visible: np.ndarray, heatmap_size: tuple[int, int],
               stride: tuple[float, float] = (4.0, 4.0)) -> tuple[np.ndarray, np.ndarray]:
        """Training target of one person (official ``_target_generator``).

        Each visible keypoint gets an unnormalised Gaussian (peak 1, ``sigma`` cells) centred on
        the integer cell ``int(x / stride + 0.5)``, cut to a ``(6 sigma + 1)``-cell window and to
        the map. A keypoint whose window lies wholly off the map gets weight 0.

        Args:
            keypoints: ``(K, 2)`` positions in input-crop pixels.
            visible: ``(K,)`` visibility flags / weights (official: 0 or 1).
            heatmap_size: ``(h, w)``.
            stride: ``(stride_x, stride_y)`` input pixels per heatmap cell.

        Returns:
            ``(target (K, h, w) float32, weight (K,) float32)``.
        """
        keypoints = np.asarray(keypoints, np.float64)
        if keypoints.ndim != 2 or keypoints.shape[1] != 2:
            raise ValueError(f"keypoints: expected (K, 2), got shape {keypoints.shape}")
        k = keypoints.shape[0]
        weight = np.asarray(visible, np.float32).reshape(-1).copy()
        if weight.shape != (k,):
            raise ValueError(f"visible: expected {k} values, got {weight.shape[0]}")
        h, w = heatmap_size
        target = np.zeros((k, h, w), np.float32)
        radius = int(self.sigma * 3)
        size = 2 * radius + 1
        grid = np.arange(size, dtype=np.float32)
        gauss = np.exp(-((grid[None, :] - radius) ** 2 + (grid[:, None] - radius) ** 2)
                       / (2 * self.sigma ** 2))
        for j in range(k):
            mu_x = int(keypoints[j, 0] / stride[0] + 0.5)
            mu_y = int(keypoints[j, 1] / stride[1] + 0.5)
            x0, y0 = mu_x - radius, mu_y - radius
            x1, y1 = mu_x + radius + 1, mu_y + radius + 1
            if x0 >= w or y0 >= h or x1 < 0 or y1 < 0:
                weight[j] = 0.0
                continue
            if weight[j] > 0.5:
                target[j, max(0, y0):min(y1, h), max(0, x0):min(x1, w)] = gauss[
                    max(0, -y0):min(y1, h) - y0, max(0, -x0):min(x1, w) - x0]
        return target, weight


# ------------------------------------------------------------------------------------------------
# Symmetric integral regression
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IntegralRegressionCodec:
    """Symmetric integral keypoint regression (official ``L1JointRegression`` models).

    Decoding, per map of logits ``z``:

    1. ``c = normalize(z)`` with :attr:`norm_type` (official configs: ``"sigmoid"``);
    2. confidence = ``max(c)`` for ``"sigmoid"``, 1 otherwise (official);
    3. ``p = c / sum(c)`` (the second step of the two-step normalisation);
    4. ``x = sum_j j * p_x(j)`` over the column marginal ``p_x``, ``y`` likewise over rows.

    Attributes:
        norm_type: one of :data:`NORM_TYPES`.
    """

    norm_type: NormType = "sigmoid"
    name: ClassVar[str] = "integral"

    def __post_init__(self) -> None:
        _check_norm_type(self.norm_type)

    def decode(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integral (soft-argmax) decoding with two-step normalisation.

        Args:
            raw: ``(B, K, h, w)`` logits.

        Returns:
            ``(coords (B, K, 2) float32 in heatmap pixels, scores (B, K) float32)``; scores are
            the maxima of the sigmoid maps (in ``(0, 1)``) or ones for the other norm types.
        """
        c = normalize_maps(raw, self.norm_type)
        b, k, h, w = c.shape
        flat = c.reshape(b, k, h * w)
        if self.norm_type == "sigmoid":
            scores = flat.max(-1)
        else:
            scores = np.ones((b, k))
        p = (flat / flat.sum(-1, keepdims=True)).reshape(b, k, h, w)
        x = p.sum(2) @ np.arange(w, dtype=np.float64)
        y = p.sum(3) @ np.arange(h, dtype=np.float64)
        return np.stack([x, y], -1).astype(np.float32), scores.astype(np.float32)

    def encode(self, keypoints: np.ndarray, visible: np.ndarray,
               input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Training target of one person (official ``_integral_target_generator``).

        Targets are in the official normalised space ``x / input_w - 0.5``, ``y / input_h - 0.5``
        (the official loss compares them with the integral coordinate divided by the heatmap
        size, minus 0.5). The official extra weight of 2 on the body joints of 136/133/68-joint
        models is left to the training loss.

        Args:
            keypoints: ``(K, 2)`` positions in input-crop pixels.
            visible: ``(K,)`` visibility flags / weights.
            input_size: ``(input_h, input_w)``.

        Returns:
            ``(target (K, 2) float32, weight (K, 2) float32)``.
        """
        keypoints = np.asarray(keypoints, np.float64)
        if keypoints.ndim != 2 or keypoints.shape[1] != 2:
            raise ValueError(f"keypoints: expected (K, 2), got shape {keypoints.shape}")
        weight = np.asarray(visible, np.float32).reshape(-1)
        if weight.shape != (keypoints.shape[0],):
            raise ValueError(f"visible: expected {keypoints.shape[0]} values, "
                             f"got {weight.shape[0]}")
        input_h, input_w = input_size
        target = keypoints / np.array([input_w, input_h]) - 0.5
        return target.astype(np.float32), np.repeat(weight[:, None], 2, 1)


# ------------------------------------------------------------------------------------------------
# Combined
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CombinedCodec:
    """Official "Combined" models: heatmaps for the first channels, integral regression after.

    Attributes:
        num_heatmap: number of leading heatmap channels (official: ``K - 110`` for 136 / 133
            keypoints, ``K - 42`` for 68; see :meth:`official`).
        norm_type: first-step normalisation of the integral part.
    """

    num_heatmap: int
    norm_type: NormType = "sigmoid"
    name: ClassVar[str] = "combined"

    def __post_init__(self) -> None:
        if self.num_heatmap < 0:
            raise ValueError(f"num_heatmap: expected >= 0, got {self.num_heatmap}")
        _check_norm_type(self.norm_type)

    @classmethod
    def official(cls, num_keypoints: int, norm_type: NormType = "sigmoid") -> CombinedCodec:
        """The official split for a ``num_keypoints``-channel model (136, 133 or 68)."""
        face_hand = {136: 110, 133: 110, 68: 42}
        if num_keypoints not in face_hand:
            raise ValueError(f"num_keypoints: official Combined models have 136, 133 or 68 "
                             f"keypoints, got {num_keypoints}")
        return cls(num_keypoints - face_hand[num_keypoints], norm_type)

    @property
    def heatmap(self) -> HeatmapCodec:
        return HeatmapCodec()

    @property
    def integral(self) -> IntegralRegressionCodec:
        return IntegralRegressionCodec(self.norm_type)

    def decode(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Heatmap decoding of channels ``[0, num_heatmap)``, integral decoding of the rest.

        Args:
            raw: ``(B, K, h, w)`` with ``K > num_heatmap``.

        Returns:
            ``(coords (B, K, 2), scores (B, K))`` float32, channels in input order.
        """
        raw = _check_maps(raw)
        if raw.shape[1] < self.num_heatmap:
            raise ValueError(f"raw: expected at least {self.num_heatmap} channels, "
                             f"got {raw.shape[1]}")
        n = self.num_heatmap
        c1, s1 = self.heatmap.decode(raw[:, :n])
        c2, s2 = self.integral.decode(raw[:, n:])
        return np.concatenate([c1, c2], 1), np.concatenate([s1, s2], 1)


def codec_from_loss(loss_type: str, num_keypoints: int,
                    norm_type: NormType = "sigmoid") -> Codec:
    """The codec the official decoder picks for a config's ``LOSS.TYPE``.

    Args:
        loss_type: ``"MSELoss"``, ``"L1JointRegression"`` or ``"Combined"``.
        num_keypoints: ``MODEL.NUM_JOINTS`` (needed for the Combined split).
        norm_type: ``LOSS.NORM_TYPE`` (integral and Combined only).

    Raises:
        ValueError: unknown ``loss_type`` (the message lists the valid ones).
    """
    if loss_type == "MSELoss":
        return HeatmapCodec()
    if loss_type == "L1JointRegression":
        return IntegralRegressionCodec(norm_type)
    if loss_type == "Combined":
        return CombinedCodec.official(num_keypoints, norm_type)
    raise ValueError(f"loss_type: expected one of 'MSELoss', 'L1JointRegression', 'Combined', "
                     f"got {loss_type!r}")
