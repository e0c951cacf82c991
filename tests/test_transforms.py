"""Crop geometry: round trips, pixel convention, letterbox."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from alphapose.transforms import (
    RotatedRect,
    apply_affine,
    box_to_center_scale,
    crop_from_img_matrix,
    invert_affine,
    letterbox,
    warp_affine_bgr,
    warp_crop,
)


@pytest.mark.parametrize("rect", [RotatedRect(30, 20, 20, 10, 0.0), RotatedRect(30, 20, 20, 10, 0.7),
                                  RotatedRect(-5, 100, 300, 40, -2.5)],
                         ids=["upright", "rotated", "outside-image"])
def test_crop_round_trip(rect: RotatedRect) -> None:
    rng = np.random.default_rng(0)
    points = rng.uniform(-50, 150, (20, 2))
    crop_from_img = crop_from_img_matrix(rect, 64, 32)
    back = apply_affine(apply_affine(points, crop_from_img), invert_affine(crop_from_img))
    np.testing.assert_allclose(back, points, atol=1e-3)


def test_rect_centre_and_corners_map_to_crop_centre_and_edges() -> None:
    rect = RotatedRect(30, 20, 20, 10, 0.7)
    matrix = crop_from_img_matrix(rect, 64, 32)
    np.testing.assert_allclose(apply_affine(np.array([[30.0, 20.0]]), matrix), [[31.5, 15.5]],
                               atol=1e-5)
    corners = apply_affine(rect.corners(), matrix)
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [63.5, -0.5], [63.5, 31.5], [-0.5, 31.5]],
                               atol=1e-4)


def test_rotation_turns_crop_x_axis_clockwise_on_screen() -> None:
    # rotation pi/2: the crop's x axis runs along the image's +y (down the screen)
    rect = RotatedRect(50, 50, 20, 20, np.pi / 2)
    matrix = crop_from_img_matrix(rect, 20, 20)
    below = apply_affine(np.array([[50.0, 55.0]]), matrix)[0]
    assert below[0] == pytest.approx(9.5 + 5, abs=1e-4) and below[1] == pytest.approx(9.5, abs=1e-4)


def test_warp_crop_of_whole_image_is_identity() -> None:
    image = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    crop, img_from_crop = warp_crop(image, RotatedRect(29.5, 19.5, 60, 40), 60, 40)
    np.testing.assert_array_equal(crop, image)
    np.testing.assert_allclose(img_from_crop, [[1, 0, 0], [0, 1, 0]], atol=1e-9)


def test_warp_crop_pixel_lands_where_the_matrix_says() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    image[70, 40] = 255  # a single bright pixel at (x=40, y=70)
    rect = RotatedRect(50, 50, 50, 50, 0.3)
    crop, img_from_crop = warp_crop(image, rect, 101, 101)
    y, x = np.unravel_index(np.argmax(crop[..., 0]), crop.shape[:2])
    np.testing.assert_allclose(apply_affine(np.array([[x, y]], float), img_from_crop)[0],
                               [40, 70], atol=0.5)


def test_warp_crop_rejects_empty_rect() -> None:
    with pytest.raises(ValueError, match="positive size"):
        warp_crop(np.zeros((10, 10, 3), np.uint8), RotatedRect(5, 5, 0, 4), 8, 8)


@pytest.mark.parametrize("shape", [(40, 60), (60, 40), (50, 50)], ids=["wide", "tall", "square"])
def test_letterbox_keeps_aspect_and_round_trips(shape: tuple[int, int]) -> None:
    h, w = shape
    image = np.random.default_rng(2).integers(0, 255, (h, w, 3), dtype=np.uint8)
    square, box = letterbox(image, 120)
    assert square.shape == (120, 120, 3)
    assert box.scale == pytest.approx(120 / max(h, w))
    # image corners (pixel edges) land on the padded square's content edges
    edges = apply_affine(np.array([[-0.5, -0.5], [w - 0.5, h - 0.5]]), box.input_from_img)
    pad_x, pad_y = (120 - w * box.scale) / 2, (120 - h * box.scale) / 2
    np.testing.assert_allclose(edges, [[pad_x - 0.5, pad_y - 0.5],
                                       [119.5 - pad_x, 119.5 - pad_y]], atol=1e-4)
    points = np.array([[3.0, 7.0], [w - 1.0, h - 1.0]])
    np.testing.assert_allclose(apply_affine(apply_affine(points, box.input_from_img),
                                            box.img_from_input), points, atol=1e-4)


def test_letterbox_same_size_is_identity() -> None:
    image = np.random.default_rng(3).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    square, _ = letterbox(image, 64)
    np.testing.assert_array_equal(square, image)


@pytest.mark.parametrize("xyxy,center,scale", [
    ((0, 0, 30, 40), (15, 20), (37.5, 50)),      # exactly 0.75: only the 1.25 enlargement
    ((0, 0, 60, 40), (30, 20), (75, 100)),       # too wide: height grows to w / 0.75
    ((10, 10, 20, 50), (15, 30), (37.5, 50)),    # too tall: width grows to 0.75 h
], ids=["exact", "wide", "tall"])
def test_box_to_center_scale_official_rule(xyxy, center, scale) -> None:
    c, s = box_to_center_scale(np.array(xyxy, np.float32))
    np.testing.assert_allclose(c, center)
    np.testing.assert_allclose(s, scale, rtol=1e-6)


# -- the fast warp: the same pixels as a plain cv2.warpAffine --------------------------------

def _plain_warp(image: np.ndarray, rect: RotatedRect, w: int, h: int) -> np.ndarray:
    """The crop by the definition in the module docstring, built without the module: image ->
    rect-local (translate, rotate back) -> crop pixels, warped with OpenCV's 3-channel warp."""
    c, s = np.cos(rect.rotation), np.sin(rect.rotation)
    to_local = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]) @ np.array(
        [[1.0, 0.0, -rect.cx], [0.0, 1.0, -rect.cy], [0.0, 0.0, 1.0]])
    to_crop = np.array([[w / rect.width, 0.0, w / 2 - 0.5], [0.0, h / rect.height, h / 2 - 0.5]])
    return cv2.warpAffine(image, to_crop @ to_local, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 300 x 400 image with smooth gradients and noise (every pixel differs from its
    neighbours, so a crop read from a wrong place cannot match)."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:300, 0:400]
    base = np.stack([xx * 0.6, yy * 0.8, (xx + yy) * 0.35], -1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


_RECTS = [RotatedRect(200, 150, 120, 120, 0.0), RotatedRect(123.4, 77.7, 90.5, 60.25, 0.61),
          RotatedRect(10, 290, 150, 150, -2.4), RotatedRect(-100, -100, 50, 50, 1.0),
          RotatedRect(200, 150, 13.2, 13.2, 2.1), RotatedRect(200, 150, 900, 700, 0.3)]
_RECT_IDS = ["upright", "rotated-non-square", "over-a-corner", "all-outside", "tiny-upscaled",
             "larger-than-image"]


@pytest.mark.parametrize("rect", _RECTS, ids=_RECT_IDS)
@pytest.mark.parametrize("size", [(224, 224), (96, 64)], ids=["square", "wide"])
def test_warp_crop_pixels_equal_a_plain_3_channel_warp(photo, rect: RotatedRect,
                                                       size: tuple[int, int]) -> None:
    w, h = size
    expected = _plain_warp(photo, rect, w, h)
    crop, img_from_crop = warp_crop(photo, rect, w, h)
    assert crop.flags.c_contiguous and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, expected)
    rgb, _ = warp_crop(photo, rect, w, h, rgb=True)
    np.testing.assert_array_equal(rgb, expected[..., ::-1])
    # the returned matrix maps the crop's centre pixel back to the rect's centre
    centre = apply_affine(np.array([[(w - 1) / 2, (h - 1) / 2]]), img_from_crop)[0]
    np.testing.assert_allclose(centre, [rect.cx, rect.cy], atol=1e-3)


def test_warp_of_a_second_image_of_the_same_size_reads_only_that_image(photo) -> None:
    # the 4-channel scratch keeps the first image's window; the second warp must not see it
    rect_a, rect_b = RotatedRect(150, 100, 200, 200, 0.2), RotatedRect(260, 180, 80, 80, -0.4)
    warp_crop(photo, rect_a, 128, 128)
    other = np.ascontiguousarray(photo[::-1, ::-1])
    np.testing.assert_array_equal(warp_crop(other, rect_b, 128, 128)[0],
                                  _plain_warp(other, rect_b, 128, 128))
    np.testing.assert_array_equal(warp_crop(other, rect_a, 128, 128)[0],
                                  _plain_warp(other, rect_a, 128, 128))


def test_warp_of_a_strided_view_and_of_other_image_kinds(photo) -> None:
    rect = RotatedRect(150, 140, 100, 100, 0.5)
    mirrored = photo[:, ::-1]  # negative strides
    np.testing.assert_array_equal(warp_crop(mirrored, rect, 64, 64)[0],
                                  _plain_warp(np.ascontiguousarray(mirrored), rect, 64, 64))
    gray = photo[..., 1].copy()
    np.testing.assert_array_equal(warp_crop(gray, rect, 64, 64)[0],
                                  _plain_warp(gray, rect, 64, 64))
    floats = photo.astype(np.float32) / 255
    np.testing.assert_allclose(warp_crop(floats, rect, 64, 64)[0],
                               _plain_warp(floats, rect, 64, 64), atol=1e-6)


def test_bgra_image_gives_the_same_colour_crop(photo) -> None:
    rect = RotatedRect(50, 250, 140, 140, 0.9)  # partly outside: border pixels too
    bgra = cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA)
    expected = _plain_warp(photo, rect, 80, 80)
    np.testing.assert_array_equal(warp_crop(bgra, rect, 80, 80)[0][..., :3], expected)
    np.testing.assert_array_equal(warp_crop(bgra, rect, 80, 80, rgb=True)[0],
                                  expected[..., ::-1])


