"""Reading JSON files all the way, or saying exactly where and why the read stopped.

Our result files stream: a run that is killed leaves a file cut short at its end (an array
missing its closing ``]``, possibly in the middle of its last entry). That one shape is read
with a warning that says where the file ends; anything else that is not valid JSON (a file
corrupted in the middle, a broken first entry) is refused with a :class:`ValueError` that names
the file, the line, the column and the byte where the read stopped. A file is never read in
part without a word.

A file is "cut short" when it is a prefix of valid JSON: every character is valid and only the
end is missing. The salvage keeps the complete elements of the top-level array (or of the arrays
that are values of a top-level object, e.g. PoseTrack's ``annotations``); a partial element is
dropped.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["JsonRead", "load_json", "load_yaml", "parse_json", "read_text", "where"]

LOG = logging.getLogger("alphapose")

# What may follow the position of a decode error when the text was merely cut at the end: the
# beginning of a string (no closing quote, maybe mid-escape), of a number or of a literal.
_PARTIAL_TOKEN = re.compile(
    r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*(?:\\(?:u[0-9a-fA-F]{0,3})?)?'
    r"|u[0-9a-fA-F]{0,3}"  # json reports a cut \uXXXX escape after its backslash
    r"|-?[0-9]*(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?"
    r"|t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?|N(?:a(?:N)?)?"
    r"|-?I(?:n(?:f(?:i(?:n(?:i(?:t(?:y)?)?)?)?)?)?)?")
_SPACE = " \t\r\n"
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class JsonRead:
    """The data of a JSON text, and where it was cut short if it was.

    Attributes:
        data: the parsed value (for a cut text: what was complete before the cut).
        cut: ``None`` for a complete text; else a sentence saying where the text ends and what
            was kept.
    """

    data: Any
    cut: str | None = None


def where(text: str, pos: int) -> str:
    """``"line L column C (byte B)"`` of a character offset (1-based line and column).

    The byte offset is that of the UTF-8 encoding (what ``head -c`` or a hex editor shows).
    """
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line} column {column} (byte {len(text[:pos].encode('utf-8', 'replace'))})"


def read_text(path: str | os.PathLike[str], what: str = "JSON") -> str:
    """The UTF-8 text of a file.

    Raises:
        FileNotFoundError: no such file (the message names it and ``what`` it should be).
        ValueError: a folder, unreadable bytes (the message gives the byte offset).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such {what} file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, expected a {what} file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text: byte {error.start} is {data[error.start]:#04x} "
                         f"(expected a {what} file)") from None


def _is_cut(text: str, error: json.JSONDecodeError) -> bool:
    """Whether a decode error only says that the text ends too early."""
    return _PARTIAL_TOKEN.fullmatch(text, error.pos) is not None


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


class _Stop(Exception):
    """The text is invalid at ``pos`` (not merely cut short)."""

    def __init__(self, pos: int, reason: str) -> None:
        super().__init__(reason)
        self.pos, self.reason = pos, reason


class _Cut(Exception):
    """The text ends at ``pos`` inside a value; ``partial`` is what was complete before it."""

    def __init__(self, pos: int, partial: Any, detail: str) -> None:
        super().__init__(detail)
        self.pos, self.partial, self.detail = pos, partial, detail


