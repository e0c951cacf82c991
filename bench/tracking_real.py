"""Tracking measured on real crowds: MOT17-02 (real frames) and MOT15 TUD (real trajectories).

Cases (each: MOTA, IDF1, ID switches, fragmentations; box level, IoU 0.5, py-motmetrics):

* ``mot17 gt``: MOT17-02-FRCNN, 4 frames of a crowded street (1920x1080), every evaluated
  pedestrian's ground-truth box given to the embedded estimator as a detection (a detector that
  returns the frame's boxes, as ``--detfile`` does), then pose NMS and the default MSIM tracker.
* ``mot17 det``: the same with MOT17's public Faster R-CNN detections (``det/det.txt``, score >=
  ``--det-score``).
* ``mot17 e2e``: the default pipeline end to end (default detector, embedded estimator, MSIM).
* keypoint places: MSIM's keypoint cue (``keypoint_gate``) on the ``mot17 gt`` and ``det``
  poses: the median distance of the body keypoints two people both show, same person one frame
  apart vs other people.
* appearance: the descriptor on the ``mot17 gt`` people (same person in two of the 4 frames vs
  two different people): AUC and the shares of pairs under ``mu_emb`` (frames 1-3 apart at 30
  fps: the same person's crops are nearly identical, so this is an optimistic ROC).
* real-appearance scenes (:mod:`tracking_scenes.real`): COCO people cut along their
  ground-truth masks, walking over the MOT17-02 street: crossings of different people, look-alikes
  (the same person twice, a colour-shifted copy; the pairs are printed), a panning and zooming
  camera, a crowd of 10; ground-truth poses and visible boxes with noise and drop-outs, MSIM with
  appearance; ``--scene-seeds`` (3) seeds.
* ``tud``: MOT15 TUD-Campus and TUD-Stadtmitte ground-truth boxes alone (no images, no keypoints:
  the motion and box stages only), each box corner moved by Gaussian noise of ``--noise`` (5 %)
  of the box height and ``--drop`` (10 %) of the boxes dropped, ``--seeds`` (10) seeds; also
  with the tracker's Kalman-smoothed boxes as output (``MSIMConfig(smoothed_boxes=True)``) and
  with the exact boxes; and the oracle: the true identities on the same noisy boxes (the IDF1
  a perfect tracker would score with the measured boxes as output: some noisy boxes fall under
  IoU 0.5 with their true box).

Ground truth (MOTChallenge ``gt.txt``, frames numbered from 1 = ``img1/000001.jpg``, boxes
``left, top, width, height`` in 1-based pixels, converted to xyxy with ``left - 1``): MOT17 people
to evaluate are the pedestrians (``conf`` 1, class 1) at least half visible (``visibility >=
0.5``, 10-11 per frame, the people a detector or pose estimator can see). Every other row (people
mostly hidden, static people, people on vehicles, distractors, reflections) is an ignore region: a
result matched to it (Hungarian, IoU >= 0.5, over evaluated and ignored boxes together) is
removed before scoring, as the MOTChallenge devkit does for distractors. TUD: every row counts.

Usage::

    python bench/tracking_real.py                  # everything (about a minute on 2 cores)
    python bench/tracking_real.py --cache /tmp/trc # keep the estimated poses between runs
    python bench/tracking_real.py --pictures out/  # + a contact sheet of each real scene

The last line: ``mot17_gt_idf1=... mot17_gt_idsw=... mot17_det_idf1=... tud_idf1=...
e2e_idf1=...``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from alphapose.evaluate.tracking import (
    TrackFrame,
    TrackingMetrics,
    concat_sequences,
    evaluate_boxes,
)
from alphapose.structures import Detections, Frame, Poses
from alphapose.tracking import MSIMConfig, MSIMTracker
from alphapose.tracking.msim import box_iou_matrix

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MOT17_02 = DATA / "boxmot" / "MOT17-mini" / "train" / "MOT17-02-FRCNN"
TUD = DATA / "mmtracking" / "demo_MOT15_data" / "train"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tracking_scenes: not installed


# ------------------------------------------------------------------------------------------------
# MOTChallenge files
# ------------------------------------------------------------------------------------------------


def mot_xyxy(rows: np.ndarray) -> np.ndarray:
    """MOT ``left, top, width, height`` (1-based pixels) -> xyxy (0-based, pixel centres)."""
    return np.c_[rows[:, 2:4] - 1, rows[:, 2:4] - 1 + rows[:, 4:6]].astype(np.float32)


def load_mot17_gt(sequence: Path = MOT17_02, min_visibility: float = 0.5
                  ) -> tuple[dict[int, TrackFrame], dict[int, np.ndarray]]:
    """``{frame: people to evaluate}`` and ``{frame: (M, 4) ignore boxes}`` (frames from 1)."""
    gt = np.loadtxt(sequence / "gt" / "gt.txt", delimiter=",", ndmin=2)
    frames = sorted({int(f) for f in gt[:, 0]})
    people, ignore = {}, {}
    for f in frames:
        rows = gt[gt[:, 0] == f]
        keep = (rows[:, 6] == 1) & (rows[:, 7] == 1) & (rows[:, 8] >= min_visibility)
        people[f] = TrackFrame(rows[keep, 1].astype(np.int64), mot_xyxy(rows[keep]))
        ignore[f] = mot_xyxy(rows[~keep])
    return people, ignore


def load_mot_gt(path: Path) -> dict[int, TrackFrame]:
    """MOT15 ``gt.txt``: ``{frame: every box}`` (frames from 1, empty frames included)."""
    gt = np.loadtxt(path, delimiter=",", ndmin=2)
    last = int(gt[:, 0].max())
    out = {}
    for f in range(1, last + 1):
        rows = gt[gt[:, 0] == f]
        out[f] = TrackFrame(rows[:, 1].astype(np.int64), mot_xyxy(rows))
    return out


def load_mot_detections(sequence: Path, min_score: float) -> dict[int, np.ndarray]:
    """Public detections ``det/det.txt``: ``{frame: (N, 4) xyxy}``."""
    det = np.loadtxt(sequence / "det" / "det.txt", delimiter=",", ndmin=2)
    det = det[det[:, 6] >= min_score]
    return {int(f): mot_xyxy(det[det[:, 0] == f]) for f in np.unique(det[:, 0])}


def drop_ignored(result: TrackFrame, people: TrackFrame, ignore: np.ndarray,
                 iou: float = 0.5) -> TrackFrame:
    """``result`` without the boxes matched to an ignore region (one-to-one, IoU >= ``iou``,
    matched against the evaluated people and the ignore boxes together)."""
    if len(result.ids) == 0 or len(ignore) == 0:
        return result
    from scipy.optimize import linear_sum_assignment

    targets = np.concatenate([people.xyxy, ignore]).astype(np.float64)
    overlap = box_iou_matrix(result.xyxy, targets)
    rows, cols = linear_sum_assignment(-overlap)
    drop = np.zeros(len(result.ids), bool)
    for r, c in zip(rows, cols):
        if overlap[r, c] >= iou and c >= len(people.ids):
            drop[r] = True
    return TrackFrame(result.ids[~drop], result.xyxy[~drop])


def read_frames(sequence: Path = MOT17_02) -> dict[int, Frame]:
    """``{MOT frame number: Frame}`` from ``img1/000001.jpg`` ... (Frame.index = number - 1)."""
    out = {}
    for path in sorted((sequence / "img1").glob("*.jpg")):
        number = int(path.stem)
        out[number] = Frame(cv2.imread(str(path)), number - 1, path.name, str(path),
                            source=str(sequence))
    return out


class FrameBoxes:
    """A detector that returns given boxes, one frame's at a time in call order (score 1)."""

    def __init__(self, boxes: list[np.ndarray]) -> None:
        self.boxes = list(boxes)
        self.calls = 0

    def __call__(self, image: np.ndarray) -> Detections:
        xyxy = self.boxes[self.calls]
        self.calls += 1
        return Detections(np.asarray(xyxy, np.float32), np.ones(len(xyxy), np.float32))


