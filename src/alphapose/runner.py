"""The library runner: one pipeline over many sources, results streamed into output folders.

:func:`run_sources` is what ``alphapose run`` does after parsing its options, and what each Ray
task of ``alphapose run --ray`` does for its video (:mod:`alphapose.distributed`):

* one results folder per source (``outdir``, or with several videos / cameras one sub-folder
  each, :func:`unique_names`), locked against a second run writing to it (:func:`lock_outdir`);
* the results files of :func:`alphapose.writers.make_writers`, written frame by frame;
* rendered frames (``save_img``, ``save_video``, ``show``) drawn once per frame;
* a done marker per video file (:func:`mark_done`) once all its files are complete, which
  ``resume`` reads to skip the videos an earlier run finished with the same options;
* a progress bar, and a :class:`RunSummary` with every input problem (bad inputs never stop
  the run; frames already written stay on disk, also on Ctrl-C).

Example:
    >>> from alphapose.pipeline import Pipeline
    >>> summary = run_paths(Pipeline(), ["clip.mp4"], "out/")        # doctest: +SKIP
    >>> summary.frames, summary.status                                 # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "DONE_MARKER",
    "OutputLocked",
    "OutputOptions",
    "RunSummary",
    "VideoJob",
    "changed_options",
    "done_options",
    "is_done",
    "lock_outdir",
    "mark_done",
    "run_paths",
    "run_sources",
    "unique_names",
]

LOG = logging.getLogger("alphapose")

#: written into a video's output folder when its run succeeded
DONE_MARKER = "alphapose-done.json"


# -- done markers -------------------------------------------------------------------------------

@dataclass(frozen=True)
class VideoJob:
    """One video and the folder its results go to."""

    video: Path
    outdir: Path


def _video_stamp(video: Path) -> dict[str, Any]:
    stat = video.stat()
    return {"video": str(video), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def mark_done(job: VideoJob, options: dict[str, Any] | None = None) -> None:
    """Record that ``job`` finished: the marker names the video file's size and time and the
    ``options`` that shape its outputs (formats, layout, models, ...)."""
    stamp = {**_video_stamp(job.video), "options": options or {}}
    tmp = job.outdir / f".{DONE_MARKER}.tmp"
    tmp.write_text(json.dumps(stamp, sort_keys=True) + "\n")
    tmp.replace(job.outdir / DONE_MARKER)


def done_options(job: VideoJob) -> dict[str, Any] | None:
    """The options an earlier run finished ``job`` with, on the same video file (unchanged
    since); None when it did not finish it. A marker from before options were recorded gives
    ``{}``."""
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


# -- output folders -----------------------------------------------------------------------------

class OutputLocked(OSError):
    """Another ``alphapose run`` writes to the same output folder."""


def lock_outdir(outdir: Path, stack: ExitStack) -> None:
    """Hold an exclusive lock on ``outdir`` for the rest of the run (``fcntl.flock`` on
    ``outdir/.alphapose.lock``; released by the OS when the process ends, also on a kill).

    Raises:
        OutputLocked: another run holds it.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        return
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / ".alphapose.lock"
    file = stack.enter_context(open(path, "a+", encoding="utf-8"))  # noqa: SIM115
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read().strip() or "?"
        raise OutputLocked(f"{outdir}: another alphapose run (pid {holder}) is writing to this "
                           "folder: wait for it to finish, or choose another -o/--out") from None
    file.seek(0)
    file.truncate()
    file.write(f"{os.getpid()}\n")
    file.flush()


