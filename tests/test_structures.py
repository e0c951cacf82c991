"""Typed containers: validation, indexing, person score."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.structures import Detections, Frame, Poses, official_person_scores


def make_poses(n: int = 3, k: int = 5) -> Poses:
    rng = np.random.default_rng(0)
    return Poses(rng.uniform(0, 100, (n, k, 2)), rng.uniform(0, 1, (n, k)),
                 rng.uniform(0, 100, (n, 4)), rng.uniform(0, 1, n), layout="x")


def test_person_score_is_the_official_formula() -> None:
    poses = make_poses()
    kp = poses.keypoint_scores
    expected = kp.mean(1) + poses.box_scores + 1.25 * kp.max(1)
    np.testing.assert_allclose(poses.scores, expected, rtol=1e-6)
    np.testing.assert_allclose(official_person_scores(kp, poses.box_scores), expected, rtol=1e-6)


@pytest.mark.parametrize("index", [1, slice(0, 2), np.array([True, False, True]), [2, 0]],
                         ids=["int", "slice", "mask", "list"])
def test_indexing_returns_same_type(index) -> None:
    poses = make_poses()
    picked = poses[index]
    assert isinstance(picked, Poses)
    expected = np.arange(3)[index]
    expected = np.atleast_1d(expected)
    np.testing.assert_array_equal(picked.keypoints, poses.keypoints[expected])
    np.testing.assert_array_equal(picked.track_ids, poses.track_ids[expected])
    assert picked.layout == "x"


def test_shape_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"Poses.keypoint_scores: expected shape \(2, 4\)"):
        Poses(np.zeros((2, 4, 2)), np.zeros((2, 3)), np.zeros((2, 4)), np.zeros(2))
    with pytest.raises(ValueError, match=r"Detections.xyxy: expected shape \(N, 4\)"):
        Detections(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(TypeError, match="uint8"):
        Frame(np.zeros((4, 4, 3), np.float32), 0, "a")
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        Frame(np.zeros((4, 4), np.uint8), 0, "a")


def test_empty_and_concat() -> None:
    empty = Poses.empty(5, "x")
    assert len(empty) == 0 and empty.keypoints.shape == (0, 5, 2)
    both = make_poses(2).concat(make_poses(3))
    assert len(both) == 5
    with pytest.raises(ValueError, match="layout"):
        make_poses().concat(Poses.empty(5, "y"))
    assert len(Detections.empty()) == 0


def test_detection_area() -> None:
    det = Detections(np.array([[0, 0, 10, 5], [3, 3, 1, 1]]), np.array([0.9, 0.1]))
    np.testing.assert_allclose(det.area, [50, 0])
