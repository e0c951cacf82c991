"""The embedded person detector: anchors, decoding, tiling, merging, person crops, real pictures.

Expected values are computed by hand from MediaPipe's pose-detection graph options (anchors:
strides 8, 16, 32, 32, 32 on 224 x 224, offset 0.5, fixed size; decoding: offsets in input
pixels from the anchor centre, scale 224) and from the pixel convention of
:mod:`alphapose.transforms` (an image edge coordinate is a pixel-centre coordinate + 0.5).
"""

from __future__ import annotations

import itertools
import json
import math

import cv2
import numpy as np
import pytest

from alphapose.detection.blaze import (
    BlazeDetectorConfig,
    BlazePersonDetector,
    SsdAnchorOptions,
    decode_in_image,
    decode_raw,
    merge_people,
    merge_runs,
    person_roi,
    person_rois,
    plan_tiles,
    ssd_anchors,
)
from alphapose.transforms import letterbox, warp_crop

ANCHORS = ssd_anchors()
LOW = -10.0  # a logit far below the 0.5 threshold


def _stride16_index(row: int, col: int) -> int:
    """Row index of the first anchor of a stride-16 cell: after 28*28*2 stride-8 anchors."""
    return 28 * 28 * 2 + (row * 14 + col) * 2


def _planted(rows: dict[int, tuple[list[float], float]]) -> tuple[np.ndarray, np.ndarray]:
    """Raw outputs that are empty except for the given ``{anchor: (12 regressors, logit)}``."""
    raw_boxes = np.zeros((2254, 12), np.float32)
    raw_scores = np.full((2254, 1), LOW, np.float32)
    for index, (values, logit) in rows.items():
        raw_boxes[index] = values
        raw_scores[index, 0] = logit
    return raw_boxes, raw_scores


# -- anchors ----------------------------------------------------------------------------------

def test_pose_detector_has_2254_anchors_in_three_grids() -> None:
    # 28x28 cells x 2 anchors + 14x14 x 2 + 7x7 x (3 layers x 2) = 1568 + 392 + 294
    assert ANCHORS.shape == (2254, 4)
    assert np.all(ANCHORS[:, 2:] == 1.0)  # fixed_anchor_size


@pytest.mark.parametrize(("index", "expected_px"), [
    (0, (4, 4)),                    # stride 8, cell (0, 0), first anchor
    (1, (4, 4)),                    # same cell, interpolated anchor
    (2, (12, 4)),                   # stride 8, cell (row 0, col 1)
    (56, (4, 12)),                  # stride 8, cell (row 1, col 0): 28 cells x 2 later
    (1567, (220, 220)),             # last stride-8 anchor
    (1568, (8, 8)),                 # first stride-16 anchor
    (1959, (216, 216)),             # last stride-16 anchor
    (1960, (16, 16)),               # first stride-32 anchor
    (1965, (16, 16)),               # 6 anchors per stride-32 cell
    (1966, (48, 16)),
    (2253, (208, 208)),             # last anchor
], ids=["first", "first-interp", "s8-col1", "s8-row1", "s8-last", "s16-first", "s16-last",
        "s32-first", "s32-sixth", "s32-col1", "last"])
def test_anchor_centres_hand_checked(index: int, expected_px: tuple[int, int]) -> None:
    np.testing.assert_allclose(ANCHORS[index, :2] * 224, expected_px, atol=1e-9)


def test_anchor_sizes_follow_layer_scales_when_not_fixed() -> None:
    options = SsdAnchorOptions(input_height=64, input_width=64, min_scale=0.2, max_scale=0.4,
                               strides=(32, 64), aspect_ratios=(1.0, 4.0),
                               fixed_anchor_size=False)
    anchors = ssd_anchors(options)
    # layer 0: 2x2 cells x (ratio 1, ratio 4, interpolated) ; layer 1: 1 cell x 3
    assert anchors.shape == (15, 4)
    r0 = [(0.2, 0.2), (0.2 * 2, 0.2 / 2), (math.sqrt(0.2 * 0.4),) * 2]
    r1 = [(0.4, 0.4), (0.4 * 2, 0.4 / 2), (math.sqrt(0.4 * 1.0),) * 2]
    np.testing.assert_allclose(anchors[:3, 2:], r0)
    np.testing.assert_allclose(anchors[12:, 2:], r1)
    np.testing.assert_allclose(anchors[3:6, :2], [[0.75, 0.25]] * 3)  # cell (row 0, col 1)
    np.testing.assert_allclose(anchors[12, :2], [0.5, 0.5])