def unique_names(paths: Sequence[str | Path], stems: bool = False) -> dict[str, str]:
    """One name per distinct path, unique among ``paths`` and the same in every run with them:
    the file name (its stem when ``stems``), or where two paths share it, as many of their
    parent folders as tell them apart (``a/1.jpg``, ``b/1.jpg``; folders as ``a_clip``).

    Example:
        >>> unique_names(["x/a/1.jpg", "x/b/1.jpg", "x/a/2.jpg"])
        {'x/a/1.jpg': 'a/1.jpg', 'x/b/1.jpg': 'b/1.jpg', 'x/a/2.jpg': '2.jpg'}
    """
    keys = {str(p): Path(os.path.abspath(p)).parts for p in paths}
    distinct = sorted(set(keys.values()))
    # stems: a/clip.mp4 and a/clip.avi differ only by extension, which then stays in the name
    stem_count: dict[tuple[str, ...], int] = {}
    for parts in distinct:
        key = (*parts[:-1], Path(parts[-1]).stem)
        stem_count[key] = stem_count.get(key, 0) + 1

    def name(parts: tuple[str, ...], depth: int) -> str:
        tail = list(parts[-depth:])
        if stems:
            path = Path(parts[-1])
            same = stem_count[(*parts[:-1], path.stem)] > 1
            tail[-1] = f"{path.stem}_{path.suffix.lstrip('.')}" if same else path.stem
            return "_".join(tail)
        return "/".join(tail)

    depth = dict.fromkeys(distinct, 1)
    while True:
        names: dict[str, list[tuple[str, ...]]] = {}
        for parts in distinct:
            names.setdefault(name(parts, depth[parts]), []).append(parts)
        clashes = [group for group in names.values() if len(group) > 1]
        grown = False
        for group in clashes:
            for parts in group:
                if depth[parts] < len(parts):
                    depth[parts] += 1
                    grown = True
        if not grown:
            break
    chosen = {parts: name(parts, depth[parts]) for parts in distinct}
    if stems:
        chosen = {parts: "".join(c if c.isalnum() or c in "-_." else "_" for c in value)
                  or "stream" for parts, value in chosen.items()}
    return {key: chosen[parts] for key, parts in keys.items()}


def source_outdirs(outdir: Path, sources: list) -> list[Path]:
    """The results folder of each source: ``outdir``, or with several sources, one folder per
    video / camera source named by :func:`unique_names` (the video's stem unless two share
    it)."""
    from alphapose.sources import VideoSource, WebcamSource

    streams = [s for s in sources if isinstance(s, (VideoSource, WebcamSource))]
    if len(sources) <= 1 or not streams:
        return [outdir] * len(sources)
    files = unique_names([str(s.path) for s in streams if getattr(s, "path", None)], stems=True)
    targets = []
    for source in sources:
        if not isinstance(source, (VideoSource, WebcamSource)):
            targets.append(outdir)
        elif getattr(source, "path", None):
            targets.append(outdir / files[str(source.path)])
        else:
            stem = Path(str(source.name)).stem or "stream"
            targets.append(outdir / "".join(c if c.isalnum() or c in "-_." else "_"
                                            for c in stem))
    return targets


def _image_names(sources: list) -> dict[str, str]:
    """Frame names of the still images (by path): the file name, unless two images share it."""
    from alphapose.sources import ImageSource

    paths = [p for s in sources if isinstance(s, ImageSource) for p in s.paths]
    names = unique_names(paths)
    return {path: name for path, name in names.items() if name != Path(path).name}


def _video_job(source: Any, target: Path) -> VideoJob | None:
    """The ``VideoJob`` of a video file source (its results folder can be marked done), else
    None (images, cameras, streams)."""
    from alphapose.sources import VideoSource

    if not isinstance(source, VideoSource) or source.path is None or \
            not Path(source.path).is_file():
        return None
    return VideoJob(Path(source.path), target)


