"""Two person detectors as one: the embedded BlazePose detector and a general box detector.

The BlazePose detector finds people through their faces and gives alignment keypoints from
which the landmark model's crop is placed (measured better than any crop from a box); it misses
people whose face is not visible (back-facing), small people and dark images. A general COCO
detector (NanoDet) finds those as plain boxes. :class:`FusedDetector` runs both: a person found
by both keeps the BlazePose detection; a box no BlazePose detection accounts for is added
without keypoints (its ``keypoints`` rows are NaN), so the estimator takes it through its box
path (:meth:`alphapose.estimators.blaze.BlazeWholeBody.estimate_from_box`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from alphapose.structures import Detections

__all__ = ["FusedDetector", "covered_boxes"]


def covered_boxes(blaze: Detections, boxes: np.ndarray, min_ratio: float = 0.5,
                  max_ratio: float = 3.0) -> np.ndarray:
    """Which boxes a BlazePose detection already accounts for.

    A detection accounts for a box when its shoulder centre (keypoint 2) and hip centre
    (keypoint 0) lie inside the box, and its body circle's diameter (``2 |kp1 - kp0|``) is
    ``min_ratio``-``max_ratio`` times the box's long side. Each detection accounts for at most
    one box, the one whose centre is nearest its hip centre.

    Args:
        blaze: detections with ``(N, >=3, 2)`` alignment keypoints.
        boxes: ``(M, 4)`` xyxy boxes.
        min_ratio, max_ratio: allowed body-circle diameter / long box side.

    Returns:
        ``(M,)`` bool.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    covered = np.zeros(len(boxes), bool)
    if blaze.keypoints is None or len(blaze) == 0 or len(boxes) == 0:
        return covered
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
        free = np.flatnonzero(fits[n] & ~covered)
        if free.size:
            distance = np.linalg.norm(centres[free] - keypoints[n, 0], axis=1)
            covered[free[np.argmin(distance)]] = True
    return covered


class FusedDetector:
    """BlazePose detections plus the boxes of a general detector that none of them covers.

    Args:
        blaze: the embedded detector (its detections carry alignment keypoints).
        boxes: a box detector ``image -> Detections`` (e.g. NanoDet).

    Returns (when called): :class:`~alphapose.structures.Detections` with the BlazePose
    detections first, then the added boxes, whose ``keypoints`` rows are NaN (no alignment
    points: the estimator places their crops from the box).

    Example::

        detector = FusedDetector(BlazePersonDetector(), NanoDetDetector())
        detections = detector(image)
    """

    def __init__(self, blaze: Callable[[np.ndarray], Detections],
                 boxes: Callable[[np.ndarray], Detections]) -> None:
        self.blaze = blaze
        self.boxes = boxes

    def __call__(self, image: np.ndarray) -> Detections:
        found = self.blaze(image)
        extra = self.boxes(image)
        added = extra[np.flatnonzero(~covered_boxes(found, extra.xyxy))]
        if len(added) == 0:
            return found
        points = found.keypoints if found.keypoints is not None else np.zeros((len(found), 4, 2))
        none = np.full((len(added), points.shape[1], 2), np.nan, np.float32)
        return Detections(np.concatenate([found.xyxy, added.xyxy]),
                          np.concatenate([found.scores, added.scores]),
                          np.concatenate([points, none]))

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """:meth:`__call__` on each image."""
        if isinstance(images, np.ndarray) and images.ndim == 3:
            raise TypeError("images: expected a list of images, got one image array; "
                            "call the detector on it directly")
        return [self(image) for image in images]
