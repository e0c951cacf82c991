"""Many videos on a Ray cluster: ``alphapose run --ray [ADDRESS] videos/ -o OUT``.

Each video is one Ray task that runs the library runner (:func:`alphapose.runner.run_sources`,
what ``alphapose run VIDEO -o OUT/<video stem>`` runs) with the same pipeline and output
options, so its results are exactly a local run's. A task that fails is retried
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

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alphapose.runner import (
    DONE_MARKER,
    OutputOptions,
    VideoJob,
    changed_options,
    done_options,
    is_done,
    mark_done,
)

__all__ = ["DONE_MARKER", "RAY_HINT", "VideoJob", "VideoOutcome", "changed_options",
           "done_options", "is_done", "mark_done",
           "require_ray", "run_videos", "video_jobs"]

RAY_HINT = "pip install 'alphapose[ray]'"
LOCAL = "local"


def require_ray() -> Any:
    """The ``ray`` module, or ImportError with the install hint."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(f"--ray needs Ray, an optional extra: {RAY_HINT}") from error
    return ray


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


def _run_one(make_pipeline: Callable[[], Any], output: OutputOptions, video: str,
             outdir: str) -> int:
    """The Ray task: the runner on one video (raises when it does not succeed: the video
    failed or had bad frames). ``run_videos`` chose this video: the runner drops its done
    marker first and writes it back when the video ran without errors."""
    from alphapose.runner import run_paths

    summary = run_paths(make_pipeline(), [video], outdir, output)
    if summary.status != 0:
        problems = "; ".join(str(e) for e in summary.errors[:3])
        raise RuntimeError(f"the run exited with status {summary.status}"
                           + (f": {problems}" if problems else ""))
    return summary.status


def run_videos(jobs: list[VideoJob], make_pipeline: Callable[[], Any],
               output: OutputOptions | None = None, address: str | None = None,
               num_cpus: int | None = None, retries: int = 1,
               progress: bool = True, resume: bool = False) -> list[VideoOutcome]:
    """Run the runner on every job as a Ray task.

    Args:
        jobs: the videos and their output folders (:func:`video_jobs`).
        make_pipeline: builds each task's pipeline (picklable, e.g. a ``functools.partial``;
            a task has one CPU: build it with one worker and one thread per model).
        output: what each task writes (its ``record`` goes into the done markers and is what
            ``resume`` compares).
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

    output = output or OutputOptions(progress=False)

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
            return task.remote(make_pipeline, output, str(jobs[i].video), str(jobs[i].outdir))

        skipped = {i for i, job in enumerate(jobs) if resume and is_done(job, output.record)}
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
