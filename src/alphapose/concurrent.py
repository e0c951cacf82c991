"""The concurrent run of :class:`alphapose.pipeline.Pipeline`: one thread per stage, bounded queues.

Stages and threads::

    reader    decodes frames                      -> queue (qsize)
    detector  runs the detector on the frames that surely need it (detection frames, the
              first frame of a video, still images), ahead of the estimator
                                                  -> queue (qsize)
    estimator body / hands / face, pose NMS, person scores, tracker (in frame order)
                                                  -> queue (qsize)
    caller    the ``for frame, poses in pipeline.run(...)`` loop: writing, rendering

Why this split (measured on the 2-vCPU machine of the benchmarks, see ``bench/e2e.py``):

* with ``detect_every > 1`` frame t is estimated from frame t-1's people, so estimation is a
  chain: two frames are never estimated at once. What can overlap is decoding and detecting
  frame t+1 and writing / rendering frame t-1 with estimating frame t;
* the interpreters (LiteRT / XNNPACK) and OpenCV release the GIL while they run (a pure-Python
  loop in another thread keeps running during an invoke), so threads suffice; processes would
  copy every frame and every model;
* the embedded models are batch-1, so batching is moot; the people of one frame are
  independent, and :class:`PersonParallel` spreads them over worker threads, each with its own
  interpreters (opt-in: on the shared benchmark machine the process never got more than ~1.1
  cores, so no gain could be shown, and each worker adds a copy of the models). The network
  estimator batches its crops across the people of a frame itself (``--posebatch``).

Order is kept because every stage is one thread reading one FIFO queue. A frame whose stage
fails with ``ValueError`` / ``RuntimeError`` / ``MemoryError`` travels on as an error marker and
reaches ``on_error`` (or is raised) in order; any other error stops all stages and is raised in
the caller. Closing the generator (``break``, Ctrl-C, an exception in the caller) stops every stage
within ~0.1 s; frames already yielded are the finished ones (the writers flush them on close).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from alphapose.structures import Detections, Frame, Poses

if TYPE_CHECKING:  # pragma: no cover
    from alphapose.pipeline import Pipeline

__all__ = ["run_concurrent", "PersonParallel", "FRAME_ERRORS"]

#: errors that concern one frame: reported through ``on_error``, the run goes on
FRAME_ERRORS = (ValueError, RuntimeError, MemoryError)
_POLL = 0.1  # seconds between checks of the stop flag while blocked on a queue


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
           stop: threading.Event) -> threading.Thread:
    """A daemon thread running ``body``; an unexpected error goes downstream as a failure."""

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

    thread = threading.Thread(target=target, name=f"alphapose-{name}", daemon=True)
    thread.start()
    return thread


def run_concurrent(pipeline: Pipeline, frames: Iterable[Frame],
                   on_error: Callable[[Frame, Exception], None] | None = None
                   ) -> Iterator[tuple[Frame, Poses]]:
    """Yield ``(frame, poses)`` in input order with the stages in their own threads.

    Args:
        pipeline: the pipeline whose detector, estimator, post-processing and tracker run; its
            ``prefetch`` (``qsize``) bounds every queue.
        frames: the frames (any iterable; iterated in the reader thread).
        on_error: see :meth:`alphapose.pipeline.Pipeline.run`.

    Returns:
        A generator; results are the same as the single-threaded run's.
    """
    from alphapose.pipeline import check_image

    size = pipeline.prefetch
    stop = threading.Event()
    read_q: queue.Queue = queue.Queue(maxsize=size)
    detect_q: queue.Queue = queue.Queue(maxsize=size)
    out_q: queue.Queue = queue.Queue(maxsize=size)
    times = pipeline.times

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

    def detect() -> None:
        previous: Frame | None = None
        while True:
            item = _get(read_q, stop)
            if item is _DONE or isinstance(item, _Failure):
                _put(detect_q, item, stop)
                return
            frame: Frame = item
            detections: Detections | None = None
            try:
                check_image(frame.image)
                if pipeline.needs_detection(frame, previous):
                    t0 = time.perf_counter()
                    detections = pipeline._detect(frame.image, frame)
                    times.add("detect", time.perf_counter() - t0)
            except FRAME_ERRORS as error:
                _put(detect_q, _FrameError(frame, error), stop)
                previous = frame
                continue
            previous = frame
            _put(detect_q, (frame, detections), stop)

    def estimate() -> None:
        while True:
            item = _get(detect_q, stop)
            if item is _DONE or isinstance(item, (_Failure, _FrameError)):
                _put(out_q, item, stop)
                if item is _DONE or isinstance(item, _Failure):
                    return
                continue
            frame, detections = item
            try:
                poses = pipeline._predict(frame.image, frame, detections)
            except FRAME_ERRORS as error:
                _put(out_q, _FrameError(frame, error), stop)
                continue
            _put(out_q, (frame, poses), stop)

    threads = [_stage("reader", read, read_q, stop), _stage("detector", detect, detect_q, stop),
               _stage("estimator", estimate, out_q, stop)]

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
            for thread in threads:
                thread.join(timeout=2.0)

    return results()


# ------------------------------------------------------------------------------------------------
# people of one frame in parallel (the embedded default)
# ------------------------------------------------------------------------------------------------


class PersonParallel:
    """The embedded whole-body estimator with the people of a frame spread over worker threads.

    Frames stay a chain (frame t needs frame t-1's people), but within a frame every person's
    body passes are independent, and so are the hands and face of every kept body. Each worker
    owns a replica of the estimator (its own interpreters, ``threads`` each), so invokes run in
    parallel; the steps between (dropping improbable and duplicate bodies, assembling the
    result) are the estimator's, in the same order, so the poses equal the plain estimator's
    with the same thread count.

    Args:
        estimator: a :class:`~alphapose.estimators.blaze.BlazeWholeBody`; its settings are
            copied to the replicas (with ``num_threads=threads``).
        workers: worker threads (and replicas).
        threads: interpreter threads per model in each replica.

    Example:
        >>> parallel = PersonParallel(BlazeWholeBody(), workers=2)   # doctest: +SKIP
        >>> pipeline = Pipeline(estimator=parallel)                   # doctest: +SKIP
    """

    supports_tracking = True

    def __init__(self, estimator: Any, workers: int = 2, threads: int = 1) -> None:
        from concurrent.futures import ThreadPoolExecutor
        from dataclasses import replace

        from alphapose.estimators.blaze import BlazeWholeBody

        if not isinstance(estimator, BlazeWholeBody):
            raise TypeError(f"PersonParallel: expected a BlazeWholeBody estimator, got "
                            f"{type(estimator).__name__}")
        if workers < 1 or threads < 1:
            raise ValueError(f"PersonParallel: workers and threads must be >= 1, got "
                             f"{workers} and {threads}")
        config = replace(estimator.config, num_threads=threads)
        self.config = config
        self.layout = estimator.layout
        self.replicas = [estimator if estimator.config == config else BlazeWholeBody(config)]
        self.replicas += [BlazeWholeBody(config) for _ in range(workers - 1)]
        self._free: queue.Queue = queue.Queue()
        for replica in self.replicas:
            self._free.put(replica)
        self._pool = ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix="alphapose-person")

    @property
    def workers(self) -> int:
        return len(self.replicas)

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=True)

    def _on_replica(self, method: str, *args: Any) -> Any:
        replica = self._free.get()
        try:
            return getattr(replica, method)(*args)
        finally:
            self._free.put(replica)

    def _map(self, method: str, calls: list[tuple]) -> list[Any]:
        if len(calls) <= 1:  # nothing to overlap: no hand-off
            return [self._on_replica(method, *call) for call in calls]
        return list(self._pool.map(lambda call: self._on_replica(method, *call), calls))

    def __call__(self, image: np.ndarray, detections: Detections,
                 tracked: Poses | None = None) -> Poses:
        """As :meth:`BlazeWholeBody.__call__ <alphapose.estimators.blaze.BlazeWholeBody.__call__>`."""
        from alphapose.estimators.blaze import (
            AUX_CENTER,
            AUX_SCALE,
            NUM_KEYPOINTS,
            body_box,
        )
        from alphapose.estimators.blaze import _distinct_bodies as distinct_bodies
        from alphapose.estimators.blaze_body import roi_from_alignment_points

        first = self.replicas[0]
        heads, calls = [], []
        for i in range(len(detections)):
            keypoints = None if detections.keypoints is None else detections.keypoints[i]
            heads.append((detections.xyxy[i], float(detections.scores[i]), keypoints is not None))
            calls.append((image, first.initial_rect(detections.xyxy[i], keypoints)))
        if tracked is not None and tracked.roi_points is not None:
            for i in range(len(tracked)):
                rect = roi_from_alignment_points(tracked.roi_points[i][0],
                                                 tracked.roi_points[i][1])
                if rect.width >= 2:
                    heads.append((tracked.xyxy[i], float(tracked.box_scores[i]), True))
                    calls.append((image, rect, 1))
        results = self._map("estimate_body", calls)
        bodies = [(*head, body) for head, body in zip(heads, results)
                  if body.pose_score >= self.config.min_pose_score]
        kept = distinct_bodies(bodies, self.config.duplicate_oks)
        if not kept:
            return Poses.empty(NUM_KEYPOINTS, self.layout)
        assembled = self._map("assemble", [(image, body) for *_, body in kept])
        boxes = [body_box(points[:26], scores[:26], image.shape) if placed else box
                 for (box, _, placed, _), (points, scores) in zip(kept, assembled)]
        return Poses(np.stack([p for p, _ in assembled]), np.stack([s for _, s in assembled]),
                     np.stack(boxes), np.asarray([b[1] for b in kept]), layout=self.layout,
                     roi_points=np.stack([b[3].points[[AUX_CENTER, AUX_SCALE]] for b in kept]))
