"""Many videos on a Ray cluster: ``alphapose run --ray [ADDRESS] videos/ -o OUT``.

Each video is one Ray task that runs the ordinary ``alphapose run VIDEO -o OUT/<video stem>``
with the same options, so its results are exactly a local run's. A task that fails is retried
once; videos that still fail are reported at the end (exit status 1). A video that succeeds
leaves ``alphapose-done.json`` in its folder; with ``--resume`` a rerun skips the videos whose
marker matches the video file (size and modification time), so an interrupted batch of
thousands of videos goes on where it stopped. Without an address Ray
starts a local cluster with ``--ray-cpus`` CPUs (default: all); with one it joins that cluster
(``auto``, ``host:port`` or ``ray://host:port``; the workers need alphapose installed).

Ray is an optional extra (``pip install 'alphapose[ray]'``); importing this module does not
import Ray.
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DONE_MARKER", "RAY_HINT", "VideoJob", "VideoOutcome", "changed_options",
           "done_options", "is_done", "mark_done",
           "require_ray", "run_cli", "run_videos", "video_jobs"]

RAY_HINT = "pip install 'alphapose[ray]'"
LOCAL = "local"
#: written into a video's output folder when its run succeeded
DONE_MARKER = "alphapose-done.json"


def require_ray() -> Any:
    """The ``ray`` module, or ImportError with the install hint."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(f"--ray needs Ray, an optional extra: {RAY_HINT}") from error
    return ray


@dataclass(frozen=True)
class VideoJob:
    """One video and the folder its results go to."""

    video: Path
    outdir: Path


@dataclass(frozen=True)
class VideoOutcome:
    """How one video went: ``attempts`` tasks ran (0: skipped, done by an earlier run);
    ``error`` is None on success."""

    job: VideoJob
    attempts: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def video_jobs(inputs: list[str], outdir: str | Path) -> list[VideoJob]:
    """Videos of ``inputs`` (video files, or folders searched for them, not recursively), each
    with its own output folder ``outdir/<stem>`` (``<stem>_2``... when stems repeat).

    Raises:
        ValueError: an input is neither a video file nor a folder, or no video was found.
    """
    from alphapose.sources import VIDEO_EXTENSIONS

    videos: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            videos.extend(sorted(p for p in path.iterdir()
                                 if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS))
        elif path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
            videos.append(path)
        else:
            raise ValueError(f"--ray input {item!r}: not a video file or a folder of videos "
                             f"({', '.join(sorted(VIDEO_EXTENSIONS))})")
    if not videos:
        raise ValueError(f"--ray: no videos found in {inputs}")
    jobs, used = [], set()
    for video in videos:
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in video.stem) or "video"
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}_{n}"
        used.add(name)
        jobs.append(VideoJob(video, Path(outdir) / name))
    return jobs


