"""Body landmarks from the BlazePose landmark models (lite, full, heavy), on one rotated person
crop.

The three models share inputs and outputs; they differ in size and accuracy (measured here,
2 cores: a lite invoke costs about 0.5x a full one, a heavy one about 2.8x; body AP end to end on
the shared COCO images, BlazePose detector, two passes: full 0.580, heavy 0.677). ``full`` ships
in the mediapipe wheel; ``lite`` and ``heavy`` come from the ``@mediapipe/pose`` npm package
(see :mod:`alphapose.weights`).

The model sees a ``256 x 256`` RGB crop in [0, 1] and returns, for 39 points (33 named body
landmarks + 6 auxiliary ones), ``(x, y, z, visibility, presence)`` in crop pixels, a pose-presence
logit and ``64 x 64 x 39`` heatmap logits. Points 33 and 34 (auxiliary) are the body centre and a
point on the body circle; they place the next crop.

Three decodings of the landmark positions are available (see :data:`DECODINGS`):

* ``"regression"``: the regressed coordinates as they are;
* ``"heatmap"`` (default): the regressed point refined by the heatmap in a ``7 x 7`` window around
  it: sigmoid, then divide by the window sum (the paper's two-step normalisation, Sec. 3.1),
  then the expectation of the column / row, kept when the window's peak sigmoid is >= 0.5. This
  is the refinement MediaPipe's graph applies (heatmap coordinate = index / 64, no half-pixel);
* ``"integral"``: the same two-step integral over the whole ``64 x 64`` map (measured worse: these
  maps were not trained for a global integral).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alphapose.codecs import IntegralRegressionCodec, sigmoid
from alphapose.runtime.litert import LiteRTModel
from alphapose.transforms import RotatedRect, apply_affine, normalize_angle, warp_crop
from alphapose.weights import get_model_file

__all__ = [
    "BODY_MODELS",
    "DECODINGS",
    "BlazeBody",
    "BodyResult",
    "body33_to_halpe26",
    "body_box",
    "integral_decode",
    "refine_with_heatmap",
    "roi_from_alignment_points",
]

DECODINGS = ("heatmap", "regression", "integral")
#: the COCO-17 keypoints among the 33 named BlazePose points, in COCO order
BLAZE_TO_COCO17 = np.array([0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
#: body landmark models by name -> their zoo entry (:func:`alphapose.weights.get_model_file`)
BODY_MODELS = {"lite": "blaze-pose-lite", "full": "blaze-pose-full", "heavy": "blaze-pose-heavy"}

INPUT_SIZE = 256
HEATMAP_SIZE = 64
NUM_POINTS = 39
#: MediaPipe's person ROI: the alignment square is enlarged by this factor.
ROI_SCALE = 1.25


@dataclass
class BodyResult:
    """One body estimate.

    Attributes:
        points: ``(39, 2)`` image pixels (33 named + 6 auxiliary landmarks).
        visibility: ``(39,)`` probability that each point is visible (not occluded).
        presence: ``(39,)`` probability that each point is inside the crop.
        pose_score: probability that the crop holds a person.
        rect: the crop the estimate was made on.
        world: ``(39, 3)`` world landmarks in metres, hip-centred, in the crop's axes (see
            :mod:`alphapose.estimators.body_extras`); None unless asked for.
        segmentation: ``(256, 256)`` segmentation logits on the crop's pixels; None unless
            asked for.
    """

    points: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    pose_score: float
    rect: RotatedRect
    world: np.ndarray | None = None
    segmentation: np.ndarray | None = None


def roi_from_alignment_points(center: np.ndarray, scale_point: np.ndarray,
                              scale: float = ROI_SCALE) -> RotatedRect:
    """The person crop MediaPipe derives from two alignment points.

    The crop is centred on ``center``; its side is twice the distance to ``scale_point``, times
    ``scale``; it is rotated so that ``center -> scale_point`` points up in the crop.

    Args:
        center: ``(2,)`` body centre in image pixels (mid-hip).
        scale_point: ``(2,)`` point on the body circle (above the head for an upright person).
        scale: enlargement of the alignment square.
    """
    dx, dy = (np.asarray(scale_point, np.float64) - np.asarray(center, np.float64))
    side = 2.0 * float(np.hypot(dx, dy)) * scale
    # angle of the up vector measured with y pointing up; the crop rotation turns it to 90 degrees
    rotation = normalize_angle(np.pi / 2 - np.arctan2(-dy, dx))
    return RotatedRect(float(center[0]), float(center[1]), side, side, rotation)


def refine_with_heatmap(points_norm: np.ndarray, heatmap_logits: np.ndarray, kernel: int = 7,
                        min_confidence: float = 0.5) -> np.ndarray:
    """Refine normalised points by a local two-step-normalised integral over their heatmaps.

    For point ``k`` in heatmap cell ``(r, c)``, the window is the cells within ``(kernel - 1) // 2``
    rows and columns of it, cut at the map's edges; its sigmoids are divided by their sum and the
    point becomes the expected ``(column, row) / S``. Points outside the map, or whose window
    peaks below ``min_confidence``, are kept. All points are done at once.

    Args:
        points_norm: ``(K, 2)`` points in [0, 1] crop units.
        heatmap_logits: ``(S, S, K)`` logits.
        kernel: window side in heatmap cells.
        min_confidence: refine only where the window's peak sigmoid reaches this.

    Returns:
        ``(K, 2)`` float64 refined points in [0, 1] crop units (heatmap index / S).
    """
    size, _, count = heatmap_logits.shape
    out = points_norm.astype(np.float64)
    half = (kernel - 1) // 2
    cols = np.floor(points_norm[:, 0] * size).astype(np.intp)
    rows = np.floor(points_norm[:, 1] * size).astype(np.intp)
    (inside,) = np.nonzero((cols >= 0) & (cols < size) & (rows >= 0) & (rows < size))
    if inside.size == 0:
        return out
    offsets = np.arange(-half, half + 1)
    r = rows[inside, None] + offsets                                   # (M, n) window rows
    c = cols[inside, None] + offsets                                   # (M, n) window columns
    on_map = None
    if rows[inside].min() < half or rows[inside].max() >= size - half or \
            cols[inside].min() < half or cols[inside].max() >= size - half:
        # some window crosses the map's edge: read a clipped cell there, zeroed below
        on_map = ((r >= 0) & (r < size))[:, :, None] & ((c >= 0) & (c < size))[:, None, :]
        r_read, c_read = np.clip(r, 0, size - 1), np.clip(c, 0, size - 1)
    else:
        r_read, c_read = r, c
    # every window at once, through flat indices into the (S, S, K) map: (M, n, n)
    flat = (r_read[:, :, None] * size + c_read[:, None, :]) * count + inside[:, None, None]
    window = sigmoid(np.take(heatmap_logits, flat).astype(np.float64))
    if on_map is not None:
        window *= on_map
    total = window.sum(axis=(1, 2))
    ok = (window.max(axis=(1, 2)) >= min_confidence) & (total > 0)
    if not ok.all():
        inside, window, total, r, c = inside[ok], window[ok], total[ok], r[ok], c[ok]
    out[inside, 0] = (window.sum(axis=1) * c).sum(axis=1) / total / size
    out[inside, 1] = (window.sum(axis=2) * r).sum(axis=1) / total / size
    return out


def integral_decode(heatmap_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-step-normalised integral regression over whole maps (paper Sec. 3.1).

    Args:
        heatmap_logits: ``(S, S, K)``.

    Returns:
        ``(points (K, 2) in [0, 1] crop units, confidence (K,) = max sigmoid)``.
    """
    size = heatmap_logits.shape[0]
    coords, confidence = IntegralRegressionCodec("sigmoid").decode(
        np.transpose(heatmap_logits, (2, 0, 1))[None])
    return coords[0].astype(np.float64) / size, confidence[0]


