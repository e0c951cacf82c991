"""Box overlap and non-maximum suppression for person detections, in numpy.

Convention: boxes are ``xyxy`` ``(x1, y1, x2, y2)`` in continuous image coordinates, so a box's
area is ``(x2 - x1) * (y2 - y1)`` (no ``+ 1`` pixel-count term). Boxes with ``x2 < x1`` or
``y2 < y1`` count as empty.

Three suppression flavours:

* :func:`nms` — classic greedy hard NMS.
* :func:`soft_nms` — Gaussian or linear score decay instead of removal (Bodla et al., 2017).
* :func:`weighted_nms` — each kept box is the score-weighted mean of the boxes it suppresses
  (the "WEIGHTED" overlap suppression of the MediaPipe detectors), which steadies boxes of
  single-shot anchor detectors.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["box_iou", "nms", "soft_nms", "weighted_nms"]


def _check_boxes(xyxy: np.ndarray, name: str) -> np.ndarray:
    boxes = np.asarray(xyxy, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name}: expected shape (N, 4) xyxy boxes, got {boxes.shape}")
    return boxes


def _check_scores(scores: np.ndarray, n: int, name: str = "scores") -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},) to match the boxes, got {values.shape}")
    return values


def _areas(boxes: np.ndarray) -> np.ndarray:
    wh = np.clip(boxes[:, 2:] - boxes[:, :2], 0.0, None)
    return wh[:, 0] * wh[:, 1]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union.

    Args:
        a: ``(N, 4)`` xyxy boxes.
        b: ``(M, 4)`` xyxy boxes.

    Returns:
        ``(N, M)`` float64 IoU in [0, 1]; pairs whose union is empty get 0.

    Example:
        >>> box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2]]))
        array([[0.33333333]])
    """
    a = _check_boxes(a, "a")
    b = _check_boxes(b, "b")
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(bottom_right - top_left, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = _areas(a)[:, None] + _areas(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return iou


def nms(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy hard NMS: keep the best box, drop boxes overlapping it by more than the threshold.

    Args:
        xyxy: ``(N, 4)`` boxes.
        scores: ``(N,)`` confidences.
        iou_threshold: a box is suppressed when its IoU with a kept box is ``> iou_threshold``.

    Returns:
        ``(M,)`` int64 indices into the input of the kept boxes, by descending score
        (ties keep input order).

    Example:
        >>> nms(np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]]),
        ...     np.array([0.9, 0.8, 0.7]), 0.5)
        array([0, 2])
    """
    boxes = _check_boxes(xyxy, "xyxy")
    values = _check_scores(scores, boxes.shape[0])
    order = np.argsort(-values, kind="stable")
    iou = box_iou(boxes, boxes)
    suppressed = np.zeros(boxes.shape[0], dtype=bool)
    keep: list[int] = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= iou[i] > iou_threshold
    return np.asarray(keep, dtype=np.int64)


def soft_nms(xyxy: np.ndarray, scores: np.ndarray, sigma: float = 0.5,
             score_threshold: float = 0.001,
             method: Literal["gaussian", "linear"] = "gaussian",
             iou_threshold: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Soft-NMS: decay the scores of boxes overlapping a picked box instead of removing them.

    At each step the remaining box with the highest (decayed) score is picked, and every other
    remaining box's score is multiplied by ``exp(-iou**2 / sigma)`` (``"gaussian"``) or by
    ``1 - iou`` when ``iou > iou_threshold`` (``"linear"``). Boxes whose score falls below
    ``score_threshold`` are discarded.

    Args:
        xyxy: ``(N, 4)`` boxes.
        scores: ``(N,)`` confidences.
        sigma: Gaussian decay width (``"gaussian"`` only); must be > 0.
        score_threshold: boxes with a (decayed) score below this are dropped.
        method: ``"gaussian"`` or ``"linear"``.
        iou_threshold: overlap above which the linear decay applies (``"linear"`` only).

    Returns:
        ``(indices, new_scores)``: ``(M,)`` int64 input indices in pick order (non-increasing
        new score) and ``(M,)`` float64 decayed scores of those boxes.

    Example:
        >>> keep, new = soft_nms(np.array([[0, 0, 2, 2], [1, 0, 3, 2]]), np.array([0.9, 0.8]))
        >>> keep, new.round(4)
        (array([0, 1]), array([0.9   , 0.6406]))
    """
    if method not in ("gaussian", "linear"):
        raise ValueError(f"method: expected 'gaussian' or 'linear', got {method!r}")
    if method == "gaussian" and not sigma > 0:
        raise ValueError(f"sigma: expected a positive Gaussian width, got {sigma}")
    boxes = _check_boxes(xyxy, "xyxy")
    current = _check_scores(scores, boxes.shape[0]).copy()
    iou = box_iou(boxes, boxes)
    remaining = np.flatnonzero(current >= score_threshold)
    keep: list[int] = []
    kept_scores: list[float] = []
    while remaining.size:
        best = remaining[np.argmax(current[remaining])]
        keep.append(int(best))
        kept_scores.append(float(current[best]))
        remaining = remaining[remaining != best]
        overlap = iou[best, remaining]
        if method == "gaussian":
            decay = np.exp(-(overlap ** 2) / sigma)
        else:
            decay = np.where(overlap > iou_threshold, 1.0 - overlap, 1.0)
        current[remaining] *= decay
        remaining = remaining[current[remaining] >= score_threshold]
    return np.asarray(keep, dtype=np.int64), np.asarray(kept_scores, dtype=np.float64)


