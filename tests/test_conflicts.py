"""People whose heads coincide get their refining pass again with a better model
(alphapose.estimators.chimera.settle_conflicts), or all their passes again from their first crop
with another placing model (settle_conflicts_afresh), on the shared COCO skiers."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from alphapose.estimators.blaze import BLAZE_TO_COCO17, Person
from alphapose.estimators.blaze_body import BodyResult
from alphapose.transforms import RotatedRect

SKIERS = "mmpose/coco/000000197388.jpg"
#: COCO boxes (xywh, rounded) of the front (blue) and rear (red) skier of SKIERS
SKIER_BOXES = {"blue": [139, 102, 222, 242], "red": [287, 62, 75, 166]}


@pytest.fixture(scope="session")
def heavy_model(embedded_models) -> None:
    """BlazePose-heavy (the @mediapipe/pose npm package), or skip."""
    from alphapose.weights import get_model_file

    try:
        get_model_file("blaze-pose-heavy")
    except RuntimeError as error:
        pytest.skip(f"@mediapipe/pose models unavailable: {error}")


def _person(coco_points: np.ndarray, box: list[float], placed: bool) -> Person:
    points = np.zeros((39, 2), np.float32)
    points[BLAZE_TO_COCO17] = coco_points
    body = BodyResult(points, np.ones(39, np.float32), np.ones(39, np.float32), 0.9,
                      RotatedRect(0, 0, 1, 1, 0))
    return Person(np.asarray(box, np.float32), 1.0, placed, body)


def test_head_conflicts_pair_a_placed_and_a_box_path_person() -> None:
    from alphapose.estimators.chimera import head_conflicts

    rng = np.random.default_rng(0)
    first = rng.uniform(100, 300, (17, 2))
    near, far = first.copy(), first.copy()
    near[:7] += 10.0  # head and shoulders 10 px off; the rest elsewhere
    near[7:] += 150.0
    far += 60.0
    big = [100, 100, 300, 300]  # long side 200: 24 px
    small = [0, 0, 50, 50]      # long side 50: 6 px (a placed person is sized by its body)
    shape = (600, 600)
    # the larger of the two sizes decides, whichever person has it
    assert head_conflicts([_person(first, big, True), _person(near, small, False)],
                          shape) == [0, 1]
    assert head_conflicts([_person(first, small, False), _person(near, big, True)],
                          shape) == [0, 1]
    assert head_conflicts([_person(first, big, True), _person(far, big, False)], shape) == []
    # two placed people on one head are a duplicate, two box-path ones the chimera step's
    assert head_conflicts([_person(first, big, True), _person(near, big, True)], shape) == []
    assert head_conflicts([_person(first, big, False), _person(near, big, False)], shape) == []
    assert head_conflicts([_person(first, big, False)], shape) == []


def _skier_oks(poses, shared_data) -> dict[str, tuple[int, float]]:
    """Per skier: (index of the best pose, its COCO-17 OKS)."""
    from alphapose.skeletons import convert_poses, get_layout

    gt = json.loads((shared_data / "mmpose/coco/test_coco.json").read_text())
    poses = convert_poses(poses, "coco17")
    sigmas = np.asarray(get_layout("coco17").sigmas)
    best = {}
    for name, xywh in SKIER_BOXES.items():
        ann = next(a for a in gt["annotations"] if a["image_id"] == 197388
                   and np.allclose(a["bbox"], xywh, atol=1))
        truth = np.asarray(ann["keypoints"], np.float64).reshape(17, 3)
        seen = truth[:, 2] > 0
        d2 = ((poses.keypoints - truth[None, :, :2]) ** 2).sum(-1)
        oks = np.exp(-d2 / (2 * ann["area"] * (2 * sigmas) ** 2))[:, seen].mean(1)
        best[name] = (int(np.argmax(oks)), float(oks.max())) if len(oks) else (-1, 0.0)
    return best


@pytest.mark.models
def test_balanced_gives_each_skier_their_own_body(shared_data, embedded_models, nanodet_model,
                                                  heavy_model) -> None:
    # 000000197388.jpg: the rear (red) skier stands behind the front (blue) one. With full x 2
    # the BlazePose-placed red body and the blue box-path body share one head, and pose NMS
    # keeps one pose for both (measured: blue 0.44, red 0.06). Run again with BlazePose-heavy,
    # each finds their own (blue 0.83, red 0.56).
    from dataclasses import replace

    from alphapose.estimators.blaze import BlazeWholeBody
    from alphapose.modes import estimator_config
    from alphapose.pipeline import Pipeline

    image = cv2.imread(str(shared_data / SKIERS))
    config = estimator_config("balanced").for_detector_boxes()
    assert config.conflict_body_model == "heavy"
    best, without = (_skier_oks(Pipeline(estimator=BlazeWholeBody(settings)).predict(image),
                                shared_data)
                     for settings in (config, replace(config, conflict_body_model=None)))
    _assert_own_bodies(best, without, premise=0.5, red=0.5)


def _assert_own_bodies(best: dict, without: dict, premise: float, red: float) -> None:
    """Without the step the red skier's OKS is below ``premise`` (one pose for two); with it
    each skier has their own pose (blue > 0.75, red > ``red``)."""
    assert without["red"][1] < premise
    assert best["blue"][0] != best["red"][0]
    assert best["blue"][1] > 0.75
    assert best["red"][1] > red


def test_first_rect_is_where_the_passes_started() -> None:
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
    from alphapose.estimators.blaze_body import roi_from_alignment_points
    from alphapose.estimators.chimera import first_rect
    from alphapose.structures import Detections

    class Rects:  # the estimator's first-crop rule without loading its models
        config = BlazeWholeBodyConfig()
        initial_rect = BlazeWholeBody.initial_rect

    points = np.zeros((17, 2))
    boxes = np.array([[10, 20, 110, 220], [300, 40, 380, 200]], np.float32)
    alignment = np.array([[[60, 120], [60, 20], [60, 60], [60, 30]],
                          [[np.nan, np.nan]] * 4], np.float32)
    detections = Detections(boxes, np.ones(2, np.float32), alignment)
    placed = first_rect(Rects(), _person(points, boxes[0], True), detections)
    expected = roi_from_alignment_points(alignment[0, 0], alignment[0, 1])
    assert (placed.cx, placed.cy, placed.width) == pytest.approx(
        (expected.cx, expected.cy, expected.width))
    from_box = first_rect(Rects(), _person(points, boxes[1], False), detections)
    # an upright square 1.25 x the box's long side (160 px) around the box's centre
    assert (from_box.cx, from_box.cy, from_box.width, from_box.rotation) == pytest.approx(
        (340, 120, 200, 0))
    # a person no detection gave (a tracked one) has no first crop here
    assert first_rect(Rects(), _person(points, [0, 0, 5, 5], True), detections) is None


@pytest.mark.models
def test_performance_gives_each_skier_their_own_body(shared_data, embedded_models,
                                                     nanodet_model, heavy_model) -> None:
    # performance (heavy x 2, flip test): the placed red body and the blue box-path body share
    # a head, and heavy on the same crop again gives the same bodies. From their first crops
    # with full placing (and the tight-box retry with it), each finds their own (measured:
    # blue 0.87, red 0.51; without: blue 0.47, red 0.02 on one pose)
    from dataclasses import replace

    from alphapose.estimators.blaze import BlazeWholeBody
    from alphapose.modes import build_detector, estimator_config
    from alphapose.pipeline import Pipeline

    image = cv2.imread(str(shared_data / SKIERS))
    config = estimator_config("performance", hands=False, face=False).for_detector_boxes()
    assert config.conflict_placing_model == "full"
    detector, _ = build_detector("performance")
    best, without = (_skier_oks(Pipeline(detector, BlazeWholeBody(settings)).predict(image),
                                shared_data)
                     for settings in (config, replace(config, conflict_placing_model=None)))
    _assert_own_bodies(best, without, premise=0.3, red=0.45)


@pytest.mark.models
def test_no_heavy_pass_without_a_conflict(shared_data, embedded_models, heavy_model) -> None:
    # one person (000000000785.jpg, a skier alone): nobody shares a head, heavy never runs
    from alphapose.estimators.blaze import BlazeWholeBody
    from alphapose.modes import estimator_config
    from alphapose.structures import Detections

    image = cv2.imread(str(shared_data / "mmpose/coco/000000000785.jpg"))
    estimator = BlazeWholeBody(estimator_config("balanced", hands=False, face=False))
    box = np.array([[280, 41, 519, 385]], np.float32)  # the skier, NanoDet's box
    people = estimator.find_people(image, Detections(box, np.ones(1, np.float32))).result()
    assert len(people) == 1
    assert "heavy" not in estimator.bodies  # loaded on first use only
    # the skier placed by BlazePose and from the box: two bodies on one head, each refined
    # again with heavy, and the box-path one, still on the placed head, estimated again from
    # its tight box with heavy last (then dropped as the placed body's duplicate)
    from alphapose.detection.blaze import blaze_person_detector

    placed = blaze_person_detector(2)(image)
    assert len(placed) == 1
    both = Detections(np.r_[placed.xyxy, box], np.ones(2, np.float32),
                      np.r_[placed.keypoints, np.full_like(placed.keypoints, np.nan)])
    assert len(estimator.find_people(image, both).result()) == 1
    assert estimator.bodies["heavy"].model.invocations == 3
