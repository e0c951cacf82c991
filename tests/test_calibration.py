"""Keypoint-score calibration (alphapose.calibration) and the calibrated hand scores of the
embedded default, on the shared COCO-WholeBody images."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from alphapose.calibration import (
    ScoreCalibration,
    expected_calibration_error,
    fit_isotonic,
    reliability,
)
from alphapose.estimators.face_hand import (
    HAND_SCORE_CURVE,
    HandLandmarker,
    hand_keypoint_scores,
    hand_rect_from_body,
)


def test_reliability_bins_and_ece() -> None:
    scores = np.array([0.05, 0.15, 0.15, 0.95, 0.95, 0.95, 0.95])
    right = np.array([0, 0, 1, 1, 1, 1, 0])
    mean_score, accuracy, count = reliability(scores, right, bins=10)
    assert count.tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 4]
    assert accuracy[1] == pytest.approx(0.5) and accuracy[9] == pytest.approx(0.75)
    assert np.isnan(mean_score[2])
    # |0 - 0.05| * 1 + |0.5 - 0.15| * 2 + |0.75 - 0.95| * 4, over 7
    assert expected_calibration_error(scores, right) == pytest.approx((0.05 + 0.7 + 0.8) / 7)
    with pytest.raises(ValueError, match="same length"):
        reliability(scores, right[:3])


def test_isotonic_fit_pools_violators() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    right = np.array([0, 1, 0, 1, 1, 1])
    x, y = fit_isotonic(scores, right)
    assert np.all(np.diff(y) >= 0) and np.all(np.diff(x) > 0)
    # 0.2 and 0.3 pool to 0.5; 0.4-0.6 pool to 1
    np.testing.assert_allclose(y, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(x, [0.1, 0.25, 0.5])
    # fitting its own data cannot be worse calibrated than the raw scores
    cal = ScoreCalibration({"hand": (tuple(x), tuple(y))}, floor=0.0, ceiling=1.0)
    assert (expected_calibration_error(cal("hand", scores), right)
            <= expected_calibration_error(scores, right))
    # parts without a curve are unchanged
    np.testing.assert_array_equal(cal("face", scores), scores)


def test_hand_score_curve_is_monotone() -> None:
    x, y = HAND_SCORE_CURVE
    assert len(x) == len(y) and np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= 0)
    presence = np.linspace(0, 1, 50)
    scores = hand_keypoint_scores(presence, 1.0)
    assert np.all(np.diff(scores) >= 0) and scores.min() >= 0.01 and scores.max() <= 0.99
    np.testing.assert_allclose(hand_keypoint_scores(presence, 0.5), scores * 0.5, rtol=1e-6)
    assert not hand_keypoint_scores(presence, 0.0).any()


def _coco_hand(root, image_name: str, annotation_id: int, side: str):
    spec = json.loads((root / "mmpose" / "coco" / "test_coco_wholebody.json").read_text())
    ann = next(a for a in spec["annotations"] if a["id"] == annotation_id)
    kp = np.array(ann[f"{side}hand_kpts"], np.float64).reshape(21, 3)
    image = cv2.imread(str(root / "mmpose" / "coco" / image_name))
    return image, kp[:, :2], ann["area"]


def test_small_real_hand_is_found_but_called_absent(shared_data, embedded_models) -> None:
    """An 18 px COCO hand (image 197388, person 531914, right hand): from a crop seeded by its
    labelled wrist / knuckles the lite model places it well (OKS 0.91 measured) while its
    presence stays under MediaPipe's 0.5 threshold (0.10-0.79 over the settings tried); the
    calibrated score says what the points are worth."""
    from alphapose.skeletons import get_layout

    image, gt, area = _coco_hand(shared_data, "000000197388.jpg", 531914, "right")
    hand = HandLandmarker("lite", num_threads=1)(image, hand_rect_from_body(*gt[[0, 5, 17]]))
    sigmas = get_layout("coco_wholebody133").sigmas[112:133]
    oks = np.exp(-((hand.points - gt) ** 2).sum(1) / (2 * area * (2 * sigmas) ** 2)).mean()
    assert oks > 0.7
    assert hand.presence < 0.95
    calibrated = hand_keypoint_scores(hand.scores, 1.0)
    assert calibrated[0] >= hand.presence and calibrated[0] > 0.5


def test_estimator_calibrated_hand_scores(shared_data, embedded_models) -> None:
    """With ``calibrated_hand_scores`` the estimator's hand points are the same and their scores
    are the calibrated presence times the body's wrist visibility; body and face unchanged."""
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
    from alphapose.structures import Detections

    spec = json.loads((shared_data / "mmpose" / "coco" / "test_coco.json").read_text())
    image = cv2.imread(str(shared_data / "mmpose" / "coco" / "000000000785.jpg"))
    x, y, w, h = next(a["bbox"] for a in spec["annotations"] if a["image_id"] == 785)
    boxes = Detections(np.array([[x, y, x + w, y + h]], np.float32), np.ones(1, np.float32))
    raw = BlazeWholeBody(BlazeWholeBodyConfig(num_threads=1))(image, boxes)
    cal = BlazeWholeBody(BlazeWholeBodyConfig(num_threads=1,
                                              calibrated_hand_scores=True))(image, boxes)
    np.testing.assert_array_equal(raw.keypoints, cal.keypoints)
    np.testing.assert_array_equal(raw.keypoint_scores[:, :94], cal.keypoint_scores[:, :94])
    for hand, wrist in ((slice(94, 115), 9), (slice(115, 136), 10)):  # Halpe-136 slots
        expected = hand_keypoint_scores(raw.keypoint_scores[0, hand],
                                        raw.keypoint_scores[0, wrist])
        np.testing.assert_allclose(cal.keypoint_scores[0, hand], expected, rtol=1e-5)
    # the raw presence of this photo's hands is tiny (right hand OKS 0.72 end to end);
    # calibrated they rise several-fold
    assert raw.keypoint_scores[0, 94:].max() < 0.1
    assert cal.keypoint_scores[0, 94:].max() > 3 * raw.keypoint_scores[0, 94:].max()
