"""MSIM on real trajectories and real crowds (issue #13): MOT15 TUD boxes, MOT17-02 frames.

Ground truth is MOTChallenge ``gt.txt`` (frames from 1, ``left, top, width, height`` in 1-based
pixels). The figures asserted here are those of ``bench/tracking_real.py``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.evaluate.tracking import TrackFrame, evaluate_boxes
from alphapose.structures import Detections, Frame, Poses
from alphapose.tracking import MSIMConfig, MSIMTracker
from alphapose.tracking.kalman import KalmanParams
from alphapose.tracking.msim import box_iou_matrix

pytest.importorskip("motmetrics")

TUD = "mmtracking/demo_MOT15_data/train"
MOT17_02 = "boxmot/MOT17-mini/train/MOT17-02-FRCNN"


def mot_xyxy(rows: np.ndarray) -> np.ndarray:
    return np.c_[rows[:, 2:4] - 1, rows[:, 2:4] - 1 + rows[:, 4:6]].astype(np.float32)


def box_poses(xyxy: np.ndarray) -> Poses:
    """People known by their box alone (every keypoint unscored)."""
    n = len(xyxy)
    return Poses(np.zeros((n, 17, 2), np.float32), np.zeros((n, 17), np.float32),
                 np.asarray(xyxy, np.float32).reshape(n, 4), np.ones(n, np.float32),
                 layout="coco17")


def track_boxes(tracker: MSIMTracker, frames: list[np.ndarray]) -> list[TrackFrame]:
    out = []
    for xyxy in frames:
        poses = tracker.update(None, box_poses(xyxy))
        out.append(TrackFrame(poses.track_ids, poses.xyxy))
    return out


def tud(shared_data: Path, name: str) -> list[TrackFrame]:
    gt = np.loadtxt(shared_data / TUD / name / "gt" / "gt.txt", delimiter=",")
    return [TrackFrame(gt[gt[:, 0] == f, 1].astype(np.int64), mot_xyxy(gt[gt[:, 0] == f]))
            for f in range(1, int(gt[:, 0].max()) + 1)]


def noisy(gt: list[TrackFrame], noise: float, drop: float, seed: int) -> list[np.ndarray]:
    """Corners moved by N(0, noise x height), ``drop`` of the boxes removed, order shuffled."""
    rng = np.random.default_rng(seed)
    out = []
    for g in gt:
        xyxy = g.xyxy.astype(np.float64)
        moved = xyxy + rng.normal(0.0, 1.0, xyxy.shape) * noise * (xyxy[:, 3:] - xyxy[:, 1:2])
        moved[:, 2:] = np.maximum(moved[:, 2:], moved[:, :2] + 1.0)
        keep = rng.random(len(xyxy)) >= drop
        out.append(moved[keep][rng.permutation(int(keep.sum()))])
    return out


# ------------------------------------------------------------------------------------------------
# box-only people (no keypoints): the motion and box stages
# ------------------------------------------------------------------------------------------------


def test_people_known_by_their_box_alone_keep_their_ids() -> None:
    # Three people walking side by side, boxes only, 3 % of the height of jitter. Before the fix a
    # box-only person counted as 0 % visible (Kalman measurement noise x 10: the track lagged
    # behind) and as the worst possible pose match (+0.5 on every fusion cost: stage 2 could never
    # link), so identities broke every few frames.
    rng = np.random.default_rng(0)
    frames, ids = [], []
    for t in range(40):
        x = np.array([100.0, 260.0, 420.0]) + 6.0 * t
        xyxy = np.c_[x, np.full(3, 100.0), x + 80, np.full(3, 300.0)]
        frames.append(xyxy + rng.normal(0, 0.03 * 200, xyxy.shape))
        ids.append(np.arange(3))
    pred = track_boxes(MSIMTracker(), frames)
    metrics = evaluate_boxes([TrackFrame(i, f.astype(np.float32)) for i, f in zip(ids, frames)],
                             pred)
    assert metrics.idsw == 0
    assert metrics.idf1 == 1.0
    assert all(len(set(p.ids.tolist())) == 3 for p in pred)


def test_a_stale_track_is_not_revived_by_a_passer_by_box() -> None:
    # Person 0 walks right and vanishes (leaves, or is hidden) after frame 5; from frame 12 person
    # 1 enters where person 0's prediction has drifted to. Box overlap alone cannot tell them
    # apart: after box_recovery_frames a lost track comes back only through appearance.
    def box(x: float) -> np.ndarray:
        return np.array([[x, 100.0, x + 80, 300.0]])

    cfg = MSIMConfig(box_recovery_frames=5)
    tracker = MSIMTracker(cfg)
    first = [tracker.update(None, box_poses(box(100.0 + 5 * t))).track_ids[0] for t in range(6)]
    for _ in range(6):
        tracker.update(None, box_poses(np.zeros((0, 4))))
    later = tracker.update(None, box_poses(box(100.0 + 5 * 12))).track_ids[0]
    assert len(set(first)) == 1
    assert later != first[0]

    # a short gap (within box_recovery_frames) keeps the identity
    tracker = MSIMTracker(cfg)
    first = [tracker.update(None, box_poses(box(100.0 + 5 * t))).track_ids[0] for t in range(6)]
    for _ in range(3):
        tracker.update(None, box_poses(np.zeros((0, 4))))
    assert tracker.update(None, box_poses(box(100.0 + 5 * 9))).track_ids[0] == first[0]


def test_box_recovery_frames_is_checked() -> None:
    with pytest.raises(ValueError, match="box_recovery_frames"):
        MSIMConfig(box_recovery_frames=-1)


@pytest.mark.parametrize("name", ["TUD-Campus", "TUD-Stadtmitte"])
def test_tud_ground_truth_boxes_are_tracked_without_a_switch(shared_data, name: str) -> None:
    # MOT15 TUD trajectories (real people walking past each other), exact boxes: before the
    # box-only fixes IDF1 0.70 with 172 switches over both sequences
    gt = tud(shared_data, name)
    metrics = evaluate_boxes(gt, track_boxes(MSIMTracker(), [g.xyxy for g in gt]))
    assert metrics.idsw == 0
    assert metrics.idf1 == 1.0


@pytest.mark.parametrize(("name", "min_idf1", "max_idsw"),
                         [("TUD-Campus", 0.90, 2), ("TUD-Stadtmitte", 0.85, 5)])
def test_tud_boxes_with_noise_and_dropouts(shared_data, name: str, min_idf1: float,
                                           max_idsw: int) -> None:
    # 5 % of the height of corner noise and 10 % of the boxes dropped, seed 0 (0.922 / 0 and
    # 0.901 / 2 switches; before
    # the box-only fixes 0.10 and 0.13 IDF1 with hundreds of switches)
    gt = tud(shared_data, name)
    metrics = evaluate_boxes(gt, track_boxes(MSIMTracker(), noisy(gt, 0.05, 0.10, seed=0)))
    assert metrics.idf1 >= min_idf1
    assert metrics.idsw <= max_idsw
    assert metrics.precision > 0.95


def tud_noisy_metrics(shared_data: Path, config: MSIMConfig, seeds: int = 3,
                      drop: float = 0.10):
    """Both TUD sequences, 5 % noise, ``drop`` drop-outs, ``seeds`` seeds, as one evaluation."""
    from alphapose.evaluate.tracking import concat_sequences

    pairs = []
    for name in ("TUD-Campus", "TUD-Stadtmitte"):
        gt = tud(shared_data, name)
        for seed in range(seeds):
            pairs.append((gt, track_boxes(MSIMTracker(config), noisy(gt, 0.05, drop, seed))))
    return evaluate_boxes(*concat_sequences(pairs))


@pytest.fixture(scope="module")
def tud_default(shared_data):
    return tud_noisy_metrics(shared_data, MSIMConfig())


def test_walking_pace_process_noise_separates_people_walking_together(shared_data,
                                                                       tud_default) -> None:
    # TUD-Stadtmitte has groups whose boxes overlap alike for dozens of frames. With the official
    # tracker's process noise (h / 20 and h / 160 per frame) the filter follows every noisy box
    # and the groups swap; a walking person's velocity changes little per frame (h / 80,
    # h / 1280): bench, 10 seeds, IDF1 0.792 -> 0.899, switches 135 -> 63 (3 seeds: 0.786 / 40
    # -> 0.911 / 5). The oracle (true identities on the same noisy boxes) scores 0.910.
    # Both without the ambiguity-aware update, which also holds the official noise's groups
    # apart (test below): 3 seeds 0.762 / 37 -> 0.912 / 4
    walking = tud_noisy_metrics(shared_data, MSIMConfig(ambiguous_noise_cap=1.0))
    official = tud_noisy_metrics(shared_data, MSIMConfig(
        kalman=KalmanParams(std_process_position=1 / 20, std_process_velocity=1 / 160),
        ambiguous_noise_cap=1.0))
    assert walking.idf1 >= official.idf1 + 0.08
    assert walking.idsw <= official.idsw // 4
    assert tud_default.idf1 >= 0.90


def test_ambiguous_box_moves_its_track_less(shared_data, tud_default) -> None:
    # a box that another live track could as well have produced corrects its own track less
    # (measurement noise / its likelihood share, up to 3x): people walking together keep their
    # own velocities instead of being pulled towards each other. With the official process
    # noise the filter follows every box, so the states mix most there: 3 seeds IDF1 0.762 ->
    # 0.869, switches 37 -> 14; with the default noise 0.912 either way on these 3 seeds
    # (bench, 40 seeds: 0.898 -> 0.902)
    official = KalmanParams(std_process_position=1 / 20, std_process_velocity=1 / 160)
    plain = tud_noisy_metrics(shared_data, MSIMConfig(kalman=official, ambiguous_noise_cap=1.0))
    held = tud_noisy_metrics(shared_data, MSIMConfig(kalman=official))
    assert held.idf1 >= plain.idf1 + 0.05
    assert held.idsw <= plain.idsw // 2
    assert held.recall >= plain.recall - 0.002


def test_ambiguity_share_is_one_for_a_lone_person() -> None:
    # a person far from every other track is not ambiguous: the Kalman update is the plain one
    far = [np.array([[100.0 + 4 * t, 100, 160 + 4 * t, 260],
                     [600.0 - 4 * t, 120, 650 - 4 * t, 250]]) for t in range(6)]
    a, b = MSIMTracker(), MSIMTracker(MSIMConfig(ambiguous_noise_cap=1.0))
    for xyxy in far:
        a.update(None, box_poses(xyxy))
        b.update(None, box_poses(xyxy))
    for ta, tb in zip(a.tracks, b.tracks):
        np.testing.assert_allclose(ta.mean, tb.mean, rtol=1e-9, atol=1e-6)
    # two people side by side: the same boxes fit either track, each track moves less
    close = [np.array([[100.0 + 4 * t, 100, 160 + 4 * t, 260],
                       [112.0 + 4 * t, 102, 172 + 4 * t, 262]]) for t in range(4)]
    close.append(np.array([[130.0, 100, 190, 260], [134.0, 102, 194, 262]]))
    a, b = MSIMTracker(), MSIMTracker(MSIMConfig(ambiguous_noise_cap=1.0))
    for xyxy in close:
        a.update(None, box_poses(xyxy))
        b.update(None, box_poses(xyxy))
    moved_a = sum(abs(t.mean[4]) for t in a.tracks)
    moved_b = sum(abs(t.mean[4]) for t in b.tracks)
    assert moved_a < moved_b


def test_box_motion_term_ranks_without_refusing(shared_data, tud_default) -> None:
    # the whole box's Mahalanobis distance chooses among the links the overlap admits; it no
    # longer refuses a noisy box (3 seeds: 10 -> 5 switches, IDF1 0.909 -> 0.911)
    without = tud_noisy_metrics(shared_data, MSIMConfig(box_motion_weight=0.0))
    assert tud_default.idsw < without.idsw
    assert tud_default.idf1 >= without.idf1
    # a weight large enough to swamp the overlap still links every person it linked before
    heavy = tud_noisy_metrics(shared_data, MSIMConfig(box_motion_weight=1.0))
    assert heavy.recall >= tud_default.recall - 0.005
    assert heavy.idf1 >= tud_default.idf1 - 0.02


def test_smoothed_boxes_are_closer_to_the_truth(shared_data, tud_default) -> None:
    # the Kalman posterior averages the 5 % corner noise out: mean IoU with the true boxes
    # 0.735 -> 0.802, more boxes within IoU 0.5 (recall) and the same identities or better
    measured = tud_default
    smoothed = tud_noisy_metrics(shared_data, MSIMConfig(smoothed_boxes=True))
    assert smoothed.motp >= measured.motp + 0.05
    assert smoothed.recall > measured.recall
    assert smoothed.idf1 >= measured.idf1


def test_smoothed_boxes_only_change_tracked_people() -> None:
    boxes = [np.array([[100.0 + 5 * t, 100, 180 + 5 * t, 300]]) for t in range(3)]
    plain, smooth = MSIMTracker(), MSIMTracker(MSIMConfig(smoothed_boxes=True))
    for t, xyxy in enumerate(boxes):
        a, b = plain.update(None, box_poses(xyxy)), smooth.update(None, box_poses(xyxy))
        np.testing.assert_array_equal(a.xyxy, xyxy.astype(np.float32))
        np.testing.assert_array_equal(a.track_ids, b.track_ids)
        if t == 0:          # a new track has nothing to smooth
            np.testing.assert_array_equal(b.xyxy, a.xyxy)
    # the posterior lies between the prediction and the measurement: close, not equal
    assert 0.0 < np.abs(b.xyxy - a.xyxy).max() < 5.0


# ------------------------------------------------------------------------------------------------
# MOT17-02: real frames, real appearance, a crowd
# ------------------------------------------------------------------------------------------------


class FrameBoxes:
    """A detector returning one frame's given boxes per call, in order."""

    def __init__(self, boxes: list[np.ndarray]) -> None:
        self.boxes, self.calls = boxes, 0

    def __call__(self, image: np.ndarray) -> Detections:
        xyxy = self.boxes[self.calls]
        self.calls += 1
        return Detections(xyxy, np.ones(len(xyxy), np.float32))


