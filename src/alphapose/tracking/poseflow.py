"""PoseFlow: frame-to-frame pose matching, online (:class:`PoseFlowTracker`) or offline over a
finished results file (:func:`poseflow_track`, ``alphapose track results.json -o tracked.json``).

The method (official ``trackers/PoseFlow/poseflow_infer.py``): each person's box is their
keypoint extent widened by 10 % of its width and height on every side. For every id seen in the last ``link`` frames, its most recent
person is a candidate for each person of the new frame, graded by

``grade = w . [dm_iou, box_iou, pose_iou_dm, pose_iou, score_a, score_b]``

* ``box_iou``: IoU of the two boxes (pixel-inclusive areas, ``+1``);
* ``pose_iou``: IoU of ``2 * mag``-pixel squares around each pair of corresponding keypoints,
  the mean of the ``num`` largest;
* ``dm_iou`` and ``pose_iou_dm``: the same with feature correspondences between the two frames
  (ORB matches): the IoU of the sets of correspondences that fall in the candidate's box (previous
  frame) and in the person's box (this frame), and per keypoint square. They need the images; a
  file without images (no ``image_dir``) leaves them 0.

``w`` is ``weights`` (1, 2, 1, 2, 0, 0) for candidates last seen in the previous frame and
``weights_far`` (0, 1, 0, 1, 0, 0) for older ones. The Hungarian algorithm maximises the total
grade; a link needs a grade above ``match`` (0.2); people left over get new ids (first frame:
1..N, then one above the largest id so far).

Example:
    >>> entries = load_alphapose_json("alphapose-results.json")
    >>> tracked = poseflow_track(entries, image_dir="frames/")
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from alphapose.structures import Frame, Poses

__all__ = ["PoseFlowConfig", "PoseFlowTracker", "poseflow_track", "poseflow_track_file"]


@dataclass(frozen=True)
class PoseFlowConfig:
    """PoseFlow settings (defaults: the official ones).

    Attributes:
        link: how many frames back an id can be picked up again.
        num: how many of the best per-keypoint IoUs are averaged.
        mag: half the side of the square around each keypoint (pixels).
        match: smallest grade that links.
        weights: grade weights for candidates last seen in the previous frame.
        weights_far: grade weights for candidates seen earlier.
        orb_features: ORB features per image for the correspondences.
        ratio: Lowe's ratio test threshold for ORB matches.
        min_score: keypoints at or below this confidence do not count in the pose IoU
            (default -1: every keypoint counts, as in the official code).
    """

    link: int = 100
    num: int = 7
    mag: float = 30.0
    match: float = 0.2
    weights: tuple[float, ...] = (1.0, 2.0, 1.0, 2.0, 0.0, 0.0)
    weights_far: tuple[float, ...] = (0.0, 1.0, 0.0, 1.0, 0.0, 0.0)
    orb_features: int = 10000
    ratio: float = 0.8
    min_score: float = -1.0

    def __post_init__(self) -> None:
        if self.link < 1 or self.num < 1 or self.mag <= 0:
            raise ValueError(f"PoseFlowConfig: link and num must be >= 1 and mag > 0, got "
                             f"{self.link}, {self.num}, {self.mag}")
        if len(self.weights) != 6 or len(self.weights_far) != 6:
            raise ValueError("PoseFlowConfig: weights and weights_far need 6 values each")


def _boxes(keypoints: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """``(N, 4)`` keypoint extents widened by 10 % per side, clipped to ``size`` (w, h)."""
    if len(keypoints) == 0:
        return np.zeros((0, 4))
    lo, hi = keypoints.min(1), keypoints.max(1)
    margin = 0.1 * (hi - lo)
    box = np.concatenate([lo - margin, hi + margin], 1)
    if size is not None:
        box[:, [0, 2]] = box[:, [0, 2]].clip(0, size[0] - 1)
        box[:, [1, 3]] = box[:, [1, 3]].clip(0, size[1] - 1)
    return np.floor(box)


def _inclusive_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``(..., 4)`` with pixel-inclusive areas (``x2 - x1 + 1``)."""
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1, 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1, 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0] + 1) * (a[..., 3] - a[..., 1] + 1)
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def _inside(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """``(..., P)`` bool: points ``(P, 2)`` inside boxes ``(..., 4)``."""
    return ((points[:, 0] >= box[..., 0, None]) & (points[:, 0] <= box[..., 2, None])
            & (points[:, 1] >= box[..., 1, None]) & (points[:, 1] <= box[..., 3, None]))


def _set_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boolean membership vectors along the last axis."""
    inter = (a & b).sum(-1)
    union = (a | b).sum(-1)
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def _orb_correspondences(previous: np.ndarray, current: np.ndarray,
                         config: PoseFlowConfig) -> np.ndarray:
    """``(M, 4)`` matched points ``x1 y1 x2 y2`` between two BGR images (ORB + ratio test)."""
    orb = cv2.ORB_create(nfeatures=config.orb_features, scoreType=cv2.ORB_FAST_SCORE)
    gray = [cv2.cvtColor(im, cv2.COLOR_BGR2GRAY) for im in (previous, current)]
    kp1, des1 = orb.detectAndCompute(gray[0], None)
    kp2, des2 = orb.detectAndCompute(gray[1], None)
    if des1 is None or des2 is None or len(kp1) < 2 or len(kp2) < 2:
        return np.zeros((0, 4))
    matches = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des1, des2, k=2)
    rows = [(*kp1[m[0].queryIdx].pt, *kp2[m[0].trainIdx].pt) for m in matches
            if len(m) == 2 and m[0].distance < config.ratio * m[1].distance]
    return np.asarray(rows, np.float64).reshape(-1, 4)


@dataclass
class _Instance:
    track_id: int
    frame: int
    keypoints: np.ndarray
    box: np.ndarray
    score: float


class PoseFlowTracker:
    """PoseFlow frame by frame; obeys the :class:`~alphapose.tracking.Tracker` protocol.

    Args:
        config: the settings.
        use_images: compute ORB correspondences from ``frame.image`` (the ``dm`` terms).

    Ids start at 1, as the official PoseFlow's.
    """

    def __init__(self, config: PoseFlowConfig = PoseFlowConfig(), use_images: bool = True
                 ) -> None:
        self.config = config
        self.use_images = use_images
        self.reset()

    def reset(self) -> None:
        self._last: dict[int, _Instance] = {}
        self._frame = -1
        self._max_id = 0
        self._previous_image: np.ndarray | None = None

    def step(self, keypoints: np.ndarray, scores: np.ndarray, person_scores: np.ndarray,
             image: np.ndarray | None = None, size: tuple[int, int] | None = None
             ) -> np.ndarray:
        """Ids ``(N,)`` for the people of the next frame.

        Args:
            keypoints: ``(N, K, 2)``; scores: ``(N, K)``; person_scores: ``(N,)``.
            image: the frame (BGR) for the correspondences, or None.
            size: ``(width, height)`` to clip boxes to (default: the image's, else no clip).
        """
        cfg = self.config
        self._frame += 1
        keypoints = np.asarray(keypoints, np.float64)
        scores = np.asarray(scores, np.float64)
        n = len(keypoints)
        if size is None and image is not None:
            size = (image.shape[1], image.shape[0])
        boxes = _boxes(keypoints, size)
        flow = None
        if image is not None and self._previous_image is not None and self.use_images:
            flow = _orb_correspondences(self._previous_image, image, cfg)
        if image is not None:
            self._previous_image = image
        candidates = [c for c in self._last.values() if self._frame - c.frame <= cfg.link]
        ids = np.full(n, -1, np.int64)
        if candidates and n:
            grade = np.zeros((len(candidates), n))
            for ci, cand in enumerate(candidates):
                recent = cand.frame == self._frame - 1
                w = np.asarray(cfg.weights if recent else cfg.weights_far, np.float64)
                grade[ci] = self._grades(cand, keypoints, scores, boxes, person_scores,
                                         flow if recent else None, w)
            from scipy.optimize import linear_sum_assignment  # ~0.3 s: only when linking

            rows, cols = linear_sum_assignment(-grade)
            for r, c in zip(rows, cols):
                if grade[r, c] > cfg.match:
                    ids[c] = candidates[r].track_id
        for i in range(n):
            if ids[i] < 0:
                self._max_id += 1
                ids[i] = self._max_id
            self._last[int(ids[i])] = _Instance(int(ids[i]), self._frame, keypoints[i].copy(),
                                                boxes[i].copy(), float(person_scores[i]))
        # forget ids that can no longer be linked
        self._last = {k: v for k, v in self._last.items() if self._frame - v.frame < cfg.link}
        return ids

    def _grades(self, cand: _Instance, keypoints: np.ndarray, scores: np.ndarray,
                boxes: np.ndarray, person_scores: np.ndarray, flow: np.ndarray | None,
                w: np.ndarray) -> np.ndarray:
        cfg = self.config
        n, k = keypoints.shape[:2]
        box_iou = _inclusive_iou(cand.box[None], boxes)
        mag = cfg.mag
        ck = cand.keypoints[None, :k]                               # (1, K, 2)
        sq_prev = np.concatenate([ck - mag, ck + mag], -1)          # (1, K, 4)
        sq_cur = np.concatenate([keypoints - mag, keypoints + mag], -1)
        per_kp = _inclusive_iou(sq_prev, sq_cur)                    # (N, K)
        per_kp = np.where(scores > cfg.min_score, per_kp, 0.0)
        top = min(cfg.num, k)
        pose_iou = np.sort(per_kp, 1)[:, -top:].mean(1) if k else np.zeros(n)
        dm_iou = np.zeros(n)
        pose_iou_dm = np.zeros(n)
        if flow is not None and len(flow) and (w[0] or w[2]):
            prev_pts, cur_pts = flow[:, :2], flow[:, 2:]
            in_prev = _inside(prev_pts, cand.box)                   # (M,)
            in_cur = _inside(cur_pts, boxes)                        # (N, M)
            dm_iou = _set_iou(in_prev[None], in_cur)
            kp_prev = _inside(prev_pts, sq_prev[0])                 # (K, M)
            kp_cur = _inside(cur_pts, sq_cur)                       # (N, K, M)
            per_dm = _set_iou(kp_prev[None], kp_cur)                # (N, K)
            pose_iou_dm = np.sort(per_dm, 1)[:, -top:].mean(1)
        features = np.stack([dm_iou, box_iou, pose_iou_dm, pose_iou,
                             np.full(n, cand.score), np.asarray(person_scores, np.float64)], 1)
        return features @ w

    def update(self, frame: Frame, poses: Poses) -> Poses:
        """Tracker protocol: ``poses`` with PoseFlow ids in ``track_ids``."""
        from dataclasses import replace

        image = frame.image if (frame is not None and self.use_images) else None
        size = None if frame is None else (frame.width, frame.height)
        ids = self.step(poses.keypoints, poses.keypoint_scores, poses.scores, image, size)
        return replace(poses, track_ids=ids)


def _frame_order_key(name: str, first_seen: int) -> tuple[int, float, int]:
    stem = re.split(r"[\\/]", name)[-1].split(".")[0]
    digits = re.findall(r"\d+", stem)
    return (0, float(digits[-1]), first_seen) if digits else (1, 0.0, first_seen)


def poseflow_track(entries: Sequence[dict[str, Any]], config: PoseFlowConfig = PoseFlowConfig(),
                   image_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """PoseFlow over a finished AlphaPose results list.

    Args:
        entries: the AlphaPose JSON list (``image_id``, ``keypoints`` as flat x, y, score
            triples, ``score``), e.g. from :func:`alphapose.formats.load_alphapose_json`.
        config: the settings.
        image_dir: folder holding the frames by ``image_id`` (for the ORB correspondences and
            clipping); ``None`` tracks from the poses alone.

    Returns:
        New entries, in the input order, each with ``idx`` = its PoseFlow id (int, from 1).
        Frames are processed in the order of the number in their names (``12.jpg`` after
        ``9.jpg``), names without a number last in file order.

    Raises:
        ValueError: an entry lacks ``image_id`` or ``keypoints`` (the message gives its index).
    """
    frames: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "image_id" not in entry or "keypoints" not in entry:
            raise ValueError(f"entries[{i}]: expected a dict with 'image_id' and 'keypoints'")
        frames.setdefault(str(entry["image_id"]), []).append(i)
    order = sorted(frames, key=lambda name: _frame_order_key(name, list(frames).index(name)))
    tracker = PoseFlowTracker(config, use_images=image_dir is not None)
    out = [dict(e) for e in entries]
    for name in order:
        members = frames[name]
        triples = [np.asarray(entries[i]["keypoints"], np.float64).reshape(-1, 3)
                   for i in members]
        k = {len(t) for t in triples}
        if len(k) != 1:
            raise ValueError(f"image {name!r}: people with different keypoint counts {sorted(k)}")
        stack = np.stack(triples)
        image = None
        if image_dir is not None:
            path = Path(image_dir) / name
            if not path.is_file():
                path = Path(image_dir) / re.split(r"[\\/]", name)[-1]
            image = cv2.imread(str(path)) if path.is_file() else None
            if image is None:
                raise ValueError(f"image {name!r}: not found or unreadable in {image_dir}")
        person_scores = np.array([float(entries[i].get("score", 0.0)) for i in members])
        ids = tracker.step(stack[..., :2], stack[..., 2], person_scores, image)
        for i, track_id in zip(members, ids):
            out[i]["idx"] = int(track_id)
    return out


def poseflow_track_file(in_path: str | os.PathLike[str], out_path: str | os.PathLike[str],
                        config: PoseFlowConfig = PoseFlowConfig(),
                        image_dir: str | os.PathLike[str] | None = None) -> int:
    """Read an AlphaPose results file, track it with PoseFlow, write it with ``idx`` set.

    Returns:
        The number of distinct ids.
    """
    from alphapose.formats import load_alphapose_json

    tracked = poseflow_track(load_alphapose_json(in_path), config, image_dir)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as file:
        file.write("[\n" + ",\n".join(json.dumps(e, separators=(",", ":")) for e in tracked)
                   + ("\n]\n" if tracked else "]\n"))
    os.replace(tmp, out_path)
    return len({e["idx"] for e in tracked})
