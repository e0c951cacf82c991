"""Whether every person of a crowd is found: ground-truth boxes matched one to one by poses.

For data with person boxes but no keypoints (MOT pedestrians), a person counts as found when a
pose's confident body points mostly lie in their box; boxes and poses are paired one to one
(Hungarian assignment), so one pose cannot account for two people.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from alphapose.skeletons import get_layout
from alphapose.structures import Poses

__all__ = ["boxes_found", "pair_boxes"]


def pair_boxes(xyxy: np.ndarray, poses: Poses, min_score: float = 0.5,
               min_fraction: float = 0.5, margin: float = 0.2) -> np.ndarray:
    """Boxes and poses paired one to one.

    A box and a pose agree by the fraction of the pose's COCO-17 body points with score
    ``>= min_score`` that lie inside the box enlarged by ``margin`` of its size per side; pairs
    are chosen to maximise the total agreement and kept when it is ``>= min_fraction``.

    Args:
        xyxy: ``(N, 4)`` ground-truth person boxes.
        poses: the poses of the image, in a layout whose first 17 points are COCO-17
            (COCO-17, Halpe-26, Halpe-136, COCO-WholeBody-133).
        min_score: keypoint score from which a point counts.
        min_fraction: agreement from which a pair counts.
        margin: box enlargement per side, relative to its width and height.

    Returns:
        ``(M, 2)`` int64 ``(box index, pose index)`` pairs, ``M <= min(N, P)``.
    """
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    if get_layout(poses.layout).keypoint_names[:17] != get_layout("coco17").keypoint_names:
        raise ValueError(f"poses: layout {poses.layout!r} does not start with the COCO-17 points")
    if len(boxes) == 0 or len(poses) == 0:
        return np.zeros((0, 2), np.int64)
    points = poses.keypoints[:, :17].astype(np.float64)  # (P, 17, 2)
    confident = poses.keypoint_scores[:, :17] >= min_score  # (P, 17)
    pad = (boxes[:, 2:] - boxes[:, :2]) * margin  # (N, 2)
    low, high = boxes[:, None, None, :2] - pad[:, None, None], boxes[:, None, None, 2:] + \
        pad[:, None, None]
    inside = ((points[None] >= low) & (points[None] <= high)).all(3)  # (N, P, 17)
    agreement = (inside & confident[None]).sum(2) / np.maximum(confident.sum(1), 1)[None]
    rows, cols = linear_sum_assignment(-agreement)
    good = agreement[rows, cols] >= min_fraction
    return np.stack([rows[good], cols[good]], 1).astype(np.int64)


def boxes_found(xyxy: np.ndarray, poses: Poses, min_score: float = 0.5,
                min_fraction: float = 0.5, margin: float = 0.2) -> int:
    """How many of the boxes are matched one to one by a pose (:func:`pair_boxes`, same
    arguments).

    Returns:
        The number of boxes found, in ``[0, N]``.

    Example::

        found = boxes_found(gt_boxes, pipeline.predict(image))  # e.g. 11 of 11
    """
    return len(pair_boxes(xyxy, poses, min_score, min_fraction, margin))
