"""The video fast path of the embedded estimator against the full path (issue #11 item 5).

Variants of one ``--mode`` (its detector and estimator settings, ``alphapose run --mode M``
without output writing), on the same decoded frames:

* ``full``: every pass, hands and face placed from the body on every frame;
* ``follow``: ``fast_video`` (hands and face of followed people cropped from their previous
  landmarks, parts not found skipped until the next detection frame);
* ``skip``: ``skip_converged`` (second passes of body, hands and face skipped where the first
  pass converged);
* ``fast``: both.

Drift (accuracy cost, no ground truth needed): people of each variant are paired with the full
path's by box IoU (>= 0.5, greedy); per part, over the pairs where both found the part (body:
COCO-17 points both score >= 0.5; hands / face: presence >= 0.5 in both), the median keypoint
distance over the part's size (sqrt of the area of the full path's points' box); printed as
the median and the 90th percentile over person-frames, with ``lost`` (parts the full path
found that the variant did not find) and ``people`` (people per frame) beside. Clips: the first
``--frames`` frames of ``openpose/video.avi`` (1280x720, a crowded street), the PoseTrack18
test clip ``mmpose/posetrack18/videos/000001_mpiinew_test`` (5 frames) and
``mmpose/demo/demo.mp4`` (5 frames), where few hands and faces are found (small, blurred
people), and a clip panned and zoomed over ``openpifpaf/wholebody/soccer.jpeg`` (two footballers
with large hands and faces, ``--pan-frames``). The PoseTrack clip has no ground truth (test split; the
labelled PoseTrack frames are single frames of other sequences), so no AP here.

Speed: persons/s of each variant on video.avi, ``--rounds`` turns alternating (medians; the
machine is shared: compare within a run).

Last line: ``mode=M variant=V full_pps=... fast_pps=... gain=... hand_drift=... face_drift=...
body_drift=... body_drift_p90=... hand_lost=... face_lost=...`` (``fast``, or the last
``--variant``, against ``full``: speed and body on video.avi, hands and face on the panned
clip; hand figures the worse hand).

Usage: ``.venv/bin/python bench/video_fast.py [--mode balanced] [--frames 40] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from alphapose.estimators.blaze import FACE, LEFT_HAND, RIGHT_HAND, BlazeWholeBody
from alphapose.modes import build_detector, estimator_config
from alphapose.pipeline import Pipeline
from alphapose.sources import VideoSource
from alphapose.structures import Frame

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"full": {}, "follow": {"fast_video": True}, "skip": {"skip_converged": True},
            "fast": {"fast_video": True, "skip_converged": True}}
PARTS = {"body": slice(0, 17), "face": FACE, "left_hand": LEFT_HAND, "right_hand": RIGHT_HAND}


def pipelines(mode: str, variants: list[str]) -> dict[str, Pipeline]:
    detector, name = build_detector(mode)
    config = estimator_config(mode, fast_video=False, skip_converged=False)
    if name != "blaze":
        config = config.for_detector_boxes()
    return {variant: Pipeline(detector, BlazeWholeBody(replace(config, **VARIANTS[variant])))
            for variant in variants}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    iy = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def pairs(full, other, threshold: float = 0.5) -> list[tuple[int, int]]:
    """Greedy box-IoU pairing of two frames' poses."""
    candidates = sorted(((iou(full.xyxy[i], other.xyxy[j]), i, j) for i in range(len(full))
                         for j in range(len(other))), reverse=True)
    used_i, used_j, out = set(), set(), []
    for value, i, j in candidates:
        if value < threshold:
            break
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return out


def drift(full_frames: list, other_frames: list) -> dict[str, dict[str, float]]:
    """Per part: median / p90 of distance over part size, and the share of parts lost."""
    errors: dict[str, list[float]] = {part: [] for part in PARTS}
    found: dict[str, int] = dict.fromkeys(PARTS, 0)
    lost: dict[str, int] = dict.fromkeys(PARTS, 0)
    for full, other in zip(full_frames, other_frames, strict=True):
        for i, j in pairs(full, other):
            for part, where in PARTS.items():
                a, b = full.keypoints[i, where], other.keypoints[j, where]
                sa, sb = full.keypoint_scores[i, where], other.keypoint_scores[j, where]
                if part == "body":
                    both = (sa >= 0.5) & (sb >= 0.5)
                    reference = a[sa >= 0.5]
                else:
                    if sa.max() < 0.5:
                        continue
                    found[part] += 1
                    if sb.max() < 0.5:
                        lost[part] += 1
                        continue
                    both = np.ones(len(a), bool)
                    reference = a
                if both.sum() < 2 or len(reference) < 2:
                    continue
                extent = reference.max(0) - reference.min(0)
                size = float(np.sqrt(max(extent[0], 1.0) * max(extent[1], 1.0)))
                errors[part].append(float(np.median(np.hypot(*(a[both] - b[both]).T))) / size)
    out = {}
    for part in PARTS:
        values = errors[part]
        out[part] = {"median": float(np.median(values)) if values else float("nan"),
                     "p90": float(np.percentile(values, 90)) if values else float("nan"),
                     "n": len(values),
                     "lost": lost[part] / found[part] if found[part] else float("nan")}
    return out


def panned(image: np.ndarray, count: int) -> list[Frame]:
    """A clip made of one still: the camera pans right and down by 0.5% of the frame and zooms
    in by 0.5% per frame (people with large, visible hands and faces, which the shared videos
    lack)."""
    height, width = image.shape[:2]
    frames = []
    for n in range(count):
        scale = 1.0 + 0.005 * n
        matrix = np.array([[scale, 0.0, -0.005 * n * width], [0.0, scale, -0.005 * n * height]])
        matrix[:, 2] += (1.0 - scale) * np.array([width, height]) / 2
        warped = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
        frames.append(Frame(warped, n, f"{n}.jpg", path="panned", timestamp=n / 25,
                            source="panned"))
    return frames


