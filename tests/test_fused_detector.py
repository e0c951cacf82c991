"""FusedDetector: BlazePose detections plus the boxes none of them accounts for."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.detection.fused import FusedDetector, match_boxes
from alphapose.structures import Detections


def blaze_person(hip: tuple[float, float], radius: float, score: float = 0.9) -> Detections:
    """One BlazePose-style detection of an upright person: hip centre, body-circle point above
    it, shoulder centre half-way up, upper-body circle point."""
    x, y = hip
    keypoints = np.array([[[x, y], [x, y - radius], [x, y - radius / 2], [x, y - radius]]])
    head = np.array([[x - radius / 4, y - radius, x + radius / 4, y - radius / 2]])
    return Detections(head, np.array([score]), keypoints)


def concat(*parts: Detections) -> Detections:
    return Detections(np.concatenate([p.xyxy for p in parts]),
                      np.concatenate([p.scores for p in parts]),
                      np.concatenate([p.keypoints for p in parts]))


def test_a_box_around_a_blaze_person_is_covered() -> None:
    found = blaze_person((100, 200), 100)  # a person about 200 px tall
    boxes = np.array([[60, 100, 140, 300],     # that person's box
                      [400, 100, 480, 300],    # someone else
                      [90, 190, 110, 210],     # far too small for that body circle
                      [0, 0, 1000, 1000]])     # far too large
    assert match_boxes(found, boxes).tolist() == [0, -1, -1, -1]


def test_one_detection_covers_one_box_the_nearest() -> None:
    found = blaze_person((100, 200), 100)
    boxes = np.array([[40, 90, 150, 310], [60, 100, 140, 300]])  # both fit; the second is centred
    assert match_boxes(found, boxes).tolist() == [-1, 0]


@pytest.mark.parametrize("blaze_count", [0, 1, 2])
def test_fused_detections_keep_blaze_first_and_add_the_rest_without_keypoints(
        blaze_count: int) -> None:
    people = [blaze_person((100, 200), 100), blaze_person((300, 200), 100, 0.8)]
    blaze = concat(*people[:blaze_count]) if blaze_count else Detections(
        np.zeros((0, 4)), np.zeros(0), np.zeros((0, 4, 2)))
    boxes = Detections(np.array([[60, 100, 140, 300], [260, 100, 340, 300],
                                 [500, 100, 580, 300]]), np.array([0.7, 0.6, 0.5]))
    fused = FusedDetector(lambda image: blaze, lambda image: boxes)(np.zeros((8, 8, 3),
                                                                            np.uint8))
    assert len(fused) == blaze_count + (3 - blaze_count)
    np.testing.assert_array_equal(fused.xyxy[:blaze_count], blaze.xyxy)
    np.testing.assert_array_equal(fused.xyxy[blaze_count:], boxes.xyxy[blaze_count:])
    assert np.isfinite(fused.keypoints[:blaze_count]).all()
    assert np.isnan(fused.keypoints[blaze_count:]).all()
    np.testing.assert_allclose(fused.scores[blaze_count:], boxes.scores[blaze_count:])


@pytest.mark.parametrize("box_scores", [False, True], ids=["blaze-scores", "box-scores"])
def test_given_boxes_read_by_name_are_placed_by_blaze(tmp_path, box_scores: bool) -> None:
    # `alphapose run --detfile` with the embedded estimator: the file says who is there (read by
    # the frame's name), BlazePose places whom it finds; the user's scores can stay theirs
    import json

    from alphapose.detection.from_file import FileDetector
    from alphapose.stages import describe_detector

    path = tmp_path / "boxes.json"
    path.write_text(json.dumps([
        {"image_id": "a.jpg", "bbox": [60, 100, 80, 200], "score": 1.0},
        {"image_id": "a.jpg", "bbox": [500, 100, 80, 200], "score": 1.0},
        {"image_id": "b.jpg", "bbox": [0, 0, 10, 10], "score": 1.0}]))
    blaze = concat(blaze_person((100, 200), 100, 0.8), blaze_person((300, 200), 100, 0.7))
    fused = FusedDetector(lambda image: blaze, FileDetector(path), box_scores=box_scores)
    assert describe_detector(fused).by_name
    found = fused(np.zeros((8, 8, 3), np.uint8), name="a.jpg")
    # the first box placed by the first BlazePose person; the second from its box; the
    # BlazePose person with no box is nobody's
    assert len(found) == 2
    np.testing.assert_array_equal(found.xyxy[0], blaze.xyxy[0])
    assert np.isfinite(found.keypoints[0]).all() and np.isnan(found.keypoints[1]).all()
    np.testing.assert_allclose(found.scores, [1.0 if box_scores else 0.8, 1.0])
    assert len(fused(np.zeros((8, 8, 3), np.uint8), name="b.jpg")) == 1


def test_fused_detect_takes_a_list() -> None:
    empty = Detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 4, 2)))
    detector = FusedDetector(lambda image: empty, lambda image: Detections.empty())
    assert [len(d) for d in detector.detect([np.zeros((4, 4, 3), np.uint8)] * 2)] == [0, 0]
    with pytest.raises(TypeError, match="list of images"):
        detector.detect(np.zeros((4, 4, 3), np.uint8))


@pytest.mark.models
def test_fused_finds_the_street_people_blaze_misses(shared_data, embedded_models,
                                                    nanodet_model, tmp_path) -> None:
    # MOT17-02 frame 1: pedestrians seen from behind and small; the BlazePose detector, which
    # finds people by their faces, misses most of them.
    import json

    from alphapose.cli import main
    from alphapose.evaluate.crowd import boxes_found
    from alphapose.structures import Poses

    frame = shared_data / "boxmot/MOT17-mini/train/MOT17-02-FRCNN/img1/000001.jpg"
    gt = np.loadtxt(shared_data / "boxmot/MOT17-mini/train/MOT17-02-FRCNN/gt/gt.txt",
                    delimiter=",")
    rows = gt[(gt[:, 0] == 1) & (gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= 0.5)]
    boxes = np.c_[rows[:, 2:4] - 1, rows[:, 2:4] - 1 + rows[:, 4:6]]
    found = {}
    for mode in ("blaze", "fused"):
        out = tmp_path / mode
        assert main(["run", str(frame), "-o", str(out), "--detector", mode, "--no-hands",
                     "--no-face", "--quiet"]) == 0
        results = json.loads((out / "alphapose-results.json").read_text())
        keypoints = np.array([r["keypoints"] for r in results]).reshape(len(results), -1, 3)
        poses = Poses(keypoints[..., :2], keypoints[..., 2], np.zeros((len(results), 4)),
                      np.ones(len(results)), layout="halpe136")
        found[mode] = boxes_found(boxes, poses)
    assert found["fused"] >= found["blaze"] + 3
    assert found["fused"] >= 6


def test_blaze_detections_without_a_box_are_dropped_unless_asked() -> None:
    # the box detector decides who is there; BlazePose only places the people it shares
    blaze = concat(blaze_person((100, 200), 100), blaze_person((700, 200), 100, 0.8))
    boxes = Detections(np.array([[60, 100, 140, 300]]), np.array([0.7]))
    image = np.zeros((8, 8, 3), np.uint8)
    fused = FusedDetector(lambda image: blaze, lambda image: boxes)(image)
    np.testing.assert_array_equal(fused.keypoints, blaze.keypoints[:1])
    both = FusedDetector(lambda image: blaze, lambda image: boxes, keep_blaze_only=True)(image)
    np.testing.assert_array_equal(both.keypoints, blaze.keypoints)


@pytest.mark.models
def test_dark_street_people_are_found_with_the_low_light_gain(shared_data, embedded_models,
                                                             nanodet_model) -> None:
    # MOT17-02 frame 1 darkened by gamma 2.5 (mean luminance 19 of 255): measured 6 of the 11
    # pedestrians found without the gain, 10 with it
    import cv2

    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
    from alphapose.evaluate.crowd import boxes_found
    from alphapose.pipeline import Pipeline, RunOptions

    root = shared_data / "boxmot/MOT17-mini/train/MOT17-02-FRCNN"
    gt = np.loadtxt(root / "gt/gt.txt", delimiter=",")
    rows = gt[(gt[:, 0] == 1) & (gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= 0.5)]
    boxes = np.c_[rows[:, 2:4] - 1, rows[:, 2:4] - 1 + rows[:, 4:6]]
    image = cv2.imread(str(root / "img1/000001.jpg"))
    dark = cv2.LUT(image, (255 * (np.arange(256) / 255) ** 2.5).round().astype(np.uint8))
    estimator = BlazeWholeBody(BlazeWholeBodyConfig(hands=False, face=False).for_detector_boxes())
    found = {low_light: boxes_found(boxes, Pipeline(None, estimator,
                                                    low_light=low_light,
                                                    run=RunOptions(sp=True)).predict(dark))
             for low_light in (False, True)}
    assert found[True] >= found[False] + 3
    assert found[True] >= 9
