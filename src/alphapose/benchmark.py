"""End-to-end throughput measurement of :class:`~alphapose.pipeline.Pipeline` (``alphapose bench``).

Figures of one run (:func:`measure`):

* ``fps`` = frames / wall seconds; ``persons_per_s`` = people found / wall seconds;
* per-stage milliseconds per frame: ``read`` (decode), ``detect``, ``pose`` (crop + estimate),
  ``post`` (pose NMS, scores, tracking), ``write`` (JSON writing in the caller's loop). In the
  concurrent run stages overlap, so these add up to more than the wall time per frame; they also
  grow when stages compete for the same core;
* ``efficiency``: how close the wall time comes to the time the models alone need, with the
  parallelism the run can use::

      efficiency = sum_m(n_m * c_m) / (W * S)

  ``n_m`` = invocations of model m in the run; ``c_m`` = its per-invoke time measured alone
  (median of ``calibration`` invokes on an idle pipeline, same thread count); ``W`` = wall time;
  ``S`` = invokes that can run at once without sharing a core =
  ``min(K, cores // threads_per_model)`` (at least 1), ``K`` = threads that invoke models
  (1 with ``sp``; concurrent: the detector stage, if its detector has models, + the
  estimator's workers). 1.0 means every
  usable core ran model code all the time; the rest is Python, cropping, decoding, writing,
  waiting on the chain of dependencies, and other processes on the machine. Two shares are
  printed beside it: ``invoke share: wall`` (the measured seconds inside invokes / W: counts
  the time an invoking thread waited for a core, so it overstates a run with more runnable
  threads than cores) and ``cpu`` (the invoking threads' CPU seconds inside invokes / W: model
  work actually done, including its slowdown when models share caches and memory);
* ``cpu:<stage>``: CPU milliseconds per frame of each stage thread (``cpu:workers``: all
  estimator workers together), where the time outside the models goes;
* ``peak_rss_mb``: the largest resident set size sampled every 20 ms during the run;
* ``cores_used``: this process's CPU seconds / wall seconds: how many cores the run actually
  got (1.0 with two runnable threads on two cores means something else holds the other core).

The machine's load average and CPU pressure (``/proc/pressure/cpu``) are recorded with each run:
other processes on the same cores lower every figure.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np

from alphapose.pipeline import Pipeline, RunOptions
from alphapose.structures import Frame

__all__ = [
    "RssSampler",
    "RunStats",
    "add_commands",
    "calibrate",
    "current_rss_mb",
    "find_models",
    "machine_load",
    "measure",
]


def current_rss_mb() -> float:
    """Resident set size of this process now, MB (Linux ``/proc``; else the peak so far)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def machine_load() -> str:
    """``load=<1-min load average> cpu_pressure=<% of the last 10 s some task waited>``."""
    text = f"load={os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "load=?"
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        avg10 = dict(kv.split("=") for kv in first.split()[1:])["avg10"]
        text += f" cpu_pressure={avg10}%"
    except (OSError, KeyError, IndexError, ValueError):
        pass
    return text


class RssSampler:
    """Samples the RSS every ``interval`` seconds in a thread; ``peak`` since :meth:`reset`."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = current_rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, current_rss_mb())

    def reset(self) -> float:
        """Start a new window; returns the previous window's peak."""
        previous, self.peak = max(self.peak, current_rss_mb()), current_rss_mb()
        return previous

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_mb())


def find_models(obj: Any, depth: int = 5) -> dict[str, Any]:
    """LiteRT models reachable from ``obj``'s attributes (``name -> model``)."""
    from alphapose.runtime.litert import LiteRTModel

    found: dict[str, Any] = {}
    seen: set[int] = set()

    def walk(value: Any, level: int) -> None:
        if id(value) in seen or level > depth:
            return
        seen.add(id(value))
        if isinstance(value, LiteRTModel):
            name = value.path.stem
            found[name if name not in found else f"{name}#{id(value)}"] = value
            return
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, (list, tuple)):
            children = value
        else:
            children = getattr(value, "__dict__", {}).values()
        for child in children:
            walk(child, level + 1)

    walk(obj, 0)
    return found


def calibrate(models: dict[str, Any], repeats: int = 30) -> dict[str, float]:
    """Median seconds of one invoke of each model, alone (zeros input; counters untouched)."""
    costs = {}
    for name, model in models.items():
        batch = np.zeros(model.input_shape, np.float32)
        n, s = model.invocations, model.invoke_seconds
        model(batch)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(batch)
            times.append(time.perf_counter() - start)
        model.invocations, model.invoke_seconds = n, s
        costs[name] = float(np.median(times))
    return costs