# ------------------------------------------------------------------------------------------------
# cases
# ------------------------------------------------------------------------------------------------


def mot17_poses(case: str, frames: dict[int, Frame], people: dict[int, TrackFrame],
                det_score: float, cache: Path | None) -> dict[int, Poses]:
    """Untracked poses per frame for ``case`` in ``("gt", "det", "e2e")``."""
    count = sum(len(p.ids) for p in people.values())      # the evaluated people's protocol
    key = f"{case}_{count}" if case == "gt" else f"{case}_{det_score}"
    path = cache / f"mot17_{key}.npz" if cache else None
    if path is not None and path.is_file():
        return load_poses(path)
    from alphapose.pipeline import Pipeline, RunOptions

    numbers = sorted(frames)
    if case == "e2e":
        pipeline = Pipeline(run=RunOptions(sp=True))
    else:
        from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig

        if case == "gt":
            boxes = [people[f].xyxy for f in numbers]
            config = BlazeWholeBodyConfig()
        else:
            detections = load_mot_detections(MOT17_02, det_score)
            boxes = [detections.get(f, np.zeros((0, 4), np.float32)) for f in numbers]
            # as ``alphapose run --detfile``: a file's boxes are the user's boxes
            config = BlazeWholeBodyConfig()
        pipeline = Pipeline(FrameBoxes(boxes), BlazeWholeBody(config), detect_every=1,
                            run=RunOptions(sp=True))
    out = {}
    for f in numbers:
        out[f] = pipeline.predict(frames[f].image, frames[f])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_poses(path, out)
    return out


