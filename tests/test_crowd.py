"""Every person of a crowd survives: given boxes -> bodies -> pose NMS, on real MOT17 frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from alphapose.estimators.blaze_body import BodyResult
from alphapose.evaluate.crowd import boxes_found
from alphapose.structures import Detections, Poses
from alphapose.transforms import RotatedRect

MOT17_02 = "boxmot/MOT17-mini/train/MOT17-02-FRCNN"


def mot17_people(root, frame: int) -> np.ndarray:
    """``(N, 4)`` xyxy of the pedestrians of one MOT17-02 frame that are at least half visible
    (MOT ground truth: frame, id, left, top, width, height, considered, class 1, visibility)."""
    gt = np.loadtxt(root / MOT17_02 / "gt" / "gt.txt", delimiter=",")
    rows = gt[(gt[:, 0] == frame) & (gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= 0.5)]
    # MOT boxes are 1-based pixel coordinates
    return np.c_[rows[:, 2:4] - 1, rows[:, 2:4] - 1 + rows[:, 4:6]].astype(np.float32)


class GivenBoxes:
    """A detector that returns the boxes it is given (ground truth, as ``--detfile`` does);
    with ``nan_keypoints`` as the fused detector gives a box detector's boxes."""

    def __init__(self, nan_keypoints: bool = False) -> None:
        self.xyxy = np.zeros((0, 4), np.float32)
        self.nan_keypoints = nan_keypoints

    def __call__(self, image: np.ndarray) -> Detections:
        keypoints = (np.full((len(self.xyxy), 4, 2), np.nan, np.float32)
                     if self.nan_keypoints else None)
        return Detections(self.xyxy, np.ones(len(self.xyxy), np.float32), keypoints)


@pytest.mark.models
@pytest.mark.parametrize("parts", [False, True], ids=["body-only", "hands-and-face"])
@pytest.mark.parametrize("frame", [1, 4])
def test_every_mot17_pedestrian_given_as_a_box_is_kept(shared_data, embedded_models,
                                                       frame: int, parts: bool) -> None:
    # MOT17-02 is a crowded street; people stand in front of each other. Before the fixes the
    # default pose NMS kept 1 of 11 people here (body only), and the box path put two bodies
    # on one person where boxes overlap.
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
    from alphapose.pipeline import Pipeline, RunOptions

    boxes = mot17_people(shared_data, frame)
    image = cv2.imread(str(shared_data / MOT17_02 / "img1" / f"{frame:06d}.jpg"))
    detector = GivenBoxes()
    detector.xyxy = boxes
    estimator = BlazeWholeBody(BlazeWholeBodyConfig(hands=parts, face=parts))
    poses = Pipeline(detector, estimator, run=RunOptions(sp=True)).predict(image)
    assert len(boxes) >= 10
    assert boxes_found(boxes, poses) == len(boxes)
    assert len(poses) == len(boxes)


@pytest.mark.models
def test_boxes_with_nan_alignment_points_take_the_box_path(shared_data, embedded_models) -> None:
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
    from alphapose.pipeline import Pipeline, RunOptions

    boxes = mot17_people(shared_data, 1)
    image = cv2.imread(str(shared_data / MOT17_02 / "img1" / "000001.jpg"))
    estimator = BlazeWholeBody(BlazeWholeBodyConfig(hands=False, face=False))
    results = []
    for nan_keypoints in (False, True):
        detector = GivenBoxes(nan_keypoints)
        detector.xyxy = boxes
        results.append(Pipeline(detector, estimator, run=RunOptions(sp=True)).predict(image))
    assert boxes_found(boxes, results[1]) == len(boxes)
    # the same people (pose NMS orders them by score; the given boxes are unique keys)
    order = [np.lexsort(r.xyxy.T[::-1]) for r in results]
    np.testing.assert_array_equal(results[1].xyxy[order[1]], results[0].xyxy[order[0]])
    np.testing.assert_array_equal(results[1].keypoints[order[1]], results[0].keypoints[order[0]])
    np.testing.assert_array_equal(results[1].xyxy[order[1]], boxes[np.lexsort(boxes.T[::-1])])


def _poses(points: list[np.ndarray]) -> Poses:
    keypoints = np.stack([np.pad(p, ((0, 9), (0, 0))) for p in points]).astype(np.float32)
    scores = np.zeros(keypoints.shape[:2], np.float32)
    scores[:, :17] = 0.9
    return Poses(keypoints, scores, np.zeros((len(points), 4)), np.ones(len(points)),
                 layout="halpe26")


