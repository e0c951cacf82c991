"""``--smooth`` on real sequences: jitter removed vs lag added, per sequence and setting.

Sequences (real pixels, the embedded estimator, the MSIM tracker, then the One-Euro smoother of
each setting of ``bench/smoothing.py`` applied to the very same tracked output):

* ``video.avi``: ``../shared/data/openpose/video.avi`` (1280 x 720, 50 fps, a crowd), the
  default pipeline end to end, the first ``--frames`` frames;
* ``real_crossing`` / ``real_pan_zoom``: the real-appearance scenes
  (:mod:`tracking_scenes.real`, COCO people over the MOT17-02 street, seed 0, 30 fps),
  each person's true visible box given to the embedded estimator as its detection.

No labels are needed for the two figures, per setting and sequence, over the tracked people's
confident body keypoints (score > 0.5, in runs of consecutive frames):

* ``jitter``: RMS of the second difference ``x[t+1] - 2 x[t] + x[t-1]`` in % of the person's box
  size (longer side): what a smoother should remove (a person walking at constant speed has
  none);
* ``lag``: frames the smoothed keypoints trail the raw ones, the least-squares ``d`` of
  ``raw - smoothed = d * v`` with ``v`` the raw velocity (centred over 4 frames), on keypoints
  moving more than 0.2 % of the size per frame.

Usage::

    .venv/bin/python bench/smoothing_real.py            # about 11 minutes on 2 busy cores
    .venv/bin/python bench/smoothing_real.py --frames 60 --cache /tmp/smr

The last line: ``video_jitter_cut=... video_lag=... scenes_jitter_cut=... scenes_lag=...`` (the
default setting; ``jitter_cut`` = share of the raw jitter removed).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tracking_scenes: not installed

from smoothing import DEFAULT, SETTINGS
from tqdm import tqdm

from alphapose.skeletons import get_layout
from alphapose.smoothing import KeypointSmoother, OneEuroConfig
from alphapose.structures import Detections, Frame, Poses
from alphapose.tracking import MSIMTracker

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
VIDEO = DATA / "openpose" / "video.avi"


class GivenBoxes:
    """A detector returning the given boxes of each call in turn (score 1)."""

    def __init__(self, boxes: list[np.ndarray]) -> None:
        self.boxes, self.calls = boxes, 0

    def __call__(self, image: np.ndarray) -> Detections:
        xyxy = self.boxes[self.calls]
        self.calls += 1
        return Detections(np.asarray(xyxy, np.float32), np.ones(len(xyxy), np.float32))


def video_results(frames: int) -> list[tuple[Frame, Poses]]:
    from alphapose.pipeline import Pipeline, RunOptions
    from alphapose.sources import open_sources

    pipeline = Pipeline(tracker=MSIMTracker(), run=RunOptions(sp=True))
    out = []
    source = open_sources([str(VIDEO)])[0]
    for frame, poses in tqdm(pipeline.run(source), total=frames, desc="video.avi"):
        out.append((Frame(np.zeros((1, 1, 3), np.uint8), frame.index, frame.name,
                          timestamp=frame.timestamp), poses))
        if len(out) >= frames:
            break
    return out


def scene_results(name: str) -> list[tuple[Frame, Poses]]:
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
    from alphapose.pipeline import Pipeline, RunOptions
    from tracking_scenes.real import REAL_SCENES, load_coco_cutouts

    cutouts = load_coco_cutouts(DATA / "mmpose" / "coco" / "test_coco.json")
    background = cv2.imread(str(DATA / "boxmot" / "MOT17-mini" / "train" / "MOT17-02-FRCNN"
                                / "img1" / "000001.jpg"))
    scene = REAL_SCENES[name](cutouts, background, seed=0)
    frames = list(scene.frames())
    pipeline = Pipeline(GivenBoxes([gt.xyxy for _, gt, _ in frames]),
                        BlazeWholeBody(BlazeWholeBodyConfig(hands=False, face=False)),
                        tracker=MSIMTracker(), detect_every=1, run=RunOptions(sp=True))
    out = []
    for frame, _, _ in tqdm(frames, desc=name):
        frame = Frame(frame.image, frame.index, frame.name, timestamp=frame.index / 30.0)
        poses = pipeline.predict(frame.image, frame)
        out.append((Frame(np.zeros((1, 1, 3), np.uint8), frame.index, frame.name,
                          timestamp=frame.timestamp), poses))
    return out


def smoothed(results: list[tuple[Frame, Poses]], config: OneEuroConfig | None
             ) -> list[Poses]:
    smoother = None if config is None else KeypointSmoother(config)
    return [poses if smoother is None else smoother.update(frame, poses)
            for frame, poses in results]


def series(results: list[Poses]) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per track id: ``(T, B, 2)`` body keypoints, ``(T, B)`` scores, ``(T,)`` box sizes, NaN /
    0 where the person is absent."""
    layout = results[0].layout if results else "coco17"
    body = np.asarray(get_layout(layout).parts["body"], np.int64)
    ids = sorted({int(i) for p in results for i in p.track_ids if i >= 0})
    out = {}
    for tid in ids:
        points = np.full((len(results), len(body), 2), np.nan)
        scores = np.zeros((len(results), len(body)))
        sizes = np.full(len(results), np.nan)
        for t, poses in enumerate(results):
            rows = np.flatnonzero(poses.track_ids == tid)
            if len(rows):
                points[t] = poses.keypoints[rows[0]][body]
                scores[t] = poses.keypoint_scores[rows[0]][body]
                sizes[t] = (poses.xyxy[rows[0], 2:] - poses.xyxy[rows[0], :2]).max()
        out[tid] = (points, scores, sizes)
    return out


