"""Multi-person tracking metrics (CLEAR MOT and IDF1) with py-motmetrics, on PoseTrack-style data.

Two protocols:

* **box level** (:func:`evaluate_boxes`): a result person matches a ground-truth person of the same
  frame when their boxes overlap with IoU >= 0.5 (Hungarian per frame, as CLEAR MOT); MOTA, IDF1,
  ID switches, precision and recall follow from the matches. ``motp`` here is the mean IoU of the
  matched pairs (higher is better).
* **per joint** (:func:`evaluate_joints`), the paper's PoseTrack protocol (poseval): every body
  joint is tracked as its own object. A predicted joint matches a ground-truth joint when it lies
  within ``pckh`` (0.5) head sizes (PCKh; head size = 0.6 x the diagonal of the annotated head
  box, as poseval), again one to one per frame by the Hungarian algorithm over all people. MOTA,
  precision, recall, IDF1 are computed per joint and averaged over joints; ID switches are summed.
  ``motp`` is the mean over joints of ``1 - d / (pckh * head size)`` over matched joints (1 =
  perfectly placed). poseval first matches whole people and then scores joints of matched people;
  matching joints independently is a simplification that gives the same result whenever people
  do not exchange joints.

Data: :class:`TrackFrame` holds one frame of annotations or results (ids, xyxy boxes, optional
keypoints in PoseTrack-17 order). :func:`load_posetrack` reads PoseTrack18 annotation files (one
sequence per file, or several sequences in one file), :func:`load_tracking_results` reads
AlphaPose JSON (``idx`` = track id), JSON lines and PoseTrack JSON results and converts keypoints
of any layout to PoseTrack-17 by name (``head_bottom`` <- ``neck`` or the shoulder midpoint,
``head_top`` <- ``head`` when the layout has it).

Requires ``motmetrics`` (``pip install motmetrics``).

Example:
    >>> gt = load_posetrack("annotations/val/012834_mpii_test.json")["012834"]
    >>> pred = align_results(gt, load_tracking_results("tracked.json"))
    >>> print(evaluate_boxes([f for _, f in gt], pred).line())
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alphapose.tracking.msim import box_iou_matrix

__all__ = [
    "POSETRACK_KEYPOINTS",
    "JointTrackingMetrics",
    "TrackFrame",
    "TrackingMetrics",
    "align_results",
    "concat_sequences",
    "evaluate_boxes",
    "evaluate_joints",
    "load_posetrack",
    "load_tracking_results",
    "to_posetrack_keypoints",
]

#: PoseTrack18 keypoint order.
POSETRACK_KEYPOINTS: tuple[str, ...] = (
    "nose", "head_bottom", "head_top", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)

_LAYOUT_BY_K = {17: "coco17", 26: "halpe26", 136: "halpe136", 133: "coco_wholebody133"}


@dataclass
class TrackFrame:
    """People of one frame with identities (ground truth or results).

    Attributes:
        ids: ``(N,)`` int64 track ids (results: ``-1`` = untracked, never matches an id).
        xyxy: ``(N, 4)`` boxes.
        keypoints: ``(N, 17, 2)`` PoseTrack-order keypoints, or ``None``.
        keypoint_scores: ``(N, 17)``: visibility (ground truth, > 0 = annotated) or confidence.
        head_xyxy: ``(N, 4)`` head boxes (ground truth, for PCKh), or ``None``.
        index: the frame's position in its video, 0-based (ground truth read by
            :func:`load_posetrack`: its place among all the sequence's images, labelled or
            not), or ``None``; a video's results are matched to it (see :func:`align_results`).
    """

    ids: np.ndarray
    xyxy: np.ndarray
    keypoints: np.ndarray | None = None
    keypoint_scores: np.ndarray | None = None
    head_xyxy: np.ndarray | None = None
    index: int | None = None

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, np.int64).reshape(-1)
        n = len(self.ids)
        self.xyxy = np.asarray(self.xyxy, np.float64).reshape(n, 4)
        if self.keypoints is not None:
            self.keypoints = np.asarray(self.keypoints, np.float64)
            if self.keypoints.ndim != 3 or self.keypoints.shape[0] != n \
                    or self.keypoints.shape[2] != 2:
                raise ValueError(f"TrackFrame.keypoints: expected shape ({n}, K, 2), got "
                                 f"{self.keypoints.shape}")
            scores = self.keypoint_scores
            if scores is None:
                scores = np.ones(self.keypoints.shape[:2])
            self.keypoint_scores = np.asarray(scores, np.float64).reshape(
                self.keypoints.shape[:2])
        if self.head_xyxy is not None:
            self.head_xyxy = np.asarray(self.head_xyxy, np.float64).reshape(n, 4)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls) -> TrackFrame:
        return cls(np.zeros(0, np.int64), np.zeros((0, 4)))


@dataclass(frozen=True)
class TrackingMetrics:
    """CLEAR MOT and identity metrics of one evaluation.

    Attributes:
        mota: ``1 - (misses + false positives + switches) / ground-truth objects``.
        motp: box level: mean IoU of matches; joints: mean ``1 - d / (pckh * head)``.
        idf1: identity F1 (global one-to-one id assignment over the whole sequence).
        idsw: identity switches.
        precision: matches / result objects.
        recall: matches / ground-truth objects.
        num_frames, num_objects, num_matches, num_false_positives, num_misses,
        num_fragmentations: the counts behind them (py-motmetrics' definitions:
        ``num_matches`` leaves out the matches that are switches).
    """

    mota: float
    motp: float
    idf1: float
    idsw: int
    precision: float
    recall: float
    num_frames: int
    num_objects: int
    num_matches: int
    num_false_positives: int
    num_misses: int
    num_fragmentations: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def line(self) -> str:
        """``mota=... motp=... idf1=... idsw=... precision=... recall=...``"""
        return (f"mota={self.mota:.3f} motp={self.motp:.3f} idf1={self.idf1:.3f} "
                f"idsw={self.idsw} precision={self.precision:.3f} recall={self.recall:.3f}")


@dataclass(frozen=True)
class JointTrackingMetrics:
    """Per-joint protocol: the joint average and every joint's metrics.

    Attributes:
        mean: MOTA, MOTP, IDF1, precision and recall averaged over the joints that have ground
            truth; ``idsw`` and the counts summed.
        per_joint: joint name -> that joint's metrics.
    """

    mean: TrackingMetrics
    per_joint: Mapping[str, TrackingMetrics]


def _import_motmetrics() -> Any:
    try:
        import motmetrics
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("tracking evaluation needs py-motmetrics: pip install motmetrics "
                          "(or pip install alphapose[eval])") from error
    return motmetrics


_METRIC_NAMES = ["mota", "motp", "idf1", "num_switches", "precision", "recall", "num_frames",
                 "num_objects", "num_matches", "num_false_positives", "num_misses",
                 "num_fragmentations"]


def _summarise(acc: Any, motp_from_distance: Any) -> TrackingMetrics:
    mm = _import_motmetrics()
    row = mm.metrics.create().compute(acc, metrics=_METRIC_NAMES, name="x").iloc[0]

    def num(name: str) -> float:
        value = float(row[name])
        return value if np.isfinite(value) else 0.0

    return TrackingMetrics(
        mota=num("mota"), motp=float(motp_from_distance(num("motp"))), idf1=num("idf1"),
        idsw=int(num("num_switches")), precision=num("precision"), recall=num("recall"),
        num_frames=int(num("num_frames")), num_objects=int(num("num_objects")),
        num_matches=int(num("num_matches")), num_false_positives=int(num("num_false_positives")),
        num_misses=int(num("num_misses")), num_fragmentations=int(num("num_fragmentations")))


def _check_frames(gt: Sequence[TrackFrame], pred: Sequence[TrackFrame]) -> None:
    if len(gt) != len(pred):
        raise ValueError(f"pred: expected one result frame per ground-truth frame ({len(gt)}), "
                         f"got {len(pred)}")
    for name, frames in (("gt", gt), ("pred", pred)):
        for i, f in enumerate(frames):
            if not isinstance(f, TrackFrame):
                raise TypeError(f"{name}[{i}]: expected TrackFrame, got {type(f).__name__}")


def _hyp_ids(frame: TrackFrame, offset: int) -> list[int]:
    # untracked results (-1) get fresh ids that never repeat, so they cannot hold an identity
    return [int(i) if i >= 0 else -(offset + k + 1) for k, i in enumerate(frame.ids)]


def evaluate_boxes(gt: Sequence[TrackFrame], pred: Sequence[TrackFrame],
                   iou_threshold: float = 0.5) -> TrackingMetrics:
    """Box-level CLEAR MOT / IDF1 over one sequence.

    Args:
        gt: ground truth, one :class:`TrackFrame` per frame.
        pred: results, one per ground-truth frame (same order).
        iou_threshold: smallest IoU of a match.

    Returns:
        :class:`TrackingMetrics` (``motp`` = mean IoU of matches).
    """
    _check_frames(gt, pred)
    if not 0 < iou_threshold <= 1:
        raise ValueError(f"iou_threshold: expected in (0, 1], got {iou_threshold}")
    mm = _import_motmetrics()
    acc = mm.MOTAccumulator(auto_id=True)
    offset = 0
    for g, p in zip(gt, pred):
        distance = 1.0 - box_iou_matrix(g.xyxy, p.xyxy)
        distance[distance > 1.0 - iou_threshold] = np.nan
        acc.update([int(i) for i in g.ids], _hyp_ids(p, offset), distance)
        offset += len(p)
    return _summarise(acc, lambda d: 1.0 - d)


def _head_sizes(frame: TrackFrame) -> np.ndarray:
    if frame.head_xyxy is not None:
        wh = frame.head_xyxy[:, 2:] - frame.head_xyxy[:, :2]
        return 0.6 * np.linalg.norm(wh, axis=1)
    # no head boxes: a proxy, a sixth of the box's longer side times 0.6 x sqrt(2)
    return 0.6 * np.sqrt(2) * (frame.xyxy[:, 2:] - frame.xyxy[:, :2]).max(1) / 6.0


def evaluate_joints(gt: Sequence[TrackFrame], pred: Sequence[TrackFrame], *, pckh: float = 0.5,
                    score_threshold: float = 0.3,
                    joint_names: Sequence[str] = POSETRACK_KEYPOINTS) -> JointTrackingMetrics:
    """The paper's per-joint tracking protocol (see the module docstring).

    Args:
        gt: ground truth with ``keypoints`` (visibility in ``keypoint_scores``) and head boxes.
        pred: results with ``keypoints`` in the same joint order and confidences.
        pckh: match radius in head sizes.
        score_threshold: predicted joints at or below this confidence are not output.
        joint_names: names of the joints (for the per-joint report).

    Returns:
        :class:`JointTrackingMetrics`; joints never annotated in ``gt`` are left out.
    """
    _check_frames(gt, pred)
    mm = _import_motmetrics()
    k = len(joint_names)
    for name, frames in (("gt", gt), ("pred", pred)):
        for i, f in enumerate(frames):
            if len(f) and (f.keypoints is None or f.keypoints.shape[1] != k):
                raise ValueError(f"{name}[{i}]: expected keypoints of {k} joints, got "
                                 f"{None if f.keypoints is None else f.keypoints.shape}")
    per_joint: dict[str, TrackingMetrics] = {}
    for j, joint in enumerate(joint_names):
        acc = mm.MOTAccumulator(auto_id=True)
        annotated = 0
        offset = 0
        for g, p in zip(gt, pred):
            g_on = np.flatnonzero(g.keypoint_scores[:, j] > 0) if len(g) else np.zeros(0, int)
            p_on = np.flatnonzero(p.keypoint_scores[:, j] > score_threshold) if len(p) \
                else np.zeros(0, int)
            annotated += len(g_on)
            hyp = _hyp_ids(p, offset)
            offset += len(p)
            if len(g_on) and len(p_on):
                d = np.linalg.norm(g.keypoints[g_on, None, j] - p.keypoints[None, p_on, j], axis=-1)
                d = d / np.maximum(pckh * _head_sizes(g)[g_on, None], 1e-9)
                d[d > 1.0] = np.nan
            else:
                d = np.zeros((len(g_on), len(p_on)))
            acc.update([int(g.ids[i]) for i in g_on], [hyp[i] for i in p_on], d)
        if annotated:
            per_joint[joint] = _summarise(acc, lambda x: 1.0 - x)
    if not per_joint:
        raise ValueError("gt: no annotated joints to evaluate")
    values = list(per_joint.values())

    def mean(name: str) -> float:
        return float(np.mean([getattr(v, name) for v in values]))

    def total(name: str) -> int:
        return int(sum(getattr(v, name) for v in values))

    summary = TrackingMetrics(
        mota=mean("mota"), motp=mean("motp"), idf1=mean("idf1"), idsw=total("idsw"),
        precision=mean("precision"), recall=mean("recall"), num_frames=values[0].num_frames,
        num_objects=total("num_objects"), num_matches=total("num_matches"),
        num_false_positives=total("num_false_positives"), num_misses=total("num_misses"),
        num_fragmentations=total("num_fragmentations"))
    return JointTrackingMetrics(summary, per_joint)


# ------------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------------


def _xywh_to_xyxy(box: Sequence[float]) -> list[float]:
    x, y, w, h = (float(v) for v in box)
    return [x, y, x + w, y + h]


def _numbers(value: Any, where: str, what: str, size: int | None = None,
             multiple: int = 1) -> np.ndarray:
    """``value`` as a flat float64 array of finite numbers (``size`` of them, or a positive
    multiple of ``multiple``); else ValueError naming ``where`` and ``what``."""
    ok = isinstance(value, (list, tuple))
    if ok:
        try:
            array = np.asarray(value, np.float64).reshape(-1)
            ok = (array.size == np.asarray(value, object).size
                  and not any(isinstance(v, bool) for v in np.asarray(value, object).reshape(-1)))
        except (TypeError, ValueError, OverflowError):
            ok = False
    if ok:
        ok = (array.size == size) if size is not None else \
            (array.size > 0 and array.size % multiple == 0)
    if not ok:
        count = f"{size}" if size is not None else f"a multiple of {multiple}"
        raise ValueError(f"{where}: '{what}' must be a list of {count} numbers, got "
                         f"{value!r:.60}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{where}: '{what}' holds NaN or infinite values")
    return array


def _integer(value: Any, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not float(value).is_integer():
        raise ValueError(f"{where}: '{what}' must be an integer, got {value!r:.60}")
    return int(value)


def _box_xywh(value: Any, where: str, what: str = "bbox") -> list[float]:
    box = _numbers(value, where, what, size=4)
    if box[2] < 0 or box[3] < 0:
        raise ValueError(f"{where}: '{what}' has a negative width or height: {box.tolist()}")
    return _xywh_to_xyxy(box)


def _image_key(value: Any, where: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{where}: 'image_id' must be an integer or a name, got {value!r:.60}")
    return value


def load_posetrack(path: str | os.PathLike[str]) -> dict[str, list[tuple[str, TrackFrame]]]:
    """Read PoseTrack18 annotations (COCO-like JSON with ``track_id``), checked entry by entry.

    Args:
        path: one annotation file, or a folder of them (every ``*.json`` inside).

    Returns:
        sequence id (``vid_id``, else the file stem) -> list of ``(file_name, TrackFrame)`` for
        the labelled frames (``is_labeled``), in frame order. Keypoint visibility is the
        annotation's ``v`` (> 0 = annotated). Annotations without ``track_id`` or ``bbox`` (as
        in the official files for ignored people) are left out.

    Raises:
        FileNotFoundError: no such file or folder.
        ValueError: a file is not PoseTrack-style JSON, or an image or annotation is malformed
            (17 keypoints as x, y, v; finite boxes with non-negative sizes; integer track ids;
            image ids of listed images); the message names the file and the entry.
    """
    from alphapose.jsonfile import load_json

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such PoseTrack annotation file or folder")
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    sequences: dict[str, list[tuple[str, TrackFrame]]] = {}
    for file in files:
        data = load_json(file, "PoseTrack annotation")
        if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
                or not isinstance(data.get("annotations"), list):
            raise ValueError(f"{file}: not a PoseTrack annotation file (expected a dict with "
                             "'images' and 'annotations' lists)")
        images = []
        for i, image in enumerate(data["images"]):
            where = f"{file}: images[{i}]"
            if not isinstance(image, dict) or "id" not in image:
                raise ValueError(f"{where}: expected an object with 'id' and 'file_name'")
            key = _image_key(image["id"], where.replace("'image_id'", "'id'"))
            if not isinstance(image.get("file_name"), str):
                raise ValueError(f"{where}: 'file_name' must be a string, got "
                                 f"{image.get('file_name')!r:.60}")
            order = _integer(image.get("frame_id", key if isinstance(key, int) else i), where,
                             "frame_id")
            vid = image.get("vid_id", file.stem)
            if not isinstance(vid, (str, int)) or isinstance(vid, bool):
                raise ValueError(f"{where}: 'vid_id' must be a name, got {vid!r:.60}")
            images.append((str(vid), order, key, image))
        known = {key for _, _, key, _ in images}
        by_image: dict[Any, list[tuple[int, list[float], np.ndarray, list[float]]]] = {}
        for i, ann in enumerate(data["annotations"]):
            where = f"{file}: annotations[{i}]"
            if not isinstance(ann, dict):
                raise ValueError(f"{where}: expected an object, got {type(ann).__name__}")
            key = _image_key(ann.get("image_id"), where)
            if key not in known:
                raise ValueError(f"{where}: image_id {key!r} is not in 'images'")
            if "track_id" not in ann or ann.get("bbox") is None:
                continue
            track_id = _integer(ann["track_id"], where, "track_id")
            box = _box_xywh(ann["bbox"], where)
            keypoints = _numbers(ann.get("keypoints"), where, "keypoints", size=51)
            head = _box_xywh(ann["bbox_head"], where, "bbox_head") if ann.get("bbox_head") \
                else box
            by_image.setdefault(key, []).append((track_id, box, keypoints.reshape(17, 3), head))
        position: dict[str, int] = {}
        for vid, _, key, image in sorted(images, key=lambda item: item[:2]):
            index = position[vid] = position.get(vid, -1) + 1
            if image.get("is_labeled", True) is False:
                continue
            anns = by_image.get(key, [])
            frame = TrackFrame(
                ids=[a[0] for a in anns], xyxy=[a[1] for a in anns],
                keypoints=np.array([a[2][:, :2] for a in anns]).reshape(len(anns), 17, 2),
                keypoint_scores=np.array([a[2][:, 2] for a in anns]).reshape(len(anns), 17),
                head_xyxy=[a[3] for a in anns], index=index)
            sequences.setdefault(vid, []).append((image["file_name"], frame))
    return sequences


def to_posetrack_keypoints(keypoints: np.ndarray, scores: np.ndarray,
                           layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints of any layout -> PoseTrack-17 order, by keypoint name.

    ``head_bottom`` takes ``neck`` (Halpe) or else the shoulder midpoint (score: the lower of
    the two); ``head_top`` takes ``head`` (Halpe) or else is missing (score 0).

    Args:
        keypoints: ``(N, K, 2)``; scores ``(N, K)``; layout: their layout name.

    Returns:
        ``(N, 17, 2)`` and ``(N, 17)``.
    """
    from alphapose.skeletons import get_layout

    names = {n: i for i, n in enumerate(get_layout(layout).keypoint_names)}
    keypoints = np.asarray(keypoints, np.float64)
    scores = np.asarray(scores, np.float64)
    n = keypoints.shape[0]
    out = np.zeros((n, 17, 2))
    out_s = np.zeros((n, 17))
    for j, name in enumerate(POSETRACK_KEYPOINTS):
        source = {"head_bottom": "neck", "head_top": "head"}.get(name, name)
        if source in names:
            out[:, j], out_s[:, j] = keypoints[:, names[source]], scores[:, names[source]]
        elif name == "head_bottom" and "left_shoulder" in names and "right_shoulder" in names:
            a, b = names["left_shoulder"], names["right_shoulder"]
            out[:, j] = (keypoints[:, a] + keypoints[:, b]) / 2
            out_s[:, j] = np.minimum(scores[:, a], scores[:, b])
    return out, out_s