def test_boxes_found_pairs_one_to_one() -> None:
    rng = np.random.default_rng(0)
    boxes = np.array([[0, 0, 100, 200], [300, 0, 400, 200]], np.float32)
    a = rng.uniform([10, 10], [90, 190], (17, 2))
    # one pose inside the first box only: one box found, never two
    assert boxes_found(boxes, _poses([a])) == 1
    assert boxes_found(boxes, _poses([a, a + [300, 0]])) == 2
    # a pose half outside (more than the 20% margin) does not count
    assert boxes_found(boxes[:1], _poses([a + [150, 0]])) == 0
    assert boxes_found(boxes, Poses.empty(26, "halpe26")) == 0


def _body(points17: np.ndarray, visible: float = 0.9) -> BodyResult:
    """A body with these COCO-17 points, upright (its axis from the points' centre up)."""
    from alphapose.estimators.blaze import AUX_CENTER, AUX_SCALE, BLAZE_TO_COCO17

    points = np.zeros((39, 2))
    points[BLAZE_TO_COCO17] = points17
    points[AUX_CENTER] = points17.mean(0)
    points[AUX_SCALE] = points17.mean(0) - [0, 100]
    visibility = np.zeros(39)
    visibility[BLAZE_TO_COCO17] = visible
    return BodyResult(points, visibility, visibility, 0.9, RotatedRect(0, 0, 1, 1, 0))


def test_box_agreement_tells_a_person_from_the_one_in_front() -> None:
    from alphapose.estimators.blaze import box_agreement

    rng = np.random.default_rng(1)
    behind = np.array([100, 0, 200, 300], np.float32)
    own = rng.uniform([110, 20], [190, 280], (17, 2))
    front = rng.uniform([40, 20], [140, 280], (17, 2))  # overlaps the box, most points inside
    assert box_agreement(_body(own), behind) > 0.6
    assert box_agreement(_body(front), behind) < 0.5
    assert box_agreement(_body(own, visible=0.1), behind) == 0.0


def test_masked_outside_keeps_the_box_and_greys_the_crop() -> None:
    from alphapose.estimators.blaze import masked_outside

    image = np.full((100, 200, 3), 7, np.uint8)
    out = masked_outside(image, np.array([50, 20, 70, 80]), RotatedRect(60, 50, 80, 80, 0.0))
    assert out.shape == image.shape
    assert np.all(out[20:81, 48:73] == 7)  # the box plus 10% of its size
    assert np.all(out[50, 0:45] == 114) and np.all(out[50, 120] == 114)  # crop around: grey
    assert np.all(out[50, 199] == 0)  # outside the crop: not copied


@pytest.mark.parametrize(("placed", "pose_score", "shift", "given", "detected"), [
    (True, 0.52, 0.0, True, True),      # placed by alignment points: the box plays no part
    (False, 0.52, 0.0, True, False),    # a detector's box needs pose probability 0.55
    (False, 0.70, 0.0, True, True),
    (False, 0.70, 400.0, True, False),  # body far from its box: not the box's person
    (False, 0.45, 0.0, False, False),   # below min_pose_score for every box
], ids=["placed", "weak-box-body", "box-body", "body-off-its-box", "improbable"])
def test_probable_is_stricter_for_a_detectors_boxes(placed: bool, pose_score: float,
                                                    shift: float, given: bool,
                                                    detected: bool) -> None:
    from dataclasses import replace

    from alphapose.estimators.blaze import BlazeWholeBodyConfig, Person, probable

    rng = np.random.default_rng(2)
    body = replace(_body(rng.uniform([110, 20], [190, 280], (17, 2)) + [shift, 0]),
                   pose_score=pose_score)
    person = Person(np.array([100, 0, 200, 300], np.float32), 0.9, placed, body)
    config = BlazeWholeBodyConfig()
    assert probable(person, config) is given
    assert probable(person, config.for_detector_boxes()) is detected


