"""The threaded run of a pipeline: stage threads, bounded queues, and worker threads for the
estimator's tasks, driven through the pipeline's public step API (:class:`FrameSteps`:
``needs_detection``, ``detect_frames``, ``begin`` and the ``finish`` it returns); this module
does not know the pipeline class. :class:`RunOptions` holds the scheduling settings.

Threads::

    reader     decodes frames                                  -> queue (qsize)
    detector   runs the detector on the frames that surely need it (detection frames, the
               first frame of a video, still images), ahead   -> queue (qsize)
    estimator  per frame: the people (bodies) the next frame depends on; queues their hands and
               face                                            -> queue (qsize)
    finisher   per frame: waits for its hands and face, pose NMS, person scores, tracker
                                                               -> queue (qsize)
    workers    (``RunOptions.workers``, the embedded default: one per core) run the estimator's
               tasks, bodies first (see :mod:`alphapose.tasks`), each on its own copy of the
               models
    caller     the ``for frame, poses in pipeline.run(...)`` loop: writing, rendering

Why this shape (measured on the 2-core machine of the benchmarks, see ``bench/e2e.py``):

* with ``detect_every > 1`` frame t is estimated from frame t-1's people, so the bodies form a
  chain from frame to frame. Hands and face hang off that chain: the next frame needs only this
  frame's bodies, so the workers estimate the hands and faces of frame t while the bodies of
  frame t+1 run, and no core waits for the slowest person of a frame;
* the embedded models take one crop per invoke, so the parallelism is across crops: one task
  per body, hand and face, on workers with one interpreter thread each (intra-op threads on
  crops this small scale worse than separate crops in parallel);
* LiteRT (XNNPACK) and OpenCV release the GIL while they run, so threads suffice; processes
  would copy every frame and every model.

Order is kept because every stage is one thread reading one FIFO queue. A frame whose stage
fails with ``ValueError`` / ``RuntimeError`` / ``MemoryError`` travels on as an error marker and
reaches ``on_error`` (or is raised) in order; any other error stops all stages and is raised in
the caller. Closing the generator (``break``, Ctrl-C, an exception in the caller) stops every stage
within ~0.1 s and cancels the queued tasks; frames already yielded are the finished ones (the
writers flush them on close).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from alphapose.structures import Detections, Frame, Poses, check_image

__all__ = ["FRAME_ERRORS", "FrameSteps", "RunOptions", "available_cores", "run_threaded"]

#: errors that concern one frame: reported through ``on_error``, the run goes on
FRAME_ERRORS = (ValueError, RuntimeError, MemoryError)
_POLL = 0.1  # seconds between checks of the stop flag while blocked on a queue


@dataclass(frozen=True)
class RunOptions:
    """How a pipeline's run is scheduled; results are the same for every choice.

    Args:
        sp: run in the caller's thread: no reader thread, no stage threads (debugging, and the
            baseline of ``alphapose bench``).
        qsize: the capacity of every queue between stages (frames read ahead).
        workers: threads that run a staged estimator's tasks (the embedded default: one task
            per body, hand and face), each with its own copy of the models (1 interpreter
            thread each). None: the cores this process may use, at most 4. 1: the estimator
            runs in the estimator stage's thread. Ignored with ``sp``.
        detbatch: images per detector call for detectors that take batches
            (``detect(images)``: YOLOX, YOLOv3); only frames already read are gathered, so a
            live source never waits for a batch to fill. Ignored with ``sp``.
        opencv_threads: OpenCV's own thread pool size, set process-wide when the run starts
            (None: leave it). The stages already keep the cores busy; OpenCV's pool on top only
            competes with them (measured: 0.15 core of spinning at the same frame rate).

    Raises:
        ValueError: a count below 1.
    """

    sp: bool = False
    qsize: int = 8
    workers: int | None = None
    detbatch: int = 5
    opencv_threads: int | None = 1

    def __post_init__(self) -> None:
        for name in ("qsize", "detbatch") + (("workers",) if self.workers is not None else ()):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def worker_count(self) -> int:
        """``workers``, or when None the cores this process may use, at most 4."""
        return min(available_cores(), 4) if self.workers is None else int(self.workers)


class FrameSteps(Protocol):
    """What the threaded run needs of a pipeline (see :class:`alphapose.pipeline.Pipeline`)."""

    options: RunOptions
    detect_every: int
    times: Any

    @property
    def detect_batch(self) -> int: ...

    def needs_detection(self, frame: Frame, previous: Frame | None) -> bool: ...

    def detect_frames(self, frames: list[Frame]) -> list[Detections | Exception]: ...

    def begin(self, image: Any, frame: Frame | None, detections: Detections | None,
              tasks: Any) -> Callable[[], Poses]: ...

    def worker_models(self) -> list[Any]: ...


def available_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass
class _Failure:
    """An error that ends the run; re-raised in the caller."""

    error: BaseException


@dataclass
class _FrameError:
    """One frame failed; reported to ``on_error`` in order."""

    frame: Frame
    error: Exception


_DONE = object()


class _Stopped(Exception):
    """The run was stopped while a stage waited on a queue."""


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> None:
    while True:
        if stop.is_set():
            raise _Stopped
        try:
            q.put(item, timeout=_POLL)
            return
        except queue.Full:
            continue


def _get(q: queue.Queue, stop: threading.Event) -> Any:
    while True:
        if stop.is_set():
            raise _Stopped
        try:
            return q.get(timeout=_POLL)
        except queue.Empty:
            continue


def _stage(name: str, body: Callable[[], None], out: queue.Queue,
           stop: threading.Event, cpu: Callable[[str, float], None]) -> threading.Thread:
    """A daemon thread running ``body``; an unexpected error goes downstream as a failure;
    the thread's CPU seconds go to ``cpu(name, seconds)`` when it ends."""

    def target() -> None:
        try:
            body()
        except _Stopped:
            return
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            try:
                _put(out, _Failure(error), stop)
            except _Stopped:
                return
        finally:
            cpu(name, time.thread_time())

    thread = threading.Thread(target=target, name=f"alphapose-{name}", daemon=True)
    thread.start()
    return thread


