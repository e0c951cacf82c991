"""What results files mean, apart from writing them: the readers of the files the writers
produce, and the rules names follow (the official ``--eval`` image id, a frame name as a path).

Detectors (``--detfile``), trackers (PoseFlow on a results file), the evaluation, the viewer and
the writers (:mod:`alphapose.writers`) all import these from here.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

__all__ = [
    "PathLike",
    "image_id_from_name",
    "json_line_record",
    "load_alphapose_json",
    "load_json_lines",
    "relative_path",
    "unique_image_id",
]

PathLike = str | os.PathLike[str]


def image_id_from_name(name: str) -> int:
    """The integer image id the official ``--eval`` flag files a result under.

    The rule: take the file name, keep the text before its first ``.``, split it on ``_`` and
    read the last token as an integer.

    Example:
        >>> image_id_from_name("000000000785.jpg")
        785
        >>> image_id_from_name("COCO_val2014_000000000042.jpg")
        42

    Raises:
        ValueError: that token is not a non-negative integer; the message names the frame.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    token = base.split(".")[0].split("_")[-1]
    if not re.fullmatch(r"[0-9]+", token):
        raise ValueError(
            f"frame name {name!r}: cannot read an integer image id from it (the rule takes the "
            f"last '_'-separated token before the first '.', here {token!r}). Name the images by "
            "their id, e.g. '000000000785.jpg' -> 785, or write string image ids "
            "(AlphaPoseJsonWriter without eval_ids).")
    return int(token)


def unique_image_id(name: str, names: dict[int, str]) -> int:
    """:func:`image_id_from_name` of ``name``, refused when another name of this file had it
    (``a/1.jpg`` and ``b/1.jpg`` would be one image to pycocotools)."""
    image_id = image_id_from_name(name)
    other = names.setdefault(image_id, name)
    if other != name:
        raise ValueError(f"frame name {name!r}: image id {image_id} is already used by {other!r} "
                         "in this results file; integer ids need one image per id (run the two "
                         "into separate output folders, or drop --eval / --format coco)")
    return image_id


def relative_path(name: str) -> Path:
    """A frame name as a path below an output folder: folders in the name are kept (``a/1.jpg``
    for two images named ``1.jpg``), ``..`` and roots are dropped."""
    parts = [p for p in re.split(r"[\\/]", str(name)) if p not in ("", ".", "..")]
    return Path(*parts) if parts else Path("frame")


def load_alphapose_json(path: PathLike) -> list[dict[str, Any]]:
    """Read an AlphaPose (or COCO) results list: all of it, or a clear error.

    A complete file is parsed as JSON. The one incomplete shape accepted is that of a killed
    run: the list cut short at its end (no closing ``]``, or the last entry cut in half); its
    complete entries are returned and a warning says where the file ends. Anything else that is
    not valid JSON (e.g. a file corrupted in the middle) is refused, the message giving the
    line, column and byte where the read stopped.

    Args:
        path: the results file.

    Returns:
        The entries (dicts as written), in file order; ``[]`` for an empty file (with a
        warning).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a JSON list of results (e.g. the official ``--format cmu``/``open``
            dicts), invalid JSON, or an entry without ``image_id`` or ``keypoints`` (flat
            x, y, score numbers) or with a non-numeric ``score``; the message names the file
            and the entry.
    """
    from alphapose.jsonfile import LOG, parse_json, read_text

    text = read_text(path, "results")
    if not text.strip():
        LOG.warning("%s: empty results file (a run killed before its first write?): no results",
                    path)
        return []
    if text.lstrip()[:1] not in ("[", ""):
        try:
            json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"{path}: expected a JSON list of results starting with '[', got "
                             f"{text.lstrip()[:20]!r}") from None
    result = parse_json(text, str(path))
    data = result.data
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of results, got a {type(data).__name__} "
                         "(files from the official --format cmu/open are dicts; "
                         "read them with json.load)")
    for number, entry in enumerate(data, 1):
        _check_result_entry(entry, number, path)
    if result.cut is not None:
        LOG.warning("%s: %s; read the %d complete result(s) (the file of a run that was "
                    "killed?)", path, result.cut, len(data))
    return data


def _check_result_entry(entry: Any, number: int, path: PathLike) -> None:
    where = f"{path}: entry {number}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object, got {type(entry).__name__}")
    image_id = entry.get("image_id")
    if isinstance(image_id, bool) or not isinstance(image_id, (str, int)):
        raise ValueError(f"{where}: 'image_id' must be a file name or an integer, got "
                         f"{image_id!r:.60}")
    keypoints = entry.get("keypoints")
    if not isinstance(keypoints, list) or not keypoints or len(keypoints) % 3 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in keypoints):
        raise ValueError(f"{where} (image_id {image_id!r:.60}): 'keypoints' must be a flat list "
                         f"of x, y, score numbers (3 per keypoint), got {keypoints!r:.60}")
    if not all(math.isfinite(v) for v in keypoints):
        raise ValueError(f"{where} (image_id {image_id!r:.60}): 'keypoints' holds NaN or "
                         f"infinite values")
    score = entry.get("score", 0.0)
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise ValueError(f"{where} (image_id {image_id!r:.60}): 'score' must be a finite "
                         f"number, got {score!r:.60}")


def load_json_lines(path: PathLike) -> list[dict[str, Any]]:
    """Read a :class:`JsonLinesWriter` file: all of it, or a clear error.

    Every line must be a JSON object. The one exception is the shape a killed run leaves: a
    last line cut short (no newline after it, and valid JSON as far as it goes), which is
    skipped with a warning that says so.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line that is not a JSON object (the message gives its number, column and
            what is wrong).
    """
    from alphapose.jsonfile import LOG, read_text

    text = read_text(path, "JSON lines")
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        # no newline after the last line: the writer had not finished it
        record = json_line_record(line, path, number, last=number == len(lines))
        if record is None:
            LOG.warning("%s: line %d is cut short (the file of a run that was killed?); read "
                        "the %d complete line(s) before it", path, number, len(records))
            break
        records.append(record)
    return records


def json_line_record(line: str, path: PathLike, number: int, last: bool) -> dict[str, Any] | None:
    """The object on line ``number`` of a JSON-lines file; None when it is the ``last`` line
    and cut short (a killed run), which the caller reports.

    Raises:
        ValueError: not JSON, or not an object (the message gives the line, column and what is
            wrong).
    """
    from alphapose.jsonfile import parse_json

    try:
        result = parse_json(line, f"{path}: line {number}", allow_cut=last)
    except ValueError as error:
        raise ValueError(str(error).replace(" line 1 column", " column")) from None
    if result.cut is not None:
        return None
    if not isinstance(result.data, dict):
        raise ValueError(f"{path}: line {number}: expected a JSON object, got "
                         f"{type(result.data).__name__}")
    return result.data