def _result_frame(people: list[tuple[int, list[float], np.ndarray | None, np.ndarray | None]],
                  layout: str | None) -> TrackFrame:
    if not people:
        return TrackFrame.empty()
    ids = [p[0] for p in people]
    boxes = [p[1] for p in people]
    if layout is None or any(p[2] is None for p in people):
        return TrackFrame(ids, boxes)
    if layout == "posetrack17":
        return TrackFrame(ids, boxes, np.stack([p[2] for p in people]),
                          np.stack([p[3] for p in people]))
    kp, sc = to_posetrack_keypoints(np.stack([p[2] for p in people]),
                                    np.stack([p[3] for p in people]), layout)
    return TrackFrame(ids, boxes, kp, sc)


def _idx_to_id(idx: Any) -> int:
    if isinstance(idx, bool) or idx is None:
        return -1
    if isinstance(idx, (int, float)) and math.isfinite(idx):
        return int(idx)
    return -1   # the official untracked list form ([0.0], [[0.0], ...])


def _person(track_id: int, xyxy: list[float], keypoints: np.ndarray, scores: np.ndarray | None
            ) -> tuple[int, list[float], np.ndarray, np.ndarray]:
    triples = keypoints.reshape(-1, 3)
    return (track_id, xyxy, triples[:, :2], triples[:, 2] if scores is None else scores)