@pytest.fixture(scope="module")
def mot17_tracked_inputs(shared_data, embedded_models):
    """Frames, poses from the ground-truth boxes (pedestrians >= half visible) and ground
    truth of MOT17-02's 4 frames."""
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
    from alphapose.pipeline import Pipeline, RunOptions

    root = shared_data / MOT17_02
    gt = np.loadtxt(root / "gt" / "gt.txt", delimiter=",")
    people, frames = [], []
    for f in range(1, 5):
        rows = gt[(gt[:, 0] == f) & (gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= 0.5)]
        people.append(TrackFrame(rows[:, 1].astype(np.int64), mot_xyxy(rows)))
        frames.append(Frame(cv2.imread(str(root / "img1" / f"{f:06d}.jpg")), f - 1,
                            f"{f:06d}.jpg"))
    pipeline = Pipeline(FrameBoxes([p.xyxy for p in people]),
                        BlazeWholeBody(BlazeWholeBodyConfig(hands=False, face=False)),
                        detect_every=1, run=RunOptions(sp=True))
    poses = [pipeline.predict(fr.image, fr) for fr in frames]
    return frames, poses, people


@pytest.mark.models
@pytest.mark.parametrize("order", [(1, 2, 3, 4), (1, 2, 3, 4, 3, 2, 1, 2), (1, 3, 1, 3, 4, 2)],
                         ids=["forward", "back-and-forth", "skipping"])