def test_anchor_grid_of_a_wide_input() -> None:
    options = SsdAnchorOptions(input_height=64, input_width=128, strides=(32,),
                               interpolated_scale_aspect_ratio=0.0)
    anchors = ssd_anchors(options)
    # 2 rows x 4 columns, one anchor per cell, centres at (i + 0.5) / 4 and (j + 0.5) / 2
    assert anchors.shape == (8, 4)
    np.testing.assert_allclose(anchors[:, 0], [0.125, 0.375, 0.625, 0.875] * 2)
    np.testing.assert_allclose(anchors[:, 1], [0.25] * 4 + [0.75] * 4)


def test_anchor_options_are_checked() -> None:
    with pytest.raises(ValueError, match="strides"):
        ssd_anchors(SsdAnchorOptions(strides=()))


# -- decoding ---------------------------------------------------------------------------------

def test_decode_planted_box_and_keypoints_in_input_pixels() -> None:
    index = _stride16_index(row=5, col=9)          # anchor centre (152, 88) in edge coords
    values = [3, -5, 40, 60, 10, 70, -2, -90, 6, -20, 30, -110]
    xyxy, scores, keypoints = decode_raw(*_planted({index: (values, 2.0)}), ANCHORS)
    cx, cy = 152 + 3 - 0.5, 88 - 5 - 0.5           # pixel-centre coordinates
    np.testing.assert_allclose(xyxy, [[cx - 20, cy - 30, cx + 20, cy + 30]], atol=1e-4)
    np.testing.assert_allclose(scores, [1 / (1 + math.exp(-2.0))], rtol=1e-6)
    expected = [[152 + 10 - 0.5, 88 + 70 - 0.5], [152 - 2 - 0.5, 88 - 90 - 0.5],
                [152 + 6 - 0.5, 88 - 20 - 0.5], [152 + 30 - 0.5, 88 - 110 - 0.5]]
    np.testing.assert_allclose(keypoints, [expected], atol=1e-4)


@pytest.mark.parametrize(("logit", "kept"), [(0.01, True), (0.0, True), (-0.01, False)],
                         ids=["above", "at-threshold", "below"])
def test_decode_keeps_scores_at_or_above_threshold(logit: float, kept: bool) -> None:
    _, scores, _ = decode_raw(*_planted({100: ([0, 0, 20, 20] + [0] * 8, logit)}), ANCHORS)
    assert len(scores) == int(kept)


@pytest.mark.parametrize(("threshold", "logit", "kept"), [
    (0.9, math.log(9.0) + 1e-6, True), (0.9, math.log(9.0) - 1e-3, False),
    (0.0, -80.0, True), (1.0, 40.0, True), (1.0, 30.0, False)],
    ids=["just-above-0.9", "just-below-0.9", "threshold-0-keeps-all", "threshold-1-saturated",
         "threshold-1-not-saturated"])
def test_decode_threshold_is_exact_on_the_score(threshold: float, logit: float,
                                                kept: bool) -> None:
    # the score is sigmoid(logit) in float64: 1 / (1 + e^-40) rounds to 1.0, 1 / (1 + e^-30) not
    boxes, logits = _planted({100: ([0, 0, 20, 20] + [0] * 8, logit)})
    if threshold == 0.0:
        logits[:] = -80.0  # every anchor reaches 0; their boxes differ, the planted one is found
    _, scores, _ = decode_raw(boxes, logits, ANCHORS, score_threshold=threshold)
    expected = 1.0 / (1.0 + math.exp(-float(np.float32(logit))))
    assert bool(np.isclose(scores, expected, rtol=1e-6, atol=0).any()) == kept
    assert (len(scores) > 0) == kept