@dataclass
class RunStats:
    """Figures of one measured run (see the module docstring)."""

    label: str
    frames: int
    persons: int
    wall: float
    stage_ms: dict[str, float]
    invocations: dict[str, int]
    invoke_seconds: dict[str, float]
    invoke_cpu_seconds: dict[str, float]
    model_seconds: float  # sum_m n_m * c_m
    slots: int  # S
    peak_rss_mb: float
    cores_used: float = 0.0
    load: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / max(self.wall, 1e-9)

    @property
    def persons_per_s(self) -> float:
        return self.persons / max(self.wall, 1e-9)

    @property
    def efficiency(self) -> float:
        return self.model_seconds / max(self.wall * self.slots, 1e-9)

    @property
    def raw_invoke_share(self) -> float:
        return sum(self.invoke_seconds.values()) / max(self.wall, 1e-9)

    @property
    def invoke_cpu_share(self) -> float:
        """CPU seconds the invoking threads spent inside invokes / wall seconds."""
        return sum(self.invoke_cpu_seconds.values()) / max(self.wall, 1e-9)

    def line(self) -> str:
        stages = " ".join(f"{k}={v:.1f}" for k, v in self.stage_ms.items())
        return (f"{self.label:28s} frames={self.frames} fps={self.fps:.2f} "
                f"persons/s={self.persons_per_s:.1f} efficiency={self.efficiency:.2f} "
                f"(S={self.slots}, invoke share: wall {self.raw_invoke_share:.2f} "
                f"cpu {self.invoke_cpu_share:.2f}) "
                f"peak_rss={self.peak_rss_mb:.0f}MB cores_used={self.cores_used:.2f} | ms/frame {stages} | {self.load}")


