"""Crop geometry: round trips, pixel convention, letterbox."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.transforms import (RotatedRect, apply_affine, box_to_center_scale,
                                  crop_from_img_matrix, invert_affine, letterbox, warp_crop)


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
