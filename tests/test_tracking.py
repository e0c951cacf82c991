"""Tests for alphapose.tracking (MSIM, descriptor, Kalman, PoseFlow) and evaluate.tracking."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.evaluate.tracking import (
    TrackFrame,
    align_results,
    evaluate_boxes,
    evaluate_joints,
    load_posetrack,
    load_tracking_results,
    to_posetrack_keypoints,
)
from alphapose.render import TrailHistory, draw_trails, id_color
from alphapose.structures import Frame, Poses
from alphapose.tracking import (
    DescriptorConfig,
    MSIMConfig,
    MSIMTracker,
    PoseFlowTracker,
    PoseGuidedDescriptor,
    TrackState,
    appearance_distance,
    make_tracker,
    poseflow_track,
)
from alphapose.tracking.kalman import (
    BoxKalmanFilter,
    KalmanParams,
    cxcyah_to_xyxy,
    xyxy_to_cxcyah,
)
from alphapose.tracking.msim import box_iou_matrix, normalized_pose_distance
from tracking_scenes.synthetic import (
    Scenario,
    SyntheticPerson,
    crossing,
    occlusion,
    skeleton_coco17,
)

pytest.importorskip("motmetrics")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def run_tracker(tracker, scenario: Scenario) -> tuple[list[TrackFrame], list[TrackFrame]]:
    gts, preds = [], []
    for frame, gt, observed in scenario.frames():
        out = tracker.update(frame, observed)
        gts.append(gt)
        preds.append(TrackFrame(out.track_ids, out.xyxy))
    return gts, preds


def person_poses(points: list[np.ndarray], heights: list[float]) -> Poses:
    kp = np.stack(points).astype(np.float32)
    boxes = np.concatenate([kp.min(1) - 8, kp.max(1) + 8], 1)
    return Poses(kp, np.full(kp.shape[:2], 0.9), boxes, np.ones(len(kp)), layout="coco17")


# ------------------------------------------------------------------------------------------------
# Kalman filter
# ------------------------------------------------------------------------------------------------


def test_box_conversions_round_trip() -> None:
    xyxy = np.array([[10.0, 20.0, 50.0, 120.0], [0, 0, 3, 9]])
    cxcyah = xyxy_to_cxcyah(xyxy)
    np.testing.assert_allclose(cxcyah[0], [30, 70, 0.4, 100])
    np.testing.assert_allclose(cxcyah_to_xyxy(cxcyah), xyxy)


def test_kalman_learns_constant_velocity() -> None:
    kf = BoxKalmanFilter()
    velocity = np.array([3.0, -1.5])
    start = np.array([100.0, 200.0])
    mean, cov = kf.initiate(np.array([*start, 0.5, 120.0]))
    for t in range(1, 30):
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, np.array([*(start + t * velocity), 0.5, 120.0]))
    mean, cov = kf.predict(mean, cov)
    np.testing.assert_allclose(mean[:2], start + 30 * velocity, atol=0.5)
    np.testing.assert_allclose(mean[4:6], velocity, atol=0.1)
    assert np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0)


def test_kalman_batched_update_equals_single_updates() -> None:
    kf = BoxKalmanFilter()
    rng = np.random.default_rng(0)
    states = [kf.predict(*kf.initiate(np.array([*rng.uniform(0, 500, 2), 0.4, h])))
              for h in (80.0, 150.0)]
    z = np.array([[10.0, 12.0, 0.45, 82.0], [300.0, 310.0, 0.35, 149.0]])
    scale = np.array([1.0, 2.5])
    means, covs = kf.update(np.stack([s[0] for s in states]), np.stack([s[1] for s in states]),
                            z, scale)
    for i, (m, c) in enumerate(states):
        mi, ci = kf.update(m, c, z[i], scale[i])
        np.testing.assert_allclose(means[i], mi)
        np.testing.assert_allclose(covs[i], ci)


def test_kalman_noisier_measurement_moves_state_less() -> None:
    kf = BoxKalmanFilter()
    mean, cov = kf.predict(*kf.initiate(np.array([0.0, 0.0, 0.5, 100.0])))
    z = np.array([20.0, 0.0, 0.5, 100.0])
    sure, _ = kf.update(mean, cov, z, 1.0)
    unsure, _ = kf.update(mean, cov, z, 4.0)
    assert 0 < unsure[0] < sure[0] < 20


def test_centre_gating_distance_matches_explicit_mahalanobis() -> None:
    kf = BoxKalmanFilter()
    mean, cov = kf.predict(*kf.initiate(np.array([50.0, 60.0, 0.5, 100.0])))
    centres = np.array([[55.0, 58.0], [80.0, 90.0]])
    extra = np.array([[4.0, 9.0]])
    got = kf.centre_gating_distance(mean[None], cov[None], centres, extra)
    _, s = kf.project(mean, cov)
    for d in range(2):
        diff = centres[d] - mean[:2]
        expected = diff @ np.linalg.inv(s[:2, :2] + extra[0, d] * np.eye(2)) @ diff
        assert got[0, d] == pytest.approx(expected)


# ------------------------------------------------------------------------------------------------
# distances
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("a, b, expected", [
    ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
    ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),
    ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),
    ((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100),
], ids=["same", "half", "apart", "inside"])
def test_box_iou_matrix(a, b, expected) -> None:
    assert box_iou_matrix(np.array([a]), np.array([b]))[0, 0] == pytest.approx(expected)


def test_pose_distance_ignores_position_and_scale() -> None:
    pose = skeleton_coco17(100, 300, 150, 0.7)
    box = np.array([*pose.min(0) - 10, *pose.max(0) + 10])
    moved = (pose - [100, 300]) * 0.5 + [400, 200]
    moved_box = (box.reshape(2, 2) - [100, 300]) * 0.5 + [400, 200]
    s = np.full((1, 17), 0.9)
    d = normalized_pose_distance(pose[None], s, box[None], moved[None], s, moved_box.reshape(1, 4))
    assert d[0, 0] == pytest.approx(0.0, abs=1e-9)
    other = skeleton_coco17(100, 300, 150, 0.7 + np.pi)     # legs and arms swung the other way
    d_other = normalized_pose_distance(pose[None], s, box[None], other[None], s, box[None])
    assert 0.05 < d_other[0, 0] <= 1.0


def test_pose_distance_formula_on_two_keypoints() -> None:
    # box 100 px: keypoint 0 identical, keypoint 1 off by 20 px (0.2 box sizes) in x
    box = np.array([[0.0, 0.0, 100.0, 100.0]])
    a = np.array([[[50.0, 50.0], [60.0, 40.0]]])
    b = np.array([[[50.0, 50.0], [80.0, 40.0]]])
    s = np.array([[0.9, 0.6]])
    sigma1, sigma2, lam = 0.3, 0.01, 1.0
    conf = np.tanh(s[0] / sigma1) ** 2
    ksim = conf[0]                                   # only keypoint 0 is within the 0.1 box
    hsim = 1.0 + np.exp(-0.2 ** 2 / sigma2)
    expected = 1 - (ksim + lam * hsim) / (conf.sum() + lam * 2)
    got = normalized_pose_distance(a, s, box, b, s, box, sigma1=sigma1, sigma2=sigma2, lam=lam)
    assert got[0, 0] == pytest.approx(expected)


def test_pose_distance_without_shared_keypoints_is_one() -> None:
    box = np.array([[0.0, 0.0, 100.0, 100.0]])
    a = np.zeros((1, 3, 2))
    d = normalized_pose_distance(a, np.array([[0.9, 0.0, 0.0]]), box,
                                 a, np.array([[0.0, 0.9, 0.9]]), box)
    assert d[0, 0] == 1.0


# ------------------------------------------------------------------------------------------------
# appearance
# ------------------------------------------------------------------------------------------------


def render_person(shirt, trousers, background: np.ndarray, x: float, height: float = 150.0
                  ) -> tuple[np.ndarray, Poses]:
    """One synthetic person on a copy of ``background``: image and their pose."""
    from tracking_scenes.synthetic import _draw_person

    person = SyntheticPerson(0, shirt, trousers, (150, 180, 230), None, height,
                             np.zeros((1, 2)))
    kp = skeleton_coco17(x, 300, height, 0.3)
    image = background.copy()
    _draw_person(image, np.zeros(image.shape[:2], np.int16), 0, person, kp)
    return image, person_poses([kp], [height])


def test_descriptor_same_person_close_different_person_far() -> None:
    background = np.full((360, 640, 3), 128, np.uint8)
    red_a, pose_a = render_person((40, 40, 220), (90, 40, 10), background, 150)
    red_b, pose_b = render_person((40, 40, 220), (90, 40, 10), background, 420)
    green, pose_g = render_person((40, 170, 40), (200, 200, 200), background, 420)
    descriptor = PoseGuidedDescriptor()
    ea, eb, eg = (descriptor.embed(img, p) for img, p in
                  ((red_a, pose_a), (red_b, pose_b), (green, pose_g)))
    same = appearance_distance(ea, eb)[0, 0]
    different = appearance_distance(ea, eg)[0, 0]
    # the two share skin and head colour, so only shirt and trousers parts differ
    assert same < 0.2 and different > 0.45
    assert appearance_distance(ea, ea)[0, 0] == pytest.approx(0.0, abs=1e-3)
    assert ea.vectors.shape == (1, 6, DescriptorConfig().dim)
    np.testing.assert_allclose(np.linalg.norm(ea.vectors[0], axis=-1), 1.0, atol=1e-5)


def test_part_regions_ignore_the_background_whole_box_does_not() -> None:
    rng = np.random.default_rng(3)
    plain = np.full((360, 640, 3), 128, np.uint8)
    busy = cv2.resize(rng.integers(0, 255, (20, 36, 3)).astype(np.uint8), (640, 360))
    img_a, pose_a = render_person((40, 40, 220), (90, 40, 10), plain, 300)
    img_b, pose_b = render_person((40, 40, 220), (90, 40, 10), busy, 300)
    parts = PoseGuidedDescriptor(DescriptorConfig(regions="parts"))
    box = PoseGuidedDescriptor(DescriptorConfig(regions="box"))
    d_parts = appearance_distance(parts.embed(img_a, pose_a), parts.embed(img_b, pose_b))[0, 0]
    d_box = appearance_distance(box.embed(img_a, pose_a), box.embed(img_b, pose_b))[0, 0]
    assert d_parts < 0.6 * d_box


def test_hidden_parts_get_no_weight_and_no_shared_part_means_distance_one() -> None:
    background = np.full((360, 640, 3), 128, np.uint8)
    image, pose = render_person((40, 40, 220), (90, 40, 10), background, 300)
    upper = pose.keypoint_scores.copy()
    upper[:, 11:] = 0.0                       # hips, knees, ankles hidden
    lower = pose.keypoint_scores.copy()
    lower[:, :11] = 0.0
    descriptor = PoseGuidedDescriptor()
    e_upper = descriptor.embed(image, replace(pose, keypoint_scores=upper))
    e_lower = descriptor.embed(image, replace(pose, keypoint_scores=lower))
    names = ("head", "torso", "upper_arms", "lower_arms", "thighs", "shins")
    assert [bool(w > 0) for w in e_upper.weights[0]] == [n in ("head", "upper_arms", "lower_arms")
                                                         for n in names]
    assert appearance_distance(e_upper, e_lower)[0, 0] == 1.0


def test_descriptor_rejects_bad_image() -> None:
    with pytest.raises(ValueError, match="image"):
        PoseGuidedDescriptor().embed(np.zeros((10, 10), np.uint8), Poses.empty(17, "coco17"))


# ------------------------------------------------------------------------------------------------
# MSIM
# ------------------------------------------------------------------------------------------------


def test_msim_short_crossing_has_no_switches() -> None:
    gts, preds = run_tracker(MSIMTracker(), crossing(seed=0, num_frames=100))
    metrics = evaluate_boxes(gts, preds)
    assert metrics.idsw == 0
    assert metrics.idf1 >= 0.95


def test_msim_short_occlusion_suite_within_target() -> None:
    scenario = occlusion(seed=1, num_frames=150)
    gaps = [g for g in scenario.gaps(5) if g[2] <= 30]
    gts, preds = run_tracker(MSIMTracker(), scenario)
    metrics = evaluate_boxes(gts, preds)
    assert len(gaps) >= 4
    assert metrics.idsw <= max(1, len(gaps) // 10)
    assert metrics.idf1 >= 0.9


def test_coasting_track_widens_its_prediction_and_comes_back() -> None:
    # occlusion seed 1: a person hidden behind a pillar reappears off the constant-velocity
    # guess; without the coasting noise the gate stays tight and a new id is given
    scenario = occlusion(seed=1, num_frames=240)
    for coast_scale, switches in ((1.0, 1), (4.0, 0)):
        config = MSIMConfig(kalman=KalmanParams(coast_scale=coast_scale))
        metrics = evaluate_boxes(*run_tracker(MSIMTracker(config), scenario))
        assert metrics.idsw == switches


def test_kalman_coasting_widens_only_unmeasured_tracks() -> None:
    # from a certain state the predicted covariance is the process noise alone: a coasting
    # track's is coast_scale ** 2 times larger, a measured track's is unchanged
    kf = BoxKalmanFilter(KalmanParams(coast_scale=3.0))
    means = np.tile([100.0, 100.0, 0.5, 200.0, 1.0, 0.0, 0.0, 0.0], (2, 1))
    _, plain = kf.predict(means, np.zeros((2, 8, 8)))
    _, mixed = kf.predict(means, np.zeros((2, 8, 8)), np.array([False, True]))
    np.testing.assert_allclose(mixed[0], plain[0])
    np.testing.assert_allclose(mixed[1], 9.0 * plain[1])
    assert plain[0][0, 0] == pytest.approx((200.0 / 80) ** 2)


def test_lost_track_is_revived_with_its_id_after_a_gap() -> None:
    background = np.full((360, 640, 3), 128, np.uint8)
    tracker = MSIMTracker()
    ids = []
    for t in range(40):
        visible = not 10 <= t < 30                   # 20 frames unseen
        x = 100 + 3 * t
        image, pose = render_person((40, 40, 220), (90, 40, 10), background, x)
        out = tracker.update(Frame(image, t, f"{t}.jpg"),
                             pose if visible else Poses.empty(17, "coco17"))
        if visible:
            ids.append(int(out.track_ids[0]))
        elif t == 15:
            assert [t.state for t in tracker.tracks] == [TrackState.LOST]
    assert set(ids) == {0}


def test_track_lifecycle_and_removal() -> None:
    config = MSIMConfig(max_lost=3, confirm_hits=2, tentative_max_lost=2)
    tracker = MSIMTracker(config)
    background = np.full((360, 640, 3), 128, np.uint8)
    image, pose = render_person((40, 40, 220), (90, 40, 10), background, 200)
    empty = Poses.empty(17, "coco17")
    tracker.update(Frame(image, 0, "0.jpg"), pose)              # first frame: confirmed
    assert tracker.tracks[0].state == TrackState.CONFIRMED
    for t in range(1, 5):
        tracker.update(Frame(image, t, "x"), empty)
        assert tracker.tracks[0].state == TrackState.LOST if t <= 3 else not tracker.tracks
    assert tracker.tracks == []
    # a newcomer after the first frame is tentative; unseen, it is kept tentative_max_lost
    # frames (a person seen once, then hidden, may come back) and then removed
    other, pose_b = render_person((40, 170, 40), (200, 200, 200), background, 500)
    tracker.update(Frame(other, 5, "5.jpg"), pose_b)
    assert tracker.tracks[0].state == TrackState.TENTATIVE
    for t in (6, 7):
        tracker.update(Frame(other, t, f"{t}.jpg"), empty)
        assert [x.state for x in tracker.tracks] == [TrackState.TENTATIVE]
    tracker.update(Frame(other, 8, "8.jpg"), empty)
    assert tracker.tracks == []


def test_msim_keeps_order_and_fields_and_handles_empty_frames() -> None:
    frames = list(crossing(seed=2, num_frames=3).frames())
    tracker = MSIMTracker()
    for frame, _, observed in frames:
        out = tracker.update(frame, observed)
        np.testing.assert_array_equal(out.keypoints, observed.keypoints)
        np.testing.assert_array_equal(out.xyxy, observed.xyxy)
        assert len(set(out.track_ids.tolist())) == len(out) and (out.track_ids >= 0).all()
    assert len(tracker.update(frames[0][0], Poses.empty(17, "coco17"))) == 0
    assert len(tracker.update(None, frames[1][2])) == len(frames[1][2])   # no image: no stage 1


@pytest.mark.parametrize("field, value", [
    ("mu_emb", 0.0), ("mu_f", -1.0), ("stages", (4,)), ("stages", ()), ("ema", 1.0),
    ("confirm_hits", 0), ("motion_weight", 2.0),
], ids=["mu_emb", "mu_f", "stage4", "no-stage", "ema", "confirm", "motion"])
def test_msim_config_validation(field, value) -> None:
    with pytest.raises(ValueError, match=field):
        MSIMConfig(**{field: value})


def test_make_tracker() -> None:
    assert isinstance(make_tracker("msim"), MSIMTracker)
    assert isinstance(make_tracker("poseflow"), PoseFlowTracker)
    assert make_tracker("none") is None
    with pytest.raises(ValueError, match="msim"):
        make_tracker("sort")


# ------------------------------------------------------------------------------------------------
# PoseFlow
# ------------------------------------------------------------------------------------------------


def entry(name: str, kp: np.ndarray) -> dict:
    triples = np.concatenate([kp, np.full((len(kp), 1), 0.9)], 1)
    return {"image_id": name, "category_id": 1, "keypoints": triples.ravel().tolist(),
            "score": 2.0}


def test_poseflow_keeps_ids_of_slow_people_and_orders_frames_numerically() -> None:
    a = skeleton_coco17(100, 300, 150, 0.0)
    b = skeleton_coco17(400, 300, 150, 0.0)
    entries = []
    for t in (10, 9, 2, 0, 1):                       # out of order on purpose
        entries += [entry(f"{t}.jpg", b + [-2 * t, 0]), entry(f"{t}.jpg", a + [2 * t, 0])]
    tracked = poseflow_track(entries)
    ids = {(e["image_id"], round(json.loads(json.dumps(e["keypoints"]))[0])): e["idx"]
           for e in tracked}
    first = {e["idx"] for e in tracked if e["image_id"] == "0.jpg"}
    assert first == {1, 2}
    by_person = {}
    for e in tracked:
        by_person.setdefault(e["keypoints"][0] < 250, set()).add(e["idx"])
    assert all(len(v) == 1 for v in by_person.values()) and len(ids) == 10


def test_poseflow_gives_a_new_id_to_someone_far_away() -> None:
    a = skeleton_coco17(100, 300, 150, 0.0)
    tracker = PoseFlowTracker(use_images=False)
    s = np.full((1, 17), 0.9)
    assert tracker.step(a[None], s, np.ones(1)).tolist() == [1]
    assert tracker.step(a[None] + [3, 0], s, np.ones(1)).tolist() == [1]
    assert tracker.step(a[None] + [500, 0], s, np.ones(1)).tolist() == [2]


# ------------------------------------------------------------------------------------------------
# evaluation
# ------------------------------------------------------------------------------------------------


def box_at(x: float) -> list[float]:
    return [x, 0.0, x + 10.0, 10.0]


def test_evaluate_boxes_counts_a_switch_miss_and_false_positive() -> None:
    gt = [TrackFrame([1, 2], [box_at(0), box_at(100)]) for _ in range(4)]
    pred = [TrackFrame([7, 8], [box_at(0), box_at(100)]),
            TrackFrame([7, 8], [box_at(0), box_at(100)]),
            TrackFrame([9, 8], [box_at(1), box_at(100)]),          # gt 1 switches 7 -> 9
            TrackFrame([9, 5], [box_at(0), box_at(300)])]          # gt 2 missed, 5 false
    m = evaluate_boxes(gt, pred)
    # motmetrics counts the switching match as a switch, not as a match
    assert (m.idsw, m.num_misses, m.num_false_positives, m.num_matches) == (1, 1, 1, 6)
    assert m.mota == pytest.approx(1 - (1 + 1 + 1) / 8)
    assert m.recall == pytest.approx(7 / 8) and m.precision == pytest.approx(7 / 8)
    # IDF1: best id pairing 1<->9 (2 frames) or 1<->7 (2), 2<->8 (3): IDTP = 5 of 8 + 8
    assert m.idf1 == pytest.approx(2 * 5 / 16)


def test_evaluate_boxes_untracked_results_hold_no_identity() -> None:
    gt = [TrackFrame([1], [box_at(0)]) for _ in range(3)]
    pred = [TrackFrame([-1], [box_at(0)]) for _ in range(3)]
    m = evaluate_boxes(gt, pred)
    assert m.recall == 1.0 and m.idsw == 2


def test_evaluate_joints_pckh() -> None:
    kp = np.tile(np.arange(17, dtype=float)[:, None] * 10, (1, 2))[None]
    head = np.array([[0.0, 0.0, 30.0, 40.0]])             # head size 0.6 * 50 = 30 px
    gt = [TrackFrame([1], [[0, 0, 200, 200]], kp, np.ones((1, 17)), head) for _ in range(2)]
    near = kp + [14.0, 0.0]                               # within 0.5 * 30 = 15 px
    far = kp + [16.0, 0.0]
    ok = evaluate_joints(gt, [TrackFrame([3], [[0, 0, 200, 200]], near, np.ones((1, 17)))] * 2)
    assert ok.mean.mota == 1.0 and len(ok.per_joint) == 17
    assert ok.mean.motp == pytest.approx(1 - 14 / 15)
    bad = evaluate_joints(gt, [TrackFrame([3], [[0, 0, 200, 200]], far, np.ones((1, 17)))] * 2)
    assert bad.mean.recall == 0.0 and bad.mean.mota == pytest.approx(-1.0)


def test_to_posetrack_keypoints_by_name() -> None:
    kp = np.arange(17 * 2, dtype=float).reshape(1, 17, 2)
    s = np.linspace(0.1, 0.9, 17)[None]
    out, out_s = to_posetrack_keypoints(kp, s, "coco17")
    np.testing.assert_array_equal(out[0, 0], kp[0, 0])                   # nose
    np.testing.assert_array_equal(out[0, 1], (kp[0, 5] + kp[0, 6]) / 2)  # head_bottom
    assert out_s[0, 2] == 0.0                                           # no head top in COCO
    np.testing.assert_array_equal(out[0, 5:], kp[0, 5:])                 # shoulders.. ankles


def test_posetrack_writer_round_trip(tmp_path: Path) -> None:
    from alphapose.writers import AlphaPoseJsonWriter, PoseTrackWriter

    scenario = crossing(seed=0, num_frames=4)
    tracker = MSIMTracker()
    frames = []
    with PoseTrackWriter(tmp_path / "t.json") as pt, \
            AlphaPoseJsonWriter(tmp_path / "a.json") as ap:
        for frame, _, observed in scenario.frames():
            out = tracker.update(frame, observed)
            pt.write(frame, out)
            ap.write(frame, out)
            frames.append((frame.name, out))
    for path in ("t.json", "a.json"):
        loaded = load_tracking_results(tmp_path / path)
        for name, out in frames:
            np.testing.assert_array_equal(np.sort(loaded[name].ids), np.sort(out.track_ids))
            assert loaded[name].keypoints.shape == (len(out), 17, 2)
    data = json.loads((tmp_path / "t.json").read_text())
    assert [im["nframes"] for im in data["images"]] == [4] * 4
    assert len(data["categories"][0]["keypoints"]) == 17


def test_align_results_matches_names_by_suffix_and_frame_number() -> None:
    gt = [("images/val/seq/000000.jpg", TrackFrame.empty()),
          ("images/val/seq/000001.jpg", TrackFrame.empty()),
          ("images/val/seq/000002.jpg", TrackFrame.empty())]
    a, b = TrackFrame([1], [box_at(0)]), TrackFrame([2], [box_at(0)])
    aligned = align_results(gt, {"seq/000000.jpg": a, "1.jpg": b})
    assert aligned[0] is a and aligned[1] is b and len(aligned[2]) == 0


def test_video_results_match_ground_truth_by_position_not_file_number(tmp_path: Path) -> None:
    """Video frame i (results named ``i.jpg``) is the sequence's i-th image, labelled or not:
    MOTChallenge-style names start at 000001.jpg, so frame 0 is 000001.jpg."""
    images = [{"id": n, "file_name": f"seq/{n:06d}.jpg", "vid_id": "seq", "frame_id": n,
               "is_labeled": n != 2} for n in (1, 2, 3)]
    annotations = [{"image_id": n, "track_id": 5, "bbox": [10.0 * n, 0, 5, 5],
                    "keypoints": [1.0] * 51} for n in (1, 3)]
    (tmp_path / "gt.json").write_text(json.dumps({"images": images,
                                                  "annotations": annotations}))
    frames = load_posetrack(tmp_path / "gt.json")["seq"]
    assert [(name, f.index) for name, f in frames] == [("seq/000001.jpg", 0),
                                                        ("seq/000003.jpg", 2)]
    video = {str(i): TrackFrame([7], [[10.0 * (i + 1), 0, 10.0 * (i + 1) + 5, 5]])
             for i in range(3)}
    aligned = align_results(frames, video)
    assert [a.xyxy[0, 0] for a in aligned] == [10.0, 30.0]
    assert evaluate_boxes([f for _, f in frames], aligned).mota == 1.0
    # the same results named by the file number (the old rule) would miss every frame
    shifted = {str(int(i) + 1): f for i, f in video.items()}
    assert evaluate_boxes([f for _, f in frames], align_results(frames, shifted)).mota < 0


def test_posetrack_annotations_evaluate_perfectly_against_themselves() -> None:
    folder = SHARED_DATA / "mmpose" / "posetrack18" / "annotations" / "val"
    if not folder.is_dir():
        pytest.skip(f"PoseTrack18 sample not found at {folder}")
    sequences = load_posetrack(folder)
    assert sorted(len(f[0][1]) for f in sequences.values()) == [1, 2, 11]
    for frames in sequences.values():
        gt = [f for _, f in frames]
        assert evaluate_boxes(gt, gt).mota == 1.0
        assert evaluate_joints(gt, gt).mean.mota == 1.0


# ------------------------------------------------------------------------------------------------
# rendering and CLI
# ------------------------------------------------------------------------------------------------


def test_trails_are_drawn_in_the_id_colour_and_forgotten() -> None:
    history = TrailHistory(length=3)
    for t in range(5):
        poses = Poses(np.zeros((1, 17, 2)), np.ones((1, 17)),
                      np.array([[10.0 + 20 * t, 10, 30 + 20 * t, 100]]), np.ones(1),
                      layout="coco17", track_ids=np.array([7]))
        trails = history.update(poses)
    np.testing.assert_allclose(trails[7], [[60, 100], [80, 100], [100, 100]])
    canvas = draw_trails(np.zeros((200, 200, 3), np.uint8), trails, thickness=3)
    assert tuple(canvas[100, 90]) == id_color(7)
    assert not canvas[100, 40].any() and not canvas[50, 90].any()


def test_cli_track_and_eval_track(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from alphapose.cli import main
    from alphapose.writers import PoseTrackWriter

    scenario = crossing(seed=0, num_frames=6)
    entries = []
    with PoseTrackWriter(tmp_path / "gt.json") as gt_writer:
        for frame, gt, observed in scenario.frames():
            truth = replace(observed, track_ids=np.arange(len(observed)) * 0 - 1)
            for i in range(len(observed)):
                entries.append(entry(frame.name, observed.keypoints[i].astype(float)))
            gt_ids = [int(gt.ids[np.argmax(box_iou_matrix(observed.xyxy[i:i + 1], gt.xyxy))])
                      for i in range(len(observed))]
            gt_writer.write(frame, replace(truth, track_ids=np.array(gt_ids)))
    (tmp_path / "res.json").write_text(json.dumps(entries))
    assert main(["track", str(tmp_path / "res.json"), "-o", str(tmp_path / "tracked.json")]) == 0
    tracked = json.loads((tmp_path / "tracked.json").read_text())
    assert len({e["idx"] for e in tracked}) == 4
    assert main(["eval-track", str(tmp_path / "gt.json"), str(tmp_path / "tracked.json"),
                 "--protocol", "box"]) == 0
    out = capsys.readouterr().out
    assert "total box" in out and "mota=1.000" in out and "idsw=0" in out


def test_cli_pose_track_alias_builds_msim() -> None:
    from alphapose.cli import _build_tracker, build_parser

    args = build_parser().parse_args(["run", "x.mp4", "--pose_track", "--track-mu-emb", "0.5",
                                      "--track-stages", "2,3"])
    tracker = _build_tracker(args)
    assert isinstance(tracker, MSIMTracker)
    assert tracker.config.mu_emb == 0.5 and tracker.config.stages == (2, 3)
    assert _build_tracker(build_parser().parse_args(["run", "x.mp4"])) is None


def test_cli_track_smooth_boxes_outputs_kalman_boxes() -> None:
    from alphapose.cli import _build_tracker, build_parser, output_options

    args = build_parser().parse_args(["run", "x.mp4", "--track-smooth-boxes"])
    tracker = _build_tracker(args)                 # turns the msim tracker on
    assert isinstance(tracker, MSIMTracker) and tracker.config.smoothed_boxes
    assert output_options(args)["track_smooth_boxes"] is True
    plain = _build_tracker(build_parser().parse_args(["run", "x.mp4", "--pose-track"]))
    assert not plain.config.smoothed_boxes
    rng = np.random.default_rng(0)
    for t in range(8):
        xyxy = np.array([[100.0 + 4 * t, 50, 180 + 4 * t, 250]]) + rng.normal(0, 4, (1, 4))
        poses = Poses(np.zeros((1, 17, 2), np.float32), np.zeros((1, 17), np.float32),
                      xyxy.astype(np.float32), np.ones(1, np.float32), layout="coco17")
        a, b = plain.update(None, poses), tracker.update(None, poses)
        np.testing.assert_array_equal(a.xyxy, poses.xyxy)
    assert np.abs(b.xyxy - a.xyxy).max() > 0.1      # the filtered box, not the measured one