def weighted_nms(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float,
                 keypoints: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Weighted NMS: merge each cluster of overlapping boxes into its score-weighted mean.

    The best remaining box starts a cluster made of itself and every remaining box whose IoU
    with it is ``> iou_threshold``. The cluster becomes one output: its box (and keypoints) are
    the members' mean weighted by their scores, its score is the best member's score. The
    members leave the pool and the next cluster starts from the best box left.

    Args:
        xyxy: ``(N, 4)`` boxes.
        scores: ``(N,)`` confidences (the weights; must not all be 0 within a cluster for the
            mean to be weighted — an all-zero cluster falls back to its best member).
        iou_threshold: overlap above which a box joins the cluster.
        keypoints: optional ``(N, P, 2)`` points predicted with each box, averaged the same way.

    Returns:
        ``(xyxy, scores, keypoints)``: ``(M, 4)`` float32 merged boxes, ``(M,)`` float32 cluster
        scores (descending), and ``(M, P, 2)`` float32 merged keypoints or ``None``.

    Example:
        >>> boxes, s, _ = weighted_nms(np.array([[0, 0, 10, 10], [2, 0, 12, 10]]),
        ...                            np.array([0.75, 0.25]), 0.5)
        >>> boxes, s
        (array([[ 0.5,  0. , 10.5, 10. ]], dtype=float32), array([0.75], dtype=float32))
    """
    boxes = _check_boxes(xyxy, "xyxy")
    n = boxes.shape[0]
    values = _check_scores(scores, n)
    points = None
    if keypoints is not None:
        points = np.asarray(keypoints, dtype=np.float64)
        if points.ndim != 3 or points.shape[0] != n or points.shape[2] != 2:
            raise ValueError(f"keypoints: expected shape ({n}, P, 2) to match the boxes, "
                             f"got {points.shape}")
    iou = box_iou(boxes, boxes)
    remaining = np.argsort(-values, kind="stable")
    out_boxes: list[np.ndarray] = []
    out_scores: list[float] = []
    out_points: list[np.ndarray] = []
    while remaining.size:
        best = remaining[0]
        in_cluster = iou[best, remaining] > iou_threshold
        in_cluster[0] = True  # the seed always belongs, even if it is a degenerate box
        members = remaining[in_cluster]
        remaining = remaining[~in_cluster]
        weights = values[members]
        total = weights.sum()
        if total > 0:
            weights = weights / total
        else:
            weights = (members == best).astype(np.float64)
        out_boxes.append(weights @ boxes[members])
        out_scores.append(float(values[best]))
        if points is not None:
            out_points.append(np.tensordot(weights, points[members], axes=1))
    merged_boxes = np.asarray(out_boxes, dtype=np.float32).reshape(-1, 4)
    merged_scores = np.asarray(out_scores, dtype=np.float32)
    merged_points = None
    if points is not None:
        merged_points = np.asarray(out_points, dtype=np.float32).reshape(-1, points.shape[1], 2)
    return merged_boxes, merged_scores, merged_points
