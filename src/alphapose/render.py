"""Pure drawing functions: an image goes in, a new image comes out; the input is never modified.

Conventions: images are ``(H, W, 3)`` uint8 BGR; keypoints and boxes are in image pixels with the
centre of pixel ``(row i, column j)`` at ``(x=j, y=i)``, the convention OpenCV uses for drawing, so
points are passed to OpenCV unchanged (with 4 fractional bits of sub-pixel precision).

Colours: without a track id, each edge and keypoint is coloured by its body part (body, foot, face,
left hand, right hand) and, for body and foot, by its side (left, right, centre line). A tracked
person (``track_id >= 0``) is drawn entirely in :func:`id_color` of its id, so identities stay
recognisable across frames. Faces and hands are drawn with half the line width and radius.

Example:
    >>> canvas = draw_poses(frame.image, poses, draw_boxes=True, draw_ids=True)
    >>> cv2.imwrite("out.jpg", canvas)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from alphapose.colors import BGR, id_color, part_color
from alphapose.skeletons import PARTS, Layout, get_layout
from alphapose.structures import Detections, Poses, check_image

__all__ = [
    "BGR",
    "RenderOptions",
    "TrailHistory",
    "draw_detections",
    "draw_poses",
    "draw_trails",
    "id_color",
    "layout_colors",
    "part_color",
]

#: A single threshold for every keypoint, or one per part (keys from ``PARTS`` or ``"hand"``).
Threshold = float | Mapping[str, float]

#: Threshold used for parts a per-part mapping leaves out.
DEFAULT_KEYPOINT_THRESHOLD = 0.3

# Fractional bits for OpenCV's sub-pixel drawing (coordinates are multiplied by 2**_SHIFT).
_SHIFT = 4
_SCALE = 1 << _SHIFT
# Coordinates are clipped to this range (pixels) before drawing so int32 cannot overflow; a line to
# a far-away point still leaves the image in the right direction.
_COORD_LIMIT = 1e6

_UNTRACKED_BOX_COLOR: BGR = (255, 0, 0)  # blue, as the official renderer draws untracked boxes
_DETECTION_COLOR: BGR = (0, 0, 255)      # red
_THIN_PARTS = frozenset({"face", "left_hand", "right_hand"})


@dataclass(frozen=True)
class RenderOptions:
    """Settings for :func:`draw_poses`, for sinks that render (image and video writers).

    Attributes:
        keypoint_threshold: a keypoint is drawn iff its score is above this (a float for all
            parts, or a mapping part -> threshold; parts left out use 0.3). An edge is drawn
            iff both of its keypoints are.
        draw_boxes: draw each person's box.
        draw_ids: write each tracked person's id above its box.
        radius: keypoint radius in pixels; ``None`` picks one from the image size.
        thickness: edge width in pixels; ``None`` picks one from the image size.
        draw_masks: tint each person's mask when the poses have masks
            (:func:`alphapose.overlays.draw_masks`).
        draw_3d: a small 3D skeleton view beside each person when the poses have 3D
            keypoints (:func:`alphapose.overlays.draw_skeletons_3d`).
    """

    keypoint_threshold: Threshold = DEFAULT_KEYPOINT_THRESHOLD
    draw_boxes: bool = False
    draw_ids: bool = False
    radius: int | None = None
    thickness: int | None = None
    draw_masks: bool = True
    draw_3d: bool = False

    def draw(self, image: np.ndarray, poses: Poses) -> np.ndarray:
        """:func:`draw_poses` with these settings (over the masks, under the 3D views)."""
        from alphapose import overlays

        if self.draw_masks and poses.masks is not None:
            image = overlays.draw_masks(image, poses)
        out = draw_poses(image, poses, keypoint_threshold=self.keypoint_threshold,
                         draw_boxes=self.draw_boxes, draw_ids=self.draw_ids,
                         radius=self.radius, thickness=self.thickness)
        if self.draw_3d and poses.keypoints_3d is not None:
            out = overlays.draw_skeletons_3d(out, poses)
        return out


def layout_colors(layout: str | Layout) -> dict[str, tuple]:
    """How :func:`draw_poses` draws an untracked person of ``layout``, as data (the results page
    of :mod:`alphapose.view` draws with it): ``edge_colors`` and ``point_colors`` (BGR, one per
    edge / keypoint), ``edge_thin`` and ``point_thin`` (drawn at half width)."""
    style = _layout_style(get_layout(layout))
    return {"edge_colors": style.edge_colors, "edge_thin": style.edge_thin,
            "point_colors": style.point_colors, "point_thin": style.point_thin}


def draw_poses(image: np.ndarray, poses: Poses, *,
               keypoint_threshold: Threshold = DEFAULT_KEYPOINT_THRESHOLD,
               draw_boxes: bool = False, draw_ids: bool = False,
               radius: int | None = None, thickness: int | None = None) -> np.ndarray:
    """Draw skeletons (the layout's edges and keypoints) onto a copy of ``image``.

    Lines and circles are anti-aliased (``cv2.LINE_AA``) and placed with sub-pixel precision.
    Edges are drawn first, then keypoints, person by person.

    Args:
        image: ``(H, W, 3)`` uint8 BGR.
        poses: ``N`` people; ``poses.layout`` selects the edges
            (:func:`alphapose.skeletons.get_layout`).
        keypoint_threshold: a keypoint is drawn iff ``score > threshold`` (strictly, as the
            official renderer does) and its position is finite; either one float, or a mapping
            from part (``"body"``, ``"foot"``, ``"face"``, ``"left_hand"``, ``"right_hand"``, or
            ``"hand"`` for both hands) to threshold, parts left out using 0.3.
        draw_boxes: also draw ``poses.xyxy`` (in the id colour when tracked, else blue).
        draw_ids: write the track id of each tracked person above its box.
        radius: keypoint radius in pixels (faces and hands use half); default
            ``max(2, round(max(H, W) / 320))``.
        thickness: edge width in pixels (faces and hands use half); default
            ``max(1, round(max(H, W) / 480))``.

    Returns:
        A new ``(H, W, 3)`` uint8 array.

    Example:
        >>> out = draw_poses(img, poses, keypoint_threshold={"body": 0.4, "face": 0.05})

    Raises:
        TypeError: ``image`` is not a uint8 array or ``poses`` is not :class:`Poses`.
        ValueError: bad image shape, a layout whose size differs from ``poses.num_keypoints``,
            bad thresholds, radius or thickness.
    """
    check_image(image)
    if not isinstance(poses, Poses):
        raise TypeError(f"poses: expected Poses, got {type(poses).__name__}")
    layout = get_layout(poses.layout)
    if poses.num_keypoints != layout.num_keypoints:
        raise ValueError(f"poses: layout {layout.name!r} has {layout.num_keypoints} keypoints but "
                         f"poses.keypoints has {poses.num_keypoints}")
    thresholds = _keypoint_thresholds(layout, keypoint_threshold)
    radius, thickness = _sizes(image, radius, thickness)
    canvas = image.copy()
    if len(poses) == 0:
        return canvas

    style = _layout_style(layout)
    thin_radius, thin_thickness = max(1, radius // 2), max(1, thickness // 2)
    for i in range(len(poses)):
        keypoints = poses.keypoints[i]
        scores = poses.keypoint_scores[i]
        visible = (scores > thresholds) & np.isfinite(keypoints).all(axis=1)
        points = _fixed_point(keypoints)
        track_id = int(poses.track_ids[i])  # type: ignore[index]
        tracked_color = id_color(track_id) if track_id >= 0 else None

        for e, (a, b) in enumerate(layout.edges):
            if visible[a] and visible[b]:
                color = tracked_color or style.edge_colors[e]
                width = thin_thickness if style.edge_thin[e] else thickness
                cv2.line(canvas, points[a], points[b], color, width, cv2.LINE_AA, _SHIFT)
        for k in np.flatnonzero(visible):
            color = tracked_color or style.point_colors[k]
            r = thin_radius if style.point_thin[k] else radius
            cv2.circle(canvas, points[k], r * _SCALE, color, -1, cv2.LINE_AA, _SHIFT)

        box_color = tracked_color or _UNTRACKED_BOX_COLOR
        if draw_boxes and np.isfinite(poses.xyxy[i]).all():
            _draw_box(canvas, poses.xyxy[i], box_color, thickness)
        if draw_ids and tracked_color is not None:
            anchor = _label_anchor(poses.xyxy[i], keypoints, visible)
            if anchor is not None:
                _draw_label(canvas, str(track_id), anchor, box_color, thickness)
    return canvas


def draw_detections(image: np.ndarray, detections: Detections, *,
                    color: BGR = _DETECTION_COLOR, thickness: int | None = None,
                    draw_scores: bool = True) -> np.ndarray:
    """Draw detector boxes (and their auxiliary points, if any) onto a copy of ``image``.

    Args:
        image: ``(H, W, 3)`` uint8 BGR.
        detections: ``N`` boxes; ``detections.keypoints`` ``(N, P, 2)``, when present, are drawn
            as small circles.
        color: BGR box colour.
        thickness: box line width; default as in :func:`draw_poses`.
        draw_scores: write each box's score (two decimals) above its top-left corner.

    Returns:
        A new ``(H, W, 3)`` uint8 array.

    Raises:
        TypeError: ``image`` is not a uint8 array or ``detections`` is not :class:`Detections`.
        ValueError: bad image shape or thickness.
    """
    check_image(image)
    if not isinstance(detections, Detections):
        raise TypeError(f"detections: expected Detections, got {type(detections).__name__}")
    color = _check_color(color, "color")
    radius, thickness = _sizes(image, None, thickness)
    canvas = image.copy()
    for i in range(len(detections)):
        box = detections.xyxy[i]
        if not np.isfinite(box).all():
            continue
        _draw_box(canvas, box, color, thickness)
        if detections.keypoints is not None:
            points = detections.keypoints[i]
            fixed = _fixed_point(points)
            for k in np.flatnonzero(np.isfinite(points).all(axis=1)):
                cv2.circle(canvas, fixed[k], radius * _SCALE, color, -1, cv2.LINE_AA, _SHIFT)
        if draw_scores:
            _draw_label(canvas, f"{float(detections.scores[i]):.2f}",
                        (float(box[0]), float(box[1])), color, thickness)
    return canvas


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    edge_colors: tuple[BGR, ...]
    edge_thin: tuple[bool, ...]
    point_colors: tuple[BGR, ...]
    point_thin: tuple[bool, ...]


_STYLE_CACHE: dict[str, _Style] = {}


def _side(name: str) -> str:
    if name.startswith("left_"):
        return "left"
    if name.startswith("right_"):
        return "right"
    return "centre"


def _layout_style(layout: Layout) -> _Style:
    style = _STYLE_CACHE.get(layout.name)
    if style is None:
        names, parts = layout.keypoint_names, layout.keypoint_parts
        edge_colors, edge_thin = [], []
        for (a, b), part in zip(layout.edges, layout.edge_parts):
            sa, sb = _side(names[a]), _side(names[b])
            edge_colors.append(part_color(part, sa if sa == sb else "centre"))
            edge_thin.append(part in _THIN_PARTS)
        style = _Style(tuple(edge_colors), tuple(edge_thin),
                       tuple(part_color(p, _side(n)) for n, p in zip(names, parts)),
                       tuple(p in _THIN_PARTS for p in parts))
        _STYLE_CACHE[layout.name] = style
    return style


def _keypoint_thresholds(layout: Layout, threshold: Threshold) -> np.ndarray:
    """``(K,)`` per-keypoint thresholds from one float or a part -> float mapping."""
    if isinstance(threshold, Mapping):
        valid = (*PARTS, "hand")
        unknown = [key for key in threshold if key not in valid]
        if unknown:
            raise ValueError(f"keypoint_threshold: unknown part(s) {unknown}; valid parts: "
                             f"{', '.join(valid)}")
        per_part = {part: threshold.get(part, threshold.get("hand", DEFAULT_KEYPOINT_THRESHOLD))
                    if part in ("left_hand", "right_hand")
                    else threshold.get(part, DEFAULT_KEYPOINT_THRESHOLD) for part in PARTS}
        for part, value in per_part.items():
            _check_threshold(value, f"keypoint_threshold[{part!r}]")
        return np.array([per_part[p] for p in layout.keypoint_parts], np.float32)
    _check_threshold(threshold, "keypoint_threshold")
    return np.full((layout.num_keypoints,), threshold, np.float32)


def _check_threshold(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if math.isnan(float(value)):
        raise ValueError(f"{name}: expected a number, got NaN")


def _sizes(image: np.ndarray, radius: int | None, thickness: int | None) -> tuple[int, int]:
    longest = max(image.shape[:2])
    if radius is None:
        radius = max(2, round(longest / 320))
    if thickness is None:
        thickness = max(1, round(longest / 480))
    for name, value in (("radius", radius), ("thickness", thickness)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: expected a positive int (pixels) or None, got {value!r}")
    return int(radius), int(thickness)


def _check_color(color: object, name: str) -> BGR:
    try:
        values = tuple(int(c) for c in color)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected three ints (B, G, R), got {color!r}") from None
    if len(values) != 3 or not all(0 <= c <= 255 for c in values):
        raise ValueError(f"{name}: expected three ints (B, G, R) in [0, 255], got {color!r}")
    return values  # type: ignore[return-value]


def _fixed_point(points: np.ndarray) -> list[tuple[int, int]]:
    """``(P, 2)`` float pixels -> OpenCV fixed-point ``(x, y)`` tuples (non-finite -> 0)."""
    clipped = np.clip(np.nan_to_num(points, nan=0.0), -_COORD_LIMIT, _COORD_LIMIT)
    fixed = np.round(clipped * _SCALE).astype(np.int64)
    return [(int(x), int(y)) for x, y in fixed]


def _draw_box(canvas: np.ndarray, xyxy: np.ndarray, color: BGR, thickness: int) -> None:
    (x1, y1), (x2, y2) = _fixed_point(np.asarray(xyxy, np.float64).reshape(2, 2))
    cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA, _SHIFT)


def _label_anchor(xyxy: np.ndarray, keypoints: np.ndarray,
                  visible: np.ndarray) -> tuple[float, float] | None:
    """Top-left of the box, or of the visible keypoints when the box is not finite."""
    if np.isfinite(xyxy).all():
        return float(xyxy[0]), float(xyxy[1])
    if visible.any():
        shown = keypoints[visible]
        return float(shown[:, 0].min()), float(shown[:, 1].min())
    return None


def _draw_label(canvas: np.ndarray, text: str, anchor: tuple[float, float], color: BGR,
                thickness: int) -> None:
    """Text just above ``anchor`` (kept inside the image), dark outline for contrast."""
    height, width = canvas.shape[:2]
    scale = max(0.4, max(height, width) / 1600)
    (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x = int(np.clip(anchor[0], 0, max(0, width - text_w)))
    y = int(np.clip(anchor[1] - baseline - 2, text_h, max(text_h, height - baseline)))
    cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2,
                cv2.LINE_AA)
    cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness,
                cv2.LINE_AA)


# ------------------------------------------------------------------------------------------------
# track trails
# ------------------------------------------------------------------------------------------------


class TrailHistory:
    """The last positions of each tracked person, for :func:`draw_trails`.

    The position of a person is the bottom centre of their box (where they stand). People who
    are not seen for ``length`` frames are forgotten.

    Args:
        length: positions kept per track (frames).

    Example:
        >>> trails = TrailHistory(20)
        >>> for frame, poses in results:
        ...     canvas = draw_trails(draw_poses(frame.image, poses), trails.update(poses))
    """

    def __init__(self, length: int = 20) -> None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"length: expected a positive int, got {length!r}")
        self.length = length
        self._points: dict[int, list[tuple[int, float, float]]] = {}
        self._frame = 0

    def update(self, poses: Poses) -> dict[int, np.ndarray]:
        """Add one frame's tracked people; returns ``{track_id: (M, 2) points, oldest first}``."""
        if not isinstance(poses, Poses):
            raise TypeError(f"poses: expected Poses, got {type(poses).__name__}")
        self._frame += 1
        for i in range(len(poses)):
            track_id = int(poses.track_ids[i])  # type: ignore[index]
            box = poses.xyxy[i]
            if track_id < 0 or not np.isfinite(box).all():
                continue
            self._points.setdefault(track_id, []).append(
                (self._frame, float(box[0] + box[2]) / 2, float(box[3])))
        oldest = self._frame - self.length
        self._points = {k: [p for p in v if p[0] > oldest] for k, v in self._points.items()}
        self._points = {k: v for k, v in self._points.items() if v}
        return {k: np.array([(x, y) for _, x, y in v], np.float32)
                for k, v in self._points.items()}


def draw_trails(image: np.ndarray, trails: Mapping[int, np.ndarray], *,
                thickness: int | None = None) -> np.ndarray:
    """Draw each track's recent path as a polyline in :func:`id_color` of its id, fading in
    width from old (thin) to new (thick), onto a copy of ``image``.

    Args:
        image: ``(H, W, 3)`` uint8 BGR.
        trails: ``{track_id: (M, 2) points in image pixels, oldest first}``
            (:meth:`TrailHistory.update` gives it).
        thickness: width of the newest segment; default as :func:`draw_poses` edges.

    Returns:
        A new ``(H, W, 3)`` uint8 array.
    """
    check_image(image)
    _, width = _sizes(image, None, thickness)
    canvas = image.copy()
    for track_id, points in trails.items():
        points = np.asarray(points, np.float64).reshape(-1, 2)
        color = id_color(int(track_id))
        fixed = _fixed_point(points)
        m = len(fixed)
        for s in range(1, m):
            if not (np.isfinite(points[s - 1]).all() and np.isfinite(points[s]).all()):
                continue
            w = max(1, int(round(width * s / (m - 1))))
            cv2.line(canvas, fixed[s - 1], fixed[s], color, w, cv2.LINE_AA, _SHIFT)
    return canvas
