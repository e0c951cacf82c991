"""Tests for alphapose.detection.nms: IoU, hard NMS, soft-NMS and weighted NMS."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphapose.detection.nms import box_iou, nms, soft_nms, weighted_nms

# --------------------------------------------------------------------------------------------
# box_iou
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 2, 2], [1, 0, 3, 2], 2 / 6),      # half-overlap side by side: inter 2, union 6
        ([0, 0, 2, 2], [1, 1, 3, 3], 1 / 7),      # corner overlap: inter 1, union 7
        ([0, 0, 4, 4], [1, 1, 2, 2], 1 / 16),     # containment: inter 1, union 16
        ([0, 0, 2, 2], [0, 0, 2, 2], 1.0),        # identical
        ([0, 0, 2, 2], [2, 0, 4, 2], 0.0),        # touching edges only
        ([0, 0, 2, 2], [5, 5, 6, 6], 0.0),        # disjoint
        ([1, 1, 1, 1], [1, 1, 1, 1], 0.0),        # empty boxes: no division by zero
    ],
    ids=["side", "corner", "contained", "identical", "touching", "disjoint", "degenerate"],
)
def test_box_iou_values(a: list[float], b: list[float], expected: float) -> None:
    iou = box_iou(np.array([a], np.float32), np.array([b], np.float32))
    assert iou.shape == (1, 1)
    assert iou[0, 0] == pytest.approx(expected)


def test_box_iou_pairwise_shape_and_symmetry() -> None:
    a = np.array([[0, 0, 2, 2], [1, 1, 3, 3]], np.float32)
    b = np.array([[0, 0, 2, 2], [1, 0, 3, 2], [10, 10, 12, 12]], np.float32)
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    np.testing.assert_allclose(iou, box_iou(b, a).T)
    # [1,1,3,3] vs [1,0,3,2]: intersection [1,1,3,2] = 2, union 4 + 4 - 2 = 6.
    assert iou[1, 1] == pytest.approx(2 / 6)


def test_box_iou_empty_inputs() -> None:
    assert box_iou(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert box_iou(np.zeros((2, 4)), np.zeros((0, 4))).shape == (2, 0)


@pytest.mark.parametrize(("a", "b", "name"), [(np.zeros((2, 3)), np.zeros((1, 4)), "a"),
                                              (np.zeros((2, 4)), np.zeros(4), "b")],
                         ids=["a-bad", "b-bad"])
def test_box_iou_bad_shape(a: np.ndarray, b: np.ndarray, name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}: expected shape \(N, 4\)"):
        box_iou(a, b)


# --------------------------------------------------------------------------------------------
# nms
# --------------------------------------------------------------------------------------------


def test_nms_suppresses_overlap_and_orders_by_score() -> None:
    boxes = np.array([[20, 20, 30, 30],   # 0: alone, score 0.7
                      [1, 0, 11, 10],     # 1: IoU 90/110 with box 2, lower score
                      [0, 0, 10, 10]],    # 2: best
                     np.float32)
    keep = nms(boxes, np.array([0.7, 0.8, 0.9]), iou_threshold=0.5)
    assert keep.dtype == np.int64
    assert keep.tolist() == [2, 0]


def test_nms_keeps_box_overlapping_only_a_suppressed_box() -> None:
    # A-B and B-C overlap with IoU 1/3 each, A-C not at all: B goes, so C survives.
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [10, 0, 20, 10]], np.float32)
    assert box_iou(boxes[:1], boxes[1:2])[0, 0] == pytest.approx(1 / 3)
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), 0.3).tolist() == [0, 2]


@pytest.mark.parametrize(("threshold", "expected"), [(1 / 3, [0, 1]), (0.33, [0])],
                         ids=["at-iou-kept", "below-iou-suppressed"])
def test_nms_threshold_is_strict(threshold: float, expected: list[int]) -> None:
    boxes = np.array([[0, 0, 2, 2], [1, 0, 3, 2]], np.float32)  # IoU exactly 1/3
    assert nms(boxes, np.array([0.9, 0.8]), threshold).tolist() == expected


def test_nms_ties_keep_input_order() -> None:
    boxes = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10]], np.float32)
    assert nms(boxes, np.array([0.5, 0.5, 0.5]), 0.5).tolist() == [0, 1, 2]


def test_nms_empty() -> None:
    keep = nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert keep.shape == (0,) and keep.dtype == np.int64


def test_nms_score_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"scores: expected shape \(2,\)"):
        nms(np.zeros((2, 4)), np.zeros(3), 0.5)


# --------------------------------------------------------------------------------------------
# soft_nms
# --------------------------------------------------------------------------------------------


def test_soft_nms_gaussian_decays_overlapping_score() -> None:
    boxes = np.array([[0, 0, 2, 2], [1, 0, 3, 2]], np.float32)  # IoU 1/3
    keep, new = soft_nms(boxes, np.array([0.9, 0.8]), sigma=0.5)
    assert keep.tolist() == [0, 1]
    expected = 0.8 * math.exp(-((1 / 3) ** 2) / 0.5)
    np.testing.assert_allclose(new, [0.9, expected], rtol=1e-6)


def test_soft_nms_decay_can_reorder() -> None:
    # B overlaps A heavily (IoU 90/110); after decay it falls below the lone box C.
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    iou_ab = 90 / 110
    decayed_b = 0.85 * math.exp(-iou_ab ** 2 / 0.5)
    assert decayed_b < 0.5
    keep, new = soft_nms(boxes, np.array([0.9, 0.85, 0.5]), sigma=0.5)
    assert keep.tolist() == [0, 2, 1]
    np.testing.assert_allclose(new, [0.9, 0.5, decayed_b], rtol=1e-6)


def test_soft_nms_linear() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [5, 0, 15, 10]], np.float32)
    # IoU(A, B) = 90/110 > 0.3 -> B * (1 - 90/110); IoU(A, C) = 50/150 > 0.3 -> C * (2/3).
    # Then B (0.8 * 2/11 = 0.1455) < C (0.7 * 2/3 = 0.4667): C is picked next, and
    # IoU(C, B) = 60/140 > 0.3 decays B again by (1 - 60/140).
    keep, new = soft_nms(boxes, np.array([0.9, 0.8, 0.7]), method="linear", iou_threshold=0.3)
    b_after_a = 0.8 * (1 - 90 / 110)
    c_after_a = 0.7 * (1 - 50 / 150)
    assert keep.tolist() == [0, 2, 1]
    np.testing.assert_allclose(new, [0.9, c_after_a, b_after_a * (1 - 60 / 140)], rtol=1e-6)


def test_soft_nms_linear_leaves_small_overlaps() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10]], np.float32)  # IoU 1/3
    _, new = soft_nms(boxes, np.array([0.9, 0.8]), method="linear", iou_threshold=0.5)
    np.testing.assert_allclose(new, [0.9, 0.8])


def test_soft_nms_drops_below_score_threshold() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)  # IoU 1
    decayed = 0.8 * math.exp(-1 / 0.1)  # 3.6e-5
    keep, _ = soft_nms(boxes, np.array([0.9, 0.8]), sigma=0.1, score_threshold=decayed * 2)
    assert keep.tolist() == [0]
    keep, new = soft_nms(boxes, np.array([0.9, 0.8]), sigma=0.1, score_threshold=decayed / 2)
    assert keep.tolist() == [0, 1]
    assert new[1] == pytest.approx(decayed)


def test_soft_nms_empty() -> None:
    keep, new = soft_nms(np.zeros((0, 4)), np.zeros(0))
    assert keep.shape == (0,) and new.shape == (0,)


@pytest.mark.parametrize(("kwargs", "message"),
                         [({"method": "cubic"}, "method"), ({"sigma": 0.0}, "sigma")],
                         ids=["method", "sigma"])
def test_soft_nms_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        soft_nms(np.zeros((1, 4)), np.ones(1), **kwargs)


# --------------------------------------------------------------------------------------------
# weighted_nms
# --------------------------------------------------------------------------------------------


def test_weighted_nms_averages_cluster() -> None:
    boxes = np.array([[2, 0, 12, 10],      # 0: joins box 1's cluster (IoU 80/120)
                      [0, 0, 10, 10],      # 1: best
                      [30, 30, 40, 40]],   # 2: alone
                     np.float32)
    scores = np.array([0.25, 0.75, 0.5])
    keypoints = np.array([[[4, 4], [8, 0]], [[0, 0], [4, 4]], [[33, 33], [35, 35]]], np.float32)
    merged, merged_scores, merged_kpts = weighted_nms(boxes, scores, 0.5, keypoints)
    # Weights 0.75 / (0.75 + 0.25) and 0.25 / 1.0 for boxes 1 and 0.
    np.testing.assert_allclose(merged, [[0.75 * 0 + 0.25 * 2, 0, 0.75 * 10 + 0.25 * 12, 10],
                                        [30, 30, 40, 40]])
    np.testing.assert_allclose(merged_scores, [0.75, 0.5])
    np.testing.assert_allclose(merged_kpts, [[[1, 1], [5, 3]], [[33, 33], [35, 35]]])
    assert merged.dtype == np.float32 and merged_kpts is not None


def test_weighted_nms_three_member_cluster() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 1, 10, 11]], np.float32)
    scores = np.array([0.5, 0.3, 0.2])
    merged, merged_scores, kpts = weighted_nms(boxes, scores, 0.5)
    expected = (0.5 * boxes[0] + 0.3 * boxes[1] + 0.2 * boxes[2]) / 1.0
    np.testing.assert_allclose(merged, [expected], rtol=1e-6)
    np.testing.assert_allclose(merged_scores, [0.5])
    assert kpts is None


def test_weighted_nms_no_overlap_returns_inputs_by_score() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10]], np.float32)  # IoU 0.818
    merged, merged_scores, _ = weighted_nms(boxes, np.array([0.4, 0.6]), 0.9)
    np.testing.assert_allclose(merged, boxes[[1, 0]])
    np.testing.assert_allclose(merged_scores, [0.6, 0.4])


def test_weighted_nms_empty() -> None:
    merged, scores, kpts = weighted_nms(np.zeros((0, 4)), np.zeros(0), 0.5, np.zeros((0, 3, 2)))
    assert merged.shape == (0, 4) and scores.shape == (0,)
    assert kpts is not None and kpts.shape == (0, 3, 2)


def test_weighted_nms_bad_keypoints() -> None:
    with pytest.raises(ValueError, match=r"keypoints: expected shape \(2, P, 2\)"):
        weighted_nms(np.zeros((2, 4)), np.ones(2), 0.5, np.zeros((3, 4, 2)))