def measure(pipeline: Pipeline, frames: Iterable[Frame], label: str, out: Path | None,
            costs: dict[str, float] | None = None, threads_per_model: int = 1) -> RunStats:
    """Run ``pipeline`` over ``frames`` writing AlphaPose JSON to ``out`` (None: no writing)."""
    from alphapose.pipeline import StageTimes
    from alphapose.writers import AlphaPoseJsonWriter

    models = pipeline_models(pipeline)
    if costs is None:
        costs = calibrate(models)
    for model in models.values():
        model.invocations, model.invoke_seconds, model.invoke_cpu_seconds = 0, 0.0, 0.0
    pipeline.times = StageTimes()
    pipeline.reset()
    writer = AlphaPoseJsonWriter(out) if out is not None else None
    count = persons = 0
    write_seconds = 0.0
    with RssSampler() as rss:
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            if writer is not None:
                writer.__enter__()
            for frame, poses in pipeline.run(frames):
                t0 = time.perf_counter()
                if writer is not None:
                    writer.write(frame, poses)
                write_seconds += time.perf_counter() - t0
                count += 1
                persons += len(poses)
        finally:
            if writer is not None:
                writer.__exit__(None, None, None)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    pipeline.times.add("write", write_seconds)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    detector_thread = 1 if find_models(pipeline.detector) else 0  # a model-free detector
    stage_threads = (1 if pipeline.options.sp
                     else detector_thread + max(1, len(pipeline.worker_models())))
    slots = max(1, min(stage_threads, (cores or 1) // max(threads_per_model, 1)))
    return RunStats(
        label=label, frames=count, persons=persons, wall=wall,
        stage_ms=pipeline.times.per_frame_ms(),
        invocations={k: m.invocations for k, m in models.items()},
        invoke_seconds={k: m.invoke_seconds for k, m in models.items()},
        invoke_cpu_seconds={k: m.invoke_cpu_seconds for k, m in models.items()},
        model_seconds=sum(m.invocations * costs.get(k, 0.0) for k, m in models.items()),
        slots=slots, peak_rss_mb=rss.peak, cores_used=cpu / max(wall, 1e-9),
        load=machine_load())


def build_default(threads: int = 1, sp: bool = False, qsize: int = 8,
                  detect_every: int = 5, tracker: Any = None,
                  workers: int | None = None) -> Pipeline:
    """The embedded default with ``threads`` interpreter threads per model and ``workers``
    estimator workers (default: :class:`~alphapose.pipeline.Pipeline`'s)."""
    from alphapose.detection.blaze import BlazePersonDetector
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig

    estimator = BlazeWholeBody(BlazeWholeBodyConfig(num_threads=threads))
    return Pipeline(BlazePersonDetector(num_threads=threads), estimator,
                    detect_every=detect_every, tracker=tracker,
                    run=RunOptions(sp=sp, qsize=qsize, workers=workers))


def pipeline_models(pipeline: Pipeline) -> dict[str, Any]:
    """The LiteRT models of ``pipeline``'s detector, estimator and estimator workers."""
    found = {**find_models(pipeline.detector), **find_models(pipeline.estimator)}
    known = {id(model) for model in found.values()}
    for n, replica in enumerate(pipeline.worker_models()):
        for name, model in find_models(replica).items():
            if id(model) not in known:
                known.add(id(model))
                found[f"{name}@worker{n}"] = model
    return found


def compare(frames: Sequence[Frame] | Callable[[], Iterable[Frame]], label: str,
            threads: int = 1, qsize: int = 8,
            out_dir: Path | None = None, detect_every: int = 5,
            workers: Sequence[int | None] = (None,)) -> list[RunStats]:
    """The ``sp`` run, then a concurrent run per entry of ``workers`` (estimator workers; None
    = the default), of the embedded default on the same frames (``frames`` may be a function
    returning a fresh iterable per run, e.g. re-reading a video, so decoding is part of the
    run)."""
    results = []
    for sp, count in [(True, 1), *((False, w) for w in workers)]:
        pipeline = build_default(threads, sp=sp, qsize=qsize, detect_every=detect_every,
                                 workers=count)
        name = "--sp" if sp else f"concurrent, {pipeline.workers} worker(s)"
        out = None if out_dir is None else out_dir / f"{label}-{sp}-{pipeline.workers}.json"
        costs = calibrate(pipeline_models(pipeline))
        run_frames = frames() if callable(frames) else frames
        results.append(measure(pipeline, run_frames, f"{label} {name}", out, costs,
                               threads_per_model=threads))
    return results


# ------------------------------------------------------------------------------------------------
# alphapose bench
# ------------------------------------------------------------------------------------------------


def add_commands(subparsers: Any) -> None:
    """Register ``alphapose bench``."""
    parser = subparsers.add_parser(
        "bench", help="measure fps, persons/s, stage times and efficiency on a video",
        description="Runs the embedded default on VIDEO twice, single-threaded (--sp) and "
                    "concurrent, and prints the figures of each run (see bench/e2e.py for the "
                    "full benchmark: people per frame, 30-minute memory).")
    parser.add_argument("video", help="a video file")
    parser.add_argument("--loops", type=int, default=1, help="play the video this many times")
    parser.add_argument("--frames", type=int, default=0, help="use at most N frames (0 = all)")
    parser.add_argument("--threads", type=int, default=1, help="threads per model")
    parser.add_argument("--qsize", type=int, default=8, help="queue size between stages")
    parser.add_argument("--detect-every", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None,
                        help="estimator workers of the concurrent run (default: one per core, "
                             "at most 4)")
    parser.add_argument("--compare-workers", type=int, nargs="*", default=[],
                        help="also run concurrent with each of these worker counts")
    parser.set_defaults(func=bench_command)


def bench_command(args: argparse.Namespace) -> int:
    """``alphapose bench``."""
    import sys
    import tempfile

    from alphapose.sources import VideoSource

    try:
        count = sum(1 for _ in VideoSource(args.video))
    except (OSError, ValueError) as error:
        print(f"alphapose bench: {error}", file=sys.stderr)
        return 2
    if args.frames > 0:
        count = min(count, args.frames)
    if count == 0:
        print(f"alphapose bench: no frames in {args.video}", file=sys.stderr)
        return 2

    def frames() -> Iterable[Frame]:
        return video_loops(args.video, args.loops, count)
    with tempfile.TemporaryDirectory() as tmp:
        single, multi, *others = compare(
            frames, Path(args.video).stem, args.threads, args.qsize, Path(tmp),
            args.detect_every, (args.workers, *args.compare_workers))
    for stats in (single, multi, *others):
        print(stats.line())
    print(f"fps={multi.fps:.2f} efficiency={multi.efficiency:.2f} "
          f"speedup_vs_sp={multi.fps / max(single.fps, 1e-9):.2f}")
    return 0


def video_loops(path: str | Path, loops: int = 1, limit: int | None = None) -> Iterable[Frame]:
    """The first ``limit`` frames of a video, read ``loops`` times as one continuous video
    (decoded as they are consumed; indices keep counting)."""
    from itertools import islice

    from alphapose.sources import VideoSource

    index = 0
    for _ in range(max(loops, 1)):
        for frame in islice(VideoSource(path), limit):
            yield Frame(frame.image, index, f"{index:06d}.jpg", path=frame.path,
                        timestamp=frame.timestamp, source=frame.source)
            index += 1


def loop_frames(frames: Sequence[Frame], loops: int) -> list[Frame]:
    """``frames`` repeated ``loops`` times as one continuous video (indices keep counting)."""
    out = []
    for n in range(max(loops, 1)):
        for frame in frames:
            index = n * len(frames) + frame.index
            out.append(Frame(frame.image, index, f"{index:06d}.jpg", path=frame.path,
                             timestamp=frame.timestamp, source=frame.source))
    return out
