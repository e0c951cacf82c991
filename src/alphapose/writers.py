"""Sinks that write pose results in formats people already use.

Every sink is a context manager with ``write(frame, poses)``. Results stream: each frame's output
reaches the operating system (the file is flushed) before ``write`` returns, so a crash or a kill
keeps every finished frame. Files are created on ``open()`` (called by ``with`` and, lazily, by the
first ``write``); ``close()`` finishes them and is called by ``with`` also when the block raises.

=========================  ======================================================================
sink                       output
=========================  ======================================================================
:class:`AlphaPoseJsonWriter`  the official ``alphapose-results.json`` list (read it back with
                           :func:`alphapose.formats.load_alphapose_json`, which also reads files
                           cut short by a crash)
:class:`CocoResultsWriter` COCO keypoint results (``pycocotools`` ``COCO.loadRes``)
:class:`OpenPoseWriter`    one OpenPose ``<name>_keypoints.json`` per frame (BODY_25 / COCO-18)
:class:`JsonLinesWriter`   one JSON object per frame and line (read back with
                           :func:`alphapose.formats.load_json_lines`)
:class:`PoseTrackWriter`   PoseTrack18 JSON with track ids (``alphapose eval-track`` reads it)
:class:`ImageWriter`       rendered images, one per frame
:class:`VideoWriter`       a rendered video
:class:`MultiWriter`       several of the above at once (:func:`make_writers` builds one)
=========================  ======================================================================

Numbers are written as the shortest decimal that reads back to the same float32, so loading a
file and casting to float32 gives exactly the arrays that were written.

Example:
    >>> with MultiWriter([AlphaPoseJsonWriter("out/alphapose-results.json"),
    ...                   VideoWriter("out/result.mp4", fps=25.0)]) as sink:
    ...     for frame, poses in pipeline.run(source):
    ...         sink.write(frame, poses)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import cv2
import numpy as np

from alphapose.formats import PathLike, relative_path, unique_image_id
from alphapose.render import RenderOptions
from alphapose.skeletons import Layout, convert, convert_poses, get_layout
from alphapose.structures import Frame, Poses, check_image

__all__ = [
    "BODY_25_NAMES",
    "COCO_18_NAMES",
    "WRITER_FORMATS",
    "AlphaPoseJsonWriter",
    "CocoResultsWriter",
    "ImageWriter",
    "JsonLinesWriter",
    "MultiWriter",
    "OpenPoseWriter",
    "PoseTrackWriter",
    "Sink",
    "VideoWriter",
    "make_writers",
    "openpose_people",
]

#: OpenPose BODY_25 order, as canonical keypoint names (see :mod:`alphapose.skeletons`).
BODY_25_NAMES: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "hip", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe",
    "right_heel",
)
#: OpenPose COCO-18 order (the official ``--format open``); ``neck`` is the shoulder midpoint.
COCO_18_NAMES: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)
_FOOT_NAMES = ("left_big_toe", "left_small_toe", "left_heel",
               "right_big_toe", "right_small_toe", "right_heel")
# iBUG-68 eye contours (face-local indices): the person's right eye, then the left eye.
_RIGHT_EYE = slice(36, 42)
_LEFT_EYE = slice(42, 48)


# ------------------------------------------------------------------------------------------------
# shared helpers
# ------------------------------------------------------------------------------------------------


def _floats(values: np.ndarray) -> list[float]:
    """Flat list of the shortest decimals that read back to the same float32 values."""
    return [float(str(v)) for v in np.asarray(values, np.float32).ravel()]


def _float(value: Any) -> float:
    return float(str(np.float32(value)))


def _person_extras(poses: Poses, i: int, nested: bool) -> dict[str, Any]:
    """The optional fields of person ``i``: ``keypoints_3d`` (metres, rounded to 0.1 mm; flat
    x, y, z triples, or ``[x, y, z]`` lists when ``nested``; null where absent) and
    ``segmentation`` (a COCO RLE dict), when ``poses`` has them."""
    extras: dict[str, Any] = {}
    if poses.keypoints_3d is not None:
        points = np.round(poses.keypoints_3d[i].astype(np.float64), 4)
        if nested:
            extras["keypoints_3d"] = [p.tolist() if np.isfinite(p).all() else None
                                      for p in points]
        else:
            extras["keypoints_3d"] = [float(v) if math.isfinite(v) else None
                                      for v in points.ravel()]
    if poses.masks is not None:
        extras["segmentation"] = dict(poses.masks[i])
    return extras


def _xywh(xyxy: np.ndarray) -> np.ndarray:
    """``(4,)`` xyxy -> ``(4,)`` ``[x1, y1, w, h]`` (float32 arithmetic)."""
    xyxy = np.asarray(xyxy, np.float32)
    return np.concatenate([xyxy[:2], xyxy[2:] - xyxy[:2]])


def _check_inputs(frame: Frame, poses: Poses) -> None:
    if not isinstance(frame, Frame):
        raise TypeError(f"frame: expected alphapose.structures.Frame, got {type(frame).__name__}")
    if not isinstance(poses, Poses):
        raise TypeError(f"poses: expected alphapose.structures.Poses, got {type(poses).__name__}")


def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(tmp, path)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


# ------------------------------------------------------------------------------------------------
# base
# ------------------------------------------------------------------------------------------------


class Sink:
    """Base of all writers: ``open`` / ``write`` / ``close`` and the context-manager protocol.

    ``open`` is idempotent and is called by ``__enter__`` and by the first ``write``; ``close``
    is idempotent, and a closed sink refuses further writes (reopening would overwrite the file).
    """

    _opened: bool = False
    _closed: bool = False

    def open(self) -> Self:
        """Create the output (idempotent). Returns ``self``."""
        if self._closed:
            raise ValueError(f"{self!r} is closed; create a new writer to write again")
        if not self._opened:
            self._open()
            self._opened = True
        return self

    def write(self, frame: Frame, poses: Poses) -> None:
        """Write one frame's results, flushed to the OS before returning.

        Args:
            frame: the frame the poses were found in (its ``name``, ``index``, ``image``).
            poses: the people found in it (may be empty).

        Raises:
            TypeError: ``frame`` or ``poses`` has the wrong type.
            ValueError: the sink is closed, or the results do not fit the format.
        """
        _check_inputs(frame, poses)
        self.open()
        self._write(frame, poses)

    def close(self) -> None:
        """Finish the output (idempotent)."""
        if self._opened and not self._closed:
            self._close()
        self._closed = True

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # subclasses implement these
    def _open(self) -> None:
        raise NotImplementedError

    def _write(self, frame: Frame, poses: Poses) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class _JsonArraySink(Sink):
    """A JSON list streamed entry by entry that is valid JSON on disk after every frame.

    The file always ends with the closing ``]``: each frame's entries are written over it,
    followed by a new ``]``, in one ``write`` call, and flushed. So ``json.load``, pycocotools
    and ``alphapose eval`` read the file of a killed run, with every frame finished before the
    kill. One entry per line, as the official files are laid out by ``json.dump`` with indent.
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        self._file: IO[bytes] | None = None
        self._count = 0
        self._tail_at = 0  # where the closing "\n]\n" (or "]\n" while empty) starts

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _entries(self, frame: Frame, poses: Poses) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb", buffering=0)  # noqa: SIM115 - closed by _close
        self._tail_at = _write_all(self._file, b"[\n")
        _write_all(self._file, b"]\n")

    def _write(self, frame: Frame, poses: Poses) -> None:
        assert self._file is not None  # open() ran
        entries = self._entries(frame, poses)
        if not entries:
            return
        lines = ",\n".join(json.dumps(entry, separators=(",", ":")) for entry in entries)
        body = ((",\n" if self._count else "") + lines).encode("utf-8")
        self._file.seek(self._tail_at)
        _write_all(self._file, body + b"\n]\n")
        self._tail_at += len(body)
        self._count += len(entries)

    def _close(self) -> None:
        assert self._file is not None  # open() ran
        self._file.close()
        self._file = None

    @property
    def entries_written(self) -> int:
        """Number of list entries (people) written so far."""
        return self._count


