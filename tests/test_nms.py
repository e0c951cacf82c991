"""Tests for alphapose.nms: parametric pose NMS, OKS and OKS-NMS, and the method switch.

Expected values are computed here from the formulas of the paper (Eqs. 17-19) and the official
behaviour of ``alphapose/utils/pPose_nms.py``, not taken from the implementation.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from alphapose.nms import (
    POSE_NMS_METHODS,
    PoseNMSParams,
    apply_pose_nms,
    oks,
    oks_nms,
    pose_nms,
    pose_nms_with_clusters,
)
from alphapose.skeletons import get_layout
from alphapose.structures import Poses

NUM_KEYPOINTS = {"coco17": 17, "halpe26": 26, "halpe136": 136, "coco_wholebody133": 133}
# COCO-17 OKS sigmas (pycocotools), written out independently of alphapose.skeletons.
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                        .87, .87, .89, .89]) / 10


def template(k: int, seed: int = 0) -> np.ndarray:
    """``(k, 2)`` keypoints spread over a 100 x 200 person box at the origin."""
    rng = np.random.default_rng(seed)
    return rng.uniform([0, 0], [100, 200], size=(k, 2))


def make_poses(keypoints: list[np.ndarray], scores: list[np.ndarray], boxes: list[list[float]],
               layout: str, box_scores: list[float] | None = None,
               track_ids: list[int] | None = None) -> Poses:
    n = len(keypoints)
    return Poses(np.stack(keypoints), np.stack(scores), np.array(boxes, np.float32),
                 np.array(box_scores if box_scores is not None else [0.9] * n, np.float32),
                 layout=layout, track_ids=None if track_ids is None else np.array(track_ids))


def person_score(kp_scores: np.ndarray, box_score: float) -> float:
    return float(kp_scores.mean() + box_score + 1.25 * kp_scores.max())


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def test_params_defaults_are_official_body_values() -> None:
    p = PoseNMSParams()
    assert p == PoseNMSParams.body()
    assert (p.delta1, p.mu, p.delta2, p.gamma) == (1, 1.7, 2.65, 22.48)
    assert (p.score_threshold, p.match_threshold, p.alpha) == (0.3, 5, 0.1)
    assert (p.face_factor, p.hand_factor) == (1.9, 0.55)
    assert (p.face_weight_score, p.hand_weight_score) == (1.0, 0.1)
    assert (p.face_weight_dist, p.hand_weight_dist) == (1.0, 1.5)


def test_params_wholebody_overrides() -> None:
    p = PoseNMSParams.wholebody()
    assert (p.delta1, p.mu, p.delta2, p.gamma) == (1.0, 1.65, 8.0, 3.6)
    assert (p.score_threshold, p.match_threshold, p.alpha) == (0.01, 3.0, 0.15)
    assert (p.face_factor, p.hand_factor) == (1.9, 0.55)  # not overridden


@pytest.mark.parametrize(
    ("layout", "regression", "wholebody"),
    [("coco17", True, False), ("halpe26", True, False), ("halpe136", False, False),
     ("halpe136", True, True), ("coco_wholebody133", True, True),
     ("coco_wholebody133", False, False)],
    ids=["coco17-reg", "halpe26-reg", "halpe136-heatmap", "halpe136-reg", "cwb133-reg",
         "cwb133-heatmap"],
)
def test_params_for_layout(layout: str, regression: bool, wholebody: bool) -> None:
    expected = PoseNMSParams.wholebody() if wholebody else PoseNMSParams.body()
    assert PoseNMSParams.for_layout(layout, regression) == expected


def test_params_frozen_and_validated() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PoseNMSParams().gamma = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="delta2"):
        PoseNMSParams(delta2=0.0)
    with pytest.raises(TypeError, match="gamma"):
        PoseNMSParams(gamma="high")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Parametric pose NMS, body variant
# --------------------------------------------------------------------------------------------


def duplicate_pair(layout: str, seed: int = 0) -> tuple[Poses, dict[str, np.ndarray]]:
    """A person estimated twice: pose ``best`` and a slightly shifted, less confident copy."""
    k = NUM_KEYPOINTS[layout]
    rng = np.random.default_rng(seed)
    best = template(k, seed) + [10, 20]
    worse = best + rng.uniform(-0.5, 0.5, size=(k, 2))
    s_best = rng.uniform(0.6, 1.0, size=k)
    s_worse = rng.uniform(0.35, 0.55, size=k)
    # The worse copy comes first in the input: the pick is chosen by score, not position.
    poses = make_poses([worse, best], [s_worse, s_best],
                       [[12, 21, 112, 221], [10, 20, 110, 220]], layout,
                       box_scores=[0.95, 0.8], track_ids=[4, 7])
    return poses, {"best": best, "worse": worse, "s_best": s_best, "s_worse": s_worse}


@pytest.mark.parametrize("layout", ["coco17", "halpe26"])
def test_pose_nms_merges_duplicates_into_best(layout: str) -> None:
    poses, d = duplicate_pair(layout)
    kept, clusters = pose_nms_with_clusters(poses)
    assert len(kept) == 1
    assert [c.tolist() for c in clusters] == [[1, 0]]
    # All keypoints are within the merge radius min(0.1 * 200, 15) = 15 px of the pick.
    w_best, w_worse = d["s_best"], d["s_worse"]
    total = w_best + w_worse
    expected = (w_best[:, None] * d["best"] + w_worse[:, None] * d["worse"]) / total[:, None]
    expected_scores = (w_best ** 2 + w_worse ** 2) / total
    np.testing.assert_allclose(kept.keypoints[0], expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(kept.keypoint_scores[0], expected_scores, rtol=1e-5)
    # Box, box score and track id are the pick's; the person score uses the merged scores.
    np.testing.assert_allclose(kept.xyxy[0], [10, 20, 110, 220])
    assert kept.box_scores[0] == pytest.approx(0.8)
    assert kept.track_ids.tolist() == [7]
    assert kept.scores[0] == pytest.approx(person_score(expected_scores, 0.8), rel=1e-5)
    assert kept.layout == layout


def test_pose_nms_merge_ignores_members_outside_merge_radius() -> None:
    poses, d = duplicate_pair("coco17")
    keypoints = poses.keypoints.copy()
    keypoints[0, 3] = d["best"][3] + [16.0, 0.0]  # beyond min(20, 15) = 15 px of the pick's
    kept = pose_nms(dataclasses.replace(poses, keypoints=keypoints))
    assert len(kept) == 1  # 16 other keypoints still match
    np.testing.assert_allclose(kept.keypoints[0, 3], d["best"][3], atol=1e-4)
    assert kept.keypoint_scores[0, 3] == pytest.approx(d["s_best"][3], rel=1e-5)
    w = d["s_best"][4] + d["s_worse"][4]
    np.testing.assert_allclose(kept.keypoints[0, 4],
                               (d["s_best"][4] * d["best"][4] + d["s_worse"][4] * d["worse"][4])
                               / w, atol=1e-4)


def test_pose_nms_keeps_two_people_side_by_side() -> None:
    k = 17
    a = template(k)
    b = a + [60.0, 0.0]  # 0.6 box widths to the right
    s_a = np.full(k, 0.9)
    s_b = np.full(k, 0.85)
    poses = make_poses([b, a], [s_b, s_a], [[60, 0, 160, 200], [0, 0, 100, 200]], "coco17")
    kept, clusters = pose_nms_with_clusters(poses)
    assert len(kept) == 2
    assert [c.tolist() for c in clusters] == [[1], [0]]  # pick order: higher mean score first
    np.testing.assert_allclose(kept.keypoints, np.stack([a, b]), atol=1e-4)
    np.testing.assert_allclose(kept.keypoint_scores, np.stack([s_a, s_b]), rtol=1e-6)
    np.testing.assert_allclose(kept.scores, [person_score(s_a, 0.9), person_score(s_b, 0.9)],
                               rtol=1e-6)


def body_similarity(dist: np.ndarray, s_pick: np.ndarray, s_cand: np.ndarray,
                    p: PoseNMSParams) -> float:
    """Eq. 19 as the official code evaluates it: KSim over keypoints within 1 px + mu * HSim."""
    ksim = np.sum(np.where(dist <= 1, np.tanh(s_pick / p.delta1) * np.tanh(s_cand / p.delta1), 0))
    hsim = np.sum(np.exp(-dist / p.delta2))
    return float(ksim + p.mu * hsim)


@pytest.mark.parametrize(("gamma_offset", "num_kept"), [(-0.05, 1), (0.05, 2)],
                         ids=["above-gamma-merged", "below-gamma-kept"])
def test_pose_nms_similarity_threshold(gamma_offset: float, num_kept: int) -> None:
    k = 17
    a = template(k)
    offsets = np.where(np.arange(k) < 8, 0.8, 2.0)  # 8 keypoints within 1 px, 9 at 2 px
    b = a + np.stack([offsets, np.zeros(k)], 1)
    s_a = np.linspace(0.6, 1.0, k)
    s_b = np.linspace(0.5, 0.3, k)
    base = PoseNMSParams(match_threshold=1000)  # only the similarity can fire
    simi = body_similarity(offsets, s_a, s_b, base)
    params = dataclasses.replace(base, gamma=simi + gamma_offset)
    poses = make_poses([a, b], [s_a, s_b], [[0, 0, 100, 200]] * 2, "coco17")
    assert len(pose_nms(poses, params)) == num_kept


@pytest.mark.parametrize(("match_threshold", "num_kept"), [(6, 1), (7, 2)],
                         ids=["enough-matches", "too-few-matches"])
def test_pose_nms_match_count(match_threshold: int, num_kept: int) -> None:
    k = 17
    a = template(k)
    # 6 keypoints 3 px away (within min(0.1 * 200, 7) = 7 px), the rest 20 px away.
    offsets = np.where(np.arange(k) < 6, 3.0, 20.0)
    b = a + np.stack([np.zeros(k), offsets], 1)
    params = PoseNMSParams(gamma=1e9, match_threshold=match_threshold)
    poses = make_poses([a, b], [np.full(k, 0.9), np.full(k, 0.8)], [[0, 0, 100, 200]] * 2,
                       "coco17")
    assert len(pose_nms(poses, params)) == num_kept


def test_pose_nms_drops_low_score_pose() -> None:
    k = 17
    good = template(k)
    faint = template(k, seed=1) + [300, 0]
    s_faint = np.full(k, 0.1)
    s_faint[0] = 0.29  # best keypoint still below score_threshold 0.3
    poses = make_poses([faint, good], [s_faint, np.full(k, 0.8)],
                       [[300, 0, 400, 200], [0, 0, 100, 200]], "coco17", track_ids=[1, 2])
    kept, clusters = pose_nms_with_clusters(poses)
    assert kept.track_ids.tolist() == [2]
    assert [c.tolist() for c in clusters] == [[1]]


def test_pose_nms_keypoint_not_estimated_stays_zero() -> None:
    # A score of exactly 0 marks a keypoint nobody estimated: merging stays finite and the
    # merged keypoint stays "not estimated" (score 0) instead of becoming a 1e-5 guess.
    poses, _ = duplicate_pair("coco17")
    scores = poses.keypoint_scores.copy()
    scores[:, 5] = 0.0
    kept = pose_nms(dataclasses.replace(poses, keypoint_scores=scores))
    assert len(kept) == 1
    assert np.all(np.isfinite(kept.keypoints))
    assert kept.keypoint_scores[0, 5] == 0.0
    assert np.all(kept.keypoint_scores[0, np.arange(17) != 5] > 0.3)


@pytest.mark.parametrize(("min_box_area", "num_kept"), [(0.0, 2), (2.25 * 16 - 1, 2),
                                                        (2.25 * 16 + 1, 1)],
                         ids=["no-threshold", "just-above", "just-below"])
def test_pose_nms_min_box_area(min_box_area: float, num_kept: int) -> None:
    k = 17
    big = template(k)
    tiny = np.tile([[500.0, 500.0]], (k, 1))
    tiny[1] = [504.0, 504.0]  # keypoint extent 4 x 4 -> scaled area 1.5^2 * 16 = 36
    poses = make_poses([big, tiny], [np.full(k, 0.8), np.full(k, 0.9)],
                       [[0, 0, 100, 200], [499, 499, 505, 505]], "coco17", track_ids=[1, 2])
    kept = pose_nms(poses, min_box_area=min_box_area)
    assert len(kept) == num_kept
    assert 1 in kept.track_ids.tolist()


@pytest.mark.parametrize("layout", list(NUM_KEYPOINTS))
def test_pose_nms_empty(layout: str) -> None:
    empty = Poses.empty(NUM_KEYPOINTS[layout], layout)
    kept, clusters = pose_nms_with_clusters(empty)
    assert len(kept) == 0 and clusters == []
    assert kept.layout == layout and kept.keypoints.shape == (0, NUM_KEYPOINTS[layout], 2)
    out = oks_nms(empty)
    assert len(out) == 0 and out.layout == layout and out.num_keypoints == NUM_KEYPOINTS[layout]
    for method in POSE_NMS_METHODS:
        assert apply_pose_nms(empty, method).layout == layout


def test_pose_nms_layout_mismatch() -> None:
    poses = make_poses([template(17)], [np.full(17, 0.9)], [[0, 0, 100, 200]], "halpe26")
    with pytest.raises(ValueError, match="26 keypoints but the poses have 17"):
        pose_nms(poses)


def test_pose_nms_bad_params_type() -> None:
    poses, _ = duplicate_pair("coco17")
    with pytest.raises(TypeError, match="params"):
        pose_nms(poses, {"gamma": 3})  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Parametric pose NMS, whole-body variant
# --------------------------------------------------------------------------------------------

WHOLEBODY = ["halpe136", "coco_wholebody133"]


@pytest.mark.parametrize("layout", WHOLEBODY)
def test_wholebody_merges_duplicates(layout: str) -> None:
    poses, d = duplicate_pair(layout)
    kept, clusters = pose_nms_with_clusters(poses, PoseNMSParams.wholebody())
    assert [c.tolist() for c in clusters] == [[1, 0]]
    # Merge radius min(0.15 * 200, 15) = 15 px covers every keypoint.
    total = d["s_best"] + d["s_worse"]
    expected = (d["s_best"][:, None] * d["best"] + d["s_worse"][:, None] * d["worse"]) \
        / total[:, None]
    np.testing.assert_allclose(kept.keypoints[0], expected, atol=1e-4)
    assert kept.track_ids.tolist() == [7]


@pytest.mark.parametrize("layout", WHOLEBODY)
def test_wholebody_keeps_two_people_side_by_side(layout: str) -> None:
    k = NUM_KEYPOINTS[layout]
    a = template(k)
    b = a + [60.0, 0.0]
    poses = make_poses([a, b], [np.full(k, 0.9), np.full(k, 0.85)],
                       [[0, 0, 100, 200], [60, 0, 160, 200]], layout)
    for params in (PoseNMSParams.wholebody(), PoseNMSParams.body()):
        kept = pose_nms(poses, params)
        assert len(kept) == 2
        np.testing.assert_allclose(kept.keypoints, poses.keypoints)


def people_with_missing_parts(layout: str, missing: np.ndarray, shift: float) -> Poses:
    """Two people ``shift`` px apart whose ``missing`` keypoints were not estimated (written as
    ``(0, 0)`` with score 0, as the estimator and the writers do)."""
    k = NUM_KEYPOINTS[layout]
    a = template(k) + [200, 100]
    b = a + [shift, 0.0]
    keypoints, scores = np.stack([a, b]), np.stack([np.full(k, 0.9), np.full(k, 0.8)])
    keypoints[:, missing] = 0.0
    scores[:, missing] = 0.0
    return make_poses(list(keypoints), list(scores),
                      [[200, 100, 300, 300], [200 + shift, 100, 300 + shift, 300]], layout)


def _parts(layout: str, *names: str) -> np.ndarray:
    parts = get_layout(layout).parts
    return np.concatenate([parts[name] for name in names])


@pytest.mark.parametrize(("layout", "missing", "params"), [
    ("halpe136", ("face", "hand"), PoseNMSParams.wholebody()),
    ("halpe136", ("hand",), PoseNMSParams.wholebody()),
    ("coco_wholebody133", ("face", "hand"), PoseNMSParams.wholebody()),
    ("halpe136", ("face", "hand"), PoseNMSParams.body()),
    ("halpe26", ("foot",), PoseNMSParams.body()),
], ids=["halpe136-no-face-hands", "halpe136-no-hands", "cwb133-no-face-hands",
        "halpe136-body-params", "halpe26-no-feet"])
def test_pose_nms_keeps_people_whose_same_parts_are_missing(layout: str, missing: tuple,
                                                            params: PoseNMSParams) -> None:
    # Two distinct people 60 px apart: the parts neither has (all at (0, 0)) must not make
    # them duplicates. Before the fix every such pair merged into one.
    poses = people_with_missing_parts(layout, _parts(layout, *missing), shift=60.0)
    kept = pose_nms(poses, params)
    assert len(kept) == 2
    np.testing.assert_allclose(np.sort(kept.keypoints[:, 0, 0]),
                               np.sort(poses.keypoints[:, 0, 0]))


@pytest.mark.parametrize(("layout", "params"), [
    ("halpe136", PoseNMSParams.wholebody()), ("halpe136", PoseNMSParams.body()),
    ("halpe26", PoseNMSParams.body())], ids=["halpe136-wholebody", "halpe136-body", "halpe26"])
def test_pose_nms_still_removes_a_duplicate_with_missing_parts(layout: str,
                                                              params: PoseNMSParams) -> None:
    # One person found twice (0.3 px apart), both without the same parts: still one person,
    # and the parts nobody estimated stay at score 0.
    names = ("face", "hand") if layout == "halpe136" else ("foot",)
    missing = _parts(layout, *names)
    poses = people_with_missing_parts(layout, missing, shift=0.3)
    kept = pose_nms(poses, params)
    assert len(kept) == 1
    assert np.all(kept.keypoint_scores[0, missing] == 0)
    present = np.setdiff1d(np.arange(poses.num_keypoints), missing)
    assert np.all(kept.keypoint_scores[0, present] > 0.8)


def test_pose_nms_duplicate_where_only_one_has_hands_keeps_the_hands() -> None:
    # The better copy has hands, the other does not: the body they share makes them one
    # person, and the (0, 0) hands of the other never pull the kept hands.
    k = 136
    hands = _parts("halpe136", "hand")
    a = template(k) + [200, 100]
    b = a + 0.3
    s_a, s_b = np.full(k, 0.9), np.full(k, 0.8)
    b[hands], s_b[hands] = 0.0, 0.0
    poses = make_poses([b, a], [s_b, s_a], [[200, 100, 300, 300]] * 2, "halpe136")
    kept, clusters = pose_nms_with_clusters(poses, PoseNMSParams.wholebody())
    assert [c.tolist() for c in clusters] == [[1, 0]]
    np.testing.assert_allclose(kept.keypoints[0, hands], a[hands], atol=1e-4)
    assert np.all(kept.keypoint_scores[0, hands] > 0.8)


@pytest.mark.parametrize("layout", ["coco17", "halpe136"])
def test_pose_nms_all_estimated_matches_the_official_formula(layout: str) -> None:
    # With every keypoint estimated the shared-keypoint rules reduce to the official ones:
    # the similarity threshold test above and these identical clusters on random crowds.
    rng = np.random.default_rng(5)
    k = NUM_KEYPOINTS[layout]
    base = [template(k, seed) + [150 * seed, 0] for seed in range(4)]
    keypoints = base + [p + rng.normal(0, 0.4, p.shape) for p in base[:2]]
    scores = [rng.uniform(0.4, 1.0, k) for _ in keypoints]
    boxes = [[p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()] for p in keypoints]
    poses = make_poses(keypoints, scores, boxes, layout)
    params = PoseNMSParams.for_layout(layout, regression=True)
    _, clusters = pose_nms_with_clusters(poses, params)
    assert sorted(sorted(c.tolist()) for c in clusters) == [[0, 4], [1, 5], [2], [3]]


def test_oks_nms_keeps_people_whose_same_parts_are_missing() -> None:
    missing = _parts("halpe136", "face", "hand")
    poses = people_with_missing_parts("halpe136", missing, shift=60.0)
    assert len(oks_nms(poses)) == 2
    assert len(oks_nms(people_with_missing_parts("halpe136", missing, shift=0.3))) == 1


def test_oks_over_shared_keypoints() -> None:
    a = np.zeros((3, 2))
    b = np.array([[[0.0, 0.0], [50.0, 0.0], [0.0, 0.0]]])
    sig = np.full(3, 0.1)
    # keypoint 1 differs; without it the two agree exactly
    assert oks(a, b, sig, 100.0, shared=np.array([[True, False, True]]))[0] == 1.0
    assert oks(a, b, sig, 100.0)[0] < 0.7
    assert oks(a, b, sig, 100.0, shared=np.zeros((1, 3), bool))[0] == 0.0
    with pytest.raises(ValueError, match="shared"):
        oks(a, b, sig, 100.0, shared=np.ones((2, 3), bool))


def wholebody_offsets(layout: str, body: float, face: float, hand: float) -> np.ndarray:
    parts = get_layout(layout).parts
    offsets = np.full(NUM_KEYPOINTS[layout], body)
    offsets[parts["face"]] = face
    offsets[parts["hand"]] = hand
    return offsets


@pytest.mark.parametrize("layout", WHOLEBODY)
@pytest.mark.parametrize(("gamma_offset", "num_kept"), [(-0.02, 1), (0.02, 2)],
                         ids=["above-gamma-merged", "below-gamma-kept"])
def test_wholebody_similarity_weighs_parts(layout: str, gamma_offset: float,
                                           num_kept: int) -> None:
    k = NUM_KEYPOINTS[layout]
    parts = get_layout(layout).parts
    body_idx = np.setdiff1d(np.arange(k), np.concatenate([parts["face"], parts["hand"]]))
    a = template(k)
    dist = wholebody_offsets(layout, body=2.0, face=3.0, hand=1.5)
    b = a + np.stack([dist, np.zeros(k)], 1)
    s_b = np.full(k, 0.7)
    s_b[parts["face"][:10]] = 0.005  # below score_threshold 0.01: HSim term zeroed there
    base = dataclasses.replace(PoseNMSParams.wholebody(), match_threshold=1e9)
    # All distances exceed 1 px, so the KSim terms vanish; HSim per part with its own scale.
    hsim = np.where(s_b < base.score_threshold, 0.0,
                    np.exp(-dist / (base.delta2 * np.where(np.isin(np.arange(k), parts["face"]),
                                                           base.face_factor,
                                                           np.where(np.isin(np.arange(k),
                                                                            parts["hand"]),
                                                                    base.hand_factor, 1.0)))))
    simi = base.mu * (hsim[body_idx].mean() + 1.0 * hsim[parts["face"]].mean()
                      + 1.5 * hsim[parts["hand"]].mean())
    params = dataclasses.replace(base, gamma=simi + gamma_offset)
    poses = make_poses([a, b], [np.full(k, 0.9), s_b], [[0, 0, 100, 200]] * 2, layout)
    assert len(pose_nms(poses, params)) == num_kept


@pytest.mark.parametrize("layout", WHOLEBODY)
@pytest.mark.parametrize(("match_threshold", "num_kept"), [(8, 1), (9, 2)],
                         ids=["enough-matches", "too-few-matches"])
def test_wholebody_match_count_uses_part_radii(layout: str, match_threshold: float,
                                               num_kept: int) -> None:
    k = NUM_KEYPOINTS[layout]
    a = template(k)
    # Radius r = min(0.15 * 200, 7) = 7: body within r, face within 1.9 r, hands within 0.55 r.
    # Face 8 px away matches (<= 13.3), body 20 px and hands 5 px (> 3.85) do not: 68 matches.
    dist = wholebody_offsets(layout, body=20.0, face=8.0, hand=5.0)
    b = a + np.stack([np.zeros(k), dist], 1)
    # Official normalisation (pPose_nms.py::pose_nms_fullbody): count / mask.sum() / 2 * K with
    # mask.sum() = 2 * M * V, M = 2 candidates, V = K keypoints of the pick above
    # score_threshold / 2.
    matches = 68 / (2 * 2 * k) / 2 * k
    assert matches == pytest.approx(8.5)
    params = dataclasses.replace(PoseNMSParams.wholebody(), gamma=1e9,
                                 match_threshold=match_threshold)
    poses = make_poses([a, b], [np.full(k, 0.9), np.full(k, 0.8)], [[0, 0, 100, 200]] * 2,
                       layout)
    assert len(pose_nms(poses, params)) == num_kept


def test_wholebody_drops_low_score_pose() -> None:
    k = 136
    poses = make_poses([template(k), template(k, 1) + [400, 0]],
                       [np.full(k, 0.5), np.full(k, 0.009)],
                       [[0, 0, 100, 200], [400, 0, 500, 200]], "halpe136", track_ids=[3, 5])
    assert pose_nms(poses, PoseNMSParams.wholebody()).track_ids.tolist() == [3]


# --------------------------------------------------------------------------------------------
# OKS and OKS-NMS
# --------------------------------------------------------------------------------------------


def test_oks_value() -> None:
    a = template(17)
    shift = np.array([3.0, -4.0])  # 5 px
    b = np.stack([a + shift, a])
    area = 20000.0
    values = oks(a, b, COCO_SIGMAS, area)
    expected = np.mean([math.exp(-25.0 / (2 * area * (2 * s) ** 2)) for s in COCO_SIGMAS])
    np.testing.assert_allclose(values, [expected, 1.0], rtol=1e-9)


def test_oks_per_pair_area() -> None:
    a = np.zeros((1, 2))
    b = np.array([[[3.0, 4.0]], [[3.0, 4.0]]])
    values = oks(a, b, np.array([0.5]), np.array([25.0, 125.0]))
    np.testing.assert_allclose(values, [math.exp(-0.5), math.exp(-0.1)], rtol=1e-9)


@pytest.mark.parametrize(("args", "name"),
                         [((np.zeros(17), np.zeros((1, 17, 2)), COCO_SIGMAS), "a_kpts"),
                          ((np.zeros((17, 2)), np.zeros((1, 16, 2)), COCO_SIGMAS), "b_kpts"),
                          ((np.zeros((17, 2)), np.zeros((1, 17, 2)), COCO_SIGMAS[:5]), "sigmas")],
                         ids=["a", "b", "sigmas"])
def test_oks_bad_shapes(args: tuple, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        oks(*args, 1.0)


def oks_pair_poses(shift: float) -> tuple[Poses, float]:
    k = 17
    a = template(k)
    s_a = np.linspace(0.1, 0.9, k)  # some keypoints below the 0.2 visibility threshold
    s_b = np.full(k, 0.6)
    poses = make_poses([a + [shift, 0.0], a, a + [400.0, 0.0]], [s_b, s_a, s_a],
                       [[0, 0, 100, 200], [0, 0, 100, 200], [400, 0, 500, 200]], "coco17",
                       box_scores=[0.9, 0.9, 0.9], track_ids=[0, 1, 2])
    area = 100.0 * 200.0  # both boxes equal: mean area = box area
    pair_oks = float(np.mean(np.exp(-shift ** 2 / (2 * area * (2 * COCO_SIGMAS) ** 2))))
    return poses, pair_oks


@pytest.mark.parametrize(("threshold_offset", "kept_ids"), [(-0.002, [1, 2]), (0.002, [1, 2, 0])],
                         ids=["above-threshold-removed", "below-threshold-kept"])
def test_oks_nms_removes_by_oks(threshold_offset: float, kept_ids: list[int]) -> None:
    # Rescored: poses 1 and 2 (person 2.525 x visible mean 0.575) rank above pose 0 (2.25 x 0.6).
    poses, pair_oks = oks_pair_poses(shift=6.0)
    assert 0.5 < pair_oks < 0.99
    kept = oks_nms(poses, threshold=pair_oks + threshold_offset)
    assert kept.track_ids.tolist() == kept_ids


def test_oks_nms_rescoring_and_order() -> None:
    poses, _ = oks_pair_poses(shift=6.0)
    kp = poses.keypoint_scores.astype(np.float64)
    person = kp.mean(1) + 0.9 + 1.25 * kp.max(1)
    visible_mean = np.array([row[row > 0.2].mean() for row in kp])
    expected = person * visible_mean
    kept = oks_nms(poses, threshold=1.0)  # nothing removed
    order = np.argsort(-expected, kind="stable")
    assert kept.track_ids.tolist() == order.tolist()
    np.testing.assert_allclose(kept.scores, expected[order], rtol=1e-5)


def test_oks_nms_no_visible_keypoints_scores_zero() -> None:
    k = 17
    poses = make_poses([template(k)], [np.full(k, 0.1)], [[0, 0, 100, 200]], "coco17")
    kept = oks_nms(poses)
    assert len(kept) == 1 and kept.scores[0] == 0.0


def test_oks_nms_default_sigmas_are_layouts() -> None:
    poses, pair_oks = oks_pair_poses(shift=6.0)
    np.testing.assert_allclose(get_layout("coco17").sigmas, COCO_SIGMAS)
    explicit = oks_nms(poses, sigmas=COCO_SIGMAS, threshold=pair_oks - 0.002)
    default = oks_nms(poses, threshold=pair_oks - 0.002)
    assert explicit.track_ids.tolist() == default.track_ids.tolist() == [1, 2]
    with pytest.raises(ValueError, match=r"sigmas: expected shape \(17,\)"):
        oks_nms(poses, sigmas=np.ones(5))


# --------------------------------------------------------------------------------------------
# apply_pose_nms
# --------------------------------------------------------------------------------------------


def test_apply_pose_nms_dispatch() -> None:
    poses, _ = duplicate_pair("coco17")
    assert apply_pose_nms(poses, "none") is poses
    pnms = apply_pose_nms(poses, "pnms")
    np.testing.assert_allclose(pnms.keypoints, pose_nms(poses).keypoints)
    assert len(pnms) == 1
    np.testing.assert_allclose(apply_pose_nms(poses, "oks").scores, oks_nms(poses).scores)
    strict = PoseNMSParams(gamma=1e9, match_threshold=1e9)
    assert len(apply_pose_nms(poses, "pnms", params=strict)) == 2
    assert len(apply_pose_nms(poses, "pnms", min_box_area=1e9)) == 0


def test_apply_pose_nms_unknown_method() -> None:
    poses, _ = duplicate_pair("coco17")
    with pytest.raises(ValueError, match="valid methods: pnms, oks, none"):
        apply_pose_nms(poses, "nms")