class BlazeBody:
    """BlazePose landmarks on rotated person crops.

    Args:
        decoding: one of :data:`DECODINGS`.
        num_threads: interpreter threads.
        model: ``"lite"``, ``"full"`` or ``"heavy"`` (:data:`BODY_MODELS`).
        world: also return the world landmarks (:attr:`BodyResult.world`).
        segmentation: also return the segmentation logits (:attr:`BodyResult.segmentation`).
    """

    def __init__(self, decoding: str = "heatmap", num_threads: int = 2,
                 model: str = "full", world: bool = False, segmentation: bool = False) -> None:
        if decoding not in DECODINGS:
            raise ValueError(f"decoding {decoding!r} is not one of {DECODINGS}")
        if model not in BODY_MODELS:
            raise ValueError(f"body model {model!r} is not one of {list(BODY_MODELS)}")
        self.decoding = decoding
        self.model_name = model
        # outputs 2 (segmentation mask) and 4 (world landmarks) are copied only when asked for
        skip = tuple(i for i, wanted in ((2, segmentation), (4, world)) if not wanted)
        self.model = LiteRTModel(get_model_file(BODY_MODELS[model]), num_threads=num_threads,
                                 skip_outputs=skip)

    def __call__(self, image: np.ndarray, rect: RotatedRect) -> BodyResult:
        """Estimate the body in ``rect`` of a BGR image."""
        crop, img_from_crop = warp_crop(image, rect, INPUT_SIZE, INPUT_SIZE, rgb=True)
        # RGB in [0, 1]: one pass from uint8 (the same float32 values as astype, then / 255)
        tensor = np.divide(crop, np.float32(255.0), dtype=np.float32)[None]
        landmarks, flag, segmentation, heatmap, world = self.model(tensor)
        raw = landmarks.reshape(NUM_POINTS, 5)
        norm = raw[:, :2] / INPUT_SIZE
        if self.decoding == "heatmap":
            norm = refine_with_heatmap(norm, heatmap[0])
        elif self.decoding == "integral":
            norm, _ = integral_decode(heatmap[0])
        # normalised crop units (0 = left edge) -> crop pixel centres -> image
        crop_xy = norm * INPUT_SIZE - 0.5
        points = apply_affine(crop_xy, img_from_crop)
        return BodyResult(points=points, visibility=sigmoid(raw[:, 3]).astype(np.float32),
                          presence=sigmoid(raw[:, 4]).astype(np.float32),
                          pose_score=float(sigmoid(flag.reshape(-1)[0])), rect=rect,
                          world=None if world is None else world.reshape(NUM_POINTS, 3),
                          segmentation=None if segmentation is None
                          else segmentation.reshape(INPUT_SIZE, INPUT_SIZE))

    @staticmethod
    def next_rect(result: BodyResult) -> RotatedRect:
        """The crop for the next pass, from the auxiliary landmarks (33 centre, 34 scale)."""
        return roi_from_alignment_points(result.points[33], result.points[34])