def test_decode_clips_huge_logits_without_overflow() -> None:
    with np.errstate(all="raise"):
        _, scores, _ = decode_raw(*_planted({7: ([0, 0, 20, 20] + [0] * 8, -1e6),
                                             9: ([0, 0, 20, 20] + [0] * 8, 1e6)}), ANCHORS)
    np.testing.assert_allclose(scores, [1.0])


def test_decode_merges_overlapping_boxes_by_score() -> None:
    # neighbouring stride-8 cells (centres 8 px apart) predicting 40 px boxes: IoU 0.67
    a, b = 2 * (10 * 28 + 10), 2 * (10 * 28 + 11)
    raw = _planted({a: ([0, 0, 40, 40] + [0] * 8, math.log(3.0)),   # score 0.75
                    b: ([0, 0, 40, 40] + [0] * 8, math.log(1 / 3))})  # score 0.25
    xyxy, scores, keypoints = decode_raw(*raw, ANCHORS, score_threshold=0.2)
    assert len(scores) == 1
    np.testing.assert_allclose(scores, [0.75], rtol=1e-6)
    x_a, x_b, y = 84 - 0.5, 92 - 0.5, 84 - 0.5   # anchor centres in pixel-centre coordinates
    cx = 0.75 * x_a + 0.25 * x_b
    np.testing.assert_allclose(xyxy, [[cx - 20, y - 20, cx + 20, y + 20]], atol=1e-4)
    np.testing.assert_allclose(keypoints[0, :, 0], cx, atol=1e-4)


def test_decode_nothing_above_threshold_gives_empty_arrays() -> None:
    xyxy, scores, keypoints = decode_raw(*_planted({}), ANCHORS)
    assert xyxy.shape == (0, 4) and scores.shape == (0,) and keypoints.shape == (0, 4, 2)