def test_mot17_people_given_as_boxes_keep_their_ids(mot17_tracked_inputs, order) -> None:
    # Real look-alike pedestrians standing in front of each other; played forward, back and
    # forth (people reverse their motion) and skipping frames (larger steps).
    frames, poses, people = mot17_tracked_inputs
    tracker = MSIMTracker()
    pred, gt = [], []
    for f in order:
        out = tracker.update(frames[f - 1], poses[f - 1])
        pred.append(TrackFrame(out.track_ids, out.xyxy))
        gt.append(people[f - 1])
    metrics = evaluate_boxes(gt, pred)
    assert metrics.recall == 1.0
    assert metrics.idsw <= 1
    assert metrics.idf1 >= 0.95


# ------------------------------------------------------------------------------------------------
# real-appearance scenes: COCO people cut along their masks, over the MOT17-02 street
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_scene_inputs(shared_data):
    from tracking_scenes.real import load_coco_cutouts

    cutouts = load_coco_cutouts(shared_data / "mmpose" / "coco" / "test_coco.json")
    background = cv2.imread(str(shared_data / MOT17_02 / "img1" / "000001.jpg"))
    return cutouts, background


def run_scene(scene, tracker: MSIMTracker, num_frames: int | None = None):
    gts, preds, frames = [], [], []
    for frame, gt, observed in scene.frames():
        if num_frames is not None and frame.index >= num_frames:
            break
        out = tracker.update(frame, observed)
        gts.append(gt)
        preds.append(TrackFrame(out.track_ids, out.xyxy))
        frames.append((frame, gt, observed))
    return gts, preds, frames


