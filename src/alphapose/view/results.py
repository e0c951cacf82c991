"""A finished run's results, read into flat arrays for the results page.

Reads the files ``alphapose run`` writes (``alphapose-results.json``, ``alphapose-results.jsonl``)
and the results list the official AlphaPose writes (``alphapose-results.json``: one entry per
person with ``image_id``, ``keypoints`` as flat x, y, score triples, ``score``, optional ``box``
as x, y, w, h and ``idx``, which is a list of merged detection ids when untracked). The 3D
keypoints of ``--world`` (``keypoints_3d``: flat x, y, z triples in the AlphaPose JSON,
``[x, y, z]`` lists in the JSON lines, null where absent) are read when present.

Frames are kept in run order. A video frame's name is ``"<index>.jpg"`` (ours and official), so
frames of a video sit at their index and frames without people (absent from the AlphaPose JSON)
become empty frames. People are stored flat: person ``p`` of frame ``f`` is row
``offsets[f] + p`` of every per-person array.

Coordinates are image pixels, ``(x, y)``, pixel centres at integers (as everywhere here).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphapose.skeletons import get_layout, list_layouts

__all__ = ["RESULT_FILES", "Run", "find_results", "layout_for", "load_run"]

#: result files looked for in an output folder, in order of preference
RESULT_FILES = ("alphapose-results.jsonl", "alphapose-results.json")
DONE_MARKER = "alphapose-done.json"  # alphapose.distributed.DONE_MARKER (not imported: no Ray)
_VIDEO_FRAME = re.compile(r"^(\d+)\.jpg$")


@dataclass
class Run:
    """One run's results as flat arrays.

    Attributes:
        name: a label (the output folder's name).
        frame_names: ``F`` frame names (image file names, or ``"<i>.jpg"`` for video frames).
        video_frames: whether the frames are a video's (names ``"<i>.jpg"``, position = index).
        counts: ``(F,)`` int32 people per frame.
        keypoints: ``(P, K, 2)`` float32 image pixels.
        keypoint_scores: ``(P, K)`` float32.
        xyxy: ``(P, 4)`` float32 boxes, NaN where the file gives none.
        scores: ``(P,)`` float32 person scores (the official scale, not in [0, 1]).
        track_ids: ``(P,)`` int64, ``-1`` for an untracked person.
        layout: the layout name matching ``K`` (``None`` when no layout has ``K`` keypoints).
        settings: what is known of how the run was made (the done marker's options, files).
        timestamps: ``(F,)`` float64 seconds when the file gives them (JSON lines), else None.
        keypoints_3d: ``(P, K, 3)`` float32 metres (``--world``; NaN where absent, and for
            people without them), None when nobody has them.
    """

    name: str
    frame_names: list[str]
    video_frames: bool
    counts: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    xyxy: np.ndarray
    scores: np.ndarray
    track_ids: np.ndarray
    layout: str | None
    settings: dict[str, Any] = field(default_factory=dict)
    timestamps: np.ndarray | None = None
    keypoints_3d: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return len(self.frame_names)

    @property
    def num_keypoints(self) -> int:
        return int(self.keypoints.shape[1])

    @property
    def offsets(self) -> np.ndarray:
        """``(F + 1,)`` int64: people of frame ``f`` are rows ``offsets[f]:offsets[f + 1]``."""
        return np.concatenate([[0], np.cumsum(self.counts, dtype=np.int64)])

    def frame_of_person(self) -> np.ndarray:
        """``(P,)`` int64 frame position of each person."""
        return np.repeat(np.arange(self.num_frames, dtype=np.int64), self.counts)


def layout_for(num_keypoints: int) -> str | None:
    """The layout with ``num_keypoints`` keypoints (``None`` if none has that many)."""
    for name in list_layouts():
        if get_layout(name).num_keypoints == num_keypoints:
            return name
    return None


def find_results(outdir: str | os.PathLike[str]) -> Path:
    """The results file of an output folder (or ``outdir`` itself when it is a file).

    Raises:
        FileNotFoundError: no such folder, or no results file in it.
    """
    path = Path(outdir)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such results folder or file")
    for name in RESULT_FILES:
        if (path / name).is_file():
            return path / name
    inside = sorted(p.parent.name for name in RESULT_FILES for p in path.glob(f"*/{name}"))
    hint = (f" (the folders {', '.join(sorted(set(inside)))} hold results: view each of them)"
            if inside else "")
    raise FileNotFoundError(f"{path}: no results file ({' or '.join(RESULT_FILES)}) in this "
                            f"folder{hint}")


def load_run(outdir: str | os.PathLike[str], name: str | None = None) -> Run:
    """Read the results of the run in ``outdir`` (a folder or a results file).

    Args:
        outdir: an ``alphapose run`` output folder, a folder holding an official
            ``alphapose-results.json``, or one such file.
        name: label of the run (default: the folder's name).

    Raises:
        FileNotFoundError: no results found.
        ValueError: a results file that cannot be read (the message names it and the entry).
    """
    path = find_results(outdir)
    folder = path.parent
    if path.suffix == ".jsonl":
        run = _from_json_lines(path)
    else:
        run = _from_alphapose_json(path)
    run.name = name or (folder.resolve().name if Path(outdir).is_dir() else path.name)
    run.settings = {"results file": path.name, **run.settings, **_done_marker(folder)}
    return run


def _done_marker(folder: Path) -> dict[str, Any]:
    marker = folder / DONE_MARKER
    try:
        stamp = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(stamp, dict):
        return {}
    settings: dict[str, Any] = {}
    if isinstance(stamp.get("video"), str):
        settings["video"] = stamp["video"]
    options = stamp.get("options")
    if isinstance(options, dict):
        settings["options"] = {k: v for k, v in sorted(options.items()) if v is not None}
    return settings


def _track_id(idx: Any) -> int:
    """A person's track id from an ``idx`` field: an int or float is the id; a list (the
    official untracked shape: ids of merged detections, all 0 without a tracker) gives its
    smallest id, or -1 when every id is 0 (untracked)."""
    if idx is None or isinstance(idx, bool):
        return -1
    if isinstance(idx, (int, float)):
        return int(idx) if math.isfinite(idx) and idx >= 0 else -1
    if isinstance(idx, list):
        flat = [float(v) for v in _flatten(idx) if isinstance(v, (int, float))
                and not isinstance(v, bool) and math.isfinite(v)]
        if not flat or all(v == 0 for v in flat):
            return -1
        return int(min(flat))
    return -1


def _flatten(values: list) -> list:
    out: list = []
    for v in values:
        out.extend(_flatten(v) if isinstance(v, list) else [v])
    return out


class _Builder:
    """Collects people frame by frame, then makes the flat arrays."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames: dict[str, list[tuple]] = {}
        self.order: list[str] = []
        self.num_keypoints: int | None = None
        self.timestamps: dict[str, float] = {}
        self.layout: str | None = None  # named by the file (JSON lines), else from K

    def frame(self, name: str) -> list[tuple]:
        people = self.frames.get(name)
        if people is None:
            people = self.frames[name] = []
            self.order.append(name)
        return people

    def add(self, name: str, triples: Any, xyxy: Any, score: Any, track_id: int,
            where: str, points_3d: Any = None) -> None:
        array = np.asarray(triples, np.float32).reshape(-1, 3)
        if self.num_keypoints is None:
            self.num_keypoints = len(array)
        elif len(array) != self.num_keypoints:
            raise ValueError(f"{self.path}: {where}: {len(array)} keypoints, but earlier people "
                             f"have {self.num_keypoints} (one layout per run)")
        self.frame(name).append((array, xyxy, float(score), track_id,
                                 _points_3d(points_3d, len(array), self.path, where)))

    def build(self, video_frames: bool | None = None) -> Run:
        names = self.order
        if video_frames is None:
            video_frames = bool(names) and all(_VIDEO_FRAME.match(n) for n in names)
        if video_frames and names:
            last = max(int(_VIDEO_FRAME.match(n).group(1)) for n in names)  # type: ignore[union-attr]
            names = [f"{i}.jpg" for i in range(last + 1)]
        k = self.num_keypoints or (get_layout(self.layout).num_keypoints
                                   if self.layout in list_layouts() else 0)
        people = [p for n in names for p in self.frames.get(n, ())]
        counts = np.array([len(self.frames.get(n, ())) for n in names], np.int32)
        keypoints = np.zeros((len(people), k, 2), np.float32)
        keypoint_scores = np.zeros((len(people), k), np.float32)
        xyxy = np.full((len(people), 4), np.nan, np.float32)
        scores = np.zeros(len(people), np.float32)
        track_ids = np.full(len(people), -1, np.int64)
        keypoints_3d = None
        if any(p[4] is not None for p in people):
            keypoints_3d = np.full((len(people), k, 3), np.nan, np.float32)
        for i, (array, box, score, track_id, points_3d) in enumerate(people):
            keypoints[i] = array[:, :2]
            if points_3d is not None:
                keypoints_3d[i] = points_3d  # type: ignore[index]
            keypoint_scores[i] = array[:, 2]
            if box is not None:
                xyxy[i] = box
            scores[i] = score
            track_ids[i] = track_id
        timestamps = None
        if self.timestamps and len(self.timestamps) == len(names):
            timestamps = np.array([self.timestamps[n] for n in names], np.float64)
        return Run(name=self.path.parent.name, frame_names=names, video_frames=video_frames,
                   counts=counts, keypoints=keypoints, keypoint_scores=keypoint_scores,
                   xyxy=xyxy, scores=scores, track_ids=track_ids,
                   layout=self._layout(k), timestamps=timestamps, keypoints_3d=keypoints_3d)

    def _layout(self, k: int) -> str | None:
        if self.layout in list_layouts() and (
                not k or get_layout(self.layout).num_keypoints == k):
            return self.layout
        return layout_for(k) if k else None


def _points_3d(value: Any, num_keypoints: int, path: Path, where: str) -> np.ndarray | None:
    """``(K, 3)`` float32 metres from a ``keypoints_3d`` field (flat x, y, z triples or
    ``[x, y, z]`` lists, null where absent -> NaN); None when the field is missing."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"{path}: {where}: 'keypoints_3d' must be a list, got {value!r:.60}")
    flat: list[Any] = []
    for item in value:
        if isinstance(item, list):
            flat.extend(item)
        elif item is None and len(value) == num_keypoints:
            flat.extend([None] * 3)  # one absent point of the [x, y, z] form
        else:
            flat.append(item)
    if len(flat) != 3 * num_keypoints or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in flat):
        raise ValueError(f"{path}: {where}: 'keypoints_3d' must hold {num_keypoints} x, y, z "
                         f"points (numbers or null), got {value!r:.60}")
    return np.array([np.nan if v is None else v for v in flat], np.float32).reshape(-1, 3)


def _from_alphapose_json(path: Path) -> Run:
    from alphapose.formats import load_alphapose_json

    builder = _Builder(path)
    for number, entry in enumerate(load_alphapose_json(path), 1):
        box = entry.get("box")
        xyxy = None
        if isinstance(box, list) and len(box) == 4 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in box):
            x, y, w, h = (float(v) for v in box)
            xyxy = (x, y, x + w, y + h)
        builder.add(str(entry["image_id"]), entry["keypoints"], xyxy, entry.get("score", 0.0),
                    _track_id(entry.get("idx")), f"entry {number}", entry.get("keypoints_3d"))
    run = builder.build()
    run.settings["format"] = "AlphaPose results JSON"
    return run


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of a JSON-lines file, read line by line (a long run's file is
    never held whole). The rules of :func:`alphapose.formats.load_json_lines`: every line is a
    JSON object, except a last line cut short (a killed run), skipped with a warning."""
    from alphapose.formats import json_line_record
    from alphapose.jsonfile import LOG

    with open(path, "rb") as file:  # bytes: text-mode readline is slow on long lines
        raw = file.readline()
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        number = 0
        while raw:
            number += 1
            following = file.readline()
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(f"{path}: line {number}: not UTF-8 text (byte {error.start} of "
                                 "the line)") from None
            if line.strip():
                last = not line.endswith("\n") and not following
                record = json_line_record(line, path, number, last)
                if record is None:
                    LOG.warning("%s: line %d is cut short (the file of a run that was killed?); "
                                "read the lines before it", path, number)
                    return
                yield number, record
            raw = following


def _from_json_lines(path: Path) -> Run:
    builder = _Builder(path)
    for number, record in _records(path):
        name = record.get("image_id")
        if not isinstance(name, str):
            raise ValueError(f"{path}: line {number}: 'image_id' must be a frame name, got "
                             f"{name!r:.60}")
        builder.frame(name)  # frames without people are frames too
        if isinstance(record.get("layout"), str):
            builder.layout = record["layout"]
        if isinstance(record.get("timestamp"), (int, float)):
            builder.timestamps[name] = float(record["timestamp"])
        for p, person in enumerate(record.get("people") or [], 1):
            where = f"line {number}, person {p}"
            if not isinstance(person, dict) or not isinstance(person.get("keypoints"), list):
                raise ValueError(f"{path}: {where}: expected an object with 'keypoints' "
                                 "([[x, y, score], ...])")
            try:
                triples = np.asarray(person["keypoints"], np.float32).reshape(-1, 3)
            except (TypeError, ValueError):
                raise ValueError(f"{path}: {where}: 'keypoints' must be [[x, y, score], ...], "
                                 f"got {person['keypoints']!r:.60}") from None
            box = person.get("box")
            xyxy = tuple(float(v) for v in box) if isinstance(box, list) and len(box) == 4 \
                else None
            track = person.get("track_id", -1)
            builder.add(name, triples, xyxy, person.get("score", 0.0),
                        _track_id(track if isinstance(track, (int, float)) else -1), where,
                        person.get("keypoints_3d"))
    run = builder.build()
    run.settings["format"] = "AlphaPose JSON lines"
    return run