@pytest.mark.parametrize(("boxes", "scores", "match"), [
    (np.zeros((2254, 11)), np.zeros((2254, 1)), "raw_boxes"),
    (np.zeros((2254, 12)), np.zeros((2253, 1)), "raw_scores"),
], ids=["boxes", "scores"])
def test_decode_rejects_wrong_shapes(boxes, scores, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        decode_raw(boxes, scores, ANCHORS)


def test_decode_through_letterbox_of_a_wide_image() -> None:
    height, width = 300, 600                 # scale 224/600, 56 px bars above and below
    _, transform = letterbox(np.zeros((height, width, 3), np.uint8), 224)
    index = _stride16_index(row=7, col=3)    # anchor centre (56, 120) in input edge coords
    values = [0, 0, 30, 30, 10, 20, 0, -50, 0, 0, 0, 0]
    xyxy, _, keypoints = decode_in_image(*_planted({index: (values, 3.0)}), ANCHORS, transform)
    scale, pad_y = 224 / 600, 56.0
    # image edge coordinate = (input edge coordinate - padding) / scale; centre = edge - 0.5
    to_x = lambda e: e / scale - 0.5
    to_y = lambda e: (e - pad_y) / scale - 0.5
    np.testing.assert_allclose(xyxy, [[to_x(56 - 15), to_y(120 - 15),
                                       to_x(56 + 15), to_y(120 + 15)]], atol=1e-3)
    np.testing.assert_allclose(keypoints[0, 0], [to_x(66), to_y(140)], atol=1e-3)
    np.testing.assert_allclose(keypoints[0, 1], [to_x(56), to_y(70)], atol=1e-3)


def test_decode_through_a_tile_offset() -> None:
    x0, y0, side = 300, 120, 448             # a tile at half the input's resolution
    image = np.zeros((720, 1280, 3), np.uint8)
    _, transform = letterbox(image, 224, region=(x0 - 0.5, y0 - 0.5, x0 + side - 0.5,
                                                 y0 + side - 0.5))
    index = 2 * (20 * 28 + 6)                # stride 8, cell (row 20, col 6): centre (52, 164)
    values = [0, 0, 16, 16, -4, 6, 0, 0, 0, 0, 0, 0]
    xyxy, _, keypoints = decode_in_image(*_planted({index: (values, 3.0)}), ANCHORS, transform)
    # image edge coordinate = tile edge + input edge coordinate * side / 224
    np.testing.assert_allclose(xyxy, [[x0 + 2 * 44 - 0.5, y0 + 2 * 156 - 0.5,
                                       x0 + 2 * 60 - 0.5, y0 + 2 * 172 - 0.5]], atol=1e-3)
    np.testing.assert_allclose(keypoints[0, 0], [x0 + 2 * 48 - 0.5, y0 + 2 * 170 - 0.5],
                               atol=1e-3)


# -- tiles and merging ------------------------------------------------------------------------

def test_plan_tiles_of_a_coco_sized_image() -> None:
    tiles = plan_tiles(425, 640)
    # scale 1.0: side 425, 2 columns (0, 640 - 425); scale 0.6: side 255, 4 x 2 tiles spread
    # evenly over 385 x 170 pixels of travel; scale 0.36: 153 px < 192 px, not run
    expected = [(0, 0, 425), (215, 0, 425)] + [(x, y, 255) for y in (0, 170)
                                                for x in (0, 128, 257, 385)]
    assert tiles == expected


@pytest.mark.parametrize(("height", "width"), [(1080, 1920), (425, 640), (1920, 1080),
                                               (500, 500)],
                         ids=["1080p", "coco", "portrait", "square"])
def test_plan_tiles_cover_the_image_with_the_overlap(height: int, width: int) -> None:
    config = BlazeDetectorConfig()
    tiles = plan_tiles(height, width, config)
    assert len(tiles) <= config.max_tiles
    for side in {t[2] for t in tiles}:
        level = [t for t in tiles if t[2] == side]
        assert side < max(height, width) and side >= config.min_tile_side
        covered = np.zeros((height, width), bool)
        for x0, y0, _ in level:
            assert 0 <= x0 <= width - side and 0 <= y0 <= height - side
            covered[y0:y0 + side, x0:x0 + side] = True
        assert covered.all(), f"side {side} leaves pixels uncovered"
        for axis in (0, 1):
            starts = sorted({t[axis] for t in level})
            assert all(b - a <= side * (1 - config.tile_overlap) + 1
                       for a, b in itertools.pairwise(starts))


def test_plan_tiles_respects_max_tiles_by_dropping_small_scales() -> None:
    config = BlazeDetectorConfig(max_tiles=11)
    sides = {t[2] for t in plan_tiles(1080, 1920, config)}
    assert sides == {1080, 648}     # 3 + 8 tiles; the 389 px level (28 tiles) would overflow


def test_same_person_from_two_tiles_merges_into_one() -> None:
    image = np.zeros((600, 900, 3), np.uint8)
    person = np.array([[420.0, 380.0], [430.0, 140.0], [425.0, 250.0], [428.0, 150.0]])
    runs, weights = [], []
    for (x0, y0, side), logit in [((200, 100, 448), 2.0), ((380, 100, 448), 0.5)]:
        _, transform = letterbox(image, 224, region=(x0 - 0.5, y0 - 0.5, x0 + side - 0.5,
                                                     y0 + side - 0.5))
        # plant the person's keypoints at the stride-16 anchor nearest its shoulder centre
        edge = (person + 0.5 - [x0, y0]) * 224 / side       # input edge coordinates
        row, col = (edge[2] // 16).astype(int)[::-1]
        centre = np.array([col * 16 + 8, row * 16 + 8], float)
        values = np.concatenate([edge[2] - centre, [40, 40], (edge - centre).ravel()])
        runs.append(decode_in_image(*_planted({_stride16_index(row, col): (values, logit)}),
                                    ANCHORS, transform))
        weights.append(1 / (1 + math.exp(-logit)))
    for _, _, keypoints in runs:      # each run alone puts the person back where it was
        np.testing.assert_allclose(keypoints[0], person, atol=1e-3)
    detections = merge_runs(runs)
    assert len(detections) == 1
    np.testing.assert_allclose(detections.scores, [max(weights)], rtol=1e-6)
    np.testing.assert_allclose(detections.keypoints[0], person, atol=1e-3)


def test_merge_averages_by_score_and_keeps_distinct_people() -> None:
    upright = np.array([[0, 100], [0, 0], [0, 40], [0, -40]], float)   # upper radius 80
    a = upright + [500, 300]
    b = upright + [520, 310]        # shoulder centres 22 px apart < 0.4 * 80
    c = upright + [560, 300]        # 60 px from a: another person
    scores, keypoints = merge_people(np.array([0.6, 0.9, 0.7]), np.stack([a, b, c]))
    np.testing.assert_allclose(scores, [0.9, 0.7], rtol=1e-6)
    np.testing.assert_allclose(keypoints[0], (0.6 * a + 0.9 * b) / 1.5, atol=1e-4)
    np.testing.assert_allclose(keypoints[1], c, atol=1e-4)
    _, best = merge_people(np.array([0.6, 0.9, 0.7]), np.stack([a, b, c]), weighted=False)
    np.testing.assert_allclose(best[0], b, atol=1e-4)


def test_merge_reaches_by_the_larger_upper_body_radius() -> None:
    # a tile that cuts the person sees a small upper body (radius 30) 25 px from the whole
    # image's (radius 100): one person, as 25 < 0.4 * 100 (it would not be by the smaller)
    whole = np.array([[0, 150], [0, -100], [0, 0], [0, -100]], float)
    cut = np.array([[20, 60], [20, -20], [15, 20], [15, -10]], float)
    scores, _ = merge_people(np.array([0.9, 0.8]), np.stack([whole, cut]))
    assert len(scores) == 1


def test_merge_runs_builds_person_boxes_from_keypoints() -> None:
    keypoints = np.array([[[100, 200], [100, 120], [100, 150], [100, 90]]], np.float32)
    run = (np.array([[90, 140, 110, 160]], np.float32), np.array([0.8], np.float32), keypoints)
    detections = merge_runs([run])
    # body radius 80 -> square of side 2 * 80 * 1.25 = 200 around the hip centre
    np.testing.assert_allclose(detections.xyxy, [[0, 100, 200, 300]], atol=1e-4)
    np.testing.assert_allclose(detections.keypoints, keypoints)
    tight = merge_runs([run], BlazeDetectorConfig(box_scale=1.0))
    np.testing.assert_allclose(tight.xyxy, [[20, 120, 180, 280]], atol=1e-4)
    assert len(merge_runs([run], BlazeDetectorConfig(min_person_size=201))) == 0


def test_merge_runs_keeps_the_best_max_detections() -> None:
    upright = np.array([[0, 100], [0, 0], [0, 40], [0, -40]], np.float32)
    keypoints = np.stack([upright, upright + [300, 0], upright + [600, 0]])
    run = (np.zeros((3, 4)), np.array([0.6, 0.9, 0.7], np.float32), keypoints)
    detections = merge_runs([run], BlazeDetectorConfig(max_detections=2))
    np.testing.assert_allclose(detections.scores, [0.9, 0.7])
    np.testing.assert_allclose(detections.keypoints[:, 0, 0], [300, 600])


def test_merge_runs_of_nothing_is_empty() -> None:
    empty = (np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, 4, 2)))
    detections = merge_runs([empty, empty])
    assert len(detections) == 0 and detections.keypoints.shape == (0, 4, 2)