_POSE_ARRAYS = ("keypoints", "keypoint_scores", "xyxy", "box_scores", "scores")


def save_poses(path: Path, poses: dict[int, Poses]) -> None:
    """The fields the tracker reads, per frame, in one ``.npz`` (plain arrays, no pickle)."""
    arrays = {}
    for f, p in poses.items():
        for name in _POSE_ARRAYS:
            if getattr(p, name) is not None:
                arrays[f"{f}.{name}"] = getattr(p, name)
        arrays[f"{f}.layout"] = np.array(p.layout)
    np.savez(path, **arrays)


def load_poses(path: Path) -> dict[int, Poses]:
    with np.load(path, allow_pickle=False) as data:
        frames = sorted({int(k.split(".")[0]) for k in data.files})
        return {f: Poses(**{name: data[f"{f}.{name}"] for name in _POSE_ARRAYS
                            if f"{f}.{name}" in data.files},
                         layout=str(data[f"{f}.layout"]))
                for f in frames}


def track_sequence(tracker, frames: dict[int, Frame | None], poses: dict[int, Poses]
                   ) -> tuple[dict[int, TrackFrame], float]:
    """Results per frame and the tracker's seconds per frame."""
    results, seconds = {}, 0.0
    for f in sorted(poses):
        t0 = time.perf_counter()
        out = tracker.update(frames.get(f), poses[f])
        seconds += time.perf_counter() - t0
        results[f] = TrackFrame(out.track_ids.astype(np.int64), out.xyxy.astype(np.float64))
    return results, seconds / max(len(poses), 1)


def score_mot17(results: dict[int, TrackFrame], people: dict[int, TrackFrame],
                ignore: dict[int, np.ndarray]) -> TrackingMetrics:
    numbers = sorted(people)
    pred = [drop_ignored(results.get(f, TrackFrame.empty()), people[f], ignore[f])
            for f in numbers]
    return evaluate_boxes([people[f] for f in numbers], pred)


def appearance_roc(frames: dict[int, Frame], poses: dict[int, Poses],
                   people: dict[int, TrackFrame], regions: str) -> str:
    """The appearance descriptor on real crops: distances of the same person in two frames vs
    two different people (every pair of frames), as AUC and the shares under the thresholds."""

    from alphapose.tracking import (
        DescriptorConfig,
        PoseGuidedDescriptor,
        appearance_distance,
    )

    descriptor = PoseGuidedDescriptor(DescriptorConfig(regions=regions))
    embeddings, owners = [], []
    for f in sorted(poses):
        embeddings.append(descriptor.embed(frames[f].image, poses[f]))
        owners.append(pose_owners(poses[f], people[f]))
    same, other = [], []
    for a in range(len(embeddings)):
        for b in range(a + 1, len(embeddings)):
            distance = appearance_distance(embeddings[a], embeddings[b])
            known = (owners[a][:, None] >= 0) & (owners[b][None, :] >= 0)
            equal = owners[a][:, None] == owners[b][None, :]
            same += distance[known & equal].tolist()
            other += distance[known & ~equal].tolist()
    s, o = np.array(same), np.array(other)
    auc = float((s[:, None] < o[None, :]).mean() + 0.5 * (s[:, None] == o[None, :]).mean())
    cfg = MSIMConfig()
    return (f"appearance ({regions:5s}): {len(s)} same-person / {len(o)} other pairs, AUC "
            f"{auc:.3f}; same median {np.median(s):.3f} max {s.max():.3f}, other 5th pct "
            f"{np.percentile(o, 5):.3f} min {o.min():.3f}; under mu_emb {cfg.mu_emb}: same "
            f"{(s <= cfg.mu_emb).mean():.2f} other {(o <= cfg.mu_emb).mean():.2f}")


