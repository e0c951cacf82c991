"""Training augmentation: the crop with random scale, rotation, flip and half-body, and the
part-guided proposal generator (PGPG, paper Sec. 3.3).

Crop geometry (the official training crop,
``alphapose/utils/presets/simple_transform.py::__call__``): a box becomes a centre and a crop width
``scale_w`` (:func:`alphapose.transforms.box_to_center_scale`: aspect ``w / h`` of the input, times
1.25); the crop maps image point ``p`` to

    u = R(r) (p - c) * s + (W / 2, H / 2),      s = W / scale_w,

with ``R(r)`` the rotation by ``r`` degrees counter-clockwise as displayed (OpenCV's
``getRotationMatrix2D`` sense) and ``W x H`` the input size; unrotated and unflipped this is
exactly the test-time crop of :func:`alphapose.estimators.network.crop_people`. A flip mirrors
the crop, ``u_x -> W - 1 - u_x``, and swaps left/right keypoints with the layout's
``flip_index``. Image and keypoints go through the same ``2 x 3`` matrix, so they stay aligned.

Random draws (official ``SimpleTransform.__call__`` order): proposal jitter (PGPG, when enabled) ->
centre/scale -> half-body (probability ``half_body_prob`` when more than
``half_body_min_joints`` points are visible: the visible upper-body (ids ``upper_body_ids``) or
other points, their extent padded to the input aspect, times 1.5) -> scale ``clip(N(1, sf), 1 - sf,
1 + sf)`` -> rotation (probability ``rotation_prob``) ``clip(N(0, rf), -2 rf, 2 rf)`` degrees ->
flip (probability ``flip_prob``).

PGPG. For a part ``p`` with a tight box ``(x1, y1, x2, y2)`` (a person's box, or the face or
hand box of a part-only dataset) a proposal is

    (x1 + dx1 * w, y1 + dy1 * h, x2 + dx2 * w, y2 + dy2 * h),     w = x2 - x1, h = y2 - y1,

with the normalised offsets ``(dx1, dy1, dx2, dy2) = (δxmin, δymin, δxmax, δymax)`` of the paper
drawn from a per-part distribution: :class:`UniformOffsets` (the paper's approximation) or
:class:`GaussianMixtureOffsets` (the paper's fit: independent 2-D mixtures over ``(dx1, dx2)``
and ``(dy1, dy2)``), fitted with :func:`fit_offsets` from (detection, ground-truth box) pairs.

Default uniform ranges (:data:`DEFAULT_PART_OFFSETS`). The paper only plots its ranges (Fig. 3).
``body``: the uniform with the mean and standard deviation of the official ``addDPG`` Gaussians
(``mu +- sqrt(3) sigma``; x1 ``N(-0.0142, 0.1158)``, y1 ``N(0.0043, 0.068)``, x2 ``N(0.0154,
0.1337)``, y2 ``N(-0.0013, 0.0711)``). ``face`` and hands: rounded envelopes of the offsets
between the tight part boxes of the 12 people of the COCO-WholeBody sample in the test data and
the matching person boxes of its 56-AP detector (face dx1 -7.2..-1.4, dy1 -1..-0.5, dx2
0.8..4.2, dy2 4.2..11.4; hands dx1 -10.8..0.1, dy1 -5.3..-2.9, dx2 0..7.4, dy2 2.4..14.6), made
left/right symmetric: a rough prior from few samples; fit your own with :func:`fit_offsets`.

No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from alphapose.data.datasets import Sample
from alphapose.skeletons import get_layout
from alphapose.structures import check_image
from alphapose.transforms import apply_affine, box_to_center_scale

__all__ = [
    "DEFAULT_PART_OFFSETS",
    "OFFICIAL_MEAN",
    "AugmentConfig",
    "CropSample",
    "GaussianMixture2D",
    "GaussianMixtureOffsets",
    "OffsetDistribution",
    "PartProposalGenerator",
    "UniformOffsets",
    "apply_offsets",
    "augment_sample",
    "box_offsets",
    "crop_matrix",
    "fit_gaussian_mixture",
    "fit_offsets",
    "normalize_crop",
]

#: Per-channel means the official models subtract from RGB / 255 crops (R, G, B).
OFFICIAL_MEAN: tuple[float, float, float] = (0.406, 0.457, 0.480)


# ------------------------------------------------------------------------------------------------
# Crop augmentation
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AugmentConfig:
    """Random crop settings (official "2x" recipe by default: ``DATA_PRESET`` of the
    ``configs/**/*2x*.yaml`` files).

    Attributes:
        input_size: crop ``(h, w)``.
        scale_mult: box enlargement before cropping (official 1.25).
        scale_factor: ``sf``; scale multiplier ``clip(N(1, sf), 1 - sf, 1 + sf)``; 0 = off.
        rotation_factor: ``rf`` in degrees; rotation ``clip(N(0, rf), -2 rf, 2 rf)``; 0 = off.
        rotation_prob: probability of rotating at all (official 0.6).
        flip_prob: probability of a horizontal flip (official 0.5); 0 = off.
        half_body_prob: probability of a half-body crop (official 0.3; "1x" configs: off).
        half_body_min_joints: half-body needs more than this many visible points.
        half_body_upper_prob: probability of choosing the upper body (official: ``randn() <
            0.5``, i.e. 0.6915).
        upper_body_ids: keypoint indices of the upper body (official: 0-10 in every layout).
        mean: per-channel RGB mean subtracted from the ``[0, 1]`` crop.
    """

    input_size: tuple[int, int] = (256, 192)
    scale_mult: float = 1.25
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    half_body_prob: float = 0.3
    half_body_min_joints: int = 8
    half_body_upper_prob: float = 0.6915
    upper_body_ids: tuple[int, ...] = tuple(range(11))
    mean: tuple[float, float, float] = OFFICIAL_MEAN

    def __post_init__(self) -> None:
        check_crop_settings(self, ("rotation_prob", "flip_prob", "half_body_prob",
                                   "half_body_upper_prob"))
        if self.rotation_factor < 0 or self.scale_mult <= 0:
            raise ValueError("AugmentConfig: rotation_factor must be >= 0 and scale_mult > 0")
        object.__setattr__(self, "upper_body_ids", tuple(int(i) for i in self.upper_body_ids))

    @classmethod
    def no_augmentation(cls, input_size: tuple[int, int] = (256, 192)) -> AugmentConfig:
        """The deterministic test-time crop (no scale, rotation, flip or half-body)."""
        return cls(input_size=input_size, scale_factor=0.0, rotation_factor=0.0,
                   rotation_prob=0.0, flip_prob=0.0, half_body_prob=0.0)


@dataclass(frozen=True, eq=False)
class CropSample:
    """One augmented training input.

    Attributes:
        image: ``(3, H, W)`` float32 RGB crop, ``/ 255`` minus the mean.
        keypoints: ``(K, 2)`` float32 targets in input-crop pixels.
        weights: ``(K,)`` float32 loss weights (annotated, labelled and inside the crop).
        crop_from_img: ``(2, 3)`` float64 matrix image -> crop (flip included).
        flipped: whether the crop was mirrored (keypoints already swapped).
        rotation: degrees.
        box: ``(4,)`` the (possibly PGPG-jittered) box the crop was built from.
    """

    image: np.ndarray
    keypoints: np.ndarray
    weights: np.ndarray
    crop_from_img: np.ndarray
    flipped: bool
    rotation: float
    box: np.ndarray


def check_crop_settings(config: object, probabilities: Sequence[str]) -> None:
    """Check the settings a crop-making config shares (``input_size``, the named
    probabilities, ``scale_factor``) and store ``input_size`` as an int ``(h, w)``; errors name
    the config's class and field."""
    owner = type(config).__name__
    h, w = (int(v) for v in config.input_size)  # type: ignore[attr-defined]
    if h <= 0 or w <= 0:
        raise ValueError(f"{owner}.input_size: expected positive (h, w), got "
                         f"{config.input_size}")  # type: ignore[attr-defined]
    object.__setattr__(config, "input_size", (h, w))
    for name in probabilities:
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{owner}.{name}: expected a probability in [0, 1], got {value}")
    scale_factor = config.scale_factor  # type: ignore[attr-defined]
    if not 0.0 <= scale_factor < 1.0:
        raise ValueError(f"{owner}.scale_factor: expected [0, 1), got {scale_factor}")