def figures(raw: list[Poses], smooth: list[Poses]) -> tuple[float, float, float]:
    """(raw jitter %, smoothed jitter %, lag frames) over every track and confident keypoint."""
    raw_s, smooth_s = series(raw), series(smooth)
    acc_raw, acc_smooth, num, den = [], [], 0.0, 0.0
    for tid, (points, scores, sizes) in raw_s.items():
        spoints = smooth_s[tid][0]
        ok = (scores > 0.5) & np.isfinite(points[..., 0]) & np.isfinite(sizes)[:, None]
        size = sizes[:, None]
        # second differences where three consecutive frames are confident
        triple = ok[:-2] & ok[1:-1] & ok[2:]
        for p, acc in ((points, acc_raw), (spoints, acc_smooth)):
            second = p[2:] - 2 * p[1:-1] + p[:-2]
            acc.append((np.linalg.norm(second, axis=-1) / size[1:-1] * 100)[triple])
        # lag: raw - smoothed = d * v, v the raw velocity centred over 4 frames
        five = ok[:-4] & ok[1:-3] & ok[2:-2] & ok[3:-1] & ok[4:]
        v = (points[4:] - points[:-4]) / 4
        moving = five & (np.linalg.norm(v, axis=-1) / size[2:-2] > 0.002)
        diff = (points - spoints)[2:-2]
        num += float((diff * v).sum(-1)[moving].sum())
        den += float((v * v).sum(-1)[moving].sum())
    jr = float(np.sqrt(np.mean(np.concatenate(acc_raw) ** 2)))
    js = float(np.sqrt(np.mean(np.concatenate(acc_smooth) ** 2)))
    return jr, js, num / den if den > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=120, help="video.avi frames (%(default)s)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder to keep the tracked poses in between runs")
    args = parser.parse_args()
    started = time.perf_counter()
    sequences = {}
    makers = {"video.avi": lambda: video_results(args.frames),
              "real_crossing": lambda: scene_results("real_crossing"),
              "real_pan_zoom": lambda: scene_results("real_pan_zoom")}
    for name, make in makers.items():
        path = args.cache / f"{name}_{args.frames}.pkl" if args.cache else None
        if path is not None and path.is_file():
            sequences[name] = pickle.loads(path.read_bytes())
            continue
        if name == "video.avi" and not VIDEO.is_file():
            print(f"{name}: no data at {VIDEO}; skipped")
            continue
        sequences[name] = make()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(sequences[name]))
    last = {}
    print(f"{'sequence':14s} {'setting':34s} {'jitter raw':>10s} {'smoothed':>9s} {'cut':>5s} "
          f"{'lag (frames)':>12s}")
    for name, results in sequences.items():
        raw = [p for _, p in results]
        for label, config in SETTINGS.items():
            jr, js, lag = figures(raw, smoothed(results, config))
            print(f"{name:14s} {label:34s} {jr:9.2f}% {js:8.2f}% {1 - js / jr:5.0%} {lag:12.2f}")
            if label == DEFAULT:
                last[name] = (1 - js / jr, lag)
        print()
    print("(jitter: RMS second difference of confident body keypoints, % of the box size; lag: "
          "frames the smoothed keypoints trail the raw ones while moving)")
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
    video = last.get("video.avi", (float("nan"), float("nan")))
    scenes = [v for k, v in last.items() if k != "video.avi"]
    cut = np.mean([v[0] for v in scenes]) if scenes else float("nan")
    lag = np.mean([v[1] for v in scenes]) if scenes else float("nan")
    print(f"video_jitter_cut={video[0]:.2f} video_lag={video[1]:.2f} "
          f"scenes_jitter_cut={cut:.2f} scenes_lag={lag:.2f}")


if __name__ == "__main__":
    main()