def test_warp_border_value_fills_outside_pixels(photo) -> None:
    matrix = np.array([[1.0, 0.0, 500.0], [0.0, 1.0, 0.0]])  # image far to the right
    crop = warp_affine_bgr(photo, matrix, 40, 30, border_value=(10, 20, 30))
    np.testing.assert_array_equal(crop, np.broadcast_to(np.uint8([10, 20, 30]), (30, 40, 3)))
    np.testing.assert_array_equal(warp_affine_bgr(photo, matrix, 40, 30, rgb=True,
                                                  border_value=(10, 20, 30))[0, 0], [30, 20, 10])


def test_warps_in_threads_match_the_plain_warp(photo) -> None:
    # each thread warps its own image of the same size: a scratch shared between threads would
    # mix them
    rng = np.random.default_rng(3)
    rects = [RotatedRect(*rng.uniform([100, 80, 100, 100, -3], [300, 220, 300, 300, 3]))
             for _ in range(150)]
    images = [photo, np.ascontiguousarray(photo[::-1]), 255 - photo]
    failures: list[tuple[int, int]] = []

    def work(k: int) -> None:
        for n, rect in enumerate(rects):
            if not np.array_equal(warp_crop(images[k], rect, 96, 96)[0],
                                  _plain_warp(images[k], rect, 96, 96)):
                failures.append((k, n))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


@pytest.mark.parametrize("region", [None, (99.5, 19.5, 331.5, 251.5), (-50.5, -0.5, 349.5, 299.5)],
                         ids=["whole", "tile", "beyond-the-left-edge"])
def test_letterbox_pixels_equal_a_plain_warp(photo, region) -> None:
    square, box = letterbox(photo, 160, region=region)
    flags = cv2.INTER_AREA if box.scale < 1 else cv2.INTER_LINEAR
    expected = cv2.warpAffine(photo, box.input_from_img, (160, 160), flags=flags,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    np.testing.assert_array_equal(square, expected)
    np.testing.assert_array_equal(letterbox(photo, 160, region=region, rgb=True)[0],
                                  expected[..., ::-1])