def _write_all(file: IO[bytes], data: bytes) -> int:
    """Write ``data`` to an unbuffered binary file (one call unless the OS writes less)."""
    view = memoryview(data)
    while view:
        try:
            written = file.write(view)
        except OSError as error:  # name the file: "no space left on device" alone does not
            raise OSError(error.errno, error.strerror, getattr(file, "name", None)) from None
        if not written:
            raise OSError(f"could not write to {getattr(file, 'name', 'a file')}")
        view = view[written:]
    return len(data)


# ------------------------------------------------------------------------------------------------
# AlphaPose and COCO JSON
# ------------------------------------------------------------------------------------------------


class AlphaPoseJsonWriter(_JsonArraySink):
    """The official AlphaPose results list (``alphapose-results.json``), streamed.

    One entry per person, frames in write order, people in ``poses`` order::

        {"image_id": "000000000785.jpg", "category_id": 1,
         "keypoints": [x1, y1, s1, x2, y2, s2, ...],   # 3 * K floats, image pixels
         "score": 2.71,                                 # poses.scores (official person score)
         "box": [x, y, w, h],                           # poses.xyxy as x, y, width, height
         "idx": 3}                                      # see below

    With ``--world`` / ``--masks`` an entry also holds ``keypoints_3d`` (flat x, y, z triples
    in metres, null where absent) and ``segmentation`` (COCO RLE); readers that do not know
    them ignore them.

    ``idx``: the track id (an int) when the person is tracked (``track_ids >= 0``), otherwise
    ``[0.0]``, which is what the official untracked output holds for a pose formed from one
    detection, so tools written for official files keep working.

    Unlike the official writer (which writes the whole list at the end of the run), the list is
    written as results arrive and is valid JSON after every frame, so a run that is killed
    leaves every finished frame readable by ``json.load``.

    Args:
        path: the ``.json`` file (parent folders are created).
        eval_ids: write ``image_id`` as the integer the official ``--eval`` flag parses from the
            frame name (:func:`image_id_from_name`) instead of the name itself.

    Example:
        >>> with AlphaPoseJsonWriter("res/alphapose-results.json") as sink:
        ...     sink.write(frame, poses)
    """

    def __init__(self, path: PathLike, eval_ids: bool = False) -> None:
        super().__init__(path)
        self.eval_ids = bool(eval_ids)
        self._names: dict[int, str] = {}

    def _entries(self, frame: Frame, poses: Poses) -> list[dict[str, Any]]:
        image_id: int | str = unique_image_id(frame.name, self._names) if self.eval_ids else \
            frame.name
        entries = []
        for i in range(len(poses)):
            triples = np.concatenate([poses.keypoints[i], poses.keypoint_scores[i][:, None]], 1)
            track_id = int(poses.track_ids[i])  # type: ignore[index]
            entries.append({
                "image_id": image_id,
                "category_id": 1,
                "keypoints": _floats(triples),
                "score": _float(poses.scores[i]),  # type: ignore[index]
                "box": _floats(_xywh(poses.xyxy[i])),
                "idx": track_id if track_id >= 0 else [0.0],
                **_person_extras(poses, i, nested=False),
            })
        return entries