def test_cutouts_are_real_people_with_masks_and_keypoints(shared_data, real_scene_inputs
                                                         ) -> None:
    from tracking_scenes.real import load_coco_cutouts

    cutouts, _ = real_scene_inputs
    assert len(cutouts) >= 8
    for cut in cutouts:
        assert cut.image.shape[:2] == cut.mask.shape
        assert 0.2 < cut.mask.mean() < 0.95          # a person's outline, not the whole box
        labelled = cut.keypoints[cut.labelled]
        h, w = cut.mask.shape
        within = ((labelled >= -0.1 * h) & (labelled <= [1.1 * w, 1.1 * h])).all(1)
        assert within.mean() >= 0.9                   # keypoints in the cut's own pixels
    with pytest.raises(ValueError, match="no person"):
        load_coco_cutouts(shared_data / "mmpose" / "coco" / "test_coco.json", min_keypoints=18)


def test_real_scene_ground_truth_by_construction(real_scene_inputs) -> None:
    from tracking_scenes.real import real_pan_zoom

    cutouts, background = real_scene_inputs
    scene = real_pan_zoom(cutouts, background, seed=0, num_frames=150)
    heights, hidden, dropped = {}, 0, 0
    for frame, gt, observed in scene.frames():
        assert frame.image.shape == (360, 640, 3)
        assert set(observed.track_ids.tolist()) <= {-1}          # no identity leaks out
        assert len(observed) <= len(gt.ids)
        dropped += len(gt.ids) - len(observed)
        hidden += int((observed.keypoint_scores < 0.5).any())
        for pid, box in zip(gt.ids.tolist(), gt.xyxy):
            heights.setdefault(pid, []).append(box[3] - box[1])
    # the zoom (0.8x - 1.4x) changes every person's size; drop-outs and occlusion happen
    assert all(max(h) > 1.4 * min(h) for h in heights.values())
    assert dropped > 0 and hidden > 0