def pose_owners(poses: Poses, people: TrackFrame) -> np.ndarray:
    """The ground-truth id of each pose (one to one by box IoU >= 0.5, Hungarian), -1 for
    poses that pair with nobody."""
    from scipy.optimize import linear_sum_assignment

    overlap = box_iou_matrix(poses.xyxy, people.xyxy)
    rows, cols = linear_sum_assignment(-overlap)
    owner = np.full(len(poses), -1)
    good = overlap[rows, cols] >= 0.5
    owner[rows[good]] = people.ids[cols[good]]
    return owner


def keypoint_places(poses: dict[int, Poses], people: dict[int, TrackFrame]) -> str:
    """The keypoint cue of MSIM (``keypoint_gate``) on real poses: the median distance between
    the body keypoints two people both show (score above the visibility threshold), as a share
    of the earlier one's box height, for the same person one frame apart vs other people (no
    motion model: the tracker also moves the keypoints by the track's velocity)."""

    from alphapose.skeletons import get_layout

    cfg = MSIMConfig()
    numbers = sorted(poses)
    owners = [pose_owners(poses[f], people[f]) for f in numbers]
    same, other = [], []
    for k in range(len(numbers) - 1):
        a, b = poses[numbers[k]], poses[numbers[k + 1]]
        body = np.asarray(get_layout(a.layout).parts["body"], np.int64)
        for i in np.flatnonzero(owners[k] >= 0):
            for j in np.flatnonzero(owners[k + 1] >= 0):
                shared = ((a.keypoint_scores[i, body] > cfg.visibility_threshold)
                          & (b.keypoint_scores[j, body] > cfg.visibility_threshold))
                if not shared.any():
                    continue
                gap = np.linalg.norm(a.keypoints[i, body][shared] - b.keypoints[j, body][shared],
                                     axis=-1)
                d = float(np.median(gap)) / max(float(a.xyxy[i, 3] - a.xyxy[i, 1]), 1.0)
                (same if owners[k][i] == owners[k + 1][j] else other).append(d)
    if not same or not other:
        return "keypoint places: no pairs"
    s, o = np.array(same), np.array(other)
    return (f"keypoint places: {len(s)} same-person (1 frame apart) / {len(o)} other pairs; "
            f"same median {np.median(s):.3f} max {s.max():.3f}, other min {o.min():.3f} "
            f"5th pct {np.percentile(o, 5):.3f}; over keypoint_gate {cfg.keypoint_gate}: same "
            f"{(s > cfg.keypoint_gate).mean():.2f} other {(o > cfg.keypoint_gate).mean():.2f}")


def box_poses(xyxy: np.ndarray) -> Poses:
    """People known by their box alone (COCO-17 layout, every keypoint unscored)."""
    n = len(xyxy)
    return Poses(np.zeros((n, 17, 2), np.float32), np.zeros((n, 17), np.float32),
                 np.asarray(xyxy, np.float32).reshape(n, 4), np.ones(n, np.float32),
                 layout="coco17")


def noisy_boxes(gt: dict[int, TrackFrame], noise: float, drop: float, seed: int
                ) -> tuple[dict[int, Poses], dict[int, np.ndarray]]:
    """Every box's corners moved by N(0, ``noise`` x height), ``drop`` of the boxes removed,
    shuffled within the frame (order must carry no identity); also each kept box's true id."""
    rng = np.random.default_rng(seed)
    out, ids = {}, {}
    for f in sorted(gt):
        xyxy = gt[f].xyxy.astype(np.float64)
        h = (xyxy[:, 3] - xyxy[:, 1])[:, None]
        moved = xyxy + rng.normal(0.0, 1.0, xyxy.shape) * noise * h
        moved[:, 2:] = np.maximum(moved[:, 2:], moved[:, :2] + 1.0)
        keep = rng.random(len(xyxy)) >= drop
        order = rng.permutation(int(keep.sum()))
        out[f] = box_poses(moved[keep][order])
        ids[f] = gt[f].ids[keep][order]
    return out, ids