class CocoResultsWriter(_JsonArraySink):
    """COCO keypoint-detection results, streamed: ``[{"image_id": int, "category_id": 1,
    "keypoints": [x, y, s, ...], "score": float}, ...]``, loadable with ``COCO.loadRes``.

    Args:
        path: the ``.json`` file.
        layout: if given, poses are converted to this layout first
            (:func:`alphapose.skeletons.convert_poses`), e.g. ``"coco17"`` to evaluate a
            whole-body model against COCO keypoint annotations.

    Image ids are parsed from frame names with the official ``--eval`` rule
    (:func:`image_id_from_name`: ``000000000785.jpg`` -> 785). With ``--masks`` an entry also
    holds ``segmentation`` (COCO RLE), for mask evaluation (``COCOeval(..., "segm")``).

    Raises:
        ValueError: from ``write``, when a frame name holds no integer id, or its id is already
            used by another frame name in this file.
    """

    def __init__(self, path: PathLike, layout: str | Layout | None = None) -> None:
        super().__init__(path)
        self.layout = None if layout is None else get_layout(layout)
        self._names: dict[int, str] = {}

    def _entries(self, frame: Frame, poses: Poses) -> list[dict[str, Any]]:
        image_id = unique_image_id(frame.name, self._names)
        if self.layout is not None and len(poses):
            poses = convert_poses(poses, self.layout)
        entries = []
        for i in range(len(poses)):
            triples = np.concatenate([poses.keypoints[i], poses.keypoint_scores[i][:, None]], 1)
            entries.append({"image_id": image_id, "category_id": 1,
                            "keypoints": _floats(triples),
                            "score": _float(poses.scores[i])})  # type: ignore[index]
            if poses.masks is not None:  # COCOeval(iouType="segm") reads it
                entries[-1]["segmentation"] = dict(poses.masks[i])
        return entries


# ------------------------------------------------------------------------------------------------
# OpenPose
# ------------------------------------------------------------------------------------------------


class OpenPoseWriter(Sink):
    """One OpenPose-style JSON file per frame: ``<outdir>/<name without extension>_keypoints.json``.

    Content (OpenPose 1.3 keys)::

        {"version": 1.3, "people": [{"person_id": [-1],
            "pose_keypoints_2d": [...], "face_keypoints_2d": [...],
            "hand_left_keypoints_2d": [...], "hand_right_keypoints_2d": [...],
            "pose_keypoints_3d": [], "face_keypoints_3d": [],
            "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": []}]}

    * ``person_id``: ``[track id]`` when tracked, else ``[-1]`` (OpenPose's "no id").
    * Body: layouts with foot points are written in OpenPose BODY_25 order (25 x 3 values; see
      :data:`BODY_25_NAMES`). Halpe layouts supply neck and mid-hip directly; COCO-WholeBody is
      converted with :func:`alphapose.skeletons.convert` (neck and mid-hip = midpoints of the
      shoulders and hips with the lower of the two scores). COCO-17 has no feet and is written
      as the official ``--format open`` does: COCO-18 order (:data:`COCO_18_NAMES`, 18 x 3
      values) with neck = the mean of the shoulders (position and score averaged).
    * Face: 70 points as OpenPose has them: the 68 iBUG landmarks, then the right pupil and the
      left pupil, each the centroid of its iBUG eye contour (36-41 right, 42-47 left) with the
      lowest score of the contour (there is no pupil landmark in the 68 to copy).
    * Hands: 21 points each. Face and hand lists are empty when the layout lacks them.
    * Every point is written with its score as given; nothing is zeroed below a threshold.

    Files are replaced atomically, so a crash never leaves half a file.

    Args:
        outdir: the folder (created if missing).
    """

    version = 1.3

    def __init__(self, outdir: PathLike) -> None:
        self.outdir = Path(outdir)

    def __repr__(self) -> str:
        return f"OpenPoseWriter({str(self.outdir)!r})"

    def path_for(self, frame: Frame) -> Path:
        """The file ``write`` puts ``frame``'s results in (a name with folders, ``a/1.jpg``,
        gives ``a/1_keypoints.json``)."""
        relative = relative_path(frame.name)
        base = relative.name
        stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
        return self.outdir / relative.parent / f"{stem}_keypoints.json"

    def _open(self) -> None:
        self.outdir.mkdir(parents=True, exist_ok=True)

    def _write(self, frame: Frame, poses: Poses) -> None:
        document = {"version": self.version, "people": openpose_people(poses)}
        path = self.path_for(frame)
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(path, json.dumps(document, separators=(",", ":")))

    def _close(self) -> None:
        pass


def openpose_people(poses: Poses) -> list[dict[str, Any]]:
    """The OpenPose ``people`` list for ``poses`` (see :class:`OpenPoseWriter` for the rules).

    Raises:
        ValueError: unknown layout, or ``poses.num_keypoints`` does not match it.
    """
    layout = get_layout(poses.layout)
    if poses.num_keypoints != layout.num_keypoints:
        raise ValueError(f"poses: layout {layout.name!r} has {layout.num_keypoints} keypoints but "
                         f"poses.keypoints has {poses.num_keypoints}")
    body_xy, body_s = _openpose_body(layout, poses.keypoints, poses.keypoint_scores)
    face_xy, face_s = _openpose_face(layout, poses.keypoints, poses.keypoint_scores)
    hands = [_select(layout, poses.keypoints, poses.keypoint_scores,
                     [f"{side}_hand_{j}" for j in range(21)]) for side in ("left", "right")]
    people = []
    for i in range(len(poses)):
        track_id = int(poses.track_ids[i])  # type: ignore[index]
        people.append({
            "person_id": [track_id if track_id >= 0 else -1],
            "pose_keypoints_2d": _triples(body_xy[i], body_s[i]),
            "face_keypoints_2d": _triples(face_xy[i], face_s[i]),
            "hand_left_keypoints_2d": _triples(hands[0][0][i], hands[0][1][i]),
            "hand_right_keypoints_2d": _triples(hands[1][0][i], hands[1][1][i]),
            "pose_keypoints_3d": [], "face_keypoints_3d": [],
            "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": [],
        })
    return people


