"""Temporal keypoint smoothing (One-Euro, :mod:`alphapose.smoothing`): jitter and lag.

Two scenes of 40 frames made from one photo (the astronaut of ``skimage.data``, 512 x 512, one
person), run through the real embedded pipeline (``Pipeline(tracker=MSIMTracker(),
                                                            run=RunOptions(sp=True))``,
default ``detect_every=5``), timestamps at 30 fps:

* static: the same photo every frame, each JPEG re-encoded at a quality cycling over 55..95 with
  Gaussian pixel noise (std 3), so the models see different pixels every frame;
* moving: the same, with the photo shifted right by ``--speed`` px per frame (edge pixels
  repeated).

The smoother is applied to the pipeline's tracked output (what ``Pipeline(smoother=...)`` does
right after the tracker), so raw and smoothed come from the very same run.

Figures (the tracked person's confident body keypoints of Halpe-136: mean score > 0.9, which
leaves out the arms and legs the photo cuts off or shows unclearly, whose guesses jump by tens of
pixels; the jitter of all 20 body keypoints is printed as well):

* ``jitter``: per keypoint, ``sqrt(var_x + var_y)`` across the static frames (px), the mean
  over the keypoints;
* ``lag_frames``: on the moving scene after 10 frames of warm-up, the mean over body keypoints
  and frames of ``(raw_x - smoothed_x) / speed``: how many frames the smoothed keypoints trail;
* ``moving jitter``: std of the residual of each keypoint's x, y about a straight line in time.

Usage::

    .venv/bin/python bench/smoothing.py
    .venv/bin/python bench/smoothing.py --speed 6 --frames 60

The last line: ``jitter_raw=... jitter_smooth=... lag_frames=...`` (the default setting).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from alphapose.pipeline import Pipeline, RunOptions
from alphapose.skeletons import get_layout
from alphapose.smoothing import KeypointSmoother, OneEuroConfig
from alphapose.structures import Frame, Poses
from alphapose.tracking import MSIMTracker

DEFAULT = "default (0.05, 20, 1.0)"
SETTINGS = {
    DEFAULT: OneEuroConfig(),
    "MediaPipe pose (0.05, 80, 1.0)": OneEuroConfig(min_cutoff=0.05, beta=80.0, d_cutoff=1.0),
    "beta 40 (0.05, 40, 1.0)": OneEuroConfig(beta=40.0),
    "beta 10 (0.05, 10, 1.0)": OneEuroConfig(beta=10.0),
    "higher min_cutoff (1.0, 20, 1.0)": OneEuroConfig(min_cutoff=1.0),
    "no speed term (0.05, 0, 1.0)": OneEuroConfig(beta=0.0),
}


def make_frames(image: np.ndarray, count: int, speed: float, source: str,
                seed: int = 0) -> list[Frame]:
    """``count`` frames of ``image`` shifted by ``speed`` px per frame, re-encoded and noised."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):
        shift = np.float32([[1, 0, speed * i], [0, 1, 0]])
        moved = cv2.warpAffine(image, shift, (image.shape[1], image.shape[0]),
                               borderMode=cv2.BORDER_REPLICATE)
        noisy = np.clip(moved + rng.normal(0, 3, moved.shape), 0, 255).astype(np.uint8)
        quality = 55 + (i * 7) % 41
        ok, data = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
        frames.append(Frame(decoded, i, f"{i}.jpg", path=source, timestamp=i / 30.0,
                            source=source))
    return frames


def run_pipeline(frames: list[Frame]) -> list[tuple[Frame, Poses]]:
    pipeline = Pipeline(tracker=MSIMTracker(), run=RunOptions(sp=True))
    return list(pipeline.run(frames))


def main_person(results: list[tuple[Frame, Poses]]) -> int:
    """The track id present in most frames."""
    ids = np.concatenate([p.track_ids for _, p in results])
    ids = ids[ids >= 0]
    if len(ids) == 0:
        raise SystemExit("bench/smoothing: the tracker gave no ids")
    values, counts = np.unique(ids, return_counts=True)
    return int(values[np.argmax(counts)])