def run(pipeline: Pipeline, frames: list) -> tuple[list, float]:
    start = time.perf_counter()
    results = [poses for _, poses in pipeline.run(frames)]
    return results, time.perf_counter() - start


def part_invokes(pipeline: Pipeline) -> tuple[int, int]:
    """``(hand, face)`` landmark invokes so far, over the estimator and its worker copies
    (the cost the fast path saves, counted: speed on a shared machine is noisy)."""
    everyone = [pipeline.estimator, *getattr(pipeline, "_replicas", [])]
    estimators = list({id(e): e for e in everyone}.values())  # a replica may be the estimator
    hand = sum(e.hand.model.invocations for e in estimators if e.hand is not None)
    face = sum(e.face.model.invocations for e in estimators if e.face is not None)
    return hand, face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--mode", default="balanced",
                        choices=("lightweight", "balanced", "performance"))
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pan-frames", type=int, default=20)
    parser.add_argument("--variant", action="append", default=None, choices=list(VARIANTS),
                        help="repeatable (default: all); full always runs")
    args = parser.parse_args()
    variants = ["full", *[v for v in (args.variant or VARIANTS) if v != "full"]]
    video = args.data / "openpose" / "video.avi"
    if not video.is_file():
        sys.exit(f"bench/video_fast.py: {video} not found (pass --data PATH/TO/shared/data)")
    clips = {"video.avi": [f for _, f in zip(range(args.frames), VideoSource(video))]}
    posetrack = args.data / "mmpose" / "posetrack18" / "videos" / "000001_mpiinew_test"
    if posetrack.is_dir():
        clips["posetrack 000001"] = list(VideoSource(posetrack / "000001_mpiinew_test.mp4"))
    demo = args.data / "mmpose" / "demo" / "demo.mp4"
    if demo.is_file():
        clips["demo.mp4"] = list(VideoSource(demo))
    soccer = args.data / "openpifpaf" / "wholebody" / "soccer.jpeg"
    if soccer.is_file():
        clips["soccer.jpeg panned"] = panned(cv2.imread(str(soccer)), args.pan_frames)
    built = pipelines(args.mode, variants)
    for pipeline in built.values():  # models loaded, worker copies made
        for _ in pipeline.run(clips["video.avi"][:2]):
            pass

    figures: dict[str, dict] = {}
    for clip, frames in clips.items():
        outputs, invokes = {}, {}
        for variant in variants:
            before = part_invokes(built[variant])
            outputs[variant] = run(built[variant], frames)[0]
            invokes[variant] = [a - b for a, b in zip(part_invokes(built[variant]), before,
                                                      strict=True)]
        print(f"[{args.mode}] {clip}: {len(frames)} frames; drift against the full path "
              f"(median / p90 of distance over part size; lost = parts found by full only)")
        for variant in variants:
            found = sum(int((poses.keypoint_scores[:, part].max(1) >= 0.5).sum())
                        for poses in outputs[variant] for part in (LEFT_HAND, RIGHT_HAND))
            print(f"  {variant}: hand / face invokes {invokes[variant][0]} / "
                  f"{invokes[variant][1]}, hands found (presence >= 0.5) {found}")
        print(f"  full: {sum(map(len, outputs['full'])) / len(frames):.1f} people/frame")
        for variant in variants[1:]:
            scores = drift(outputs["full"], outputs[variant])
            figures[(clip, variant)] = scores
            print(f"  {variant}: {sum(map(len, outputs[variant])) / len(frames):.1f} people/frame; "
                  + "; ".join(f"{part} {s['median']:.3f}/{s['p90']:.3f} lost {s['lost']:.2f}"
                              f" (n={s['n']})" for part, s in scores.items()), flush=True)

    frames = clips["video.avi"]
    pps: dict[str, list[float]] = {variant: [] for variant in variants}
    for round_ in range(args.rounds):
        for variant in variants if round_ % 2 == 0 else variants[::-1]:
            results, seconds = run(built[variant], frames)
            pps[variant].append(sum(map(len, results)) / seconds)
    print(f"[{args.mode}] speed on video.avi ({len(frames)} frames, {args.rounds} rounds "
          f"alternating, 2 shared cores; medians):")
    for variant in variants:
        print(f"  {variant}: {statistics.median(pps[variant]):.1f} persons/s "
              f"(rounds: {', '.join(f'{v:.1f}' for v in pps[variant])})")
    best = "fast" if "fast" in variants else variants[-1]
    # hands and faces: the panned clip (the shared videos' people are too small and blurred
    # for the part models to find many); body: video.avi
    parts = figures.get(("soccer.jpeg panned", best)) or figures[("video.avi", best)]
    body = figures[("video.avi", best)]["body"]
    full_pps, fast_pps = statistics.median(pps["full"]), statistics.median(pps[best])
    hand = max(parts[p]["median"] for p in ("left_hand", "right_hand"))
    hand_lost = max(parts[p]["lost"] for p in ("left_hand", "right_hand"))
    print(f"mode={args.mode} variant={best} full_pps={full_pps:.2f} fast_pps={fast_pps:.2f} "
          f"gain={fast_pps / full_pps:.2f} hand_drift={hand:.3f} "
          f"face_drift={parts['face']['median']:.3f} body_drift={body['median']:.3f} "
          f"body_drift_p90={body['p90']:.3f} hand_lost={hand_lost:.2f} "
          f"face_lost={parts['face']['lost']:.2f}")


if __name__ == "__main__":
    main()