def _triples(xy: np.ndarray, scores: np.ndarray) -> list[float]:
    return _floats(np.concatenate([xy, scores[:, None]], 1)) if len(scores) else []


def _select(layout: Layout, keypoints: np.ndarray, scores: np.ndarray,
            names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(N, len(names), 2)`` and ``(N, len(names))`` for names the layout has, else empty."""
    if not all(n in layout.keypoint_names for n in names):
        return keypoints[:, :0], scores[:, :0]
    index = [layout.index(n) for n in names]
    return keypoints[:, index], scores[:, index]


def _openpose_body(layout: Layout, keypoints: np.ndarray,
                   scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if all(n in layout.keypoint_names for n in _FOOT_NAMES):
        halpe26 = get_layout("halpe26")
        keypoints, scores = convert(keypoints, scores, layout, halpe26)
        return _select(halpe26, keypoints, scores, BODY_25_NAMES)
    names = layout.keypoint_names
    if "neck" in names:
        return _select(layout, keypoints, scores, COCO_18_NAMES)
    # COCO-17: append the neck as the official --format open does (x, y and score averaged).
    missing = [n for n in COCO_18_NAMES if n != "neck" and n not in names]
    if missing:
        raise ValueError(f"poses: layout {layout.name!r} lacks {missing} needed for OpenPose")
    ls, rs = layout.index("left_shoulder"), layout.index("right_shoulder")
    neck_xy = (keypoints[:, ls] + keypoints[:, rs]) / 2
    neck_s = (scores[:, ls] + scores[:, rs]) / 2
    keypoints = np.concatenate([keypoints, neck_xy[:, None]], 1)
    scores = np.concatenate([scores, neck_s[:, None]], 1)
    index = [len(names) if n == "neck" else layout.index(n) for n in COCO_18_NAMES]
    return keypoints[:, index], scores[:, index]


def _openpose_face(layout: Layout, keypoints: np.ndarray,
                   scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    face_xy, face_s = _select(layout, keypoints, scores, [f"face_{j}" for j in range(68)])
    if face_xy.shape[1] == 0:
        return face_xy, face_s
    pupils_xy = [face_xy[:, eye].mean(1) for eye in (_RIGHT_EYE, _LEFT_EYE)]
    pupils_s = [face_s[:, eye].min(1) for eye in (_RIGHT_EYE, _LEFT_EYE)]
    return (np.concatenate([face_xy, np.stack(pupils_xy, 1)], 1),
            np.concatenate([face_s, np.stack(pupils_s, 1)], 1))


# ------------------------------------------------------------------------------------------------
# JSON lines
# ------------------------------------------------------------------------------------------------


class JsonLinesWriter(Sink):
    """One JSON object per frame and line, flushed as each frame is written::

        {"frame": 12, "image_id": "12.jpg", "timestamp": 0.48, "layout": "halpe136",
         "people": [{"keypoints": [[x, y, s], ...], "box": [x1, y1, x2, y2],
                     "box_score": 0.93, "score": 2.7, "track_id": 4}]}

    ``box`` is xyxy (unlike the AlphaPose JSON's xywh); ``track_id`` is ``-1`` for an untracked
    person, as in :class:`~alphapose.structures.Poses`. Frames without people are written too.
    With ``--world`` / ``--masks`` a person also has ``keypoints_3d`` (``[x, y, z]`` in metres
    per keypoint, null where absent) and ``segmentation`` (COCO RLE).

    Args:
        path: the ``.jsonl`` file (parent folders are created).
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def __repr__(self) -> str:
        return f"JsonLinesWriter({str(self.path)!r})"

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # the sink keeps the file open from open() to close()
        self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115

    def _write(self, frame: Frame, poses: Poses) -> None:
        assert self._file is not None  # open() ran
        people = []
        for i in range(len(poses)):
            triples = np.concatenate([poses.keypoints[i], poses.keypoint_scores[i][:, None]], 1)
            people.append({
                "keypoints": np.reshape(_floats(triples), (-1, 3)).tolist(),
                "box": _floats(poses.xyxy[i]),
                "box_score": _float(poses.box_scores[i]),
                "score": _float(poses.scores[i]),  # type: ignore[index]
                "track_id": int(poses.track_ids[i]),  # type: ignore[index]
                **_person_extras(poses, i, nested=True),
            })
        record = {"frame": int(frame.index), "image_id": frame.name,
                  "timestamp": float(frame.timestamp), "layout": poses.layout, "people": people}
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def _close(self) -> None:
        assert self._file is not None  # open() ran
        self._file.close()
        self._file = None


# ------------------------------------------------------------------------------------------------
# PoseTrack JSON
# ------------------------------------------------------------------------------------------------


class PoseTrackWriter(Sink):
    """Tracked results in the PoseTrack18 JSON layout, streamed::

        {"categories": [{"id": 1, "name": "person", "keypoints": [17 PoseTrack names]}],
         "annotations": [{"id": 0, "image_id": 12, "track_id": 4, "category_id": 1,
                          "keypoints": [x, y, s, ...],          # 17 joints, PoseTrack order
                          "scores": [s, ...], "bbox": [x, y, w, h]}, ...],
         "images": [{"id": 12, "frame_id": 12, "file_name": "12.jpg", "vid_id": "clip",
                     "is_labeled": true, "nframes": 250}, ...]}

    Keypoints of any layout are converted to the PoseTrack-17 order by name
    (:func:`alphapose.evaluate.tracking.to_posetrack_keypoints`: ``head_bottom`` from the neck
    or the shoulder midpoint, ``head_top`` from Halpe's ``head``, else score 0). ``track_id`` is
    the person's track id (``-1`` when untracked). Image ids are the frame indices.

    The file is valid JSON after every frame, so a killed run's file reads with ``json.load``:
    annotations are written over the closing ``]}`` (and a new one after them), and each
    frame's image entry goes into a space-padded slot for the image list near the top, which
    is moved further down (the file rewritten once) when it fills, doubling its room.
    ``nframes`` is added to every image entry on ``close``.

    Args:
        path: the ``.json`` file (parent folders are created).
        vid_id: the sequence name written into each image entry (default: the file stem).
    """

    _ROOM = 4096  # bytes first kept for the image list

    def __init__(self, path: PathLike, vid_id: str | None = None) -> None:
        self.path = Path(path)
        self.vid_id = vid_id if vid_id is not None else self.path.stem
        self._file: IO[bytes] | None = None
        self._images: list[dict[str, Any]] = []
        self._count = 0
        self._header = b""
        self._room = self._ROOM
        self._images_used = 0  # bytes of image entries in the slot
        self._tail_at = 0  # where the closing "]}" of the annotations starts

    def __repr__(self) -> str:
        return f"PoseTrackWriter({str(self.path)!r})"

    def _open(self) -> None:
        from alphapose.evaluate.tracking import POSETRACK_KEYPOINTS

        self.path.parent.mkdir(parents=True, exist_ok=True)
        category = {"id": 1, "name": "person", "supercategory": "person",
                    "keypoints": list(POSETRACK_KEYPOINTS)}
        self._header = ('{"categories":' + json.dumps([category], separators=(",", ":"))
                        + ',\n"images":[').encode("utf-8")
        self._file = open(self.path, "wb", buffering=0)  # noqa: SIM115 - closed by _close
        self._rewrite(b"", b"")

    def _rewrite(self, images: bytes, annotations: bytes) -> None:
        """Write the whole file (image slot of ``self._room`` bytes) via a temporary file."""
        assert self._file is not None  # open() ran
        slot = images + b"]" + b" " * (self._room - len(images) - 1)
        head = self._header + slot + b'\n,"annotations":[\n'
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "wb") as file:
            file.write(head + annotations + (b"\n]}\n" if annotations else b"]}\n"))
        os.replace(tmp, self.path)
        self._file.close()
        self._file = open(self.path, "r+b", buffering=0)  # noqa: SIM115 - closed by _close
        self._images_used = len(images)
        self._tail_at = len(head) + len(annotations)

    def _slot_bytes(self) -> bytes:
        assert self._file is not None  # open() ran
        self._file.seek(len(self._header))
        return self._file.read(self._images_used)

    def _annotation_bytes(self) -> bytes:
        assert self._file is not None  # open() ran
        start = len(self._header) + self._room + len(b'\n,"annotations":[\n')
        self._file.seek(start)
        return self._file.read(self._tail_at - start)

    def _put_images(self, images: bytes) -> None:
        """Replace the image list by ``images`` (entries joined by commas)."""
        if len(images) + 1 > self._room:
            annotations = self._annotation_bytes()  # found by the old room
            while len(images) + 1 > self._room:
                self._room *= 2
            self._rewrite(images, annotations)
            return
        assert self._file is not None  # open() ran
        self._file.seek(len(self._header))
        _write_all(self._file, images + b"]")
        self._images_used = len(images)

    def _write(self, frame: Frame, poses: Poses) -> None:
        from alphapose.evaluate.tracking import to_posetrack_keypoints

        assert self._file is not None  # open() ran
        image_id = int(frame.index)
        image = {"id": image_id, "frame_id": image_id, "file_name": frame.name,
                 "vid_id": self.vid_id, "is_labeled": True}
        self._images.append(image)
        if len(poses):
            keypoints, scores = to_posetrack_keypoints(poses.keypoints, poses.keypoint_scores,
                                                       poses.layout)
            lines = []
            for i in range(len(poses)):
                triples = np.concatenate([keypoints[i], scores[i][:, None]], 1)
                lines.append(json.dumps({
                    "id": self._count + i, "image_id": image_id,
                    "track_id": int(poses.track_ids[i]),  # type: ignore[index]
                    "category_id": 1, "keypoints": _floats(triples),
                    "scores": _floats(scores[i]),
                    "bbox": _floats(_xywh(poses.xyxy[i])),
                    "score": _float(poses.scores[i]),  # type: ignore[index]
                }, separators=(",", ":")))
            body = ((",\n" if self._count else "") + ",\n".join(lines)).encode("utf-8")
            self._file.seek(self._tail_at)
            _write_all(self._file, body + b"\n]}\n")
            self._tail_at += len(body)
            self._count += len(lines)
        # the annotations first: an image entry is only listed once its people are on disk
        entry = json.dumps(image, separators=(",", ":")).encode("utf-8")
        data = (b"," if self._images_used else b"") + entry
        if self._images_used + len(data) + 1 > self._room:
            self._put_images(self._slot_bytes() + data)
        else:
            self._file.seek(len(self._header) + self._images_used)
            _write_all(self._file, data + b"]")
            self._images_used += len(data)

    def _close(self) -> None:
        assert self._file is not None  # open() ran
        for image in self._images:
            image["nframes"] = len(self._images)
        self._put_images(b",".join(json.dumps(image, separators=(",", ":")).encode("utf-8")
                                   for image in self._images))
        self._file.close()
        self._file = None


# ------------------------------------------------------------------------------------------------
# images and video
# ------------------------------------------------------------------------------------------------


def _rendered(frame: Frame, poses: Poses, render: RenderOptions | None) -> np.ndarray:
    return frame.image if render is None else render.draw(frame.image, poses)


class ImageWriter(Sink):
    """Rendered frames as image files: ``<outdir>/<frame name>``.

    The official ``--save_img`` writes to ``<outdir>/vis/``; pass that folder as ``outdir`` to
    match. Frame names without an extension OpenCV can write get ``.jpg`` appended. Each file is
    written under a temporary name and then renamed, so no half-written image is left.

    Args:
        outdir: the folder (created if missing).
        render: how to draw the poses; ``None`` writes the frames unchanged.

    Raises:
        OSError: from ``write``, when OpenCV cannot write a file.
    """

    def __init__(self, outdir: PathLike, render: RenderOptions | None = RenderOptions()) -> None:
        if render is not None and not isinstance(render, RenderOptions):
            raise TypeError(f"render: expected RenderOptions or None, got {type(render).__name__}")
        self.outdir = Path(outdir)
        self.render = render

    def __repr__(self) -> str:
        return f"ImageWriter({str(self.outdir)!r})"

    def path_for(self, frame: Frame) -> Path:
        """The file ``write`` puts ``frame``'s image in."""
        return self._path(frame.name, frame.index)

    def _path(self, name: str, index: int) -> Path:
        relative = relative_path(name) if name.strip("/\\.") else Path(f"{index}.jpg")
        if not cv2.haveImageWriter(relative.name):
            relative = relative.with_name(relative.name + ".jpg")
        return self.outdir / relative

    def _open(self) -> None:
        self.outdir.mkdir(parents=True, exist_ok=True)

    def _write(self, frame: Frame, poses: Poses) -> None:
        self.write_image(frame.name, _rendered(frame, poses, self.render), frame.index)

    def write_image(self, name: str, image: np.ndarray, index: int = 0) -> Path:
        """Write an already rendered image as ``<outdir>/<name>`` (the one save path of
        ``write``; ``index`` names it when ``name`` is empty). Returns the path written.

        Raises:
            OSError: OpenCV could not write the file.
        """
        check_image(image, "image")
        self.open()
        path = self._path(name, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{path.name}")
        if not cv2.imwrite(str(tmp), image):
            raise OSError(f"could not write image {path} (OpenCV imwrite failed)")
        os.replace(tmp, path)
        return path

    def _close(self) -> None:
        pass


# Codecs to try, in order, by file extension.
_FOURCCS: dict[str, tuple[str, ...]] = {
    ".mp4": ("mp4v", "avc1"),
    ".m4v": ("mp4v", "avc1"),
    ".mov": ("mp4v", "XVID"),
    ".avi": ("MJPG", "XVID"),
    ".mkv": ("XVID", "MJPG", "mp4v"),
}


class VideoWriter(Sink):
    """Rendered frames as a video file, through ``cv2.VideoWriter``, playable after a kill.

    The codec follows the extension (``.mp4``/``.m4v``: ``mp4v``, then ``avc1``; ``.mov``:
    ``mp4v``, then ``XVID``; ``.avi``: ``MJPG``, then ``XVID``; ``.mkv``: ``XVID``, ``MJPG``,
    ``mp4v``); if OpenCV cannot open the file with one codec the next is tried.

    An MP4 is unplayable until it is closed (its index is written last), and OpenCV's FFmpeg
    writer keeps the last frames in a buffer. So while the run lasts (``preview=True``, the
    default) the video is written to a hidden ``.<name>.incomplete<ext>`` and every frame also
    to ``<stem>.partial.avi``: Motion-JPEG in an AVI whose headers are updated after each
    frame, readable by OpenCV, FFmpeg and players up to the last frame written. ``close``
    checks the video (its frame count read back must be the frames written), renames it to
    ``path`` and deletes the preview. Cost: one JPEG encoding and write per frame (measured
    by ``bench/faults.py``; the preview is about 5x the size of the ``mp4v`` file while it
    exists).

    Args:
        path: the video file; its extension picks the container.
        fps: frames per second, > 0.
        frame_size: ``(width, height)``; ``None`` takes the size of the first frame written.
        render: how to draw the poses; ``None`` writes the frames unchanged.
        fourcc: a four-character codec to try before the defaults, e.g. ``"avc1"``.
        preview: keep the playable ``.partial.avi`` while writing (see above).

    Raises:
        ValueError: unsupported extension, bad ``fps``/``frame_size``/``fourcc``; from
            ``write``, a frame whose size differs from ``frame_size``.
        OSError: no codec could open the file (the message names the path and the codecs
            tried); from ``write``, the preview could not be written (disk full, file-size
            limit); from ``close``, the video read back lacks frames (OpenCV only logs a
            warning when FFmpeg fails to write one).
    """

    def __init__(self, path: PathLike, fps: float, frame_size: tuple[int, int] | None = None,
                 render: RenderOptions | None = RenderOptions(), fourcc: str | None = None,
                 preview: bool = True) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _FOURCCS:
            raise ValueError(f"path: unsupported video extension {suffix or '(none)'!r} in "
                             f"{str(path)!r}; use one of {', '.join(_FOURCCS)}")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) \
                or fps <= 0:
            raise ValueError(f"fps: expected a positive number, got {fps!r}")
        if frame_size is not None:
            if (len(frame_size) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0
                                                for v in frame_size)):
                raise ValueError(f"frame_size: expected (width, height) positive ints, got "
                                 f"{frame_size!r}")
            frame_size = (int(frame_size[0]), int(frame_size[1]))
        if fourcc is not None and (not isinstance(fourcc, str) or len(fourcc) != 4):
            raise ValueError(f"fourcc: expected a four-character code like 'mp4v', got {fourcc!r}")
        if render is not None and not isinstance(render, RenderOptions):
            raise TypeError(f"render: expected RenderOptions or None, got {type(render).__name__}")
        self.fps = float(fps)
        self.frame_size = frame_size
        self.render = render
        self.fourccs = ((fourcc,) if fourcc else ()) + tuple(
            c for c in _FOURCCS[suffix] if c != fourcc)
        self.fourcc: str | None = None  # the one that opened
        self.frames_written = 0
        self.preview_path = self.path.with_name(f"{self.path.stem}.partial.avi") if preview \
            else None
        self._target = self.path.with_name(f".{self.path.stem}.incomplete{self.path.suffix}") \
            if preview else self.path
        self._writer: cv2.VideoWriter | None = None
        self._preview: _MjpegAvi | None = None

    def __repr__(self) -> str:
        return f"VideoWriter({str(self.path)!r}, fps={self.fps})"

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.frame_size is not None:
            self._open_video(self.frame_size)

    def _open_video(self, frame_size: tuple[int, int]) -> None:
        if self.path.is_dir():
            raise OSError(f"could not open video file {self.path} for writing: it is a folder")
        for code in self.fourccs:
            writer = cv2.VideoWriter(str(self._target), cv2.VideoWriter_fourcc(*code), self.fps,
                                     frame_size)
            if writer.isOpened():
                self._writer, self.fourcc, self.frame_size = writer, code, frame_size
                break
            writer.release()
        else:
            raise OSError(f"could not open video file {self.path} for writing with any of the "
                          f"codecs {', '.join(self.fourccs)} (OpenCV build without a matching "
                          "encoder, or the folder is not writable); try another extension such "
                          "as .avi")
        if self.preview_path is not None:
            self.path.unlink(missing_ok=True)  # an earlier run's video: this one replaces it
            self._preview = _MjpegAvi(self.preview_path, self.fps, frame_size)

    def write_image(self, image: np.ndarray) -> None:
        """Append one already-rendered ``(H, W, 3)`` uint8 BGR image.

        Raises:
            ValueError: wrong dtype/shape, or a size other than ``frame_size``.
            OSError: the preview could not be written.
        """
        check_image(image)
        self.open()
        size = (int(image.shape[1]), int(image.shape[0]))
        if self._writer is None:
            self._open_video(size)
        if size != self.frame_size:
            raise ValueError(f"image: frame of size {size} (width, height) does not match the "
                             f"video's frame_size {self.frame_size}; resize frames first")
        image = np.ascontiguousarray(image)
        if self._preview is not None:
            self._preview.write(image)
        self._writer.write(image)  # type: ignore[union-attr]
        self.frames_written += 1

    def _write(self, frame: Frame, poses: Poses) -> None:
        self.write_image(_rendered(frame, poses, self.render))

    def _close(self) -> None:
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if self._preview is not None:
            self._preview.close()
        capture = cv2.VideoCapture(str(self._target))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else -1
        capture.release()
        if count != self.frames_written:
            self._target.unlink(missing_ok=True)
            kept = f"; the frames are in {self.preview_path}" if self.preview_path else ""
            raise OSError(f"could not write video file {self.path}: "
                          f"{max(count, 0)} of {self.frames_written} frames read back (disk full "
                          f"or file-size limit?){kept}")
        if self._target != self.path:
            os.replace(self._target, self.path)
        if self.preview_path is not None:
            self.preview_path.unlink(missing_ok=True)


