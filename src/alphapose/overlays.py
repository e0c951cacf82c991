"""Drawing of the optional per-person outputs: masks as a tinted overlay, 3D keypoints as a
small skeleton view beside each person. Pure functions: an image goes in, a new image comes
out (conventions as :mod:`alphapose.render`).

Example:
    >>> canvas = draw_masks(frame.image, poses)             # doctest: +SKIP
    >>> canvas = draw_skeletons_3d(canvas, poses)           # doctest: +SKIP
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from alphapose.colors import id_color, part_color
from alphapose.masks import decode_rle
from alphapose.skeletons import get_layout
from alphapose.structures import Poses

__all__ = ["MASK_PALETTE", "draw_masks", "draw_skeletons_3d", "project_3d"]

#: tints of untracked people's masks, by position in ``poses`` (BGR)
MASK_PALETTE = ((255, 128, 0), (0, 160, 255), (60, 200, 60), (200, 60, 200), (0, 220, 220),
                (200, 200, 0), (90, 90, 255), (255, 90, 160))


def draw_masks(image: np.ndarray, poses: Poses, alpha: float = 0.45) -> np.ndarray:
    """Tint each person's mask (``poses.masks``) onto a copy of ``image``: a tracked person in
    :func:`~alphapose.render.id_color` of their id, others in :data:`MASK_PALETTE` order.

    Args:
        image: ``(H, W, 3)`` uint8 BGR.
        poses: people; nothing is drawn when ``poses.masks`` is None.
        alpha: weight of the tint.
    """
    canvas = image.copy()
    if poses.masks is None or len(poses) == 0:
        return canvas
    height, width = image.shape[:2]
    tint = np.zeros_like(image)
    covered = np.zeros((height, width), bool)
    for i, rle in enumerate(poses.masks):
        mask = decode_rle(rle)
        if mask.shape != (height, width):
            raise ValueError(f"poses.masks[{i}]: a {mask.shape[1]}x{mask.shape[0]} mask for a "
                             f"{width}x{height} image")
        track_id = int(poses.track_ids[i])  # type: ignore[index]
        tint[mask] = id_color(track_id) if track_id >= 0 else MASK_PALETTE[i % len(MASK_PALETTE)]
        covered |= mask
    blended = cv2.addWeighted(image, 1.0 - alpha, tint, alpha, 0.0)
    canvas[covered] = blended[covered]
    return canvas


def project_3d(points: np.ndarray, yaw: float = -30.0, pitch: float = 15.0) -> np.ndarray:
    """Orthographic view of ``(K, 3)`` points (metres; ``x`` right, ``y`` down, ``z`` away)
    from a camera turned ``yaw`` degrees about the vertical axis and looking ``pitch`` degrees
    down; returns ``(K, 2)`` view coordinates in metres, ``y`` down."""
    a, b = math.radians(yaw), math.radians(pitch)
    turn = np.array([[math.cos(a), 0.0, math.sin(a)], [0.0, 1.0, 0.0],
                     [-math.sin(a), 0.0, math.cos(a)]])
    tilt = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(b), -math.sin(b)],
                     [0.0, math.sin(b), math.cos(b)]])
    return (np.asarray(points, np.float64) @ (tilt @ turn).T)[:, :2]


def draw_skeletons_3d(image: np.ndarray, poses: Poses, size: int | None = None,
                      yaw: float = -30.0, pitch: float = 15.0) -> np.ndarray:
    """Draw each person's 3D keypoints (``poses.keypoints_3d``) as a small skeleton seen from a
    fixed viewpoint (:func:`project_3d`), in a dark square beside the person's box (right of
    it where the image has room and no earlier view is, else left), 2.2 m across. People
    whose box is less tall than the view get none (in a crowd the views of far people would
    cover the near ones).

    Args:
        image: ``(H, W, 3)`` uint8 BGR.
        poses: people; nothing is drawn when ``poses.keypoints_3d`` is None.
        size: side of each view in pixels; default ``max(80, min(H, W) // 5)``.
        yaw: camera turn about the vertical axis, degrees.
        pitch: camera tilt downwards, degrees.
    """
    canvas = image.copy()
    if poses.keypoints_3d is None or len(poses) == 0:
        return canvas
    height, width = image.shape[:2]
    side = int(size or max(80, min(height, width) // 5))
    side = max(16, min(side, height, width))
    layout = get_layout(poses.layout)
    names = layout.keypoint_names

    def flank(index: int) -> str:
        name = names[index]
        return "left" if name.startswith("left") else "right" if name.startswith("right") \
            else "centre"

    foot = set(layout.parts["foot"].tolist())
    scale = side / 2.2
    thickness = 2 if side >= 120 else 1
    placed: list[tuple[int, int]] = []
    for i in range(len(poses)):
        points = poses.keypoints_3d[i]
        present = np.isfinite(points).all(1)
        if present.sum() < 2:
            continue
        x1, y1, x2, y2 = (float(v) for v in poses.xyxy[i])
        if y2 - y1 < side:
            continue
        top = int(min(max(y1, 0), height - side))
        # right of the box, else left of it, avoiding the views already drawn where it can
        spots = [int(min(max(x, 0), width - side)) for x in (x2 + 2, x1 - 2 - side)
                 if 0 <= x <= width - side] or [int(min(max(x2 + 2, 0), width - side))]
        free = [x for x in spots if all(abs(x - px) >= side or abs(top - py) >= side
                                        for px, py in placed)]
        left = (free or spots)[0]
        placed.append((left, top))
        window = canvas[top:top + side, left:left + side]
        window[:] = (window.astype(np.uint16) // 3).astype(np.uint8)  # darken behind the view
        view = project_3d(np.where(present[:, None], points, 0.0), yaw, pitch)
        # hips (the origin) at the centre; fixed metres-per-pixel so people compare
        pixels = np.round((view * scale + side / 2) * 16).astype(np.int64)
        track_id = int(poses.track_ids[i])  # type: ignore[index]
        fixed = id_color(track_id) if track_id >= 0 else None
        for a, b in layout.edges:
            if not (present[a] and present[b]):
                continue
            kind = "foot" if a in foot or b in foot else "body"
            both = {flank(a), flank(b)}
            color = fixed or part_color(kind, both.pop() if len(both) == 1 else "centre")
            cv2.line(window, (int(pixels[a, 0]), int(pixels[a, 1])),
                     (int(pixels[b, 0]), int(pixels[b, 1])), color, thickness, cv2.LINE_AA, 4)
        cv2.rectangle(window, (0, 0), (side - 1, side - 1), fixed or (160, 160, 160), 1)
    return canvas