def _layout_of(people: list, layouts: set[str | None], where: str) -> str | None:
    counts = {len(p[2]) for p in people}
    if len(counts) > 1:
        raise ValueError(f"{where}: people with different keypoint counts {sorted(counts)}")
    if len(layouts) > 1:
        raise ValueError(f"{where}: people of different layouts {sorted(map(str, layouts))}")
    return layouts.pop() if layouts else None


def load_tracking_results(path: str | os.PathLike[str]) -> dict[str, TrackFrame]:
    """Read tracked results: AlphaPose JSON (``idx``), JSON lines (``track_id``) or PoseTrack JSON.

    The file is read all the way or refused with the position where the read stopped; a file
    cut short at its end (a killed run's) is read up to its last complete entry, with a
    warning (:mod:`alphapose.jsonfile`).

    Args:
        path: the results file.

    Returns:
        image name (as written in the file) -> :class:`TrackFrame` with PoseTrack-17 keypoints
        when the file has keypoints of a known layout.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is none of these formats, or an entry is malformed (the message
            names the file, the entry and the field).
    """
    from alphapose.formats import load_alphapose_json, load_json_lines
    from alphapose.jsonfile import load_json, read_text
    from alphapose.skeletons import get_layout

    path = Path(path)
    text = read_text(path, "tracking results")
    first = text.lstrip()[:1]
    grouped: dict[str, list] = {}
    layouts: dict[str, set[str | None]] = {}
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    try:
        head = json.loads(first_line)
    except json.JSONDecodeError:
        head = None
    if first == "[":
        for n, entry in enumerate(load_alphapose_json(path), 1):
            where = f"{path}: entry {n}"
            name = str(entry["image_id"])
            triples = np.asarray(entry["keypoints"], np.float64).reshape(-1, 3)
            layouts.setdefault(name, set()).add(_LAYOUT_BY_K.get(len(triples)))
            box = entry.get("box")
            if box is None:
                x1, y1 = triples[:, :2].min(0)
                x2, y2 = triples[:, :2].max(0)
                box_xyxy = [x1, y1, x2, y2]
            else:
                box_xyxy = _box_xywh(box, where, "box")
            grouped.setdefault(name, []).append(
                _person(_idx_to_id(entry.get("idx")), box_xyxy, triples, None))
        return {n: _result_frame(p, _layout_of(p, layouts[n], f"{path}: image {n!r}"))
                for n, p in grouped.items()}
    if isinstance(head, dict) and "people" in head:
        for n, record in enumerate(load_json_lines(path), 1):
            where = f"{path}: line {n}"
            name = str(_image_key(record.get("image_id"), where))
            layout = record.get("layout")
            if layout is not None:
                if not isinstance(layout, str):
                    raise ValueError(f"{where}: 'layout' must be a layout name, got "
                                     f"{layout!r:.60}")
                try:
                    layout = get_layout(layout).name
                except ValueError as error:
                    raise ValueError(f"{where}: {error}") from None
            people = record.get("people", [])
            if not isinstance(people, list):
                raise ValueError(f"{where}: 'people' must be a list, got {people!r:.60}")
            group = grouped.setdefault(name, [])
            layouts.setdefault(name, set()).add(layout)
            for j, person in enumerate(people):
                here = f"{where}, person {j + 1}"
                if not isinstance(person, dict):
                    raise ValueError(f"{here}: expected an object")
                keypoints = _numbers(person.get("keypoints"), here, "keypoints", multiple=3)
                if layout is not None and keypoints.size != 3 * get_layout(layout).num_keypoints:
                    raise ValueError(f"{here}: {keypoints.size // 3} keypoints, but the line's "
                                     f"layout {layout!r} has {get_layout(layout).num_keypoints}")
                box = _numbers(person.get("box"), here, "box", size=4).tolist()
                track_id = _integer(person.get("track_id", -1), here, "track_id")
                group.append(_person(track_id, box, keypoints, None))
        return {n: _result_frame(p, _layout_of(p, layouts[n], f"{path}: image {n!r}"))
                for n, p in grouped.items()}
    if first == "{":
        data = load_json(path, "tracking results", allow_cut=True)
        if not (isinstance(data, dict) and isinstance(data.get("annotations"), list)):
            raise ValueError(f"{path}: not a tracking results file (a JSON object, but neither "
                             "JSON lines with 'people' nor a PoseTrack dict with 'annotations')")
        images = data.get("images", [])  # absent in a killed run's file: names are the ids
        if not isinstance(images, list):
            raise ValueError(f"{path}: 'images' must be a list")
        names: dict[Any, str] = {}
        for i, image in enumerate(images):
            where = f"{path}: images[{i}]"
            if not isinstance(image, dict) or not isinstance(image.get("file_name"), str):
                raise ValueError(f"{where}: expected an object with 'id' and 'file_name'")
            names[_image_key(image.get("id"), where)] = image["file_name"]
        for name in names.values():
            grouped.setdefault(name, [])
        for i, ann in enumerate(data["annotations"]):
            where = f"{path}: annotations[{i}]"
            if not isinstance(ann, dict):
                raise ValueError(f"{where}: expected an object, got {type(ann).__name__}")
            key = _image_key(ann.get("image_id"), where)
            keypoints = _numbers(ann.get("keypoints"), where, "keypoints", size=51)
            scores = ann.get("scores")
            scores = None if scores is None else _numbers(scores, where, "scores", size=17)
            grouped.setdefault(names.get(key, str(key)), []).append(_person(
                _integer(ann.get("track_id", -1), where, "track_id"),
                _box_xywh(ann.get("bbox"), where), keypoints, scores))
        return {n: _result_frame(p, "posetrack17") if p else TrackFrame.empty()
                for n, p in grouped.items()}
    raise ValueError(f"{path}: not a tracking results file (expected an AlphaPose JSON list, "
                     "JSON lines or a PoseTrack JSON dict)")