class _MjpegAvi:
    """Motion-JPEG frames in an AVI file that is complete after every frame.

    Each frame is appended as one ``00dc`` chunk; then the RIFF and ``movi`` sizes and the
    frame counts in the headers are updated, so a reader sees every frame written so far.
    The index (``idx1``) is added on ``close``; readers scan the file without it. A RIFF file
    ends at 4 GiB: frames beyond that are not added to the preview (the video itself has them).
    """

    _HEADER = 224  # bytes before the first frame chunk

    def __init__(self, path: Path, fps: float, frame_size: tuple[int, int],
                 quality: int = 85) -> None:
        import struct

        self.path = path
        self.quality = quality
        self._struct = struct
        self._offsets: list[tuple[int, int]] = []
        width, height = frame_size
        scale, rate = 1000, max(1, round(fps * 1000))
        pack = struct.pack
        avih = pack("<4sI14I", b"avih", 56, round(1e6 / fps), 0, 0, 0, 0, 0, 1, 0, width,
                    height, 0, 0, 0, 0)
        strh = pack("<4sI4s4sIHHIIIIIIIIhhhh", b"strh", 56, b"vids", b"MJPG", 0, 0, 0, 0, scale,
                    rate, 0, 0, 0, 0xFFFFFFFF, 0, 0, 0, width, height)
        strf = pack("<4sIIiiHH4sIiiII", b"strf", 40, 40, width, height, 1, 24, b"MJPG",
                    width * height * 3, 0, 0, 0, 0)
        strl = pack("<4sI4s", b"LIST", 4 + len(strh) + len(strf), b"strl") + strh + strf
        hdrl = pack("<4sI4s", b"LIST", 4 + len(avih) + len(strl), b"hdrl") + avih + strl
        head = pack("<4sI4s", b"RIFF", 0, b"AVI ") + hdrl + pack("<4sI4s", b"LIST", 4, b"movi")
        if len(head) != self._HEADER:  # pragma: no cover - the layout above is fixed
            raise AssertionError(len(head))
        self._total_frames_at = 12 + 12 + 8 + 16  # avih dwTotalFrames
        self._length_at = 12 + 12 + 64 + 12 + 8 + 32  # strh dwLength
        self._movi_at = self._HEADER - 4  # the "movi" fourcc, where index offsets count from
        self._file = open(path, "wb", buffering=0)  # noqa: SIM115 - closed by close()
        _write_all(self._file, head)
        self._end = len(head)

    def _set(self, offset: int, value: int) -> None:
        os.pwrite(self._file.fileno(), self._struct.pack("<I", value), offset)

    def write(self, image: np.ndarray) -> None:
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:  # pragma: no cover - uint8 BGR always encodes
            raise OSError(f"could not encode a frame for {self.path}")
        data = jpeg.tobytes()
        chunk = self._struct.pack("<4sI", b"00dc", len(data)) + data + b"\0" * (len(data) % 2)
        if self._end + len(chunk) + 16 * (len(self._offsets) + 1) + 8 >= 2**32:
            return  # a RIFF file ends at 4 GiB: the preview stops growing, the video does not
        os.pwrite(self._file.fileno(), chunk, self._end)  # a short write raises below
        if os.fstat(self._file.fileno()).st_size < self._end + len(chunk):
            raise OSError(f"could not write video file {self.path}: a frame was cut short (disk "
                          "full or file-size limit)")
        self._offsets.append((self._end - self._movi_at, len(data)))
        self._end += len(chunk)
        # the frame is on disk: now the headers may count it
        self._set(4, self._end - 8)
        self._set(self._movi_at - 4, self._end - self._movi_at)
        self._set(self._total_frames_at, len(self._offsets))
        self._set(self._length_at, len(self._offsets))

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            index = b"".join(self._struct.pack("<4sIII", b"00dc", 0x10, offset, size)
                             for offset, size in self._offsets)
            os.pwrite(self._file.fileno(), self._struct.pack("<4sI", b"idx1", len(index))
                      + index, self._end)
            self._set(4, self._end + 8 + len(index) - 8)
            self._set(12 + 12 + 8 + 12, 0x10)  # avih dwFlags: AVIF_HASINDEX
        finally:
            self._file.close()