@pytest.mark.parametrize(("field", "value"), [("tiles", "some"), ("score_threshold", 1.5),
                                              ("tile_scales", (1.0, 0.0)),
                                              ("tile_overlap", 1.0), ("box_scale", 0.0)],
                         ids=["tiles", "score", "scales", "overlap", "box-scale"])
def test_config_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        BlazeDetectorConfig(**{field: value})


# -- person crop ------------------------------------------------------------------------------

@pytest.mark.parametrize(("direction", "rotation"), [
    ((0, -1), 0.0),                          # body circle point straight above the hips
    ((1, 0), math.pi / 2),                   # lying, head to the right
    ((-1, 0), -math.pi / 2),                 # lying, head to the left
    ((0, 1), -math.pi),                      # upside down
    ((math.sin(0.5), -math.cos(0.5)), 0.5),  # leaning right by 0.5 rad
], ids=["upright", "head-right", "head-left", "upside-down", "leaning"])
def test_person_roi_centre_size_and_rotation(direction, rotation: float) -> None:
    hip = np.array([320.0, 240.0])
    body_point = hip + 90.0 * np.asarray(direction)
    keypoints = np.stack([hip, body_point, hip, hip])
    roi = person_roi(keypoints)
    assert (roi.cx, roi.cy) == pytest.approx(hip)
    assert roi.width == pytest.approx(2 * 90 * 1.25) and roi.height == pytest.approx(roi.width)
    assert math.isclose(math.cos(roi.rotation), math.cos(rotation), abs_tol=1e-9)
    assert math.isclose(math.sin(roi.rotation), math.sin(rotation), abs_tol=1e-9)
    # the middle of the crop's top edge lies on the hip -> body point ray, 1.25 radii out
    top_left, top_right = roi.corners()[:2]
    np.testing.assert_allclose((top_left + top_right) / 2, hip + 1.25 * (body_point - hip),
                               atol=1e-3)