def trajectory(results: list[tuple[Frame, Poses]], config: OneEuroConfig | None,
               track_id: int, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(T, B, 2)`` body keypoints of ``track_id`` per frame (NaN where absent), raw when
    ``config`` is None, and ``(T, B)`` their scores."""
    smoother = None if config is None else KeypointSmoother(config)
    points = np.full((len(results), len(index), 2), np.nan)
    scores = np.zeros((len(results), len(index)))
    for t, (frame, poses) in enumerate(results):
        if smoother is not None:
            poses = smoother.update(frame, poses)
        rows = np.flatnonzero(poses.track_ids == track_id)
        if len(rows):
            points[t] = poses.keypoints[rows[0]][index]
            scores[t] = poses.keypoint_scores[rows[0]][index]
    return points, scores


def jitter(points: np.ndarray) -> float:
    """Mean over keypoints of ``sqrt(var_x + var_y)`` across frames (px)."""
    variance = np.nanvar(points, axis=0).sum(axis=-1)
    return float(np.nanmean(np.sqrt(variance)))


def detrended_jitter(points: np.ndarray) -> float:
    """Mean over keypoints of the std of x, y about a straight line in time (px)."""
    t = np.arange(len(points), dtype=np.float64)
    present = ~np.isnan(points[:, 0, 0])
    t, p = t[present], points[present]
    design = np.stack([t, np.ones_like(t)], axis=1)
    flat = p.reshape(len(p), -1)
    coef, *_ = np.linalg.lstsq(design, flat, rcond=None)
    residual = (flat - design @ coef).reshape(p.shape)
    return float(np.mean(np.sqrt((residual ** 2).sum(-1).mean(0))))


def lag_frames(raw: np.ndarray, smooth: np.ndarray, speed: float, warmup: int = 10) -> float:
    return float(np.nanmean(raw[warmup:, :, 0] - smooth[warmup:, :, 0]) / speed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--speed", type=float, default=4.0, help="px per frame (moving scene)")
    args = parser.parse_args()
    from skimage import data

    started = time.perf_counter()
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    body = np.asarray(get_layout("halpe136").parts["body"])
    static = run_pipeline(make_frames(image, args.frames, 0.0, "static"))
    moving = run_pipeline(make_frames(image, args.frames, args.speed, "moving", seed=1))
    static_id, moving_id = main_person(static), main_person(moving)
    raw_s, scores = trajectory(static, None, static_id, body)
    # the photo shows the upper body: keep the keypoints the estimator is sure of
    visible = np.nanmean(scores, axis=0) > 0.9
    raw_all = raw_s
    raw_s = raw_s[:, visible]
    raw_m = trajectory(moving, None, moving_id, body)[0][:, visible]
    box = static[0][1].xyxy[static[0][1].track_ids == static_id][0]
    size = float(max(box[2] - box[0], box[3] - box[1]))
    frames_with = sum(int((p.track_ids == static_id).any()) for _, p in static)
    print(f"{args.frames} frames, person in {frames_with} (static); {int(visible.sum())} body "
          f"keypoints with mean score > 0.9; box longer side {size:.0f} px; "
          f"moving scene {args.speed:g} px/frame")
    print(f"{'setting':34s} {'jitter px':>9s} {'% size':>6s} {'ratio':>5s} {'all body':>8s} "
          f"{'moving jitter':>13s} {'lag frames':>10s}")
    print(f"{'raw':34s} {jitter(raw_s):9.3f} {100 * jitter(raw_s) / size:6.2f} {1:5.2f} "
          f"{jitter(raw_all):8.2f} {detrended_jitter(raw_m):13.3f} {0.0:10.2f}")
    figures = {}
    for name, config in SETTINGS.items():
        smooth_all = trajectory(static, config, static_id, body)[0]
        smooth_s = smooth_all[:, visible]
        smooth_m = trajectory(moving, config, moving_id, body)[0][:, visible]
        figures[name] = (jitter(smooth_s), detrended_jitter(smooth_m),
                         lag_frames(raw_m, smooth_m, args.speed))
        j, jm, lag = figures[name]
        print(f"{name:34s} {j:9.3f} {100 * j / size:6.2f} {j / jitter(raw_s):5.2f} "
              f"{jitter(smooth_all):8.2f} {jm:13.3f} {lag:10.2f}")
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
    j, _, lag = figures[DEFAULT]
    print(f"jitter_raw={jitter(raw_s):.3f} jitter_smooth={j:.3f} lag_frames={lag:.2f}")


if __name__ == "__main__":
    main()