# -- the run ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutputOptions:
    """What a run writes and shows.

    Args:
        formats: results formats (:data:`alphapose.writers.WRITERS` names).
        eval_ids: official ``--eval`` image ids (COCO val numbers) in the results.
        save_img: rendered frames into ``outdir/vis``.
        save_video: one rendered video per video source (``AlphaPose_<name>.mp4``).
        show: show rendered frames in a window (needs a display).
        keypoint_threshold, draw_boxes, draw_3d: rendering (:class:`alphapose.render.RenderOptions`;
            boxes come with ids).
        trails: draw each track's last N positions (needs a tracker).
        resume: skip the videos an earlier run finished with the same ``record``.
        record: the options recorded in each video's done marker (what shapes the outputs).
        progress: a progress bar on stderr.
        profile: per-stage times on the bar and in the summary.
    """

    formats: tuple[str, ...] = ("alphapose",)
    eval_ids: bool = False
    save_img: bool = False
    save_video: bool = False
    show: bool = False
    keypoint_threshold: float = 0.05
    draw_boxes: bool = False
    draw_3d: bool = False
    trails: int = 0
    resume: bool = False
    record: dict[str, Any] = field(default_factory=dict)
    progress: bool = True
    profile: bool = False


@dataclass
class RunSummary:
    """What a run did.

    Attributes:
        frames, persons: frames finished and people found.
        seconds: wall time.
        errors: every input problem (:class:`alphapose.sources.InputError`), in order.
        skipped: videos an earlier run had finished (``resume``).
        interrupted: stopped by Ctrl-C (results of finished frames are on disk).
        stage_ms: per-stage milliseconds per frame (the pipeline's times).
    """

    frames: int = 0
    persons: int = 0
    seconds: float = 0.0
    errors: list[Any] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False
    stage_ms: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> int:
        """The process exit status: 0 done, 1 some input failed, 130 interrupted."""
        return 130 if self.interrupted else 1 if self.errors else 0


class _Outputs:
    """The results writers of one output folder, opened on first use; closed by
    :meth:`close` or with the run's ``stack``."""

    def __init__(self, outdir: Path, output: OutputOptions, stack: ExitStack) -> None:
        from alphapose import writers

        self.stack = ExitStack()
        stack.callback(self.stack.close)
        self.results = self.stack.enter_context(writers.make_writers(
            outdir, list(output.formats), eval_ids=output.eval_ids))
        # rendered once per frame by the run, saved through the writers' one save path
        self.images = (writers.ImageWriter(outdir / "vis", render=None) if output.save_img
                       else None)

    def close(self) -> None:
        self.stack.close()


def run_paths(pipeline: Any, inputs: Sequence[str | int | Path], outdir: str | Path,
              output: OutputOptions | None = None, **open_options: Any) -> RunSummary:
    """:func:`run_sources` over the sources of ``inputs`` (paths, folders, globs, list files,
    webcam indices, stream URLs: :func:`alphapose.sources.open_sources` with
    ``open_options``)."""
    from alphapose.sources import open_sources

    return run_sources(pipeline, open_sources(list(inputs), **open_options), Path(outdir),
                       output or OutputOptions())


def run_sources(pipeline: Any, sources: list, outdir: Path,
                output: OutputOptions | None = None) -> RunSummary:
    """Run ``pipeline`` over ``sources`` and stream the results into ``outdir``.

    Args:
        pipeline: a :class:`alphapose.pipeline.Pipeline` (its tracker restarts per source).
        sources: opened sources (:func:`alphapose.sources.open_sources`).
        outdir: the results folder (sub-folders per video with several video sources).
        output: what to write and show.

    Returns:
        The summary; input problems are in it, not raised.

    Raises:
        OutputLocked: another run writes to ``outdir``.
    """
    output = output or OutputOptions()
    with ExitStack() as lock:
        lock_outdir(Path(outdir), lock)
        return _run_locked(pipeline, sources, Path(outdir), output)