def test_person_roi_crop_puts_the_body_point_above_the_centre() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    hip, body_point = np.array([300.0, 260.0]), np.array([380.0, 200.0])   # leaning, r = 100
    cv2.circle(image, (380, 200), 4, (255, 255, 255), -1)
    crop, _ = warp_crop(image, person_roi(np.stack([hip, body_point, hip, hip])), 256, 256)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    # the body point is 1 radius up from the centre; the crop's half side is 1.25 radii
    assert xs.mean() == pytest.approx(127.5, abs=1.0)
    assert ys.mean() == pytest.approx(127.5 - 128 / 1.25, abs=1.0)


def test_person_rois_one_per_detection_and_shape_checked() -> None:
    keypoints = np.array([[[0, 50], [0, 0], [0, 0], [0, 0]], [[9, 9], [9, 19], [0, 0], [0, 0]]])
    assert [round(r.width) for r in person_rois(keypoints)] == [125, 25]
    with pytest.raises(ValueError, match="keypoints"):
        person_roi(np.zeros((1, 2)))


# -- the real model ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def detector_file():
    from alphapose.weights import get_model_file

    try:
        return get_model_file("blaze-person-detector")
    except RuntimeError as error:
        pytest.skip(f"person detector model unavailable: {error}")


@pytest.mark.models
@pytest.mark.parametrize("tiles", ["none", "auto"])
def test_astronaut_is_one_upright_person(detector_file, astronaut_bgr, tiles: str) -> None:
    detector = BlazePersonDetector(BlazeDetectorConfig(tiles=tiles), model_file=detector_file)
    detections = detector(astronaut_bgr)
    assert len(detections) == 1, f"expected one person, found {len(detections)}"
    x1, y1, x2, y2 = detections.xyxy[0]
    assert x1 <= 170 and y1 <= 20 and x2 >= 260 and y2 >= 120, "box misses the face"
    assert detections.scores[0] >= 0.5
    hip, _, shoulders, _ = detections.keypoints[0]
    assert 150 <= shoulders[0] <= 270 and 180 <= shoulders[1] <= 300, "shoulder centre"
    assert hip[1] > shoulders[1] + 100, "hips should be well below the shoulders"
    assert abs(person_roi(detections.keypoints[0]).rotation) < 0.4


