"""A training-free pose-guided appearance descriptor (the embedded default's re-ID cue).

The paper's PGA re-ID branch (Sec. 4.1) weights a learned feature map with an attention map built
from the keypoint heatmaps, so the identity feature looks at the person's body and not at the
background or at other people in the box. No trained re-ID weights ship with the embedded default,
so this module does the same thing by hand: it rasterises body-part regions from the keypoints
(head, torso, upper arms, lower arms, thighs, shins) inside the person's box and pools colour and
texture statistics over each region separately. Pixels outside every region (background, other
people's bodies) do not count.

Per part the statistics are one histogram: hue x saturation bins for coloured pixels, brightness
bins for grey pixels (low saturation), and gradient-orientation bins weighted by gradient magnitude
(texture: stripes, prints). The histogram is normalised to sum 1 and square-rooted, so that the dot
product of two part vectors is the Bhattacharyya coefficient ``BC`` of the two histograms (1 for
identical, 0 for disjoint). Parts whose keypoints are not confident get weight 0.

Distances (:func:`appearance_distance`): ``sqrt(1 - BC)`` (the Hellinger distance, in [0, 1])
averaged over the parts visible in both people, weighted by the product of their visibility. A pair
that shares no visible part gets distance 1.

``regions="box"`` pools over the whole box instead (the ablation without pose guidance).

Example:
    >>> descriptor = PoseGuidedDescriptor()
    >>> emb = descriptor.embed(frame.image, poses)       # Embeddings with (N, 6, D) vectors
    >>> d = appearance_distance(emb, emb)                # (N, N), zeros on the diagonal
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from alphapose.skeletons import get_layout
from alphapose.structures import Poses, check_image

__all__ = [
    "PART_NAMES",
    "AppearanceModel",
    "DescriptorConfig",
    "Embeddings",
    "PoseGuidedDescriptor",
    "appearance_distance",
]

#: Body-part regions of the descriptor, in vector order.
PART_NAMES: tuple[str, ...] = ("head", "torso", "upper_arms", "lower_arms", "thighs", "shins")

# (part index, keypoint name a, keypoint name b) limb segments drawn as thick lines.
_LIMBS: tuple[tuple[int, str, str], ...] = (
    (2, "left_shoulder", "left_elbow"), (2, "right_shoulder", "right_elbow"),
    (3, "left_elbow", "left_wrist"), (3, "right_elbow", "right_wrist"),
    (4, "left_hip", "left_knee"), (4, "right_hip", "right_knee"),
    (5, "left_knee", "left_ankle"), (5, "right_knee", "right_ankle"),
)
_TORSO = ("left_shoulder", "right_shoulder", "right_hip", "left_hip")
_HEAD = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "head")


@dataclass
class Embeddings:
    """Appearance vectors of ``N`` people.

    Attributes:
        vectors: ``(N, P, D)`` float32; each part's vector has unit norm (or is zero).
        weights: ``(N, P)`` float32 in [0, 1]: how much each part can be trusted (0 = not seen).
        metric: ``"hellinger"`` (non-negative square-rooted histograms) or ``"cosine"``
            (learned embeddings, e.g. the PGA head's ``P = 1``).
    """

    vectors: np.ndarray
    weights: np.ndarray
    metric: str = "hellinger"

    def __post_init__(self) -> None:
        self.vectors = np.asarray(self.vectors, np.float32)
        self.weights = np.asarray(self.weights, np.float32)
        if self.vectors.ndim != 3:
            raise ValueError(f"Embeddings.vectors: expected shape (N, P, D), got "
                             f"{self.vectors.shape}")
        if self.weights.shape != self.vectors.shape[:2]:
            raise ValueError(f"Embeddings.weights: expected shape {self.vectors.shape[:2]}, got "
                             f"{self.weights.shape}")
        if self.metric not in ("hellinger", "cosine"):
            raise ValueError(f"Embeddings.metric: expected 'hellinger' or 'cosine', got "
                             f"{self.metric!r}")

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def __getitem__(self, index: int | slice | np.ndarray | list[int]) -> Embeddings:
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Embeddings(self.vectors[index], self.weights[index], self.metric)


class AppearanceModel(Protocol):
    """What MSIM needs from an appearance cue: embeddings of the people of one image."""

    def embed(self, image: np.ndarray, poses: Poses) -> Embeddings: ...


def appearance_distance(a: Embeddings, b: Embeddings) -> np.ndarray:
    """Part-averaged appearance distances between two sets of people.

    Args:
        a: ``N`` people.
        b: ``M`` people (same ``P``, ``D`` and metric).

    Returns:
        ``(N, M)`` float64 distances in [0, 1] (``hellinger``: ``sqrt(1 - BC)``) or [0, 2]
        (``cosine``: ``1 - cos``); 1 where two people share no visible part.
    """
    if a.vectors.shape[1:] != b.vectors.shape[1:] or a.metric != b.metric:
        raise ValueError(f"appearance_distance: embeddings differ ({a.vectors.shape[1:]} "
                         f"{a.metric} vs {b.vectors.shape[1:]} {b.metric})")
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return np.zeros((n, m))
    sim = np.einsum("npd,mpd->nmp", a.vectors, b.vectors).astype(np.float64)
    if a.metric == "hellinger":
        part_distance = np.sqrt(np.clip(1.0 - sim, 0.0, 1.0))
    else:
        part_distance = 1.0 - sim
    w = a.weights[:, None, :].astype(np.float64) * b.weights[None, :, :]
    total = w.sum(-1)
    distance = np.where(total > 1e-6,
                        (w * part_distance).sum(-1) / np.maximum(total, 1e-12), 1.0)
    return distance


@dataclass(frozen=True)
class DescriptorConfig:
    """Settings of :class:`PoseGuidedDescriptor`.

    Attributes:
        regions: ``"parts"`` (pose-guided body-part regions) or ``"box"`` (whole-box pooling, the
            ablation without pose guidance).
        crop_height: people are resampled to this height (pixels) before pooling; the width
            follows the box aspect. Small keeps it fast (10 people in well under a millisecond).
        keypoint_threshold: keypoints below this score do not define regions.
        hue_bins: hue bins for coloured pixels.
        saturation_bins: saturation bins for coloured pixels.
        value_bins: brightness bins for grey pixels (saturation below ``grey_saturation``).
        grey_saturation: saturation (0-255) below which a pixel counts as grey.
        orientation_bins: gradient-orientation bins (0-180 degrees, magnitude-weighted).
        texture_weight: share of the texture bins in each part's histogram (colour gets the rest).
        limb_width: limb region width as a fraction of the torso height (shoulders to hips).
        min_pixels: a part with fewer pixels than this gets weight 0.
    """

    regions: str = "parts"
    crop_height: int = 48
    keypoint_threshold: float = 0.3
    hue_bins: int = 12
    saturation_bins: int = 3
    value_bins: int = 4
    grey_saturation: int = 40
    orientation_bins: int = 6
    texture_weight: float = 0.25
    limb_width: float = 0.3
    min_pixels: int = 6

    def __post_init__(self) -> None:
        if self.regions not in ("parts", "box"):
            raise ValueError(f"regions: expected 'parts' or 'box', got {self.regions!r}")
        if self.crop_height < 8:
            raise ValueError(f"crop_height: expected >= 8, got {self.crop_height}")
        if not 0.0 <= self.texture_weight < 1.0:
            raise ValueError(f"texture_weight: expected in [0, 1), got {self.texture_weight}")

    @property
    def colour_bins(self) -> int:
        return self.hue_bins * self.saturation_bins + self.value_bins

    @property
    def dim(self) -> int:
        return self.colour_bins + self.orientation_bins


class PoseGuidedDescriptor:
    """Colour and texture histograms pooled inside body-part regions; see the module docstring.

    Args:
        config: the settings.

    Example:
        >>> emb = PoseGuidedDescriptor().embed(image, poses)
        >>> emb.vectors.shape          # (N, 6, 46)
    """

    def __init__(self, config: DescriptorConfig = DescriptorConfig()) -> None:
        self.config = config
        self._layout_cache: dict[str, dict[str, int]] = {}
        self._index_cache: dict[str, tuple[np.ndarray, ...]] = {}
        self._lut: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def num_parts(self) -> int:
        return 1 if self.config.regions == "box" else len(PART_NAMES)

    def _colour_luts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """uint8 lookup tables: hue (OpenCV 0-179) -> hue bin, saturation -> saturation bin
        (coloured pixels), value -> brightness bin (grey pixels)."""
        if self._lut is None:
            cfg = self.config
            levels = np.arange(256)
            hue = np.minimum(levels * cfg.hue_bins // 180, cfg.hue_bins - 1)
            sat = np.clip((levels - cfg.grey_saturation) * cfg.saturation_bins
                          // (256 - cfg.grey_saturation), 0, cfg.saturation_bins - 1)
            val = levels * cfg.value_bins // 256
            self._lut = tuple(t.astype(np.uint8) for t in (hue, sat, val))
        return self._lut

    def _names(self, layout: str) -> dict[str, int]:
        if layout not in self._layout_cache:
            self._layout_cache[layout] = {n: i for i, n in
                                          enumerate(get_layout(layout).keypoint_names)}
        return self._layout_cache[layout]

    def embed(self, image: np.ndarray, poses: Poses) -> Embeddings:
        """Embeddings of every person of ``poses`` in ``image``.

        Args:
            image: ``(H, W, 3)`` uint8 BGR.
            poses: ``N`` people (their boxes and keypoints, in image pixels).

        Returns:
            :class:`Embeddings` with ``(N, P, D)`` vectors, ``P = 6`` parts (1 for ``"box"``).
        """
        check_image(image)
        cfg = self.config
        n, p, d = len(poses), self.num_parts, cfg.dim
        vectors = np.zeros((n, p, d), np.float32)
        weights = np.zeros((n, p), np.float32)
        if n == 0:
            return Embeddings(vectors, weights, "hellinger")
        index = self._indices(poses.layout) if cfg.regions == "parts" else None
        # every person's crop side by side in one strip (one column of padding between them),
        # so colour conversion, gradients and histograms run once per frame
        crops, label_maps, owners = [], [], []
        img_h, img_w = image.shape[:2]
        # the boxes' whole-pixel bounds for everyone at once (Python ints below)
        finite = np.isfinite(poses.xyxy).all(1)
        xyxy = np.where(finite[:, None], poses.xyxy, 0.0)
        size = np.array([img_w, img_h])
        lows = np.clip(np.floor(xyxy[:, :2]), 0, size).astype(np.int64).tolist()
        highs = np.clip(np.ceil(xyxy[:, 2:]), 0, size).astype(np.int64).tolist()
        for i, is_finite in enumerate(finite.tolist()):
            if not is_finite:
                continue
            (x1, y1), (x2, y2) = lows[i], highs[i]
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            scale = cfg.crop_height / float(y2 - y1)
            out_w = max(4, int(round((x2 - x1) * scale)))
            crops.append(cv2.resize(image[y1:y2, x1:x2], (out_w, cfg.crop_height),
                                    interpolation=cv2.INTER_LINEAR))
            if index is None:
                labels = np.zeros((cfg.crop_height, out_w), np.uint8)
            else:
                # crop pixel (u, v) has its centre at image (x1 + (u + .5) / s - .5, ...)
                local = (poses.keypoints[i] - np.array([x1 - 0.5, y1 - 0.5], np.float32)) \
                    * scale - 0.5
                labels = self._part_labels(local, poses.keypoint_scores[i], index,
                                           (cfg.crop_height, out_w))
            label_maps.append(labels)
            owners.append(i)
        if not crops:
            return Embeddings(vectors, weights, "hellinger")
        pad = np.zeros((cfg.crop_height, 1, 3), np.uint8)
        pad_labels = np.full((cfg.crop_height, 1), 255, np.uint8)
        strip = np.concatenate([x for c in crops for x in (c, pad)], 1)
        part_map = np.concatenate([x for m in label_maps for x in (m, pad_labels)], 1)
        owner_map = np.broadcast_to(
            np.repeat(np.arange(len(crops), dtype=np.int64), [c.shape[1] + 1 for c in crops]),
            (cfg.crop_height, strip.shape[1]))
        self._pool(strip, part_map, owner_map, len(crops), vectors, weights, owners)
        return Embeddings(vectors, weights, "hellinger")

    def _indices(self, layout: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Keypoint indices of the torso corners, limbs and head in ``layout`` (-1 = absent)."""
        names = self._names(layout)
        key = f"index:{layout}"
        if key not in self._index_cache:
            torso = np.array([names.get(n, -1) for n in _TORSO])
            limbs = np.array([[part, names.get(a, -1), names.get(b, -1)]
                              for part, a, b in (_LIMBS[4:] + _LIMBS[:4])])
            head = np.array([names.get(n, -1) for n in _HEAD])
            self._index_cache[key] = (torso, limbs, head, np.zeros(0))
        return self._index_cache[key]

    def _part_labels(self, points: np.ndarray, scores: np.ndarray,
                     index: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                     shape: tuple[int, int]) -> np.ndarray:
        """``(h, w)`` uint8 map: part index per pixel, 255 outside every part."""
        cfg = self.config
        torso_idx, limbs, head_idx, _ = index
        labels = np.full(shape, 255, np.uint8)
        ok = np.zeros(len(scores) + 1, bool)       # index -1 -> "absent"
        ok[:-1] = (scores > cfg.keypoint_threshold) & np.isfinite(points).all(1)
        fixed = np.rint(np.minimum(np.maximum(np.where(ok[:-1, None], points, 0.0), -1e5), 1e5)
                        * 16).astype(np.int64)
        fixed_list = fixed.tolist()
        ok_list = ok.tolist()

        torso_ok = ok[torso_idx]
        shoulders, hips = points[torso_idx[:2][torso_ok[:2]]], points[torso_idx[2:][torso_ok[2:]]]
        if len(shoulders) and len(hips):
            # sum / count: np.mean's arithmetic without its per-call overhead
            torso_h = float(np.hypot(*(shoulders.sum(0) / len(shoulders)
                                       - hips.sum(0) / len(hips))))
        else:
            torso_h = shape[0] * 0.3
        width = max(2, int(round(cfg.limb_width * torso_h)))
        # drawn back to front: torso, then legs, arms, head (later parts win where they overlap,
        # e.g. an arm in front of the torso)
        if sum(ok_list[i] for i in torso_idx.tolist()) >= 3:
            poly = fixed[torso_idx[torso_ok]].astype(np.int32)
            cv2.fillPoly(labels, [poly], 1, cv2.LINE_8, 4)
        for part, a, b in limbs.tolist():
            if ok_list[a] and ok_list[b]:
                cv2.line(labels, fixed_list[a], fixed_list[b], part, width, cv2.LINE_8, 4)
        head_ok = head_idx[ok[head_idx]]
        if len(head_ok):
            cx, cy = np.rint(points[head_ok].sum(0) / len(head_ok) * 16).astype(np.int64).tolist()
            radius = max(2, int(round(0.22 * torso_h)))
            cv2.circle(labels, (cx, cy), radius * 16, 0, -1, cv2.LINE_8, 4)
        return labels

    def _pool(self, strip: np.ndarray, part_map: np.ndarray, owner_map: np.ndarray,
              count: int, out_vectors: np.ndarray, out_weights: np.ndarray,
              owners: list[int]) -> None:
        cfg = self.config
        hsv = cv2.cvtColor(strip, cv2.COLOR_BGR2HSV)
        hue_lut, sat_lut, val_lut = self._colour_luts()
        h, s, v = cv2.split(hsv)
        gray = v.astype(np.float32)
        gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
        magnitude, angle = cv2.cartToPolar(gx, gy)                 # angle in [0, 2 pi)

        p = out_vectors.shape[1]
        labels = part_map.ravel()
        keep = np.flatnonzero(labels < p)           # the pixels of some part; only they count
        part = labels[keep].astype(np.int64)
        # the pixels beside a crop's edge see the neighbour's pixels in their gradient
        edge = np.zeros(part_map.shape, bool)
        edge[:, :-1] |= part_map[:, 1:] == 255
        edge[:, 1:] |= part_map[:, :-1] == 255
        s_kept = s.ravel()[keep]
        colour_bin = np.where(s_kept >= cfg.grey_saturation,
                              cv2.LUT(h, hue_lut).ravel()[keep].astype(np.int64)
                              * cfg.saturation_bins + cv2.LUT(s_kept, sat_lut).ravel(),
                              cfg.hue_bins * cfg.saturation_bins
                              + cv2.LUT(v, val_lut).ravel()[keep])
        orient_bin = (angle.ravel()[keep] * (cfg.orientation_bins / np.pi)).astype(np.int64) \
            % cfg.orientation_bins
        slot = owner_map.ravel()[keep] * p + part
        nc, no = cfg.colour_bins, cfg.orientation_bins
        colour_hist = np.bincount(slot * nc + colour_bin,
                                  minlength=count * p * nc).reshape(count, p, nc)
        texture_weight = np.where(edge.ravel()[keep], 0.0, magnitude.ravel()[keep])
        texture_hist = np.bincount(slot * no + orient_bin, weights=texture_weight,
                                   minlength=count * p * no).reshape(count, p, no)
        counts = colour_hist.sum(-1).astype(np.float64)                    # (count, p)
        texture_total = texture_hist.sum(-1)
        colour = colour_hist / np.maximum(counts, 1)[..., None]
        has_texture = texture_total > 1e-6
        texture = texture_hist / np.where(has_texture, texture_total, 1.0)[..., None]
        colour_share = np.where(has_texture, 1 - cfg.texture_weight, 1.0)[..., None]
        hist = np.concatenate([colour_share * colour, (1 - colour_share) * texture], -1)
        valid = counts >= cfg.min_pixels
        vectors = np.where(valid[..., None], np.sqrt(hist), 0.0)   # unit norm: sums to 1
        weights = np.where(valid, np.minimum(1.0, counts / (4.0 * cfg.min_pixels)), 0.0)
        out_vectors[owners] = vectors
        out_weights[owners] = weights