@pytest.mark.models
def test_a_wide_box_over_a_street_bench_is_not_kept_as_a_person(shared_data,
                                                               embedded_models) -> None:
    # #10 item 4 on a real frame: a flat wide box (as a detector's false positive would be) over
    # the bench of MOT17-02 frame 1, holding only seated people's lower legs; the box path
    # dresses it as a person with a confident pose, wider than long along its own axis
    from dataclasses import replace

    import cv2

    from alphapose.estimators.blaze import BlazeWholeBody, Person, body_aspect, probable
    from alphapose.modes import estimator_config

    image = cv2.imread(str(shared_data / MOT17_02 / "img1" / "000001.jpg"))
    config = replace(estimator_config("balanced"), hands=False, face=False).for_detector_boxes()
    box = np.array([905, 535, 1102, 610], np.float32)
    body = BlazeWholeBody(config).estimate_from_box(image, box)
    person = Person(box, 0.6, False, body)
    assert body.pose_score >= config.box_min_pose_score  # the pose alone would keep it
    assert body_aspect(body) < config.min_body_aspect
    assert probable(person, replace(config, min_body_aspect=0.0))
    assert not probable(person, config)


@pytest.mark.models
def test_box_retry_without_the_unmasked_pass_keeps_one_of_the_other_candidates(
        shared_data, embedded_models) -> None:
    # lightweight's box path (box_retry_unmasked=False): where the masked retry runs, it makes
    # one pass fewer, and the body kept is one that the full retry also weighed (the first
    # estimate or the masked one), the one agreeing best with the box
    from dataclasses import replace

    from alphapose.estimators.blaze import BlazeWholeBody, box_agreement, masked_outside
    from alphapose.modes import estimator_config

    image = cv2.imread(str(shared_data / MOT17_02 / "img1" / "000001.jpg"))
    config = replace(estimator_config("lightweight"), hands=False, face=False)
    assert config.box_retry_unmasked is False
    short, full = BlazeWholeBody(config), BlazeWholeBody(replace(config, box_retry_unmasked=True))
    checked = 0
    for box in mot17_people(shared_data, 1)[:12]:
        before = (short.body.model.invocations, full.body.model.invocations)
        kept, reference = short.estimate_from_box(image, box), full.estimate_from_box(image, box)
        made = (short.body.model.invocations - before[0], full.body.model.invocations - before[1])
        if made[1] == config.passes + 1:  # the first estimate agreed: no retry in either
            assert made[0] == made[1]
            np.testing.assert_array_equal(kept.points, reference.points)
            continue
        checked += 1
        assert made == (made[1] - 1, config.passes + 1 + config.passes + 1)
        # the candidates the full retry weighs besides its unmasked pass
        upright = short.initial_rect(box, None)
        first = short.estimate_body(image, upright, passes=config.passes + 1)
        masked = short.estimate_body(masked_outside(image, box, upright), upright,
                                     passes=config.passes)
        best = max((first, masked), key=lambda c: (box_agreement(c, box), c.pose_score))
        np.testing.assert_array_equal(kept.points, best.points)
        assert box_agreement(first, box) < config.box_min_agreement  # why the retry ran
    assert checked >= 2  # the crowd's boxes do run the retry


def test_body_aspect_follows_the_body_axis() -> None:
    from alphapose.estimators.blaze import AUX_CENTER, AUX_SCALE, body_aspect

    rng = np.random.default_rng(3)
    tall = rng.uniform([0, 0], [40, 160], (17, 2))  # 40 wide, 160 tall
    upright = _body(tall)
    upright.points[AUX_CENTER], upright.points[AUX_SCALE] = (20, 100), (20, 0)
    assert 3.0 < body_aspect(upright) < 4.5
    # the same person lying down (axis horizontal) is still long along its axis
    lying = _body(tall[:, ::-1].copy())
    lying.points[AUX_CENTER], lying.points[AUX_SCALE] = (100, 20), (0, 20)
    assert body_aspect(lying) == pytest.approx(body_aspect(upright))
    # an upright "body" wider than tall is not a person's shape
    wide = _body(tall[:, ::-1].copy())
    wide.points[AUX_CENTER], wide.points[AUX_SCALE] = (100, 40), (100, 0)
    assert body_aspect(wide) < 0.4
    assert body_aspect(_body(tall, visible=0.1)) == 0.0


@pytest.mark.parametrize(("shift", "expected"), [(5.0, True), (40.0, False)],
                         ids=["same-head", "own-head"])