def _value(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as error:
        if _is_cut(text, error):
            raise _Cut(len(text), None, "inside a value") from None
        raise _Stop(error.pos, error.msg) from None
    except RecursionError:
        raise _Stop(pos, "nested too deeply") from None


def _array(text: str, pos: int, salvage: bool) -> tuple[list[Any], int]:
    """Parse the array starting at ``text[pos] == "["``; a cut raises :class:`_Cut` holding the
    complete elements (when ``salvage``)."""
    items: list[Any] = []
    pos = _skip(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        return items, pos + 1
    while True:
        if pos >= len(text):
            raise _Cut(pos, items if salvage else None,
                       f"after {len(items)} complete element(s), without the closing ']'")
        try:
            item, pos = _value(text, pos)
        except _Cut:
            raise _Cut(len(text), items if salvage else None,
                       f"inside element {len(items) + 1} ({len(items)} complete element(s) "
                       f"before it)") from None
        items.append(item)
        pos = _skip(text, pos)
        if pos >= len(text):
            raise _Cut(pos, items if salvage else None,
                       f"after {len(items)} complete element(s), without the closing ']'")
        if text[pos] == "]":
            return items, pos + 1
        if text[pos] != ",":
            raise _Stop(pos, f"expected ',' or ']' after element {len(items)}")
        pos = _skip(text, pos + 1)


def _object(text: str, pos: int) -> tuple[dict[str, Any], int]:
    """Parse the top-level object at ``text[pos] == "{"``; on a cut, members whose value is an
    array keep their complete elements."""
    members: dict[str, Any] = {}
    pos = _skip(text, pos + 1)
    if pos < len(text) and text[pos] == "}":
        return members, pos + 1
    while True:
        if pos >= len(text):
            raise _Cut(pos, members, f"after {len(members)} complete member(s), without the "
                                     f"closing '}}'")
        if text[pos] != '"':
            raise _Stop(pos, "expected a member name in double quotes")
        try:
            key, pos = _value(text, pos)
        except _Cut:
            raise _Cut(len(text), members, "inside a member name") from None
        pos = _skip(text, pos)
        if pos >= len(text):
            raise _Cut(pos, members, f"after the member name {key!r}")
        if text[pos] != ":":
            raise _Stop(pos, f"expected ':' after the member name {key!r}")
        pos = _skip(text, pos + 1)
        if pos >= len(text):
            raise _Cut(pos, members, f"before the value of {key!r}")
        if text[pos] == "[":
            try:
                value, pos = _array(text, pos, salvage=True)
            except _Cut as cut:
                members[key] = cut.partial
                raise _Cut(cut.pos, members, f"in {key!r} {cut.detail}") from None
        else:
            try:
                value, pos = _value(text, pos)
            except _Cut:
                raise _Cut(len(text), members, f"inside the value of {key!r}") from None
        members[key] = value
        pos = _skip(text, pos)
        if pos >= len(text):
            raise _Cut(pos, members, f"after {len(members)} complete member(s), without the "
                                     f"closing '}}'")
        if text[pos] == "}":
            return members, pos + 1
        if text[pos] != ",":
            raise _Stop(pos, f"expected ',' or '}}' after the member {key!r}")
        pos = _skip(text, pos + 1)


def parse_json(text: str, label: str, allow_cut: bool = True) -> JsonRead:
    """Parse a JSON text completely, or the complete part of one cut short at its end.

    Args:
        text: the JSON text.
        label: how to call it in messages (usually the path).
        allow_cut: accept a text cut short at its end (a killed run's file). The top-level
            array (or the arrays that are values of a top-level object) keeps its complete
            elements; :attr:`JsonRead.cut` says where the text ends.

    Returns:
        The data and, for a cut text, where it was cut.

    Raises:
        ValueError: the text is not JSON, or (``allow_cut`` False) is cut short; the message
            names ``label`` and the line, column and byte where the read stopped.
    """
    try:
        return JsonRead(json.loads(text))
    except json.JSONDecodeError:
        pass
    except RecursionError:
        raise ValueError(f"{label}: not valid JSON: nested too deeply") from None
    pos = _skip(text, 0)
    try:
        if pos < len(text) and text[pos] == "[":
            _data, end = _array(text, pos, salvage=True)
        elif pos < len(text) and text[pos] == "{":
            _data, end = _object(text, pos)
        else:
            _data, end = _value(text, pos)
        end = _skip(text, end)
        raise _Stop(end, "extra data after the JSON value")
    except _Stop as stop:
        raise ValueError(f"{label}: not valid JSON: the read stopped at {where(text, stop.pos)}: "
                         f"{stop.reason}") from None
    except _Cut as cut:
        if not allow_cut or cut.partial is None:
            raise ValueError(f"{label}: not valid JSON: the file ends at {where(text, cut.pos)} "
                             f"{cut.detail}") from None
        return JsonRead(cut.partial, f"the file ends at {where(text, cut.pos)} {cut.detail}")


def load_json(path: str | os.PathLike[str], what: str = "JSON", allow_cut: bool = False) -> Any:
    """Read a JSON file all the way (:func:`parse_json`); a cut file read with ``allow_cut``
    logs one warning that says where it ends and that it looks like a killed run's file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not UTF-8 JSON (the message gives the position), or cut short.
    """
    text = read_text(path, what)
    if not text.strip():
        raise ValueError(f"{path}: empty file, expected a {what} file")
    result = parse_json(text, str(path), allow_cut)
    if result.cut is not None:
        LOG.warning("%s: %s; reading what is complete (the file of a run that was killed?)",
                    path, result.cut)
    return result.data


def load_yaml(path: str | os.PathLike[str], what: str = "YAML") -> Any:
    """Read a YAML file with ``yaml.safe_load`` (plain data only: no Python objects).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not UTF-8, or not valid YAML; one line naming the file, the line and column
            and the problem.
    """
    import yaml

    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        place = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        detail = " ".join(str(problem).split()) + (f" ({' '.join(str(context).split())})"
                                                   if context else "")
        raise ValueError(f"{path}: not valid YAML{place}: {detail}") from None
    except RecursionError:
        raise ValueError(f"{path}: not valid YAML: nested too deeply") from None
