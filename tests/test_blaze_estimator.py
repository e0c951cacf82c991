"""The embedded whole-body estimator's own arithmetic: decoding and the 33 -> Halpe mapping."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from alphapose.detection.from_file import FileDetector
from alphapose.estimators.blaze import BLAZE_TO_COCO17, body33_to_halpe26, body_box
from alphapose.estimators.blaze_body import (
    integral_decode,
    refine_with_heatmap,
    roi_from_alignment_points,
)


def gaussian_logits(size: int, x: float, y: float, sigma: float) -> np.ndarray:
    """Heatmap logits whose sigmoid is a Gaussian bump of peak 0.99 at (x, y) (cell units)."""
    yy, xx = np.mgrid[0:size, 0:size]
    prob = 0.99 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2)) + 1e-9
    return np.log(prob / (1 - prob))


def test_local_refinement_recovers_a_sub_pixel_peak() -> None:
    heat = gaussian_logits(64, 20.3, 41.7, 1.5)[..., None]
    start = np.array([[20.0 / 64, 42.0 / 64]])  # regression lands in the right cell
    refined = refine_with_heatmap(start, heat) * 64
    np.testing.assert_allclose(refined[0], [20.3, 41.7], atol=0.05)


def test_refinement_leaves_points_without_confident_heat() -> None:
    heat = np.full((64, 64, 1), -6.0)  # sigmoid ~ 0.0025 < 0.5 everywhere
    start = np.array([[0.3, 0.6]])
    np.testing.assert_array_equal(refine_with_heatmap(start, heat), start)


def _refine_one_by_one(points: np.ndarray, logits: np.ndarray, kernel: int,
                       min_confidence: float = 0.5) -> np.ndarray:
    """The rule of refine_with_heatmap written out per point, cell by cell."""
    size = logits.shape[0]
    half = (kernel - 1) // 2
    out = points.astype(np.float64).copy()
    for k, (x, y) in enumerate(points):
        c, r = int(np.floor(x * size)), int(np.floor(y * size))
        if not (0 <= c < size and 0 <= r < size):
            continue
        cells = [(i, j) for i in range(r - half, r + half + 1)
                 for j in range(c - half, c + half + 1) if 0 <= i < size and 0 <= j < size]
        probs = [1.0 / (1.0 + math.exp(-float(logits[i, j, k]))) for i, j in cells]
        if max(probs) < min_confidence:
            continue
        total = sum(probs)
        out[k, 0] = sum(p * j for p, (_, j) in zip(probs, cells)) / total / size
        out[k, 1] = sum(p * i for p, (i, _) in zip(probs, cells)) / total / size
    return out


@pytest.mark.parametrize("kernel", [7, 5, 3, 1])
def test_refinement_of_many_points_matches_the_rule_point_by_point(kernel: int) -> None:
    rng = np.random.default_rng(kernel)
    logits = rng.normal(-1.0, 3.0, (64, 64, 39)).astype(np.float32)
    # points in the middle, near every edge (windows cut by the map) and off the map
    points = rng.uniform(0.0, 1.0, (39, 2))
    points[:8] = [[0.001, 0.5], [0.999, 0.5], [0.5, 0.001], [0.5, 0.999], [0.02, 0.98],
                  [-0.01, 0.5], [0.5, 1.0], [1.2, -0.3]]
    points = points.astype(np.float32)
    expected = _refine_one_by_one(points, logits, kernel)
    refined = refine_with_heatmap(points, logits, kernel=kernel)
    assert refined.dtype == np.float64 and refined.shape == (39, 2)
    np.testing.assert_allclose(refined, expected, rtol=0, atol=1e-12)
    assert (refined != points).any(axis=1).sum() > 10  # most windows were refined
    np.testing.assert_array_equal(refined[5:8], points[5:8])  # off the map: kept


def test_integral_decode_two_step_normalisation() -> None:
    heat = np.stack([gaussian_logits(64, 10.25, 50.5, 2.0),
                     gaussian_logits(64, 33.0, 12.75, 2.0)], -1)
    points, confidence = integral_decode(heat)
    np.testing.assert_allclose(points * 64, [[10.25, 50.5], [33.0, 12.75]], atol=0.05)
    # confidence = the largest sigmoid on the grid: the cell nearest to each peak
    nearest = 0.99 * np.exp(-np.array([0.25 ** 2 + 0.5 ** 2, 0.25 ** 2]) / (2 * 2.0 ** 2))
    np.testing.assert_allclose(confidence, nearest, atol=1e-6)


def test_alignment_roi_is_upright_for_a_standing_person() -> None:
    rect = roi_from_alignment_points(np.array([100.0, 200.0]), np.array([100.0, 120.0]))
    assert rect.rotation == pytest.approx(0.0)
    assert rect.width == pytest.approx(2 * 80 * 1.25) and (rect.cx, rect.cy) == (100, 200)
    lying = roi_from_alignment_points(np.array([100.0, 200.0]), np.array([180.0, 200.0]))
    assert lying.rotation == pytest.approx(np.pi / 2)  # head to the right: crop turned


def test_body33_to_halpe26_mapping() -> None:
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 500, (39, 2)).astype(np.float32)
    scores = rng.uniform(0.2, 1, 39).astype(np.float32)
    out, out_scores = body33_to_halpe26(points, scores)
    np.testing.assert_array_equal(out[:17], points[BLAZE_TO_COCO17])
    eyes, mouth = (points[2] + points[5]) / 2, (points[9] + points[10]) / 2
    np.testing.assert_allclose(out[17], eyes + 2 * (eyes - mouth), rtol=1e-5)
    np.testing.assert_allclose(out[18], (points[11] + points[12]) / 2, rtol=1e-6)
    np.testing.assert_allclose(out[19], (points[23] + points[24]) / 2, rtol=1e-6)
    assert out_scores[18] == pytest.approx(min(scores[11], scores[12]))
    np.testing.assert_array_equal(out[[20, 21, 24, 25]], points[[31, 32, 29, 30]])
    # small toes: 80% along heel -> toe, on the outer side of each foot
    for small, heel, toe, other_hip, hip in ((22, 29, 31, 24, 23), (23, 30, 32, 23, 24)):
        along = points[toe] - points[heel]
        offset = out[small] - (points[heel] + 0.8 * along)
        assert np.linalg.norm(offset) == pytest.approx(0.3 * np.linalg.norm(along), rel=1e-4)
        assert abs(np.dot(offset, along)) < 1e-2 * np.dot(along, along)
        assert np.dot(offset, points[hip] - points[other_hip]) > 0


def test_body_box_bounds_confident_points_and_clips() -> None:
    points = np.array([[10, 20], [110, 220], [-50, 5]], np.float32)
    scores = np.array([0.9, 0.8, 0.1], np.float32)
    box = body_box(points, scores, (200, 300, 3), margin=0.1)
    np.testing.assert_allclose(box, [0, 0, 120, 199.5])


def test_file_detector_reads_results_and_annotations(tmp_path) -> None:
    results = [{"image_id": 785, "bbox": [10, 20, 30, 40], "score": 0.8, "category_id": 1},
               {"image_id": 785, "bbox": [0, 0, 5, 5], "score": 0.9, "category_id": 2},
               {"image_id": "a.jpg", "bbox": [1, 2, 3, 4], "score": 0.5}]
    path = tmp_path / "det.json"
    path.write_text(json.dumps(results))
    detector = FileDetector(path)
    found = detector.lookup("000000000785.jpg")
    np.testing.assert_allclose(found.xyxy, [[10, 20, 40, 60]])
    np.testing.assert_allclose(found.scores, [0.8])
    np.testing.assert_allclose(detector.lookup("a.jpg").xyxy, [[1, 2, 4, 6]])
    assert len(detector.lookup("nothing.jpg")) == 0
    coco = {"images": [{"id": 7, "file_name": "x.jpg"}],
            "annotations": [{"image_id": 7, "bbox": [0, 0, 10, 10], "category_id": 1}]}
    path.write_text(json.dumps(coco))
    np.testing.assert_allclose(FileDetector(path).lookup("x.jpg").scores, [1.0])


@pytest.mark.parametrize("content,message", [("{", "not valid JSON"), ('"x"', "expected a list"),
                                             ('[{"bbox": [1, 2]}]', "entry 1")],
                         ids=["bad-json", "wrong-type", "bad-entry"])
def test_file_detector_errors_name_the_file(tmp_path, content, message) -> None:
    path = tmp_path / "det.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        FileDetector(path)
    with pytest.raises(ValueError, match="no such file"):
        FileDetector(tmp_path / "missing.json")


@pytest.mark.models
def test_recrop_mode_seeds_hands_with_the_wider_holistic_crop(embedded_models) -> None:
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
    from alphapose.estimators.blaze_body import BodyResult
    from alphapose.transforms import RotatedRect

    points = np.zeros((39, 2), np.float32)
    points[:, 0], points[:, 1] = np.linspace(100, 300, 39), 200.0
    # left hand: wrist at (100, 100), knuckles 30 px further up; right hand mirrored
    points[15], points[19], points[17] = (100, 100), (95, 70), (110, 72)
    points[16], points[20], points[18] = (300, 100), (305, 70), (290, 72)
    body = BodyResult(points, np.ones(39, np.float32), np.ones(39, np.float32), 0.9,
                      RotatedRect(200, 200, 300, 300, 0.0))
    sides = {}
    for mode in ("landmarks", "recrop"):
        estimator = BlazeWholeBody(BlazeWholeBodyConfig(num_threads=1, refine_hands=mode,
                                                        face=False))
        crops = estimator.part_crops(body)
        assert [kind for _, kind, _ in crops] == ["hand", "hand"]
        sides[mode] = [rect.width for _, _, rect in crops]
    # the same hands, crop side scaled by 2.7 (MediaPipe holistic) instead of 2.0
    np.testing.assert_allclose(np.divide(sides["recrop"], sides["landmarks"]), 2.7 / 2.0,
                               rtol=1e-5)


@pytest.mark.models
def test_hand_crops_shorter_than_a_forearm_get_a_forearm_long_candidate(
        embedded_models) -> None:
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
    from alphapose.estimators.blaze_body import BodyResult
    from alphapose.transforms import RotatedRect

    points = np.zeros((39, 2), np.float32)
    points[:, 0], points[:, 1] = np.linspace(100, 300, 39), 200.0
    # left: elbow 100 px below the wrist, knuckles collapsed 8 px from it (a 32 px crop);
    # right: knuckles 30 px from the wrist (a 120 px crop), elbow 100 px below
    points[13], points[15], points[19], points[17] = (100, 200), (100, 100), (98, 92), (103, 92)
    points[14], points[16], points[20], points[18] = (300, 200), (300, 100), (305, 70), (290, 70)
    body = BodyResult(points, np.ones(39, np.float32), np.ones(39, np.float32), 0.9,
                      RotatedRect(200, 200, 300, 300, 0.0))
    crops = {}
    for floor in (0.0, 1.0):
        estimator = BlazeWholeBody(BlazeWholeBodyConfig(num_threads=1, face=False,
                                                        hand_crop_forearm=floor))
        crops[floor] = [rect for _, _, rect in estimator.part_crops(body)]
    sides = [rect.width for rect in crops[0.0]]
    assert sides[0] < 40 and sides[1] > 100
    assert [getattr(rect, "larger", None) for rect in crops[0.0]] == [None, None]
    # the collapsed hand also gets a forearm-long candidate crop; the other hand none
    left, right = crops[1.0]
    assert (left.width, right.width) == pytest.approx(sides)
    assert left.larger.width == pytest.approx(100.0)
    assert getattr(right, "larger", None) is None


def test_tracked_people_of_a_future_wait_for_it_and_fail_to_nobody() -> None:
    from concurrent.futures import Future

    from alphapose.estimators.blaze import Person, TrackedPeople
    from alphapose.estimators.blaze_body import BodyResult
    from alphapose.transforms import RotatedRect

    points = np.arange(78, dtype=np.float32).reshape(39, 2)
    body = BodyResult(points, np.ones(39, np.float32), np.ones(39, np.float32), 0.9,
                      RotatedRect(0, 0, 1, 1, 0.0))
    person = Person(np.array([1, 2, 3, 4], np.float32), 0.7, True, body)
    pending: Future = Future()
    later = TrackedPeople.later(pending)
    pending.set_result([person, person])
    assert len(later) == 2
    np.testing.assert_array_equal(later.roi_points[0], points[[33, 34]])
    np.testing.assert_array_equal(later.xyxy[1], [1, 2, 3, 4])
    np.testing.assert_allclose(later.box_scores, [0.7, 0.7])
    failed: Future = Future()
    failed.set_exception(RuntimeError("frame failed"))
    nobody = TrackedPeople.later(failed)  # the next frame then runs the detector
    assert len(nobody) == 0 and nobody.roi_points.shape == (0, 2, 2)