def run_threaded(pipeline: FrameSteps, frames: Iterable[Frame],
                   on_error: Callable[[Frame, Exception], None] | None = None
                   ) -> Iterator[tuple[Frame, Poses]]:
    """Yield ``(frame, poses)`` in input order with the stages in their own threads.

    Args:
        pipeline: the steps of one frame; its ``options.qsize`` bounds every queue, its
            :meth:`~FrameSteps.worker_models` run a staged estimator's tasks.
        frames: the frames (any iterable; iterated in the reader thread).
        on_error: see :meth:`alphapose.pipeline.Pipeline.run`.

    Returns:
        A generator; results are the same as the single-threaded run's.
    """
    from alphapose.tasks import WorkerPool

    size = pipeline.options.qsize
    stop = threading.Event()
    read_q: queue.Queue = queue.Queue(maxsize=size)
    detect_q: queue.Queue = queue.Queue(maxsize=size)
    finish_q: queue.Queue = queue.Queue(maxsize=size)
    out_q: queue.Queue = queue.Queue(maxsize=size)
    times = pipeline.times
    models = pipeline.worker_models()

    def worker_exit(cpu_seconds: float, idle_seconds: float) -> None:
        times.add("cpu:workers", cpu_seconds)
        times.add("idle:workers", idle_seconds)

    pool = WorkerPool(models, name="alphapose-worker", on_exit=worker_exit) if models else None

    def read() -> None:
        iterator = iter(frames)
        while True:
            t0 = time.perf_counter()
            try:
                frame = next(iterator)
            except StopIteration:
                break
            times.add("read", time.perf_counter() - t0)
            _put(read_q, frame, stop)
        _put(read_q, _DONE, stop)

    batch = pipeline.detect_batch

    def gather() -> list[Any]:
        """The next item, and with a batching detector the items already waiting behind it
        (up to the frames that hold ``detbatch`` detection frames); never waits for more."""
        items = [_get(read_q, stop)]
        if batch < 2:
            return items
        limit = batch * pipeline.detect_every
        while isinstance(items[-1], Frame) and len(items) < limit:
            try:
                items.append(read_q.get_nowait())
            except queue.Empty:
                break
        return items

    def detect() -> None:
        previous: Frame | None = None
        while True:
            items = gather()
            plan: list[Any] = []  # markers, _FrameErrors and (frame, needs detection)
            for item in items:
                if not isinstance(item, Frame):
                    plan.append(item)
                    continue
                try:
                    check_image(item.image)
                    plan.append((item, pipeline.needs_detection(item, previous)))
                except FRAME_ERRORS as error:
                    plan.append(_FrameError(item, error))
                previous = item
            needing = [entry[0] for entry in plan if isinstance(entry, tuple) and entry[1]]
            found: dict[int, Detections | Exception] = {}
            if needing:
                t0 = time.perf_counter()
                found = {id(frame): result for frame, result
                         in zip(needing, pipeline.detect_frames(needing), strict=True)}
                times.add("detect", time.perf_counter() - t0)
            for entry in plan:
                if entry is _DONE or isinstance(entry, _Failure):
                    _put(detect_q, entry, stop)
                    return
                if isinstance(entry, _FrameError):
                    _put(detect_q, entry, stop)
                    continue
                frame, needs = entry
                result = found.get(id(frame)) if needs else None
                if isinstance(result, Exception):
                    _put(detect_q, _FrameError(frame, result), stop)
                else:
                    _put(detect_q, (frame, result), stop)

    def relay(source: queue.Queue, target: queue.Queue,
              work: Callable[[Frame, Any], Any]) -> Callable[[], None]:
        """A stage body: ``(frame, x)`` from ``source`` -> ``(frame, work(frame, x))`` to
        ``target`` in order; markers pass on, a frame whose work fails goes on as its error."""

        def body() -> None:
            while True:
                item = _get(source, stop)
                if item is _DONE or isinstance(item, (_Failure, _FrameError)):
                    _put(target, item, stop)
                    if item is _DONE or isinstance(item, _Failure):
                        return
                    continue
                frame, value = item
                try:
                    result = work(frame, value)
                except FRAME_ERRORS as error:
                    _put(target, _FrameError(frame, error), stop)
                    continue
                _put(target, (frame, result), stop)

        return body

    # estimator: what the next frame depends on; finisher: the rest of each frame, in order
    estimate = relay(detect_q, finish_q,
                     lambda frame, detections: pipeline.begin(frame.image, frame, detections,
                                                              pool))
    finish_frames = relay(finish_q, out_q, lambda frame, finish: finish())

    def cpu(name: str, seconds: float) -> None:
        times.add(f"cpu:{name}", seconds)

    threads = [_stage("reader", read, read_q, stop, cpu),
               _stage("detector", detect, detect_q, stop, cpu),
               _stage("estimator", estimate, finish_q, stop, cpu),
               _stage("finisher", finish_frames, out_q, stop, cpu)]

    def results() -> Iterator[tuple[Frame, Poses]]:
        try:
            while True:
                item = out_q.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                if isinstance(item, _FrameError):
                    if on_error is None:
                        raise item.error
                    on_error(item.frame, item.error)
                    continue
                yield item
        finally:
            stop.set()
            if pool is not None:
                pool.close(wait=False)  # queued tasks cancelled: waiting stages wake up
            for thread in threads:
                thread.join(timeout=2.0)
            if pool is not None:
                pool.close(wait=True)

    return results()