# ------------------------------------------------------------------------------------------------
# combining
# ------------------------------------------------------------------------------------------------


class MultiWriter(Sink):
    """Several sinks used as one: ``write`` goes to each in order.

    Entering opens every sink (closing those already open if one fails); leaving closes every
    sink, even if one of them raises (the error is re-raised after all are closed).

    Args:
        writers: the sinks (anything with ``write(frame, poses)`` and ``__enter__``/``__exit__``).

    Example:
        >>> with MultiWriter([AlphaPoseJsonWriter("a.json"), JsonLinesWriter("a.jsonl")]) as sink:
        ...     sink.write(frame, poses)
    """

    def __init__(self, writers: Iterable[Sink]) -> None:
        self.writers = list(writers)
        for w in self.writers:
            if not (callable(getattr(w, "write", None)) and hasattr(w, "__enter__")
                    and hasattr(w, "__exit__")):
                raise TypeError(f"writers: {w!r} is not a sink (needs write(frame, poses) and "
                                "the context-manager methods)")
        self._stack: ExitStack | None = None

    def __repr__(self) -> str:
        return f"MultiWriter({self.writers!r})"

    def __len__(self) -> int:
        return len(self.writers)

    def _open(self) -> None:
        with ExitStack() as stack:
            for w in self.writers:
                stack.enter_context(w)  # type: ignore[arg-type]
            self._stack = stack.pop_all()

    def _write(self, frame: Frame, poses: Poses) -> None:
        # one sink's refusal (e.g. no integer id in the name for COCO) does not keep the frame
        # from the others; the first error is raised after all have had it
        error: Exception | None = None
        for w in self.writers:
            try:
                w.write(frame, poses)
            except (ValueError, OSError) as failure:
                error = error or failure
        if error is not None:
            raise error

    def _close(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.close()


#: Format names :func:`make_writers` accepts, with the output each creates in ``outdir``.
WRITER_FORMATS: dict[str, str] = {
    "alphapose": "alphapose-results.json",
    "coco": "coco-results.json",
    "openpose": "openpose/<name>_keypoints.json",
    "jsonl": "alphapose-results.jsonl",
    "posetrack": "posetrack-results.json",
    "images": "vis/<name>",
    "video": "<video_name>",
}


def make_writers(outdir: PathLike, formats: Sequence[str], *, eval_ids: bool = False,
                 render: RenderOptions | None = RenderOptions(), fps: float = 25.0,
                 video_name: str = "AlphaPose.mp4") -> MultiWriter:
    """A :class:`MultiWriter` for the named formats, with the file names of :data:`WRITER_FORMATS`.

    Nothing is created until the returned sink is opened (``with`` or the first ``write``).

    Args:
        outdir: the output folder.
        formats: names from :data:`WRITER_FORMATS`, e.g. ``("alphapose", "video")``.
        eval_ids: integer image ids in the AlphaPose JSON (the official ``--eval``).
        render: drawing settings for ``images`` and ``video``.
        fps: frame rate of ``video``.
        video_name: file name of ``video`` (its extension picks the codec).

    Example:
        >>> with make_writers("res", ["alphapose", "images"]) as sink:
        ...     sink.write(frame, poses)

    Raises:
        ValueError: an unknown or repeated format name.
    """
    outdir = Path(outdir)
    if isinstance(formats, str):
        formats = [formats]
    unknown = [f for f in formats if f not in WRITER_FORMATS]
    if unknown:
        raise ValueError(f"formats: unknown {unknown}; valid: {', '.join(WRITER_FORMATS)}")
    repeated = sorted({f for f in formats if list(formats).count(f) > 1})
    if repeated:
        raise ValueError(f"formats: {repeated} given more than once")
    builders = {
        "alphapose": lambda: AlphaPoseJsonWriter(outdir / WRITER_FORMATS["alphapose"],
                                                 eval_ids=eval_ids),
        "coco": lambda: CocoResultsWriter(outdir / WRITER_FORMATS["coco"]),
        "openpose": lambda: OpenPoseWriter(outdir / "openpose"),
        "jsonl": lambda: JsonLinesWriter(outdir / WRITER_FORMATS["jsonl"]),
        "posetrack": lambda: PoseTrackWriter(outdir / WRITER_FORMATS["posetrack"]),
        "images": lambda: ImageWriter(outdir / "vis", render=render),
        "video": lambda: VideoWriter(outdir / video_name, fps=fps, render=render),
    }
    return MultiWriter([builders[f]() for f in formats])