def tud_case(make_tracker, noise: float, drop: float, seeds: int
             ) -> tuple[TrackingMetrics, dict[str, TrackingMetrics], list[float]]:
    """Both sequences x ``seeds`` seeds as one evaluation, per sequence, and the IDF1 of each
    seed (both sequences). ``make_tracker=None``: the oracle, true ids on the noisy boxes."""
    pairs, per, by_seed = [], {}, [[] for _ in range(seeds)]
    for name in ("TUD-Campus", "TUD-Stadtmitte"):
        gt = load_mot_gt(TUD / name / "gt" / "gt.txt")
        seq_pairs = []
        for seed in range(seeds):
            boxes, ids = noisy_boxes(gt, noise, drop, seed)
            if make_tracker is None:
                results = {f: TrackFrame(ids[f], boxes[f].xyxy) for f in boxes}
            else:
                results, _ = track_sequence(make_tracker(), {}, boxes)
            pair = ([gt[f] for f in sorted(gt)], [results[f] for f in sorted(gt)])
            seq_pairs.append(pair)
            by_seed[seed].append(pair)
        per[name] = evaluate_boxes(*concat_sequences(seq_pairs))
        pairs += seq_pairs
    idf1s = [evaluate_boxes(*concat_sequences(p)).idf1 for p in by_seed]
    return evaluate_boxes(*concat_sequences(pairs)), per, idf1s


def real_scenes(seeds: int, pictures: Path | None = None) -> None:
    """The real-appearance scenes (:mod:`tracking_scenes.real`): COCO people cut
    along their segmentation, composited over the MOT17-02 street; per scene over ``seeds``."""
    from alphapose.render import draw_poses
    from tracking_scenes.real import REAL_SCENES, load_coco_cutouts

    cutouts = load_coco_cutouts(DATA / "mmpose" / "coco" / "test_coco.json")
    background = cv2.imread(str(MOT17_02 / "img1" / "000001.jpg"))
    print(f"real-appearance scenes: {len(cutouts)} COCO people cut along their masks over the "
          f"MOT17-02 street, {seeds} seeds (ID switches per seed)")
    print(f"{'scene':28s} {'mota':>6s} {'idf1':>6s} {'idsw':>5s} {'frag':>5s} {'recall':>6s} "
          f"{'prec':>6s} {'gt':>5s}  per seed / look-alike pairs")
    for name, build in REAL_SCENES.items():
        pairs, switches = [], []
        for seed in range(seeds):
            scene = build(cutouts, background, seed=seed)
            gts, preds, tracker, shots = [], [], MSIMTracker(), []
            for frame, gt, observed in scene.frames():
                out = tracker.update(frame, observed)
                gts.append(gt)
                preds.append(TrackFrame(out.track_ids, out.xyxy.astype(np.float64)))
                if pictures is not None and seed == 0 and frame.index % 20 == 10:
                    shots.append(draw_poses(frame.image, out, draw_boxes=True, draw_ids=True))
            if shots:
                pictures.mkdir(parents=True, exist_ok=True)
                rows = [np.concatenate(shots[k:k + 3], 1) for k in range(0, len(shots) - 2, 3)]
                cv2.imwrite(str(pictures / f"{name}.jpg"), np.concatenate(rows, 0))
            pairs.append((gts, preds))
            switches.append(evaluate_boxes(gts, preds).idsw)
        m = evaluate_boxes(*concat_sequences(pairs))
        print(line(name, m) + f"  {switches} / {scene.lookalikes or 'none'}")