def crop_matrix(center: Sequence[float], scale_w: float, rotation: float,
                input_size: tuple[int, int], flip: bool = False) -> np.ndarray:
    """Image -> crop ``2 x 3`` matrix (see the module docstring).

    Args:
        center: ``(cx, cy)`` in image pixels.
        scale_w: crop width in image pixels.
        rotation: degrees, counter-clockwise as displayed.
        input_size: ``(h, w)`` of the crop.
        flip: mirror the crop horizontally.

    Returns:
        ``(2, 3)`` float64.
    """
    if scale_w <= 0:
        raise ValueError(f"scale_w: expected a positive crop width, got {scale_w}")
    h, w = input_size
    s = w / float(scale_w)
    theta = np.deg2rad(rotation)
    c, si = np.cos(theta), np.sin(theta)
    linear = s * np.array([[c, si], [-si, c]])
    offset = np.array([w / 2.0, h / 2.0]) - linear @ np.asarray(center, np.float64)
    matrix = np.hstack([linear, offset[:, None]])
    if flip:
        matrix = np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack(
            [matrix, [0.0, 0.0, 1.0]])
    return matrix


def normalize_crop(crop_bgr: np.ndarray, mean: Sequence[float] = OFFICIAL_MEAN) -> np.ndarray:
    """``(H, W, 3)`` uint8 BGR -> ``(3, H, W)`` float32 RGB ``/ 255 - mean``."""
    rgb = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    return rgb.transpose(2, 0, 1) - np.asarray(mean, np.float32).reshape(3, 1, 1)


