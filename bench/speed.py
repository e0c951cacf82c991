"""Speed of the embedded default end to end on the demo videos of ../shared/data.

Runs the pipeline (detector with tiling every 5th frame and landmark tracking in between, the
default; body, hands, face, pose NMS, JSON writing) over the
mmpose demo video (5 frames of 960x540, looped ``--loops`` times) and, when present, the first
``--frames`` frames of the OpenPose sample video (1280x720), and prints frames/s, persons/s and
each model's mean invoke time; also the same with the detector on every frame.

Last line: ``fps=... persons_per_s=...`` (the mmpose demo video, end to end).

Usage: ``.venv/bin/python bench/speed.py [--data ../shared/data] [--threads 2]`` (``--threads``:
the detector's; the estimator runs on one worker per core, 1 thread per model, as ``alphapose run``)
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

from alphapose.benchmark import pipeline_models
from alphapose.detection.blaze import BlazePersonDetector
from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--loops", type=int, default=8)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2, help="detector threads (as the CLI)")
    args = parser.parse_args()
    demo = args.data / "mmpose" / "demo" / "demo.mp4"
    if not demo.is_file():
        sys.exit(f"bench/speed.py: {demo} not found (pass --data PATH/TO/shared/data)")
    # as `alphapose run` builds it: the estimator's models at 1 thread on one worker per core
    pipeline = Pipeline(BlazePersonDetector(num_threads=args.threads),
                        BlazeWholeBody(BlazeWholeBodyConfig(num_threads=1)))
    work = Path(tempfile.mkdtemp(prefix="alphapose-speed-"))
    demo_frames = list(VideoSource(demo))
    pipeline.predict(demo_frames[0].image)  # warm-up
    frames = [f for _, f in zip(range(len(demo_frames) * args.loops),
                                itertools.cycle(demo_frames))]
    fps, pps, persons = measure(pipeline, frames, work / "demo.json")
    h, w = demo_frames[0].image.shape[:2]
    print(f"demo.mp4 ({w}x{h}, {len(frames)} frames, {persons / len(frames):.1f} people/frame): "
          f"{fps:.2f} fps, {pps:.1f} persons/s")
    for name, models in models_of(pipeline).items():
        calls = sum(model.invocations for model in models)
        seconds = sum(model.invoke_seconds for model in models)
        print(f"  {name:20s} {seconds / max(calls, 1) * 1000:6.2f} ms/invoke, "
              f"{calls / len(frames):5.1f} invokes/frame")
    print("  stage ms/frame: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                            pipeline.times.per_frame_ms().items()))
    every = Pipeline(pipeline.detector, pipeline.estimator, detect_every=1)
    e_fps, e_pps, e_persons = measure(every, frames, work / "demo_every.json")
    print(f"demo.mp4, detector on every frame (--detect-every 1): {e_fps:.2f} fps, "
          f"{e_pps:.1f} persons/s, {e_persons / len(frames):.1f} people/frame")
    other = args.data / "openpose" / "video.avi"
    if other.is_file():
        clip = [f for _, f in zip(range(args.frames), VideoSource(other))]
        o_fps, o_pps, o_persons = measure(Pipeline(pipeline.detector, pipeline.estimator),
                                          clip, work / "video.json")
        h, w = clip[0].image.shape[:2]
        print(f"openpose video.avi ({w}x{h}, {len(clip)} frames, "
              f"{o_persons / len(clip):.1f} people/frame): {o_fps:.2f} fps, {o_pps:.1f} persons/s")
    print(f"fps={fps:.2f} persons_per_s={pps:.2f}")


if __name__ == "__main__":
    main()