def _run_locked(pipeline: Any, sources: list, outdir: Path,
                output: OutputOptions) -> RunSummary:
    from tqdm import tqdm

    from alphapose.sources import InputError, collect_errors

    summary = RunSummary()
    totals = [getattr(s, "total", None) for s in sources]
    total = sum(totals) if all(t is not None for t in totals) else None
    frame_errors: list[InputError] = []
    started = time.perf_counter()
    bar = tqdm(total=total, unit="frame", disable=not output.progress, dynamic_ncols=True,
               file=sys.stderr)
    state = _Shown(output.show)

    def report(frame: Any, error: Exception) -> None:
        label = str(frame.path or f"{frame.source or 'input'}#{frame.index}")
        frame_errors.append(InputError(label, f"pose estimation failed: {error}"))
        LOG.warning("%s: pose estimation failed: %s", label, error)

    with ExitStack() as stack:
        outputs: dict[Path, _Outputs] = {}
        renamed = _image_names(sources)
        try:
            targets = source_outdirs(outdir, sources)
            for number, (source, target) in enumerate(zip(sources, targets, strict=True)):
                job = _video_job(source, target)
                if job is not None and output.resume:
                    recorded = done_options(job)
                    changed = (None if recorded is None
                               else changed_options(recorded, output.record))
                    if changed == []:
                        summary.skipped.append(str(source.name))
                        if bar.total is not None and source.total:
                            bar.total -= source.total
                        continue
                    if changed:
                        print(f"alphapose: --resume: {source.name} was done with other options "
                              f"({', '.join('--' + c.replace('_', '-') for c in changed)}); "
                              "running it again", file=sys.stderr)
                if job is not None:  # redone: not done until it succeeds again
                    (target / DONE_MARKER).unlink(missing_ok=True)
                errors_before = len(frame_errors)
                if target not in outputs:
                    outputs[target] = _Outputs(target, output, stack)
                sink = _SourceSink(outputs[target], source, target, output, pipeline, state,
                                   frame_errors)
                try:
                    for frame, poses in pipeline.run(source, on_error=report):
                        if frame.path is not None and str(frame.path) in renamed:
                            frame = replace(frame, name=renamed[str(frame.path)])
                        sink.write(frame, poses)
                        summary.frames += 1
                        summary.persons += len(poses)
                        bar.update(1)
                        elapsed = time.perf_counter() - started
                        postfix = {"fps": f"{summary.frames / max(elapsed, 1e-9):.1f}",
                                   "people": len(poses)}
                        if output.profile:
                            postfix.update({k: f"{v:.0f}ms" for k, v in
                                            pipeline.times.per_frame_ms().items()})
                        bar.set_postfix(postfix, refresh=False)
                    sink.finish()
                finally:
                    sink.abandon()
                if job is not None and not source.errors and len(frame_errors) == errors_before \
                        and target not in targets[number + 1:]:
                    outputs[target].close()  # the folder's files are complete: mark it done
                    mark_done(job, output.record)
        except KeyboardInterrupt:
            print("\nalphapose: interrupted; results of finished frames are on disk",
                  file=sys.stderr)
            summary.interrupted = True
        finally:
            bar.close()
    summary.seconds = time.perf_counter() - started
    summary.errors = collect_errors(sources) + frame_errors
    summary.stage_ms = pipeline.times.per_frame_ms()
    return summary


@dataclass
class _Shown:
    """Whether frames are still shown in a window (off for good once no display works)."""

    on: bool