def line(name: str, m: TrackingMetrics) -> str:
    return (f"{name:28s} {m.mota:6.3f} {m.idf1:6.3f} {m.idsw:5d} {m.num_fragmentations:5d} "
            f"{m.recall:6.3f} {m.precision:6.3f} {m.num_objects:5d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--det-score", type=float, default=0.5,
                        help="public detections: smallest score kept (default: %(default)s)")
    parser.add_argument("--min-visibility", type=float, default=0.5,
                        help="MOT17 pedestrians less visible than this are ignore regions "
                             "(0: every pedestrian counts, MOTChallenge's rule; %(default)s)")
    parser.add_argument("--noise", type=float, default=0.05,
                        help="TUD: corner noise std as a share of the height (%(default)s)")
    parser.add_argument("--drop", type=float, default=0.10,
                        help="TUD: share of boxes dropped (%(default)s)")
    parser.add_argument("--seeds", type=int, default=10, help="TUD seeds (%(default)s)")
    parser.add_argument("--scene-seeds", type=int, default=3,
                        help="real-appearance scenes: seeds per scene (%(default)s)")
    parser.add_argument("--pictures", type=Path, default=None,
                        help="folder for a contact sheet per real-appearance scene (seed 0, "
                             "every 20th frame, tracked ids drawn)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder to keep the estimated MOT17 poses in between runs")
    parser.add_argument("--skip-e2e", action="store_true", help="no end-to-end case")
    args = parser.parse_args()
    started = time.perf_counter()

    def make_tracker() -> MSIMTracker:
        return MSIMTracker(MSIMConfig())

    header = (f"{'case':28s} {'mota':>6s} {'idf1':>6s} {'idsw':>5s} {'frag':>5s} {'recall':>6s} "
              f"{'prec':>6s} {'gt':>5s}")
    figures: dict[str, TrackingMetrics] = {}
    if MOT17_02.is_dir():
        frames = read_frames()
        people, ignore = load_mot17_gt(min_visibility=args.min_visibility)
        print(f"MOT17-02: {len(frames)} frames, {sum(len(p.ids) for p in people.values())} "
              f"people to evaluate (pedestrians, visibility >= {args.min_visibility:g}), "
              f"{sum(len(i) for i in ignore.values())} ignore boxes")
        print(header)
        for case in ("gt", "det") + (() if args.skip_e2e else ("e2e",)):
            poses = mot17_poses(case, frames, people, args.det_score, args.cache)
            results, sec = track_sequence(make_tracker(), frames, poses)
            m = score_mot17(results, people, ignore)
            figures[case] = m
            print(line(f"mot17 {case} ({sum(len(p) for p in poses.values())} poses)", m)
                  + f"  tracker {1000 * sec:.1f} ms/frame")
            if case == "gt":
                gt_poses = poses
            if case in ("gt", "det"):
                print(f"  {case}: " + keypoint_places(poses, people))
        for regions in ("parts", "box"):
            print(appearance_roc(frames, gt_poses, people, regions))
    else:
        print(f"MOT17-02: no data at {MOT17_02}; skipped")
    if TUD.is_dir():
        print(f"TUD boxes alone: noise {args.noise:.0%} of height, {args.drop:.0%} dropped, "
              f"{args.seeds} seeds")
        print(header)
        total, per, idf1s = tud_case(make_tracker, args.noise, args.drop, args.seeds)
        for name, m in per.items():
            print(line(f"tud {name}", m))
        print(line("tud both", total) + f"  per seed {np.mean(idf1s):.3f} +- {np.std(idf1s):.3f}"
              f" (min {min(idf1s):.3f})")
        figures["tud"] = total
        smoothed, _, idf1s = tud_case(lambda: MSIMTracker(MSIMConfig(smoothed_boxes=True)),
                                      args.noise, args.drop, args.seeds)
        print(line("tud both, smoothed boxes", smoothed)
              + f"  per seed {np.mean(idf1s):.3f} +- {np.std(idf1s):.3f}")
        oracle, _, _ = tud_case(None, args.noise, args.drop, args.seeds)
        print(line("tud both, oracle ids", oracle) + "  (true ids on the same noisy boxes: "
              "the ceiling of the measured-box output)")
        clean, _, _ = tud_case(make_tracker, 0.0, 0.0, 1)
        print(line("tud both, exact boxes", clean))
    else:
        print(f"TUD: no data at {TUD}; skipped")
    if (DATA / "mmpose" / "coco" / "test_coco.json").is_file() and MOT17_02.is_dir():
        real_scenes(args.scene_seeds, args.pictures)
    print("(tracker ms/frame: 2 shared cores, not a timing benchmark; see bench/tracking.py)")
    print(f"(bench took {time.perf_counter() - started:.0f} s)")

    def get(case: str, what: str) -> str:
        m = figures.get(case)
        if m is None:
            return "nan"
        return str(m.idsw) if what == "idsw" else f"{getattr(m, what):.3f}"

    print(f"mot17_gt_idf1={get('gt', 'idf1')} mot17_gt_idsw={get('gt', 'idsw')} "
          f"mot17_det_idf1={get('det', 'idf1')} tud_idf1={get('tud', 'idf1')} "
          f"e2e_idf1={get('e2e', 'idf1')}")


if __name__ == "__main__":
    main()
