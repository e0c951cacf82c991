"""Speed of the embedded default end to end on the demo videos of ../shared/data, per mode.

Runs the pipeline of each ``--mode`` as ``alphapose run --mode M`` builds it (detector every
5th frame and landmark tracking in between, the default; body, hands, face, pose NMS, JSON
writing) over the
mmpose demo video (5 frames of 960x540, looped ``--loops`` times) and, when present, the first
``--frames`` frames of the OpenPose sample video (1280x720), and prints frames/s, persons/s and
each model's mean invoke time; also the same with the detector on every frame.

With several modes (``--mode lightweight --mode balanced``), the modes take turns ``--rounds``
times on the same decoded frames (speeds on a shared machine drift: compare modes of one run),
and each mode's figures are the median over its rounds.

Last line, per mode: ``mode=M fps=... persons_per_s=... video_persons_per_s=...`` (the mmpose
demo video, then the OpenPose video), or ``fps=... persons_per_s=...`` for one mode.

With ``--extras``, each mode also runs with ``--world --masks`` (3D keypoints and person masks),
taking turns with the plain pipeline; the last line is then ``fps=... fps_extras=...
slowdown=... cpu_slowdown=...`` (the first mode; medians over rounds of 1 - extras fps / plain
fps, and of the process CPU seconds per frame, extras / plain - 1, on the mmpose demo video).

Usage: ``.venv/bin/python bench/speed.py [--data ../shared/data] [--mode M ...] [--rounds 1]
[--threads N] [--extras]`` (``--threads``: threads per model, as ``alphapose run --threads``; default as
``alphapose run``: the estimator's models 1 thread each on one worker per core, the detectors 2)
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from alphapose.benchmark import pipeline_models
from alphapose.cli import _build_pipeline, build_parser
from alphapose.pipeline import Pipeline
from alphapose.sources import VideoSource
from alphapose.writers import AlphaPoseJsonWriter

ROOT = Path(__file__).resolve().parents[1]


def models_of(pipeline: Pipeline) -> dict[str, list]:
    """The pipeline's LiteRT models (estimator workers included) grouped by model file."""
    grouped: dict[str, list] = {}
    for name, model in pipeline_models(pipeline).items():
        grouped.setdefault(name.split("@")[0].split("#")[0], []).append(model)
    return grouped


def measure(pipeline: Pipeline, frames: list, out: Path) -> tuple[float, float, int]:
    for models in models_of(pipeline).values():
        for model in models:
            model.invocations, model.invoke_seconds = 0, 0.0
    persons = 0
    start = time.perf_counter()
    with AlphaPoseJsonWriter(out) as writer:
        for frame, poses in pipeline.run(frames):
            writer.write(frame, poses)
            persons += len(poses)
    elapsed = time.perf_counter() - start
    return len(frames) / elapsed, persons / elapsed, persons


def build(mode: str, threads: int | None, extra: tuple[str, ...] = ()) -> Pipeline:
    """The pipeline ``alphapose run --mode MODE [EXTRA...]`` builds."""
    argv = ["run", "unused", "--mode", mode, *extra] + ([] if threads is None else
                                                         ["--threads", str(threads)])
    return _build_pipeline(build_parser().parse_args(argv))


