"""Two person detectors as one: the embedded BlazePose detector and a general box detector.

The BlazePose detector finds people through their faces and gives alignment keypoints from
which the landmark model's crop is placed (measured better than any crop from a box); it misses
people whose face is not visible (back-facing), small people and dark images. A general COCO
detector (NanoDet) finds those as plain boxes. :class:`FusedDetector` runs both: the box
detector says who is there; a person found by both keeps the BlazePose detection; a box no
BlazePose detection accounts for is passed on without keypoints (its ``keypoints`` rows are
NaN), so the estimator takes it through its box path
(:meth:`alphapose.estimators.blaze.BlazeWholeBody.estimate_from_box`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from alphapose.structures import Detections

__all__ = ["FusedDetector", "default_detector", "match_boxes"]


def match_boxes(blaze: Detections, boxes: np.ndarray, min_ratio: float = 0.5,
                max_ratio: float = 3.0) -> np.ndarray:
    """Which BlazePose detection accounts for each box (``-1``: none).

    A detection accounts for a box when its shoulder centre (keypoint 2) and hip centre
    (keypoint 0) lie inside the box, and its body circle's diameter (``2 |kp1 - kp0|``) is
    ``min_ratio``-``max_ratio`` times the box's long side. Greedily by detection score, each
    detection takes at most one box, the free one whose centre is nearest its hip centre.

    Args:
        blaze: detections with ``(N, >=3, 2)`` alignment keypoints.
        boxes: ``(M, 4)`` xyxy boxes.
        min_ratio, max_ratio: allowed body-circle diameter / long box side.

    Returns:
        ``(M,)`` int64 detection index per box, ``-1`` where none.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    owner = np.full(len(boxes), -1, np.int64)
    if blaze.keypoints is None or len(blaze) == 0 or len(boxes) == 0:
        return owner
    keypoints = blaze.keypoints.astype(np.float64)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    long_side = (boxes[:, 2:] - boxes[:, :2]).max(1)

    def inside(points: np.ndarray) -> np.ndarray:  # (N, 2) -> (N, M)
        x, y = points[:, None, 0], points[:, None, 1]
        return ((x >= boxes[None, :, 0]) & (x <= boxes[None, :, 2])
                & (y >= boxes[None, :, 1]) & (y <= boxes[None, :, 3]))

    diameter = 2 * np.linalg.norm(keypoints[:, 1] - keypoints[:, 0], axis=1)
    fits = (inside(keypoints[:, 2]) & inside(keypoints[:, 0])
            & (diameter[:, None] >= min_ratio * long_side[None])
            & (diameter[:, None] <= max_ratio * long_side[None]))
    for n in np.argsort(-blaze.scores, kind="stable"):
        free = np.flatnonzero(fits[n] & (owner < 0))
        if free.size:
            distance = np.linalg.norm(centres[free] - keypoints[n, 0], axis=1)
            owner[free[np.argmin(distance)]] = n
    return owner


class FusedDetector:
    """The people of a general box detector, each placed by BlazePose where it can be.

    Args:
        blaze: the embedded detector (its detections carry alignment keypoints).
        boxes: a box detector ``image -> Detections`` (e.g. NanoDet), or one that reads each
            frame's boxes by its name (:class:`~alphapose.stages.NamedDetector`, e.g.
            ``--detfile``: the fused detector then reads by name too).
        keep_blaze_only: also keep BlazePose detections that account for no box (people
            only BlazePose finds); ``False`` (default): the box detector decides who is there
            (measured: BlazePose-only detections were mostly duplicates and pictures of people,
            see ``bench/detector.py``).
        box_scores: a person placed by BlazePose keeps its box's score (boxes the user gives:
            their scores are the user's, e.g. 1 for ground truth, and one scale for everybody);
            ``False`` (default): the BlazePose detection's score.

    Returns (when called): :class:`~alphapose.structures.Detections`: the BlazePose
    detections that account for a box (:func:`match_boxes`: keypoints and score of the
    detection), then (``keep_blaze_only``) the other BlazePose detections, then the boxes no
    detection accounts for, whose ``keypoints`` rows are NaN (no alignment points: the
    estimator places their crops from the box).

    Example::

        detector = FusedDetector(BlazePersonDetector(), NanoDetDetector())
        detections = detector(image)
    """

    def __init__(self, blaze: Callable[[np.ndarray], Detections],
                 boxes: Callable[[np.ndarray], Detections], *,
                 keep_blaze_only: bool = False, box_scores: bool = False) -> None:
        from alphapose.stages import describe_detector

        self.blaze = blaze
        self.boxes = boxes
        self.keep_blaze_only = keep_blaze_only
        self.box_scores = box_scores
        #: the boxes are read by frame name (the pipeline then passes ``name``)
        self.uses_frame_name = describe_detector(boxes).by_name

    def __call__(self, image: np.ndarray, name: str | None = None) -> Detections:
        found = self.blaze(image)
        extra = self.boxes(image, name=name) if self.uses_frame_name else self.boxes(image)
        owner = match_boxes(found, extra.xyxy)
        used = owner[owner >= 0]
        if self.keep_blaze_only:
            used = np.concatenate([used, np.setdiff1d(np.arange(len(found)), used)])
        placed = found[used]
        scores = placed.scores
        if self.box_scores:  # the matched boxes' own scores (BlazePose-only people keep theirs)
            matched = extra.scores[np.flatnonzero(owner >= 0)]
            scores = np.concatenate([matched, scores[len(matched):]])
        added = extra[np.flatnonzero(owner < 0)]
        width = found.keypoints.shape[1] if found.keypoints is not None else 4
        points = placed.keypoints if placed.keypoints is not None else np.zeros((0, width, 2))
        none = np.full((len(added), width, 2), np.nan, np.float32)
        return Detections(np.concatenate([placed.xyxy, added.xyxy]),
                          np.concatenate([scores, added.scores]),
                          np.concatenate([points, none]))

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """:meth:`__call__` on each image."""
        from alphapose.detection import detect_each

        return detect_each(self, images)


def default_detector(num_threads: int = 2, *, tiles: str = "auto",
                     score_threshold: float | None = None,
                     fallback: bool = True) -> tuple[Callable, str]:
    """The default person detector: :class:`FusedDetector` (NanoDet-m boxes, placed by
    BlazePose where it finds the person), or the BlazePose detector alone, with one warning,
    when NanoDet cannot be had (no npm and no tarball for its package, no onnxruntime).

    Args:
        num_threads: interpreter threads of each model.
        tiles: the BlazePose detector's tiling (``"auto"`` or ``"none"``).
        score_threshold: the BlazePose detector's score threshold (default: its own).
        fallback: fall back to BlazePose alone when NanoDet cannot be had; ``False`` (the user
            asked for the fused detector by name): NanoDet's error is raised.

    Returns:
        ``(detector, name)``: the detector and ``"fused"`` or ``"blaze"``.
    """
    import logging

    from alphapose.detection.blaze import blaze_person_detector

    blaze = blaze_person_detector(num_threads, tiles=tiles, score_threshold=score_threshold)
    try:
        from alphapose.detection.nanodet import NanoDetDetector

        boxes = NanoDetDetector(num_threads=num_threads)
    except (RuntimeError, ImportError, OSError) as error:
        if not fallback:
            raise
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        logging.getLogger("alphapose").warning(
            "the NanoDet person detector is unavailable (%s); using the BlazePose detector "
            "alone, which misses people whose face it cannot see (back-facing, small, dark)",
            reason)
        return blaze, "blaze"
    return FusedDetector(blaze, boxes), "fused"
