"""The embedded default person detector: MediaPipe's BlazePose detector run with LiteRT.

The model (``pose_detection.tflite``, zoo name ``"blaze-person-detector"``) is a single-shot
detector over 2254 SSD anchors on a 224 x 224 RGB input in ``[-1, 1]``. For every anchor it
regresses 12 numbers and one score logit:

* a box ``(cx, cy, w, h)`` — MediaPipe calls it the face box; in practice it is a square of
  about 45 input pixels near the face whatever the person's size, used here only for the NMS
  within one run — and
* four keypoints ``(x, y)``: 0 the mid-hip centre, 1 a point whose distance from the hip centre is
  the radius of a circle around the whole body (its direction gives the body's rotation), 2 the
  mid-shoulder centre, 3 the same kind of point for the upper body,

all as offsets in input pixels from the anchor centre. Decoding follows the options in MediaPipe's
``pose_detection_cpu.pbtxt`` graph (anchors, ``x/y/w/h`` scale 224, sigmoid of the logit clipped at
+-100, minimum score 0.5, weighted NMS at IoU 0.3), the person region follows
``pose_detection_to_roi.pbtxt`` (see :func:`person_roi`).

The detector sees the whole image letterboxed to 224 x 224 and finds people reliably only when
they are at least about half as tall as its input (measured on the labelled images of
``bench/detector.py``: 58% found at 100-130 input pixels, 20% at 60-80, none under 30). So
:class:`BlazePersonDetector` also runs it on square tiles of larger images (:func:`plan_tiles`)
and merges the runs' detections in image pixels (:func:`merge_people`, a weighted NMS keyed on
the shoulder centre, since the detector's own box does not follow the person across scales).

Coordinates: image points are ``(x, y)`` with pixel centres at integer coordinates. The model's
own coordinates measure from the input's top-left pixel *edge* (anchor centres sit at
``(i + 0.5) * stride``), so :func:`decode_raw` subtracts 0.5 to return pixel-centre coordinates
of the model input, which :class:`alphapose.transforms.Letterbox` maps back to the image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from alphapose.codecs import sigmoid
from alphapose.detection.nms import weighted_nms
from alphapose.structures import Detections, check_image
from alphapose.transforms import Letterbox, RotatedRect, apply_affine, letterbox, normalize_angle

__all__ = [
    "KEYPOINT_NAMES",
    "ROI_SCALE",
    "BlazeDetectorConfig",
    "BlazePersonDetector",
    "SsdAnchorOptions",
    "blaze_person_detector",
    "decode_in_image",
    "decode_raw",
    "merge_people",
    "merge_runs",
    "person_roi",
    "person_rois",
    "plan_tiles",
    "ssd_anchors",
]

#: Keypoint order of the detector.
KEYPOINT_NAMES = ("hip_center", "body_circle_point", "shoulder_center", "upper_body_circle_point")

#: Enlargement of the body circle's square (``RectTransformationCalculator`` scale 1.25 in
#: ``pose_detection_to_roi.pbtxt``): the margin the landmark model was trained with.
ROI_SCALE = 1.25

_NUM_KEYPOINTS = 4
_NUM_COORDS = 4 + 2 * _NUM_KEYPOINTS  # box (x, y, w, h) then 4 keypoints (x, y)
_SCORE_CLIP = 100.0  # score_clipping_thresh of the graph


@dataclass(frozen=True)
class SsdAnchorOptions:
    """How SSD anchors are laid out (the options of MediaPipe's ``SsdAnchorsCalculator``).

    The defaults are the pose detector's: 5 layers with strides 8, 16, 32, 32, 32 on a 224 x 224
    input. Consecutive layers with the same stride share one grid; every grid cell holds one
    anchor per (aspect ratio, scale) of each of those layers, plus one interpolated anchor per
    layer when ``interpolated_scale_aspect_ratio > 0``.

    Attributes:
        input_height: model input height in pixels.
        input_width: model input width in pixels.
        min_scale: anchor scale of the first layer (fraction of the input).
        max_scale: anchor scale of the last layer.
        strides: one stride per layer; a layer's grid is ``ceil(input / stride)`` cells.
        aspect_ratios: width / height ratios of each layer's anchors.
        anchor_offset_x: anchor centre within its cell, as a fraction of the cell.
        anchor_offset_y: same, vertically.
        interpolated_scale_aspect_ratio: aspect ratio of the extra anchor whose scale is the
            geometric mean of this layer's and the next layer's (1 for the last); 0 = none.
        reduce_boxes_in_lowest_layer: first layer uses the fixed set (1.0 at scale 0.1, 2.0,
            0.5) instead of ``aspect_ratios``.
        fixed_anchor_size: every anchor gets width = height = 1 (the regressed sizes are then
            absolute fractions of the input).
    """

    input_height: int = 224
    input_width: int = 224
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    aspect_ratios: tuple[float, ...] = (1.0,)
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    interpolated_scale_aspect_ratio: float = 1.0
    reduce_boxes_in_lowest_layer: bool = False
    fixed_anchor_size: bool = True


def _layer_scale(options: SsdAnchorOptions, layer: int) -> float:
    count = len(options.strides)
    if count == 1:
        return (options.min_scale + options.max_scale) / 2
    return options.min_scale + (options.max_scale - options.min_scale) * layer / (count - 1)


def _cell_anchor_sizes(options: SsdAnchorOptions, layers: range) -> list[tuple[float, float]]:
    """``(width, height)`` of the anchors one grid cell holds for a group of same-stride layers."""
    sizes: list[tuple[float, float]] = []
    for layer in layers:
        scale = _layer_scale(options, layer)
        if layer == 0 and options.reduce_boxes_in_lowest_layer:
            pairs = [(1.0, 0.1), (2.0, scale), (0.5, scale)]
        else:
            pairs = [(ratio, scale) for ratio in options.aspect_ratios]
            if options.interpolated_scale_aspect_ratio > 0:
                last = layer == len(options.strides) - 1
                following = 1.0 if last else _layer_scale(options, layer + 1)
                pairs.append((options.interpolated_scale_aspect_ratio,
                              math.sqrt(scale * following)))
        for ratio, size in pairs:
            root = math.sqrt(ratio)
            sizes.append((size * root, size / root))
    return sizes


def ssd_anchors(options: SsdAnchorOptions = SsdAnchorOptions()) -> np.ndarray:
    """Anchors of an SSD head, in the order the model emits its rows.

    Order: groups of same-stride layers in layer order; within a group, grid rows top to bottom,
    columns left to right, and the cell's anchors in layer then aspect-ratio order.

    Args:
        options: anchor layout; the default is the pose detector's.

    Returns:
        ``(N, 4)`` float64 anchors ``(cx, cy, w, h)`` as fractions of the input size
        (N = 2254 for the pose detector).

    Example:
        >>> anchors = ssd_anchors()
        >>> anchors.shape, anchors[0] * 224
        ((2254, 4), array([  4.,   4., 224., 224.]))
    """
    if len(options.strides) == 0:
        raise ValueError("options.strides: expected at least one layer stride, got none")
    if any(s <= 0 for s in options.strides):
        raise ValueError(f"options.strides: expected positive strides, got {options.strides}")
    if options.input_height <= 0 or options.input_width <= 0:
        raise ValueError(f"options: expected a positive input size, got "
                         f"{options.input_height}x{options.input_width}")
    blocks: list[np.ndarray] = []
    first = 0
    while first < len(options.strides):
        stop = first
        while stop < len(options.strides) and options.strides[stop] == options.strides[first]:
            stop += 1
        sizes = np.asarray(_cell_anchor_sizes(options, range(first, stop)), np.float64)
        if options.fixed_anchor_size:
            sizes = np.ones_like(sizes)
        rows = math.ceil(options.input_height / options.strides[first])
        cols = math.ceil(options.input_width / options.strides[first])
        cy, cx = np.meshgrid((np.arange(rows) + options.anchor_offset_y) / rows,
                             (np.arange(cols) + options.anchor_offset_x) / cols, indexing="ij")
        centres = np.stack([cx.ravel(), cy.ravel()], axis=1)           # (cells, 2)
        per_cell = np.repeat(centres, len(sizes), axis=0)               # cell-major
        whs = np.tile(sizes, (rows * cols, 1))
        blocks.append(np.concatenate([per_cell, whs], axis=1))
        first = stop
    return np.concatenate(blocks)


def _logit_floor(score_threshold: float) -> float:
    """A logit below which the score cannot reach ``score_threshold`` (1 below the exact one;
    from 36 up the float64 sigmoid is 1.0)."""
    if score_threshold <= 0:
        return -math.inf
    if score_threshold >= 1:
        return 35.0
    return min(math.log(score_threshold) - math.log1p(-score_threshold), 36.0) - 1.0


def decode_raw(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
               input_size: int = 224, *, score_threshold: float = 0.5,
               iou_threshold: float = 0.3, coord_scale: float = 224.0,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn the detector's raw outputs into scored boxes and keypoints in input pixels.

    Per anchor ``(acx, acy, aw, ah)`` (fractions of the input), a raw row ``r`` gives the box
    centre ``x = (r[0] / coord_scale * aw + acx) * input_size`` (``y`` alike from ``r[1]``), the
    box size ``w = r[2] / coord_scale * aw * input_size`` (``h`` from ``r[3]``) and keypoint
    ``k`` at ``r[4 + 2k]``, ``r[5 + 2k]`` decoded like the centre. The score is
    ``sigmoid(clip(logit, -100, 100))``; rows below ``score_threshold`` are dropped and the rest
    merged with weighted NMS (:func:`alphapose.detection.nms.weighted_nms`).

    Args:
        raw_boxes: ``(N, 12)`` regressors (a leading batch axis of 1 is accepted).
        raw_scores: ``(N, 1)`` or ``(N,)`` score logits.
        anchors: ``(N, 4)`` from :func:`ssd_anchors`.
        input_size: side of the square model input in pixels.
        score_threshold: minimum score kept (MediaPipe: 0.5).
        iou_threshold: weighted-NMS overlap above which boxes merge (MediaPipe: 0.3).
        coord_scale: the model's ``x/y/w/h_scale`` (224 for the pose detector).

    Returns:
        ``(xyxy, scores, keypoints)``: ``(M, 4)`` float32 boxes, ``(M,)`` float32 scores
        (descending) and ``(M, 4, 2)`` float32 keypoints, all in model-input pixels with pixel
        centres at integer coordinates.

    Example:
        >>> anchors = ssd_anchors()
        >>> boxes, scores = np.zeros((2254, 12), np.float32), np.full((2254, 1), -10, np.float32)
        >>> boxes[0, 2:4], scores[0] = 20.0, 5.0
        >>> xyxy, s, kps = decode_raw(boxes, scores, anchors)
        >>> xyxy.tolist(), kps[0, 0].tolist()
        ([[-6.5, -6.5, 13.5, 13.5]], [3.5, 3.5])
    """
    anchors = np.asarray(anchors, np.float64)
    if anchors.ndim != 2 or anchors.shape[1] != 4:
        raise ValueError(f"anchors: expected shape (N, 4), got {anchors.shape}")
    n = anchors.shape[0]
    raw = np.asarray(raw_boxes)
    if raw.ndim == 3 and raw.shape[0] == 1:
        raw = raw[0]
    if raw.shape != (n, _NUM_COORDS):
        raise ValueError(f"raw_boxes: expected shape ({n}, {_NUM_COORDS}) to match the anchors, "
                         f"got {np.shape(raw_boxes)}")
    logits = np.asarray(raw_scores)
    if logits.ndim == 3 and logits.shape[0] == 1:
        logits = logits[0]
    if logits.shape == (n, 1):
        logits = logits[:, 0]
    if logits.shape != (n,):
        raise ValueError(f"raw_scores: expected shape ({n}, 1) to match the anchors, "
                         f"got {np.shape(raw_scores)}")
    if input_size <= 0:
        raise ValueError(f"input_size: expected a positive side in pixels, got {input_size}")

    # Only rows whose logit is within 1 of the threshold's are decoded (float64, as all below):
    # the sigmoid is monotonic, so no row that reaches the threshold is skipped.
    (rows,) = np.nonzero(logits >= _logit_floor(score_threshold))
    logits = logits[rows].astype(np.float64)
    scores = sigmoid(np.clip(logits, -_SCORE_CLIP, _SCORE_CLIP))
    keep = rows[scores >= score_threshold]
    scores = scores[scores >= score_threshold]
    raw, anchors = raw[keep].astype(np.float64), anchors[keep]

    centre = anchors[:, None, :2]                           # (M, 1, 2)
    size = anchors[:, None, 2:]                             # (M, 1, 2)
    points = raw[:, 4:].reshape(-1, _NUM_KEYPOINTS, 2)      # (M, 4, 2)
    # model coordinates are from the input's top-left edge: -0.5 -> pixel-centre coordinates
    keypoints = (points / coord_scale * size + centre) * input_size - 0.5
    box_centre = (raw[:, None, 0:2] / coord_scale * size + centre)[:, 0] * input_size - 0.5
    box_size = raw[:, 2:4] / coord_scale * size[:, 0] * input_size
    xyxy = np.concatenate([box_centre - box_size / 2, box_centre + box_size / 2], axis=1)
    if xyxy.shape[0] == 0:
        return (np.zeros((0, 4), np.float32), np.zeros((0,), np.float32),
                np.zeros((0, _NUM_KEYPOINTS, 2), np.float32))
    merged_xyxy, merged_scores, merged_points = weighted_nms(xyxy, scores, iou_threshold,
                                                             keypoints=keypoints)
    assert merged_points is not None  # keypoints were given
    return merged_xyxy, merged_scores, merged_points


def decode_in_image(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                    transform: Letterbox, *, score_threshold: float = 0.5,
                    iou_threshold: float = 0.3,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`decode_raw` for one run, mapped back to the image through its letterbox.

    Args:
        raw_boxes: ``(N, 12)`` regressors of the run.
        raw_scores: ``(N, 1)`` score logits.
        anchors: ``(N, 4)`` from :func:`ssd_anchors`.
        transform: the :class:`~alphapose.transforms.Letterbox` that made the model input
            (of the whole image or of a tile).
        score_threshold: minimum score kept.
        iou_threshold: weighted-NMS overlap (in the model input) above which boxes merge.

    Returns:
        ``(xyxy, scores, keypoints)`` as in :func:`decode_raw`, in image pixels.
    """
    xyxy, scores, keypoints = decode_raw(raw_boxes, raw_scores, anchors, transform.size,
                                         score_threshold=score_threshold,
                                         iou_threshold=iou_threshold,
                                         coord_scale=float(transform.size))
    # the letterbox is a scale and a shift, so box corners map to box corners
    img_from_input = transform.img_from_input
    corners = apply_affine(xyxy.reshape(-1, 2, 2), img_from_input).reshape(-1, 4)
    return corners, scores, apply_affine(keypoints, img_from_input)


def person_roi(keypoints: np.ndarray, scale: float = ROI_SCALE) -> RotatedRect:
    """The rotated square crop MediaPipe's landmark model expects for one detection.

    MediaPipe's rule (``pose_detection_to_roi.pbtxt``: ``AlignmentPointsRectsCalculator`` with
    keypoints 0 -> 1 and target angle 90 degrees, then ``RectTransformationCalculator`` with
    ``square_long`` and scale 1.25): the centre is the hip centre (keypoint 0); the side is twice
    the distance from keypoint 0 to keypoint 1 (the body circle's diameter) times ``scale``; the
    rotation turns the crop so that the vector keypoint 0 -> keypoint 1 points straight up in the
    crop (a standing person, keypoint 1 above the hips, gets rotation 0).

    Args:
        keypoints: ``(4, 2)`` (or ``(>=2, 2)``) detector keypoints in image pixels.
        scale: enlargement of the body circle's square (1.25 as the model was trained).

    Returns:
        The crop as a :class:`~alphapose.transforms.RotatedRect` in image pixels, with
        ``rotation`` in the convention of :mod:`alphapose.transforms` (radians, y down).

    Example:
        >>> roi = person_roi(np.array([[100.0, 200.0], [100.0, 120.0], [0, 0], [0, 0]]))
        >>> roi.cx, roi.cy, roi.width, roi.rotation
        (100.0, 200.0, 200.0, 0.0)
    """
    points = np.asarray(keypoints, np.float64)
    if points.ndim != 2 or points.shape[0] < 2 or points.shape[1] != 2:
        raise ValueError(f"keypoints: expected shape (4, 2) detector keypoints, got {points.shape}")
    if not scale > 0:
        raise ValueError(f"scale: expected a positive enlargement factor, got {scale}")
    (cx, cy), (dx, dy) = points[0], points[1] - points[0]
    side = 2.0 * math.hypot(dx, dy) * scale
    # The crop's "up" is -y_crop = (sin r, -cos r) in the image; make it point along (dx, dy).
    rotation = normalize_angle(math.atan2(dx, -dy)) if (dx or dy) else 0.0
    return RotatedRect(float(cx), float(cy), side, side, rotation)


def person_rois(keypoints: np.ndarray, scale: float = ROI_SCALE) -> list[RotatedRect]:
    """:func:`person_roi` of every detection.

    Args:
        keypoints: ``(N, 4, 2)`` detector keypoints in image pixels (``Detections.keypoints``).
        scale: enlargement of the body circle's square.

    Returns:
        ``N`` rotated crops in image pixels.
    """
    points = np.asarray(keypoints, np.float64)
    if points.ndim != 3 or points.shape[2] != 2:
        raise ValueError(f"keypoints: expected shape (N, 4, 2), got {points.shape}")
    return [person_roi(p, scale) for p in points]


def merge_people(scores: np.ndarray, keypoints: np.ndarray, max_distance: float = 0.4,
                 weighted: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Merge detections of the same person coming from different runs (whole image, tiles).

    The detector's own box cannot tell this across runs: it is an anchor-sized square (about
    45 of 224 input pixels whatever the person's size), so its size follows the run's scale, not
    the person, and two runs' boxes of one person overlap little. Instead two detections are the
    same person when their shoulder centres (keypoint 2) are closer than ``max_distance`` times
    the larger of their upper-body radii ``|kp3 - kp2|`` (the larger, because a tile that cuts
    a person sees a smaller upper body than the whole image does). Measured on the 8 labelled
    images of ``bench/detector.py`` with the default tiles: of 176 cross-run pairs of one
    person 97% lie below 0.4 (median 0.075; the rest are broken detections of cut people), of
    350 pairs of different people 3 do (in a crowd), the others at 0.47 or more.

    Greedy like weighted NMS: the best remaining detection seeds a group of every remaining
    detection within reach of it; the group becomes one detection with the seed's score and the
    score-weighted mean of the members' keypoints (``weighted``) or the seed's own keypoints.

    Args:
        scores: ``(N,)`` detection scores.
        keypoints: ``(N, 4, 2)`` detector keypoints in image pixels.
        max_distance: reach in upper-body radii.
        weighted: average the group's keypoints (else keep the seed's).

    Returns:
        ``(scores (M,), keypoints (M, 4, 2))`` float32, by descending score.

    Example:
        >>> kps = np.array([[[0, 90], [0, 0], [0, 50], [0, -50]],
        ...                 [[2, 92], [2, 0], [10, 50], [10, -40]]], np.float64)
        >>> s, k = merge_people(np.array([0.75, 0.25]), kps)
        >>> s.tolist(), k[0, 2].tolist()
        ([0.75], [2.5, 50.0])
    """
    values = np.asarray(scores, np.float64)
    points = np.asarray(keypoints, np.float64)
    n = values.shape[0]
    if values.shape != (n,) or points.shape != (n, _NUM_KEYPOINTS, 2):
        raise ValueError(f"scores, keypoints: expected shapes (N,) and (N, 4, 2), got "
                         f"{values.shape} and {points.shape}")
    shoulders = points[:, 2]
    radius = np.linalg.norm(points[:, 3] - points[:, 2], axis=1)
    distance = np.linalg.norm(shoulders[:, None] - shoulders[None], axis=2)
    close = distance < max_distance * np.maximum(radius[:, None], radius[None])
    remaining = np.argsort(-values, kind="stable")
    out_scores: list[float] = []
    out_points: list[np.ndarray] = []
    while remaining.size:
        seed = remaining[0]
        member = close[seed, remaining]
        member[0] = True
        group = remaining[member]
        remaining = remaining[~member]
        out_scores.append(float(values[seed]))
        if weighted and values[group].sum() > 0:
            out_points.append(np.tensordot(values[group] / values[group].sum(), points[group], 1))
        else:
            out_points.append(points[seed])
    return (np.asarray(out_scores, np.float32),
            np.asarray(out_points, np.float32).reshape(-1, _NUM_KEYPOINTS, 2))


def _roi_boxes(keypoints: np.ndarray, scale: float) -> np.ndarray:
    """``(N, 4)`` axis-aligned bounds of each detection's (rotated) person crop."""
    centre = keypoints[:, 0]
    radius = np.linalg.norm(keypoints[:, 1] - keypoints[:, 0], axis=1)
    delta = keypoints[:, 1] - keypoints[:, 0]
    angle = np.where(radius > 0, np.arctan2(delta[:, 0], -delta[:, 1]), 0.0)
    # a square of half side a rotated by t spans a * (|cos t| + |sin t|) on each axis
    half = radius * scale * (np.abs(np.cos(angle)) + np.abs(np.sin(angle)))
    return np.concatenate([centre - half[:, None], centre + half[:, None]], axis=1)


@dataclass(frozen=True)
class BlazeDetectorConfig:
    """Tunables of :class:`BlazePersonDetector`.

    Attributes:
        score_threshold: minimum detection score (MediaPipe: 0.5).
        nms_iou: weighted-NMS IoU above which one run's detections merge (MediaPipe: 0.3),
            measured on the detector's own (head-sized) boxes.
        tiles: ``"auto"`` runs the square tiles of :func:`plan_tiles` as well as the whole image
            when the image's long side is at least ``auto_min_side``; ``"none"`` runs the whole
            image only (MediaPipe's behaviour: one run instead of about 11 for a 640 x 425
            image and 40 for 1920 x 1080, but people under about half the image's height are
            missed); ``"always"`` tiles every image.
        tile_scales: tile sides as fractions of ``min(H, W)``; a scale whose tile would cover
            the whole image is skipped (the whole-image run covers it). ``(1.0, 0.6)`` costs
            11 runs at 1080p instead of 40 but misses most people under about 300 px there
            (about 200 px with the 0.36 tiles).
        tile_overlap: overlap of neighbouring tiles as a fraction of the tile side (tiles are
            spread evenly, so the actual overlap is at least this).
        max_tiles: at most this many tile runs per image (besides the whole image); the
            smallest scales are dropped first when the plan is larger.
        auto_min_side: ``"auto"`` tiles images whose long side is at least this many pixels.
        min_tile_side: tiles smaller than this many image pixels are not run (upsampling a
            tiny tile to 224 px adds no detail).
        merge_distance: detections of different runs whose shoulder centres are closer than
            this many upper-body radii are one person (:func:`merge_people`).
        merge_weighted: a merged person gets the score-weighted mean of its detections'
            keypoints; else those of its best detection.
        box_scale: ``Detections.xyxy`` bounds the body-circle square (side ``2 * |kp1 - kp0|``)
            enlarged by this and rotated like :func:`person_roi`: 1.25 = exactly the crop the
            landmark model wants, 1.0 = the body circle's square.
        min_person_size: detections whose person box side is below this (image pixels) are
            dropped.
        max_detections: keep at most this many detections, best first (0 = all).
    """

    score_threshold: float = 0.5
    nms_iou: float = 0.3
    tiles: Literal["auto", "none", "always"] = "auto"
    tile_scales: tuple[float, ...] = (1.0, 0.6)
    tile_overlap: float = 0.33
    max_tiles: int = 48
    auto_min_side: int = 400
    min_tile_side: int = 192
    merge_distance: float = 0.4
    merge_weighted: bool = True
    box_scale: float = ROI_SCALE
    min_person_size: float = 0.0
    max_detections: int = 0

    def __post_init__(self) -> None:
        if self.tiles not in ("auto", "none", "always"):
            raise ValueError(f"tiles: expected 'auto', 'none' or 'always', got {self.tiles!r}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"score_threshold: expected a value in [0, 1], got "
                             f"{self.score_threshold}")
        if not 0.0 <= self.nms_iou <= 1.0:
            raise ValueError(f"nms_iou: expected a value in [0, 1], got {self.nms_iou}")
        if any(not 0.0 < s <= 1.0 for s in self.tile_scales):
            raise ValueError(f"tile_scales: expected fractions in (0, 1], got {self.tile_scales}")
        if not 0.0 <= self.tile_overlap < 1.0:
            raise ValueError(f"tile_overlap: expected a fraction in [0, 1), got "
                             f"{self.tile_overlap}")
        if self.max_tiles < 0:
            raise ValueError(f"max_tiles: expected >= 0, got {self.max_tiles}")
        if not self.box_scale > 0:
            raise ValueError(f"box_scale: expected a positive factor, got {self.box_scale}")


def _axis_starts(length: int, side: int, overlap: float) -> list[int]:
    """Evenly spread starts of ``side``-long windows covering ``[0, length)``."""
    if side >= length:
        return [0]
    stride = side * (1.0 - overlap)
    count = math.ceil((length - side) / stride) + 1
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


def plan_tiles(height: int, width: int,
               config: BlazeDetectorConfig = BlazeDetectorConfig()) -> list[tuple[int, int, int]]:
    """The square tiles an image of this size is cut into (besides the whole-image run).

    For each scale ``s`` of ``config.tile_scales`` the tile side is ``round(s * min(H, W))``;
    tiles are laid on a grid with at least ``config.tile_overlap`` overlap, spread evenly so that
    the first touches the top-left corner and the last the bottom-right. ``config.tiles`` is not
    consulted here (see :meth:`BlazePersonDetector.uses_tiles`).

    Args:
        height: image height in pixels.
        width: image width in pixels.
        config: tiling options.

    Returns:
        ``(x0, y0, side)`` per tile: the tile covers pixel columns ``x0 .. x0 + side - 1`` and
        rows ``y0 .. y0 + side - 1``. Larger scales first.

    Example:
        >>> [t for t in plan_tiles(425, 640)][:3]
        [(0, 0, 425), (215, 0, 425), (0, 0, 255)]
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size: expected positive height and width, got {height}x{width}")
    plan: list[list[tuple[int, int, int]]] = []
    short = min(height, width)
    for scale in sorted(set(config.tile_scales), reverse=True):
        side = round(scale * short)
        if side < config.min_tile_side or side >= max(height, width):
            continue  # too small to help, or the same view as the whole-image run
        plan.append([(x0, y0, side)
                     for y0 in _axis_starts(height, side, config.tile_overlap)
                     for x0 in _axis_starts(width, side, config.tile_overlap)])
    tiles: list[tuple[int, int, int]] = []
    for level in plan:
        if len(tiles) + len(level) > config.max_tiles:
            break
        tiles.extend(level)
    return tiles


def merge_runs(runs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
               config: BlazeDetectorConfig = BlazeDetectorConfig()) -> Detections:
    """Join the detections of the whole-image run and the tile runs into people.

    Runs are merged with :func:`merge_people` when there is more than one (a single run was
    already merged by its own NMS). Each person's box is then built from its keypoints (see
    ``config.box_scale``), people smaller than ``config.min_person_size`` are dropped and at
    most ``config.max_detections`` are kept.

    Args:
        runs: per run ``(xyxy (M, 4), scores (M,), keypoints (M, 4, 2))`` in image pixels, as
            :func:`decode_in_image` returns.
        config: merge and output options.

    Returns:
        :class:`~alphapose.structures.Detections`, best first.
    """
    if not runs:
        raise ValueError("runs: expected at least one run's detections, got none")
    scores = np.concatenate([np.asarray(r[1], np.float64).reshape(-1) for r in runs])
    points = np.concatenate([np.asarray(r[2], np.float64).reshape(-1, _NUM_KEYPOINTS, 2)
                             for r in runs])
    if len(runs) > 1 and scores.shape[0] > 1:
        merged_scores, merged_points = merge_people(scores, points, config.merge_distance,
                                                    config.merge_weighted)
        scores, points = merged_scores.astype(np.float64), merged_points.astype(np.float64)
    xyxy = _roi_boxes(points, config.box_scale)
    keep = (xyxy[:, 2] - xyxy[:, 0]) >= config.min_person_size
    order = np.flatnonzero(keep)[np.argsort(-scores[keep], kind="stable")]
    if config.max_detections > 0:
        order = order[: config.max_detections]
    return Detections(xyxy[order], scores[order], points[order])


class BlazePersonDetector:
    """MediaPipe's BlazePose person detector on whole images and tiles.

    Args:
        config: detection and tiling options.
        model_file: the ``pose_detection.tflite`` file; default: the zoo's
            ``"blaze-person-detector"`` (fetched on first use).
        num_threads: LiteRT CPU threads.

    Example:
        >>> detector = BlazePersonDetector(BlazeDetectorConfig(tiles="none"))  # doctest: +SKIP
        >>> detections = detector(cv2.imread("people.jpg"))                     # doctest: +SKIP
        >>> rois = person_rois(detections.keypoints)   # doctest: +SKIP
    """

    def __init__(self, config: BlazeDetectorConfig | None = None, *,
                 model_file: str | Path | None = None, num_threads: int = 2) -> None:
        from alphapose.runtime.litert import LiteRTModel
        from alphapose.weights import get_model_file

        self.config = config if config is not None else BlazeDetectorConfig()
        path = Path(model_file) if model_file is not None else get_model_file(
            "blaze-person-detector")
        self.model = LiteRTModel(path, num_threads=num_threads)
        shape = self.model.input_shape
        if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
            raise ValueError(f"{path.name}: expected a square RGB input (1, S, S, 3), got {shape}")
        self.input_size = int(shape[1])
        self.anchors = ssd_anchors(SsdAnchorOptions(input_height=self.input_size,
                                                    input_width=self.input_size))
        if self.model.output_shapes[0][-2] != self.anchors.shape[0]:
            raise ValueError(f"{path.name}: {self.model.output_shapes[0]} rows do not match the "
                             f"{self.anchors.shape[0]} anchors of the pose detector")

    def uses_tiles(self, height: int, width: int) -> bool:
        """Whether an image of this size is tiled under ``config.tiles``."""
        if self.config.tiles == "none":
            return False
        if self.config.tiles == "always":
            return True
        return max(height, width) >= self.config.auto_min_side

    def run_region(self, image: np.ndarray,
                   region: tuple[float, float, float, float] | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One model run on the letterboxed image (or an axis-aligned region of it).

        Args:
            image: ``(H, W, 3)`` uint8 BGR or ``(H, W, 4)`` BGRA.
            region: ``(x1, y1, x2, y2)`` pixel-edge extent to run on, in the convention of
                :func:`alphapose.transforms.letterbox` (the whole image is
                ``(-0.5, -0.5, W - 0.5, H - 0.5)``); ``None`` = the whole image.

        Returns:
            ``(xyxy, scores, keypoints)`` of the run after its own NMS, in image pixels:
            ``(M, 4)`` head-sized detector boxes, ``(M,)`` scores, ``(M, 4, 2)`` keypoints.
        """
        square_rgb, transform = letterbox(image, self.input_size, region=region, rgb=True)
        raw_boxes, raw_scores = self._split_outputs(self.model(self._rgb_to_tensor(square_rgb)))
        return decode_in_image(raw_boxes, raw_scores, self.anchors, transform,
                               score_threshold=self.config.score_threshold,
                               iou_threshold=self.config.nms_iou)

    def __call__(self, image: np.ndarray) -> Detections:
        """Detect people in one image.

        Args:
            image: ``(H, W, 3)`` uint8 BGR or ``(H, W, 4)`` BGRA.

        Returns:
            :class:`~alphapose.structures.Detections` in image pixels, best first: ``xyxy`` is
            the axis-aligned bounds of each person's rotated crop (:func:`person_roi`: a square
            of side ``2 * box_scale * |kp1 - kp0|`` around the hip centre; 1.25 by default),
            ``scores`` the detector scores and ``keypoints`` ``(N, 4, 2)``: hip centre,
            body-circle point, shoulder centre, upper-body circle point
            (:data:`KEYPOINT_NAMES`). Pass ``keypoints`` to :func:`person_roi` for the
            landmark model's crop.
        """
        check_image(image, channels=(3, 4))
        h, w = image.shape[:2]
        tiles = plan_tiles(h, w, self.config) if self.uses_tiles(h, w) else []
        if tiles and image.shape[2] == 3:
            # every run warps from the image: one conversion makes all of them 4-channel warps
            # (about twice as fast, same pixels; see alphapose.transforms.warp_affine_bgr)
            image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
        runs = [self.run_region(image)]
        if tiles:
            for x0, y0, side in tiles:
                region = (x0 - 0.5, y0 - 0.5, x0 + side - 0.5, y0 + side - 0.5)
                runs.append(self.run_region(image, region))
        return merge_runs(runs, self.config)

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect people in each image.

        Args:
            images: ``(H, W, 3)`` uint8 BGR images (sizes may differ).

        Returns:
            One :class:`~alphapose.structures.Detections` per image.
        """
        from alphapose.detection import detect_each

        return detect_each(self, images)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _to_tensor(square_bgr: np.ndarray) -> np.ndarray:
        """RGB float32 in [-1, 1] with a batch axis (the graph's ImageToTensor range)."""
        return BlazePersonDetector._rgb_to_tensor(cv2.cvtColor(square_bgr, cv2.COLOR_BGR2RGB))

    @staticmethod
    def _rgb_to_tensor(square_rgb: np.ndarray) -> np.ndarray:
        """:meth:`_to_tensor` of an RGB square, in one pass and one buffer (the same float32
        values as ``astype(float32) * (2 / 255) - 1``)."""
        tensor = np.multiply(square_rgb, np.float32(2.0 / 255.0), dtype=np.float32)
        tensor -= np.float32(1.0)
        return tensor[None]

    def _split_outputs(self, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        # the regressors are the output with 12 values per anchor, the logits the one with 1
        by_width = {o.shape[-1]: o for o in outputs}
        return by_width[_NUM_COORDS].reshape(-1, _NUM_COORDS), by_width[1].reshape(-1, 1)


def blaze_person_detector(num_threads: int = 2, *, tiles: str = "auto",
                          score_threshold: float | None = None) -> BlazePersonDetector:
    """The BlazePose detector with the two options users set (the default config otherwise).

    Args:
        num_threads: LiteRT CPU threads.
        tiles: :attr:`BlazeDetectorConfig.tiles`.
        score_threshold: :attr:`BlazeDetectorConfig.score_threshold` (``None``: its default).
    """
    overrides: dict = {"tiles": tiles}
    if score_threshold is not None:
        overrides["score_threshold"] = score_threshold
    return BlazePersonDetector(BlazeDetectorConfig(**overrides), num_threads=num_threads)
