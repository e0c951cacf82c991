"""The colours of people and parts, in one place: the renderer, the overlays (masks, 3D view)
and the results viewer all draw with them (:func:`alphapose.render.layout_colors` gives a
layout's table)."""

from __future__ import annotations

import colorsys
from collections.abc import Mapping

import numpy as np

from alphapose.skeletons import PARTS

__all__ = ["BGR", "id_color", "part_color"]

BGR = tuple[int, int, int]

# BGR colours. None of them is black, so any drawn pixel differs from a black canvas.
_PART_SIDE_COLORS: Mapping[tuple[str, str], BGR] = {
    ("body", "left"): (255, 140, 0),     # azure
    ("body", "right"): (0, 140, 255),    # orange
    ("body", "centre"): (0, 200, 0),     # green
    ("foot", "left"): (255, 0, 170),     # violet
    ("foot", "right"): (0, 210, 255),    # amber
    ("foot", "centre"): (0, 200, 0),
    ("face", "centre"): (235, 235, 235),  # light grey
    ("left_hand", "centre"): (255, 255, 0),   # cyan
    ("right_hand", "centre"): (0, 255, 255),  # yellow
}

def id_color(track_id: int) -> BGR:
    """A bright colour for a track id, the same on every call; neighbouring ids differ strongly.

    Hues step by the golden ratio of a turn, so any few consecutive ids are far apart in hue.

    Args:
        track_id: a non-negative identity.

    Returns:
        ``(b, g, r)`` ints in [0, 255], never dark (value 1, saturation 0.85).

    Example:
        >>> id_color(0), id_color(1)
        ((38, 38, 255), (255, 101, 38))

    Raises:
        TypeError: ``track_id`` is not an integer.
        ValueError: ``track_id`` is negative (``-1`` means "untracked" and has no colour).
    """
    if isinstance(track_id, bool) or not isinstance(track_id, (int, np.integer)):
        raise TypeError(f"track_id: expected an int, got {type(track_id).__name__}")
    if track_id < 0:
        raise ValueError(f"track_id: expected a non-negative id, got {track_id} "
                         "(-1 marks an untracked person, which is coloured by body part)")
    hue = (int(track_id) * 0.6180339887498949) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return (int(round(b * 255)), int(round(g * 255)), int(round(r * 255)))


def part_color(part: str, side: str = "centre") -> BGR:
    """The colour of an untracked keypoint or edge of ``part`` on ``side``.

    Args:
        part: one of ``"body"``, ``"foot"``, ``"face"``, ``"left_hand"``, ``"right_hand"``.
        side: ``"left"``, ``"right"`` or ``"centre"`` (only body and foot distinguish sides).

    Raises:
        ValueError: unknown part or side.
    """
    if part not in PARTS:
        raise ValueError(f"part: expected one of {', '.join(PARTS)}, got {part!r}")
    if side not in ("left", "right", "centre"):
        raise ValueError(f"side: expected 'left', 'right' or 'centre', got {side!r}")
    return _PART_SIDE_COLORS.get((part, side), _PART_SIDE_COLORS.get((part, "centre"),
                                                                     (255, 255, 255)))