def _video_stamp(video: Path) -> dict[str, Any]:
    stat = video.stat()
    return {"video": str(video), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def mark_done(job: VideoJob, options: dict[str, Any] | None = None) -> None:
    """Record that ``job`` finished: the marker names the video file's size and time and the
    ``options`` that shape its outputs (formats, layout, models, ...)."""
    import json

    stamp = {**_video_stamp(job.video), "options": options or {}}
    tmp = job.outdir / f".{DONE_MARKER}.tmp"
    tmp.write_text(json.dumps(stamp, sort_keys=True) + "\n")
    tmp.replace(job.outdir / DONE_MARKER)


def done_options(job: VideoJob) -> dict[str, Any] | None:
    """The options an earlier run finished ``job`` with, on the same video file (unchanged
    since); None when it did not finish it. A marker from before options were recorded gives
    ``{}``."""
    import json

    try:
        stamp = json.loads((job.outdir / DONE_MARKER).read_text())
        options = stamp.pop("options", {})
        same = stamp == json.loads(json.dumps(_video_stamp(job.video)))
        return options if same and isinstance(options, dict) else None
    except (OSError, ValueError, AttributeError):
        return None


def changed_options(recorded: dict[str, Any], options: dict[str, Any]) -> list[str]:
    """Names of the options whose values differ (an empty record, from an older marker,
    matches anything)."""
    import json

    if not recorded:
        return []
    now = json.loads(json.dumps(options))
    return sorted(k for k in set(recorded) | set(now) if recorded.get(k) != now.get(k))


def is_done(job: VideoJob, options: dict[str, Any] | None = None) -> bool:
    """Whether an earlier run finished ``job`` on the same video file (unchanged since) and,
    when ``options`` are given, with the same options."""
    recorded = done_options(job)
    if recorded is None:
        return False
    return options is None or not changed_options(recorded, options)


def _run_one(args: argparse.Namespace, video: str, outdir: str) -> int:
    """The Ray task: ``alphapose run`` on one video (raises when it does not succeed)."""
    from alphapose.cli import run

    task_args = copy.copy(args)
    task_args.inputs, task_args.extra_inputs = [video], []
    task_args.input_list, task_args.webcam = None, -1
    task_args.outdir, task_args.ray, task_args.quiet, task_args.vis = outdir, None, True, False
    # a task holds one CPU: no per-core estimator workers, one thread per model
    if getattr(task_args, "workers", None) is None:
        task_args.workers = 1
    if getattr(task_args, "threads", None) is None:
        task_args.threads = 1
    # run_videos chose this video; `run` drops its done marker first and writes it back when
    # the video ran without errors
    task_args.resume = False
    status = run(task_args)
    if status != 0:
        raise RuntimeError(f"alphapose run exited with status {status}")
    return status


def run_videos(args: argparse.Namespace, jobs: list[VideoJob], address: str | None = None,
               num_cpus: int | None = None, retries: int = 1,
               progress: bool = True, resume: bool = False) -> list[VideoOutcome]:
    """Run ``alphapose run`` (options ``args``) on every job as a Ray task.

    Args:
        args: parsed ``alphapose run`` options applied to every video.
        jobs: the videos and their output folders (:func:`video_jobs`).
        address: Ray cluster address; None starts a local cluster (Ray already initialised in
            this process is used as it is).
        num_cpus: CPUs of the local cluster (None = all).
        retries: times a failed video is tried again.
        progress: a progress bar over videos (stderr).
        resume: skip the jobs an earlier run finished (:func:`is_done`).

    Returns:
        One outcome per job, in job order.
    """
    ray = require_ray()
    from tqdm import tqdm

    started_here = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        started_here = True
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(_run_one)
        attempts = [0] * len(jobs)
        errors: list[str | None] = [None] * len(jobs)

        def submit(i: int) -> Any:
            attempts[i] += 1
            return task.remote(args, str(jobs[i].video), str(jobs[i].outdir))

        from alphapose.cli import output_options

        options = output_options(args)
        skipped = {i for i, job in enumerate(jobs) if resume and is_done(job, options)}
        pending = {submit(i): i for i in range(len(jobs)) if i not in skipped}
        bar = tqdm(total=len(jobs), initial=len(skipped), unit="video", disable=not progress,
                   file=sys.stderr, dynamic_ncols=True)
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                i = pending.pop(done[0])
                try:
                    ray.get(done[0])
                    errors[i] = None
                except Exception as error:  # noqa: BLE001 - any task failure is reported
                    errors[i] = _short(error)
                    if attempts[i] <= retries:
                        print(f"alphapose: {jobs[i].video}: failed ({errors[i]}); retrying",
                              file=sys.stderr)
                        pending[submit(i)] = i
                        continue
                bar.update(1)
        finally:
            bar.close()
        return [VideoOutcome(job, attempts[i], errors[i]) for i, job in enumerate(jobs)]
    finally:
        if started_here:
            ray.shutdown()


def _short(error: BaseException) -> str:
    cause = getattr(error, "cause", None)
    text = str(cause if cause is not None else error).strip().splitlines()
    return text[-1] if text else type(error).__name__


def run_cli(args: argparse.Namespace) -> int:
    """``alphapose run --ray``: returns the exit status (1 when a video failed twice)."""
    inputs = [*args.inputs, *getattr(args, "extra_inputs", [])]
    try:
        jobs = video_jobs(inputs, args.outdir)
        ray_address = None if args.ray in (None, LOCAL) else args.ray
        outcomes = run_videos(args, jobs, address=ray_address,
                              num_cpus=getattr(args, "ray_cpus", None),
                              progress=not args.quiet, resume=getattr(args, "resume", False))
    except (ImportError, ValueError) as error:
        print(f"alphapose run: {error}", file=sys.stderr)
        return 2
    failed = [o for o in outcomes if not o.ok]
    earlier = sum(1 for o in outcomes if o.attempts == 0)
    print(f"alphapose: {len(outcomes) - len(failed)} of {len(outcomes)} videos done"
          f"{f' ({earlier} by an earlier run)' if earlier else ''}; results "
          f"in {args.outdir}/<video>/", file=sys.stderr)
    for outcome in failed:
        print(f"  - {outcome.job.video}: failed {outcome.attempts} times: {outcome.error}",
              file=sys.stderr)
    return 1 if failed else 0