def body33_to_halpe26(points: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Halpe-26 keypoints from BlazePose-33 landmarks.

    Args:
        points: ``(33+, 2)`` image pixels.
        scores: ``(33+,)`` probabilities.

    Returns:
        ``(points (26, 2), scores (26,))``.
    """
    out = np.zeros((26, 2), np.float32)
    out_scores = np.zeros((26,), np.float32)
    out[:17] = points[BLAZE_TO_COCO17]
    out_scores[:17] = scores[BLAZE_TO_COCO17]

    def mid(a: int, b: int) -> tuple[np.ndarray, float]:
        return (points[a] + points[b]) / 2, float(min(scores[a], scores[b]))

    eyes, eyes_score = mid(2, 5)
    mouth, mouth_score = mid(9, 10)
    out[17] = eyes + 2.0 * (eyes - mouth)
    out_scores[17] = min(eyes_score, mouth_score)
    out[18], out_scores[18] = mid(11, 12)
    out[19], out_scores[19] = mid(23, 24)
    lateral_axis = points[23] - points[24]  # right hip -> left hip
    for side, (heel, toe, big, small, heel_out) in enumerate(((29, 31, 20, 22, 24),
                                                               (30, 32, 21, 23, 25))):
        out[big], out_scores[big] = points[toe], scores[toe]
        out[heel_out], out_scores[heel_out] = points[heel], scores[heel]
        along = points[toe] - points[heel]
        length = float(np.hypot(*along))
        outward = lateral_axis if side == 0 else -lateral_axis
        perp = np.array([-along[1], along[0]]) / max(length, 1e-6)
        if np.dot(perp, outward) < 0:
            perp = -perp
        out[small] = points[heel] + 0.8 * along + 0.3 * length * perp
        out_scores[small] = 0.5 * min(scores[heel], scores[toe])
    return out, out_scores


def body_box(points: np.ndarray, scores: np.ndarray, image_shape: tuple[int, ...],
             min_score: float = 0.3, margin: float = 0.1) -> np.ndarray:
    """``(4,)`` xyxy box around the confident body points, enlarged by ``margin`` of its size on
    each side and clipped to the image (all points are used when none is confident)."""
    confident = points[scores >= min_score] if (scores >= min_score).any() else points
    low, high = confident.min(0), confident.max(0)
    pad = (high - low) * margin
    height, width = image_shape[:2]
    low = np.clip(low - pad, [-0.5, -0.5], [width - 0.5, height - 0.5])
    high = np.clip(high + pad, [-0.5, -0.5], [width - 0.5, height - 0.5])
    return np.concatenate([low, high]).astype(np.float32)
