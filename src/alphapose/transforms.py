"""Crop transforms: the one place where image <-> crop geometry is defined.

Convention: points are ``(x, y)`` in pixels with the centre of pixel ``(row i, col j)`` at the
integer coordinate ``(j, i)`` (OpenCV's ``warpAffine`` convention). Every matrix is a ``2 x 3``
affine named by the frames it maps between: ``crop_from_img`` maps image points into the crop,
``img_from_crop`` maps crop points back into the image.

A crop is described by a :class:`RotatedRect` in the image: its centre, its size and the angle by
which the crop's "up" is rotated (radians, counter-clockwise in the image as displayed, i.e. a
positive angle turns the crop's x axis from the image's +x towards the image's -y). The crop maps
the rectangle's extent ``[-w/2, w/2] x [-h/2, h/2]`` onto the output's pixel-edge extent
``[-0.5, W - 0.5] x [-0.5, H - 0.5]``, so a rectangle covering a whole image maps it identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "RotatedRect",
    "apply_affine",
    "invert_affine",
    "crop_from_img_matrix",
    "warp_crop",
    "Letterbox",
    "letterbox",
    "box_to_center_scale",
    "normalize_angle",
]


def normalize_angle(angle: float) -> float:
    """Angle wrapped into ``[-pi, pi)``."""
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


@dataclass(frozen=True)
class RotatedRect:
    """A rectangle in image pixels: centre, size and rotation (radians).

    ``rotation`` is the angle of the crop's x axis measured in image pixel coordinates
    (y down), so ``rotation > 0`` turns the crop clockwise as seen on screen.
    """

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    def corners(self) -> np.ndarray:
        """``(4, 2)`` corners: top-left, top-right, bottom-right, bottom-left (crop order)."""
        half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * 0.5
        local = half * np.array([self.width, self.height])
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        rot = np.array([[c, -s], [s, c]])
        return (local @ rot.T + np.array([self.cx, self.cy])).astype(np.float32)

    def bounding_box(self) -> np.ndarray:
        """Axis-aligned ``(4,)`` xyxy box around the rectangle."""
        pts = self.corners()
        return np.concatenate([pts.min(0), pts.max(0)]).astype(np.float32)

    def scaled(self, factor_w: float, factor_h: float | None = None) -> RotatedRect:
        factor_h = factor_w if factor_h is None else factor_h
        return RotatedRect(self.cx, self.cy, self.width * factor_w, self.height * factor_h,
                           self.rotation)

    def squared(self, use_long_side: bool = True) -> RotatedRect:
        side = max(self.width, self.height) if use_long_side else min(self.width, self.height)
        return RotatedRect(self.cx, self.cy, side, side, self.rotation)


def crop_from_img_matrix(rect: RotatedRect, out_w: int, out_h: int) -> np.ndarray:
    """``2 x 3`` matrix mapping image points into a ``out_w x out_h`` crop of ``rect``."""
    c, s = np.cos(rect.rotation), np.sin(rect.rotation)
    sx, sy = out_w / rect.width, out_h / rect.height
    # image -> rect-local (undo translation, then rotation) -> crop pixels
    rot_inv = np.array([[c, s], [-s, c]])
    linear = np.diag([sx, sy]) @ rot_inv
    offset = -linear @ np.array([rect.cx, rect.cy]) + np.array([out_w / 2 - 0.5, out_h / 2 - 0.5])
    return np.hstack([linear, offset[:, None]]).astype(np.float64)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a ``2 x 3`` affine matrix."""
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def apply_affine(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map ``(..., 2)`` points through a ``2 x 3`` matrix; returns float32 of the same shape."""
    points = np.asarray(points, np.float64)
    matrix = np.asarray(matrix, np.float64)
    out = points @ matrix[:, :2].T + matrix[:, 2]
    return out.astype(np.float32)


def warp_crop(image: np.ndarray, rect: RotatedRect, out_w: int, out_h: int,
              border_value: tuple[int, int, int] = (0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``rect`` out of ``image`` into a ``(out_h, out_w)`` crop.

    Args:
        image: ``(H, W, C)`` image.
        rect: the region in image pixels.
        out_w: crop width in pixels.
        out_h: crop height in pixels.
        border_value: fill for parts of the rectangle outside the image.

    Returns:
        ``(crop, img_from_crop)``: the crop and the ``2 x 3`` matrix mapping crop points back.
    """
    if rect.width <= 0 or rect.height <= 0:
        raise ValueError(f"crop rectangle must have a positive size, got {rect.width}x{rect.height}")
    crop_from_img = crop_from_img_matrix(rect, out_w, out_h)
    crop = cv2.warpAffine(image, crop_from_img, (out_w, out_h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)
    return crop, invert_affine(crop_from_img)


@dataclass(frozen=True)
class Letterbox:
    """How an image region was fitted into a square model input with padding.

    Attributes:
        input_from_img: ``2 x 3`` matrix mapping image points to model-input pixels.
        size: side of the square input.
    """

    input_from_img: np.ndarray
    size: int

    @property
    def scale(self) -> float:
        """Input pixels per image pixel."""
        return float(self.input_from_img[0, 0])

    @property
    def img_from_input(self) -> np.ndarray:
        return invert_affine(self.input_from_img)


def letterbox(image: np.ndarray, size: int,
              region: tuple[float, float, float, float] | None = None,
              border_value: tuple[int, int, int] = (0, 0, 0)) -> tuple[np.ndarray, Letterbox]:
    """Fit an image (or an axis-aligned ``region`` of it, xyxy) into a ``size x size`` square,
    keeping its aspect ratio and padding the short side equally on both ends.

    Returns:
        ``(square, transform)``; ``transform.img_from_input`` maps square pixels back.
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = region if region is not None else (-0.5, -0.5, w - 0.5, h - 0.5)
    rw, rh = x2 - x1, y2 - y1
    if rw <= 0 or rh <= 0:
        raise ValueError(f"letterbox region must have a positive size, got {region}")
    scale = size / max(rw, rh)
    pad_x = (size - rw * scale) / 2
    pad_y = (size - rh * scale) / 2
    # input pixel-edge coordinate = (image edge coordinate - region corner) * scale + pad
    # input pixel-edge coordinate = (image edge coordinate - region edge) * scale + pad, where an
    # edge coordinate is a centre coordinate + 0.5 (x1, y1 are already edges in centre units)
    tx = pad_x - x1 * scale - 0.5
    ty = pad_y - y1 * scale - 0.5
    matrix = np.array([[scale, 0, tx], [0, scale, ty]], np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    square = cv2.warpAffine(image, matrix, (size, size), flags=interp,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)
    return square, Letterbox(input_from_img=matrix, size=size)


def box_to_center_scale(xyxy: np.ndarray, aspect_ratio: float = 0.75,
                        scale_mult: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """The official AlphaPose box -> (centre, scale) for its fixed-aspect person crop.

    The box is widened or heightened to ``aspect_ratio`` (w / h) and enlarged by ``scale_mult``.

    Args:
        xyxy: ``(4,)`` box.
        aspect_ratio: input width / height of the pose network (192 / 256).
        scale_mult: enlargement factor.

    Returns:
        ``(center (2,), scale (2,))`` with ``scale = (w, h)`` of the crop in image pixels.
    """
    x1, y1, x2, y2 = [float(v) for v in xyxy]
    w, h = x2 - x1, y2 - y1
    center = np.array([x1 + w * 0.5, y1 + h * 0.5], np.float32)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w * scale_mult, h * scale_mult], np.float32)