def test_real_scene_distinct_people_crossing_keep_their_ids(real_scene_inputs) -> None:
    # different real people crossing (the nearer hides the farther) under a panning, zooming
    # camera: bench 0 switches over 3 seeds (pan_zoom); crossing seed 0: 0; crowd seed 0: 0 (3
    # before stages 2/3 stopped vetoing on the appearance of a person whose parts are all
    # hidden: distance 1 by definition, so a walker hidden to the shoulders got new ids)
    from tracking_scenes.real import real_crossing, real_crowd, real_pan_zoom

    cutouts, background = real_scene_inputs
    for scene in (real_pan_zoom(cutouts, background, seed=0),
                  real_crossing(cutouts, background, seed=0),
                  real_crowd(cutouts, background, seed=0)):
        gts, preds, _ = run_scene(scene, MSIMTracker())
        metrics = evaluate_boxes(gts, preds)
        assert metrics.idsw == 0, scene.name
        assert metrics.idf1 >= 0.97, scene.name


def test_real_scene_lookalikes_are_look_alikes_and_reported(real_scene_inputs) -> None:
    # twins (one mirrored) and a colour-shifted copy: the scene lists them, and the twins really
    # are look-alikes to the appearance descriptor (closer than mu_emb), so identity rests on
    # motion alone when they cross; the tracker's figures on them are measured, not assumed
    from alphapose.tracking.reid import appearance_distance
    from tracking_scenes.real import real_lookalikes

    cutouts, background = real_scene_inputs
    scene = real_lookalikes(cutouts, background, seed=1)
    assert scene.lookalikes == [(0, 1), (2, 3)]
    tracker = MSIMTracker()
    gts, preds, frames = run_scene(scene, tracker)
    frame, gt, observed = next((f, g, o) for f, g, o in frames
                               if {0, 1} <= set(g.ids.tolist()) and len(o) == len(g.ids)
                               and (o.keypoint_scores > 0.5).sum(1).min() >= 12)
    embeddings = tracker.appearance.embed(frame.image, observed)
    owners = gt.ids[box_iou_matrix(observed.xyxy, gt.xyxy).argmax(1)].tolist()
    a, b = owners.index(0), owners.index(1)
    twins = appearance_distance(embeddings[[a]], embeddings[[b]])[0, 0]
    assert twins < MSIMConfig().mu_emb
    metrics = evaluate_boxes(gts, preds)
    assert metrics.idf1 >= 0.95
    assert metrics.idsw <= 4