def test_head_on_compares_head_and_shoulders_to_the_box_size(shift: float,
                                                            expected: bool) -> None:
    from alphapose.estimators.chimera import head_on

    rng = np.random.default_rng(0)
    other = rng.uniform(100, 300, (17, 2))
    body = other.copy()
    body[:7] += shift  # head and shoulders
    body[7:] += 150.0  # the rest elsewhere: only the head counts
    box = np.array([100, 100, 300, 300], np.float32)  # long side 200: limit 24 px
    assert head_on(_body(body), _body(other), box) is expected


@pytest.mark.models
def test_skier_behind_a_box_path_skier_keeps_their_own_body(shared_data, embedded_models,
                                                            nanodet_model) -> None:
    # 000000197388.jpg: NanoDet's box of the front (blue) skier first gives a body with the
    # rear (red) skier's head and shoulders, and pose NMS then removed the red skier as its
    # duplicate (both OKS 0.58 / missing). The chimera re-estimate gives each their own body.
    from dataclasses import replace

    from test_conflicts import _skier_oks

    from alphapose.estimators.blaze import BlazeWholeBody
    from alphapose.modes import estimator_config
    from alphapose.pipeline import Pipeline, RunOptions

    image = cv2.imread(str(shared_data / "mmpose" / "coco" / "000000197388.jpg"))
    # the chimera step with BlazePose-heavy on the refining pass (with full x 2 the two skiers'
    # best poses are still one)
    config = replace(estimator_config("balanced"), body_models=("full", "heavy"))
    pipeline = Pipeline(estimator=BlazeWholeBody(config.for_detector_boxes()),
                        run=RunOptions(sp=True))
    best = _skier_oks(pipeline.predict(image), shared_data)
    assert best["blue"][0] != best["red"][0]
    assert best["blue"][1] > 0.75  # 0.84 measured
    assert best["red"][1] > 0.45  # 0.56 measured


@pytest.mark.models
def test_two_given_boxes_on_one_head_settle_who_owns_it(shared_data, embedded_models) -> None:
    # The same skiers from their ground-truth boxes (both take the box path): the front skier's
    # first body has the rear skier's head; its re-estimate finds its own, while the rear
    # skier's body keeps the head and, still shared with a first estimate, half its box score.
    from dataclasses import replace

    from alphapose.estimators.blaze import BLAZE_TO_COCO17, BlazeWholeBody
    from alphapose.modes import estimator_config

    image = cv2.imread(str(shared_data / "mmpose" / "coco" / "000000197388.jpg"))
    xyxy = np.array([[139, 102, 361, 344], [287, 62, 362, 228]], np.float32)  # blue, red
    config = replace(estimator_config("balanced"), body_models=("full", "heavy"))
    people = BlazeWholeBody(config).find_people(
        image, Detections(xyxy, np.ones(2, np.float32))).result()
    assert len(people) == 2
    blue, red = sorted(people, key=lambda p: p.box[0])
    noses = [p.body.points[BLAZE_TO_COCO17][0] for p in (blue, red)]
    assert np.linalg.norm(noses[0] - noses[1]) > 40
    assert blue.box_score == 1.0
    assert red.box_score == 0.5


@pytest.mark.models
def test_same_people_tells_the_people_of_a_crowd_apart(shared_data, embedded_models) -> None:
    # the detection schedule's comparison on real people: the MOT17-02 pedestrians of frame 1
    # and of frame 2 (the same people, a frame later) are the same people; one person fewer,
    # or one person exchanged for another, is not
    from dataclasses import replace

    from alphapose.estimators.blaze import BlazeWholeBody, TrackedPeople
    from alphapose.modes import estimator_config

    config = replace(estimator_config("balanced"), hands=False, face=False)
    estimator = BlazeWholeBody(config)
    found = []
    for frame in (1, 2):
        image = cv2.imread(str(shared_data / MOT17_02 / "img1" / f"{frame:06d}.jpg"))
        boxes = mot17_people(shared_data, frame)[:8]
        found.append(estimator.find_people(image, Detections(boxes, np.ones(len(boxes)))).result())
    first, second = found
    assert len(first) == len(second) >= 6
    same = BlazeWholeBody.same_people
    assert same(TrackedPeople.of(first), TrackedPeople.of(second))
    assert same(TrackedPeople.of(second), TrackedPeople.of(first))
    assert not same(TrackedPeople.of(first), TrackedPeople.of(second[:-1]))
    # the last person stands in for the first: as many people, but one nobody followed
    swapped = [second[-1], *second[1:]]
    assert not same(TrackedPeople.of(first), TrackedPeople.of(swapped))