@pytest.mark.models
def test_detector_rejects_bad_images(detector_file) -> None:
    detector = BlazePersonDetector(BlazeDetectorConfig(tiles="none"), model_file=detector_file)
    with pytest.raises(ValueError, match="image"):
        detector(np.zeros((64, 64), np.uint8))
    with pytest.raises(TypeError, match="image"):
        detector(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(TypeError, match="images"):
        detector.detect(np.zeros((64, 64, 3), np.uint8))


@pytest.mark.models
def test_detect_blank_and_astronaut_batch(detector_file, astronaut_bgr) -> None:
    detector = BlazePersonDetector(model_file=detector_file)
    blank = np.full((480, 640, 3), 128, np.uint8)
    results = detector.detect([blank, astronaut_bgr])
    assert [len(r) for r in results] == [0, 1]


def _found(detections, gt_xyxy: np.ndarray) -> int:
    """People found: GT box centre inside a detection's body-circle square and that detection's
    shoulder centre inside the GT box, one to one."""
    taken = np.zeros(len(gt_xyxy), bool)
    for kps in detections.keypoints:
        radius = np.linalg.norm(kps[1] - kps[0])
        for j, (x1, y1, x2, y2) in enumerate(gt_xyxy):
            centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
            if (not taken[j] and np.all(np.abs(centre - kps[0]) <= radius)
                    and x1 <= kps[2, 0] <= x2 and y1 <= kps[2, 1] <= y2):
                taken[j] = True
                break
    return int(taken.sum())


@pytest.mark.models
def test_tiles_find_more_coco_people(detector_file, shared_data) -> None:
    root = shared_data / "mmpose" / "coco"
    if not (root / "test_coco.json").is_file():
        pytest.skip(f"{root}/test_coco.json not found")
    data = json.loads((root / "test_coco.json").read_text())
    found = {"none": 0, "auto": 0}
    detections_count = {"none": 0, "auto": 0}
    total = 0
    detectors = {t: BlazePersonDetector(BlazeDetectorConfig(tiles=t), model_file=detector_file)
                 for t in found}
    for image in data["images"]:
        boxes = np.array([a["bbox"] for a in data["annotations"] if a["image_id"] == image["id"]],
                         float)
        gt = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        total += len(gt)
        picture = cv2.imread(str(root / image["file_name"]))
        for tiles, detector in detectors.items():
            detections = detector(picture)
            found[tiles] += _found(detections, gt)
            detections_count[tiles] += len(detections)
    # whole image only finds the large people; tiles find most (14 people, 2 of them tiny)
    assert found["auto"] > found["none"] >= 2
    assert found["auto"] >= 0.7 * total
    assert found["auto"] >= 0.8 * detections_count["auto"], "too many false detections"


@pytest.mark.models
def test_one_call_on_tiles_equals_its_runs_one_by_one(detector_file, shared_data) -> None:
    # __call__ converts a tiled image to 4 channels once; each run alone warps the BGR image
    image = cv2.imread(str(shared_data / "mmpose" / "coco" / "000000196141.jpg"))
    detector = BlazePersonDetector(model_file=detector_file)
    h, w = image.shape[:2]
    tiles = plan_tiles(h, w, detector.config)
    assert detector.uses_tiles(h, w) and len(tiles) > 1
    runs = [detector.run_region(image)] + [
        detector.run_region(image, (x0 - 0.5, y0 - 0.5, x0 + side - 0.5, y0 + side - 0.5))
        for x0, y0, side in tiles]
    expected, found = merge_runs(runs, detector.config), detector(image)
    assert len(found) == len(expected) > 0
    np.testing.assert_array_equal(found.xyxy, expected.xyxy)
    np.testing.assert_array_equal(found.scores, expected.scores)
    np.testing.assert_array_equal(found.keypoints, expected.keypoints)
    # a 4-channel image is accepted as BGRA
    bgra = detector(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
    np.testing.assert_array_equal(bgra.keypoints, expected.keypoints)