def test_partly_hidden_people_crossing_keep_their_ids(real_scene_inputs) -> None:
    # crossing seeds 1 and 2 and crowd seed 2 switched ids (2, 2, 1) before the keypoint cue:
    # a walker showing only the head above a nearer one took the occluder's lost track on a
    # one-part appearance match (0.44 vs 0.47), or got a new id (the head's box overlaps no
    # track's box), and a person seen for one frame lost the tentative track while hidden.
    # The keypoints shown lie where the right track's are predicted (median 0.02 of the
    # height vs 0.26 for the other track)
    from tracking_scenes.real import real_crossing, real_crowd

    cutouts, background = real_scene_inputs
    # (the frames up to and just past those events)
    scenes = ((real_crossing(cutouts, background, seed=1), 95),
              (real_crossing(cutouts, background, seed=2), 95),
              (real_crowd(cutouts, background, seed=2), 15))
    for scene, frames in scenes:
        metrics = evaluate_boxes(*run_scene(scene, MSIMTracker(), frames)[:2])
        assert metrics.idsw == 0, scene.name
    without = MSIMConfig(keypoint_gate=None, keypoint_weight=0.0, keypoint_link=0.0,
                         tentative_max_lost=0)
    switches = [evaluate_boxes(*run_scene(scene, MSIMTracker(without), frames)[:2]).idsw
                for scene, frames in scenes[1:]]
    assert min(switches) >= 1, switches


def body_poses(points: list[np.ndarray], visible: list[np.ndarray]) -> Poses:
    """People given by keypoints; each box spans the visible keypoints (as a detector sees
    only what is not hidden)."""
    kps = np.stack(points).astype(np.float32)
    scores = np.stack([np.where(v, 0.9, 0.02) for v in visible]).astype(np.float32)
    boxes = np.stack([np.r_[p[v].min(0) - 5, p[v].max(0) + 5] for p, v in zip(points, visible)])
    return Poses(kps, scores, boxes.astype(np.float32), np.ones(len(points), np.float32),
                 layout="coco17")


def test_a_head_above_a_nearer_person_keeps_its_track() -> None:
    # two walkers (no images: no appearance), then one shows only its head: its box is a
    # head's box that overlaps no track's box enough (stages 2/3 refuse it), but its head
    # keypoints are where its track's head is predicted, so it keeps its id
    rng = np.random.default_rng(0)
    template = np.c_[np.r_[0, -4, 4, -8, 8, -20, 20, -26, 26, -28, 28, -12, 12, -12, 12, -12, 12],
                     np.r_[0, -4, -4, 0, 0, 30, 30, 60, 60, 90, 90, 95, 95, 135, 135, 170, 170]]
    template = template.astype(np.float64)
    everything = np.ones(17, bool)
    head = np.arange(17) < 5
    tracker = MSIMTracker()
    for t in range(8):
        a = template + [100 + 6 * t, 50]
        b = template + [300 - 6 * t, 60]
        out = tracker.update(None, body_poses([a + rng.normal(0, 1, a.shape), b],
                                              [everything, everything]))
    ids = dict(zip(("a", "b"), out.track_ids.tolist()))
    a = template + [100 + 6 * 8, 50]
    b = template + [300 - 6 * 8, 60]
    out = tracker.update(None, body_poses([a, b], [head, everything]))
    assert out.track_ids.tolist() == [ids["a"], ids["b"]]
    assert tracker.stage_links[3] >= 1
    plain = MSIMTracker(MSIMConfig(keypoint_link=0.0))
    for t in range(8):
        a = template + [100 + 6 * t, 50]
        b = template + [300 - 6 * t, 60]
        first = plain.update(None, body_poses([a, b], [everything, everything]))
    out = plain.update(None, body_poses([template + [148, 50], template + [252, 60]],
                                        [head, everything]))
    assert out.track_ids[0] not in first.track_ids.tolist()     # without the cue: a new id


def test_a_track_found_again_is_linked_inside_its_kalman_gate(shared_data) -> None:
    # 20 % of the boxes dropped: a track found again after misses has an uncertain prediction
    # that the fixed overlap threshold of stage 3 ignores; stage 3 also admits a box inside the
    # track's 95 % Kalman gate (3 seeds: IDF1 0.796 -> 0.815, switches 37 -> 31; 10 seeds:
    # 0.825 -> 0.831, 110 -> 99)
    gated = tud_noisy_metrics(shared_data, MSIMConfig(), drop=0.20)
    plain = tud_noisy_metrics(shared_data, MSIMConfig(box_gate_relaxed=False), drop=0.20)
    assert gated.idf1 > plain.idf1
    assert gated.idsw <= plain.idsw