def report(mode: str, pipeline: Pipeline, frames: list, work: Path, clip: list | None,
           detail: bool) -> dict[str, float]:
    cpu = time.process_time()  # every thread of this process: steadier than wall time under load
    fps, pps, persons = measure(pipeline, frames, work / f"{mode}-demo.json")
    cpu = (time.process_time() - cpu) / len(frames)
    h, w = frames[0].image.shape[:2]
    print(f"[{mode}] demo.mp4 ({w}x{h}, {len(frames)} frames, "
          f"{persons / len(frames):.1f} people/frame): {fps:.2f} fps, {pps:.1f} persons/s")
    if detail:
        for name, models in models_of(pipeline).items():
            calls = sum(model.invocations for model in models)
            seconds = sum(model.invoke_seconds for model in models)
            print(f"  {name:20s} {seconds / max(calls, 1) * 1000:6.2f} ms/invoke, "
                  f"{calls / len(frames):5.1f} invokes/frame")
    figures = {"fps": fps, "pps": pps, "video_fps": float("nan"), "video_pps": float("nan"),
               "cpu_per_frame": cpu}
    if clip:
        o_fps, o_pps, o_persons = measure(Pipeline(pipeline.detector, pipeline.estimator),
                                          clip, work / f"{mode}-video.json")
        h, w = clip[0].image.shape[:2]
        print(f"[{mode}] openpose video.avi ({w}x{h}, {len(clip)} frames, "
              f"{o_persons / len(clip):.1f} people/frame): {o_fps:.2f} fps, "
              f"{o_pps:.1f} persons/s")
        figures.update(video_fps=o_fps, video_pps=o_pps)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--loops", type=int, default=8)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--mode", action="append", default=None,
                        choices=("lightweight", "balanced", "performance"),
                        help="repeatable (default: balanced)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="turns of every mode, alternating (default: %(default)s)")
    parser.add_argument("--every", action="store_true",
                        help="also the detector on every frame (--detect-every 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per model (default: as alphapose run)")
    parser.add_argument("--extras", action="store_true",
                        help="also each mode with --world --masks, alternating with the plain one")
    args = parser.parse_args()
    modes = args.mode or ["balanced"]
    demo = args.data / "mmpose" / "demo" / "demo.mp4"
    if not demo.is_file():
        sys.exit(f"bench/speed.py: {demo} not found (pass --data PATH/TO/shared/data)")
    work = Path(tempfile.mkdtemp(prefix="alphapose-speed-"))
    demo_frames = list(VideoSource(demo))
    frames = [f for _, f in zip(range(len(demo_frames) * args.loops),
                                itertools.cycle(demo_frames))]
    other = args.data / "openpose" / "video.avi"
    clip = [f for _, f in zip(range(args.frames), VideoSource(other))] if other.is_file() \
        else None
    pipelines = {mode: build(mode, args.threads) for mode in modes}
    if args.extras:
        for mode in list(modes):
            pipelines[f"{mode}+world+masks"] = build(mode, args.threads, ("--world", "--masks"))
        modes = list(pipelines)
    for pipeline in pipelines.values():
        pipeline.predict(demo_frames[0].image)  # warm-up
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for round_ in range(args.rounds):
        for mode in modes:
            runs[mode].append(report(mode, pipelines[mode], frames, work, clip,
                                     detail=round_ == 0))
    if args.every:
        for mode in modes:
            pipeline = pipelines[mode]
            every = Pipeline(pipeline.detector, pipeline.estimator, detect_every=1)
            e_fps, e_pps, e_persons = measure(every, frames, work / f"{mode}-every.json")
            print(f"[{mode}] demo.mp4, detector on every frame (--detect-every 1): "
                  f"{e_fps:.2f} fps, {e_pps:.1f} persons/s, "
                  f"{e_persons / len(frames):.1f} people/frame")
    if args.extras:
        plain, extras = modes[0], f"{modes[0]}+world+masks"
        slowdown = statistics.median(1 - b["fps"] / a["fps"]
                                     for a, b in zip(runs[plain], runs[extras]))
        cpu_slowdown = statistics.median(b["cpu_per_frame"] / a["cpu_per_frame"] - 1
                                         for a, b in zip(runs[plain], runs[extras]))
        for mode in modes:
            print(f"[{mode}] median fps {statistics.median(r['fps'] for r in runs[mode]):.2f}")
        print(f"fps={statistics.median(r['fps'] for r in runs[plain]):.2f} "
              f"fps_extras={statistics.median(r['fps'] for r in runs[extras]):.2f} "
              f"slowdown={slowdown:.3f} cpu_slowdown={cpu_slowdown:.3f} rounds={args.rounds}")
        return
    for mode in modes:
        median = {key: statistics.median(run[key] for run in runs[mode]) for key in runs[mode][0]}
        if len(modes) == 1:
            print(f"fps={median['fps']:.2f} persons_per_s={median['pps']:.2f} "
                  f"video_persons_per_s={median['video_pps']:.2f}")
        else:
            print(f"mode={mode} fps={median['fps']:.2f} persons_per_s={median['pps']:.2f} "
                  f"video_fps={median['video_fps']:.2f} "
                  f"video_persons_per_s={median['video_pps']:.2f}")


if __name__ == "__main__":
    main()