def align_results(gt: Sequence[tuple[str, TrackFrame]],
                  results: Mapping[str, TrackFrame]) -> list[TrackFrame]:
    """The result frame for each ground-truth frame, matched by file name.

    A ground-truth name ``images/val/<seq>/000042.jpg`` matches a result name equal to it or to
    one of its suffixes (``<seq>/000042.jpg``, ``000042.jpg``). Results of a video are named
    by frame index from 0 (``0.jpg``, ``1.jpg``, ...: the ``alphapose run`` naming) and match
    the ground-truth frame at that position in the video (:attr:`TrackFrame.index`: the
    sequence's first image is frame 0, whatever number its file name holds, e.g. MOTChallenge's
    ``000001.jpg`` or PoseTrack's ``000000.jpg``); ground truth without a position falls back to
    the number in its file name. Frames without results are empty.
    """
    by_name = dict(results)
    stems: dict[str, TrackFrame] = {}
    for name, frame in results.items():
        stem = Path(name).stem
        if stem.isdigit():
            stems[str(int(stem))] = frame
    aligned = []
    for name, frame in gt:
        parts = Path(name).parts
        found = None
        for start in range(len(parts)):
            candidate = "/".join(parts[start:])
            if candidate in by_name:
                found = by_name[candidate]
                break
        if found is None and frame.index is not None:
            found = stems.get(str(frame.index))
        elif found is None and Path(name).stem.isdigit():
            found = stems.get(str(int(Path(name).stem)))
        aligned.append(found if found is not None else TrackFrame.empty())
    return aligned


def concat_sequences(pairs: Sequence[tuple[Sequence[TrackFrame], Sequence[TrackFrame]]]
                     ) -> tuple[list[TrackFrame], list[TrackFrame]]:
    """Several ``(gt, pred)`` sequences as one, ids kept apart per sequence (for totals).

    Ids of sequence ``s`` become ``s * 10**7 + id``; untracked results (``-1``) stay ``-1``.
    """
    gt_all: list[TrackFrame] = []
    pred_all: list[TrackFrame] = []
    for s, (gt, pred) in enumerate(pairs):
        _check_frames(gt, pred)
        offset = s * 10 ** 7
        for g, p in zip(gt, pred):
            gt_all.append(TrackFrame(g.ids + offset, g.xyxy, g.keypoints, g.keypoint_scores,
                                     g.head_xyxy))
            pred_all.append(TrackFrame(np.where(p.ids >= 0, p.ids + offset, -1), p.xyxy,
                                       p.keypoints, p.keypoint_scores, p.head_xyxy))
    return gt_all, pred_all