class _SourceSink:
    """Where one source's frames go: the folder's results writers, and rendered once per frame,
    the images, the video and the window."""

    def __init__(self, outputs: _Outputs, source: Any, target: Path, output: OutputOptions,
                 pipeline: Any, shown: _Shown, errors: list) -> None:
        from alphapose.sources import ImageSource

        self.outputs, self.source, self.output, self.shown = outputs, source, output, shown
        self.errors = errors
        self.still = isinstance(source, ImageSource)
        self.video: Any = None  # None: not opened yet; False: broken, no more frames
        self.video_label = str(target / f"AlphaPose_{_video_name(source)}")
        self.trails = _start_tracking(pipeline, output.trails)

    def refuse(self, label: str, error: Exception | str) -> None:
        from alphapose.sources import InputError

        self.errors.append(InputError(label, str(error)))
        LOG.warning("%s: %s", label, error)

    def write(self, frame: Any, poses: Any) -> None:
        label = str(frame.path or f"{self.source.name}#{frame.index}")
        try:
            self.outputs.results.write(frame, poses)
        except ValueError as error:  # this frame does not fit a format
            self.refuse(label, error)
        if not (self.outputs.images is not None or self.output.save_video or self.shown.on):
            return
        rendered = self._render(frame, poses)
        if self.outputs.images is not None:
            name = frame.name if self.still else f"{Path(str(self.source.name)).stem}_{frame.name}"
            try:
                self.outputs.images.write_image(name, rendered, frame.index)
            except OSError as error:
                self.refuse(str(self.outputs.images.outdir / name), first_line(error))
        if self.output.save_video and not self.still and self.video is not False:
            try:
                if self.video is None:
                    from alphapose.writers import VideoWriter

                    self.video = VideoWriter(self.video_label, fps=_fps(self.source),
                                             frame_size=(frame.width, frame.height))
                self.video.write_image(rendered)
            except (OSError, ValueError) as error:
                self.refuse(self.video_label, first_line(error))
                _close_quietly(self.video)
                self.video = False  # no more frames to a broken video
        if self.shown.on:
            self.shown.on = _show(rendered)

    def _render(self, frame: Any, poses: Any) -> Any:
        from alphapose.render import RenderOptions

        rendered = RenderOptions(keypoint_threshold=self.output.keypoint_threshold,
                                 draw_boxes=self.output.draw_boxes,
                                 draw_ids=self.output.draw_boxes,
                                 draw_3d=self.output.draw_3d).draw(frame.image, poses)
        if self.trails is not None:
            from alphapose.render import draw_trails

            rendered = draw_trails(rendered, self.trails.update(poses))
        return rendered

    def finish(self) -> None:
        """The source is done: close its video, checking that every frame reached the file."""
        if self.video:
            video, self.video = self.video, None
            try:
                video.close()
            except (OSError, ValueError) as error:
                self.refuse(self.video_label, first_line(error))

    def abandon(self) -> None:
        """Interrupted: keep what was written."""
        if self.video:
            _close_quietly(self.video)
            self.video = None


def _start_tracking(pipeline: Any, trails: int) -> Any:
    """A new source starts new identities; returns its trail history (or None)."""
    pipeline.reset()
    if trails > 0 and pipeline.tracker is not None:
        from alphapose.render import TrailHistory

        return TrailHistory(trails)
    return None


def first_line(error: BaseException) -> str:
    """One line for ``error``: an OSError's reason (and file), else its message's first line."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower() + (f" ({error.filename})" if error.filename else "")
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _close_quietly(sink: Any) -> None:
    try:
        sink.close()
    except (OSError, ValueError):
        pass


def _video_name(source: Any) -> str:
    name = Path(str(source.name)).name
    if str(source.name).startswith("webcam") or "://" in str(source.name) or name.isdigit():
        return f"webcam{name.split(':')[-1]}.mp4"
    return str(Path(name).with_suffix(".mp4"))


def _fps(source: Any) -> float:
    fps = getattr(source, "fps", None)
    return float(fps) if fps and fps > 0 else 25.0


def _show(image: Any) -> bool:
    """Show a frame; returns False (and warns once) when no display can be used."""
    import cv2

    if not (os.environ.get("DISPLAY") or sys.platform in ("win32", "darwin")):
        LOG.warning("--vis: no display available; not showing frames")
        return False
    try:
        cv2.imshow("AlphaPose", image)
        cv2.waitKey(1)
        return True
    except cv2.error as error:
        LOG.warning("--vis: cannot open a window (%s); not showing frames",
                    str(error).strip().splitlines()[-1])
        return False