def _half_body(keypoints: np.ndarray, weights: np.ndarray, cfg: AugmentConfig,
               rng: np.random.Generator) -> tuple[np.ndarray, float] | None:
    visible = np.flatnonzero(weights > 0)
    upper_ids = set(cfg.upper_body_ids)
    upper = [k for k in visible if k in upper_ids]
    lower = [k for k in visible if k not in upper_ids]
    if rng.random() < cfg.half_body_upper_prob and len(upper) > 2:
        chosen = upper
    else:
        chosen = lower if len(lower) > 2 else upper
    if len(chosen) < 2:
        return None
    pts = keypoints[chosen, :2].astype(np.float64)
    center = pts.mean(0)
    (x1, y1), (x2, y2) = pts.min(0), pts.max(0)
    bw, bh = x2 - x1, y2 - y1
    aspect = cfg.input_size[1] / cfg.input_size[0]
    if bw > aspect * bh:
        bh = bw / aspect
    elif bw < aspect * bh:
        bw = bh * aspect
    if bw <= 0:
        return None
    return center, float(bw * 1.5)


def augment_sample(image_bgr: np.ndarray, sample: Sample, cfg: AugmentConfig,
                   rng: np.random.Generator,
                   proposals: PartProposalGenerator | None = None) -> CropSample:
    """Crop ``sample`` out of its image with random augmentation.

    Args:
        image_bgr: ``(H, W, 3)`` uint8 image of ``sample``.
        sample: the instance (box, keypoints in its layout).
        cfg: augmentation settings.
        rng: random generator (all draws come from it).
        proposals: part-guided proposal generator; when given, the box is replaced by a proposal
            for ``sample.part`` before cropping.

    Returns:
        The crop, its keypoint targets in crop pixels and weights; points falling outside the
        crop get weight 0.
    """
    check_image(image_bgr, "image_bgr")
    layout = get_layout(sample.layout)
    box = sample.box.astype(np.float64)
    if proposals is not None:
        box = proposals.propose(box, sample.part, rng)
    h_in, w_in = cfg.input_size
    center, scale = box_to_center_scale(box, w_in / h_in, cfg.scale_mult)
    center = center.astype(np.float64)
    scale_w = max(float(scale[0]), 1.0)
    weights = sample.weights.copy()
    if (cfg.half_body_prob > 0 and int((weights > 0).sum()) > cfg.half_body_min_joints
            and rng.random() < cfg.half_body_prob):
        half = _half_body(sample.keypoints, weights, cfg, rng)
        if half is not None:
            center, scale_w = half
    if cfg.scale_factor > 0:
        sf = cfg.scale_factor
        scale_w *= float(np.clip(rng.standard_normal() * sf + 1.0, 1.0 - sf, 1.0 + sf))
    rotation = 0.0
    if cfg.rotation_factor > 0 and rng.random() < cfg.rotation_prob:
        rf = cfg.rotation_factor
        rotation = float(np.clip(rng.standard_normal() * rf, -2 * rf, 2 * rf))
    flip = cfg.flip_prob > 0 and rng.random() < cfg.flip_prob
    matrix = crop_matrix(center, scale_w, rotation, cfg.input_size, flip)
    crop = cv2.warpAffine(image_bgr, matrix, (w_in, h_in), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    points = apply_affine(sample.keypoints[:, :2], matrix)
    if flip:
        points = points[layout.flip_index]
        weights = weights[layout.flip_index]
    inside = ((points[:, 0] >= -0.5) & (points[:, 0] <= w_in - 0.5)
              & (points[:, 1] >= -0.5) & (points[:, 1] <= h_in - 0.5))
    weights = np.where(inside, weights, 0.0).astype(np.float32)
    points = np.where(weights[:, None] > 0, points, 0.0).astype(np.float32)
    return CropSample(normalize_crop(crop, cfg.mean), points, weights, matrix, bool(flip),
                      rotation, np.asarray(box, np.float32))


# ------------------------------------------------------------------------------------------------
# Part-guided proposal generator
# ------------------------------------------------------------------------------------------------

@runtime_checkable
class OffsetDistribution(Protocol):
    """A distribution of normalised box offsets ``(dx1, dy1, dx2, dy2)``."""

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, 4)`` float64 draws."""
        ...


@dataclass(frozen=True)
class UniformOffsets:
    """Independent uniform offsets (the paper's approximation).

    Attributes:
        low: ``(dx1, dy1, dx2, dy2)`` lower bounds.
        high: upper bounds (``>= low``).
    """

    low: tuple[float, float, float, float]
    high: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        low = np.asarray(self.low, np.float64).reshape(-1)
        high = np.asarray(self.high, np.float64).reshape(-1)
        if low.shape != (4,) or high.shape != (4,):
            raise ValueError("UniformOffsets: low and high need 4 values (dx1, dy1, dx2, dy2)")
        if np.any(high < low):
            raise ValueError(f"UniformOffsets: high {high.tolist()} below low {low.tolist()}")
        object.__setattr__(self, "low", tuple(float(v) for v in low))
        object.__setattr__(self, "high", tuple(float(v) for v in high))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, 4)`` offsets."""
        return rng.uniform(self.low, self.high, size=(int(n), 4))


@dataclass(frozen=True, eq=False)
class GaussianMixture2D:
    """A 2-D Gaussian mixture.

    Attributes:
        weights: ``(M,)`` mixing weights summing to 1.
        means: ``(M, 2)``.
        covariances: ``(M, 2, 2)`` symmetric positive definite.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, np.float64).reshape(-1)
        m = np.asarray(self.means, np.float64).reshape(-1, 2)
        c = np.asarray(self.covariances, np.float64).reshape(-1, 2, 2)
        if not (len(w) == len(m) == len(c)) or len(w) == 0:
            raise ValueError(f"GaussianMixture2D: weights, means and covariances must have the "
                             f"same number (>0) of components, got {len(w)}, {len(m)}, {len(c)}")
        if np.any(w < 0) or not np.isclose(w.sum(), 1.0):
            raise ValueError(f"GaussianMixture2D.weights: expected non-negative values summing "
                             f"to 1, got {w.tolist()}")
        for cov in c:
            if not np.allclose(cov, cov.T) or np.any(np.linalg.eigvalsh(cov) <= 0):
                raise ValueError("GaussianMixture2D.covariances: expected symmetric positive "
                                 "definite 2x2 matrices")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "covariances", c)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, 2)`` draws."""
        comp = rng.choice(len(self.weights), size=int(n), p=self.weights)
        chol = np.linalg.cholesky(self.covariances)
        z = rng.standard_normal((int(n), 2))
        return self.means[comp] + np.einsum("nij,nj->ni", chol[comp], z)

    def pdf(self, points: np.ndarray) -> np.ndarray:
        """Density at ``(n, 2)`` points."""
        return np.exp(_component_log_pdf(np.asarray(points, np.float64).reshape(-1, 2), self)
                      ).dot(self.weights)

    def marginal_cdf(self, values: np.ndarray, axis: int) -> np.ndarray:
        """CDF of the marginal along ``axis`` (0 or 1) at ``values`` (for tests, KS)."""
        from math import erf, sqrt

        values = np.asarray(values, np.float64)
        out = np.zeros_like(values)
        for w, mean, cov in zip(self.weights, self.means, self.covariances):
            sd = sqrt(cov[axis, axis])
            out += w * np.vectorize(lambda v, mu=mean[axis], s=sd:
                                    0.5 * (1 + erf((v - mu) / (s * sqrt(2)))))(values)
        return out


def _component_log_pdf(x: np.ndarray, gmm: GaussianMixture2D) -> np.ndarray:
    """``(n, M)`` log densities of each component."""
    out = np.empty((len(x), len(gmm.weights)))
    for j, (mean, cov) in enumerate(zip(gmm.means, gmm.covariances)):
        diff = x - mean
        inv = np.linalg.inv(cov)
        maha = np.einsum("ni,ij,nj->n", diff, inv, diff)
        out[:, j] = -0.5 * maha - np.log(2 * np.pi) - 0.5 * np.log(np.linalg.det(cov))
    return out


@dataclass(frozen=True)
class GaussianMixtureOffsets:
    """The paper's offset model: ``P_x(dx1, dx2 | p)`` and ``P_y(dy1, dy2 | p)``, independent.

    Attributes:
        x: mixture over ``(dx1, dx2)``.
        y: mixture over ``(dy1, dy2)``.
    """

    x: GaussianMixture2D
    y: GaussianMixture2D

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, 4)`` offsets ``(dx1, dy1, dx2, dy2)``."""
        dx = self.x.sample(n, rng)
        dy = self.y.sample(n, rng)
        return np.stack([dx[:, 0], dy[:, 0], dx[:, 1], dy[:, 1]], axis=1)


def box_offsets(detected: np.ndarray, tight: np.ndarray) -> np.ndarray:
    """Normalised offsets of detected boxes from tight part boxes (paper Sec. 3.3).

    Args:
        detected: ``(n, 4)`` xyxy detections.
        tight: ``(n, 4)`` xyxy ground-truth boxes of the part, same order.

    Returns:
        ``(n, 4)`` ``(dx1, dy1, dx2, dy2)``, e.g. ``dx1 = (det_x1 - gt_x1) / gt_w``.
    """
    det = np.asarray(detected, np.float64).reshape(-1, 4)
    gt = np.asarray(tight, np.float64).reshape(-1, 4)
    if det.shape != gt.shape:
        raise ValueError(f"detected / tight: expected the same number of boxes, got "
                         f"{det.shape[0]} and {gt.shape[0]}")
    size = np.stack([gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]] * 2, axis=1)
    if np.any(size <= 0):
        raise ValueError("tight: every box needs a positive width and height")
    return (det - gt) / size


def apply_offsets(tight: np.ndarray, offsets: np.ndarray, min_size: float = 2.0) -> np.ndarray:
    """Proposals from a tight box and ``(n, 4)`` offsets (inverse of :func:`box_offsets`).

    Boxes whose side would drop below ``min_size`` pixels are widened around their centre.
    """
    gt = np.asarray(tight, np.float64).reshape(4)
    offsets = np.asarray(offsets, np.float64).reshape(-1, 4)
    w, h = gt[2] - gt[0], gt[3] - gt[1]
    out = gt + offsets * np.array([w, h, w, h])
    for a, b in ((0, 2), (1, 3)):
        small = out[:, b] - out[:, a] < min_size
        mid = (out[small, a] + out[small, b]) / 2
        out[small, a], out[small, b] = mid - min_size / 2, mid + min_size / 2
    return out


def fit_gaussian_mixture(points: np.ndarray, components: int = 3, iterations: int = 200,
                         seed: int = 0, min_variance: float = 1e-6) -> GaussianMixture2D:
    """Maximum-likelihood 2-D Gaussian mixture by EM (k-means++ style initialisation).

    Args:
        points: ``(n, 2)`` samples, ``n >= components``.
        components: ``M``.
        iterations: EM iterations (stops earlier when the log likelihood settles).
        seed: initialisation seed.
        min_variance: added to the covariance diagonals (keeps them positive definite).
    """
    x = np.asarray(points, np.float64).reshape(-1, 2)
    n = len(x)
    if components < 1 or n < components:
        raise ValueError(f"points: need at least components={components} samples, got {n}")
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(n)]]
    for _ in range(1, components):
        d2 = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        total = d2.sum()
        centres.append(x[rng.choice(n, p=d2 / total)] if total > 0 else x[rng.integers(n)])
    base_cov = np.cov(x.T) + min_variance * np.eye(2)
    gmm = GaussianMixture2D(np.full(components, 1.0 / components), np.array(centres),
                            np.repeat(base_cov[None], components, 0))
    previous = -np.inf
    for _ in range(iterations):
        log_p = _component_log_pdf(x, gmm) + np.log(np.maximum(gmm.weights, 1e-300))
        top = log_p.max(1, keepdims=True)
        log_norm = top + np.log(np.exp(log_p - top).sum(1, keepdims=True))
        resp = np.exp(log_p - log_norm)
        nk = resp.sum(0) + 1e-12
        means = resp.T @ x / nk[:, None]
        covs = np.empty((components, 2, 2))
        for j in range(components):
            diff = x - means[j]
            covs[j] = (resp[:, j, None] * diff).T @ diff / nk[j] + min_variance * np.eye(2)
            covs[j] = (covs[j] + covs[j].T) / 2
        gmm = GaussianMixture2D(nk / nk.sum(), means, covs)
        likelihood = float(log_norm.sum())
        if abs(likelihood - previous) < 1e-8 * max(1.0, abs(likelihood)):
            break
        previous = likelihood
    return gmm


def fit_offsets(detected: np.ndarray, tight: np.ndarray, components: int = 3,
                seed: int = 0) -> GaussianMixtureOffsets:
    """Fit the paper's per-part offset mixtures from (detection, tight part box) pairs.

    Args:
        detected: ``(n, 4)`` detected person boxes.
        tight: ``(n, 4)`` tight boxes of the part (same order).
        components: mixture components per axis.
        seed: EM initialisation seed.
    """
    offsets = box_offsets(detected, tight)
    return GaussianMixtureOffsets(
        fit_gaussian_mixture(offsets[:, [0, 2]], components, seed=seed),
        fit_gaussian_mixture(offsets[:, [1, 3]], components, seed=seed))


def _uniform_like_normal(means: Sequence[float], sds: Sequence[float]) -> UniformOffsets:
    half = np.sqrt(3.0) * np.asarray(sds)
    return UniformOffsets(tuple(np.asarray(means) - half), tuple(np.asarray(means) + half))


_HAND = UniformOffsets((-7.0, -5.0, 0.0, 2.0), (0.0, -2.5, 7.0, 12.0))

#: Default per-part uniform offset ranges (see the module docstring for where they come from).
DEFAULT_PART_OFFSETS: Mapping[str, OffsetDistribution] = MappingProxyType({
    "body": _uniform_like_normal((-0.0142, 0.0043, 0.0154, -0.0013),
                                 (0.1158, 0.068, 0.1337, 0.0711)),
    "face": UniformOffsets((-5.0, -1.0, 1.0, 3.0), (-1.0, -0.3, 5.0, 10.0)),
    "left_hand": _HAND,
    "right_hand": _HAND,
})


@dataclass(frozen=True)
class PartProposalGenerator:
    """Turns a part's tight box into a detector-like person proposal.

    Attributes:
        distributions: part -> offset distribution (``"body"``, ``"face"``, ``"left_hand"``,
            ``"right_hand"``; parts absent here keep their box).
        min_size: smallest proposal side in pixels.
    """

    distributions: Mapping[str, OffsetDistribution] = field(
        default_factory=lambda: DEFAULT_PART_OFFSETS)
    min_size: float = 2.0

    def __post_init__(self) -> None:
        for part, dist in self.distributions.items():
            if not isinstance(dist, OffsetDistribution):
                raise TypeError(f"distributions[{part!r}]: expected an offset distribution "
                                f"with sample(n, rng), got {type(dist).__name__}")
        object.__setattr__(self, "distributions", MappingProxyType(dict(self.distributions)))

    def propose_many(self, box: np.ndarray, part: str, n: int,
                     rng: np.random.Generator) -> np.ndarray:
        """``(n, 4)`` proposals for the tight ``box`` of ``part``."""
        box = np.asarray(box, np.float64).reshape(4)
        dist = self.distributions.get(part)
        if dist is None:
            return np.repeat(box[None], int(n), 0)
        return apply_offsets(box, dist.sample(n, rng), self.min_size)

    def propose(self, box: np.ndarray, part: str, rng: np.random.Generator) -> np.ndarray:
        """One ``(4,)`` proposal."""
        return self.propose_many(box, part, 1, rng)[0]
