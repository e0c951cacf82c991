"""Model work as small tasks: run in line, or on worker threads that each own a copy of the models.

An estimator that splits its work into tasks (:class:`~alphapose.estimators.blaze.BlazeWholeBody`:
one task per body crop, per hand, per face) submits callables ``fn(models) -> result`` and gets
:class:`concurrent.futures.Future` objects back. ``models`` is the object the task runs on: the
estimator itself (:class:`InlineTasks`) or the worker's own replica (:class:`WorkerPool`),
because an interpreter runs one invoke at a time.

:class:`WorkerPool` takes the task with the lowest ``priority`` first (FIFO among equals), so the
work the next frame waits for (bodies: :data:`URGENT`) goes ahead of work only the output waits
for (hands and face: :data:`LATER`); the workers fill every gap with the latter.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol, Self, TypeVar

__all__ = ["LATER", "URGENT", "Batcher", "InlineTasks", "Tasks", "WorkerPool", "gather",
           "resolved", "then"]

T = TypeVar("T")

#: priority of work a later frame depends on (video tracking: the bodies)
URGENT = 0
#: priority of work only this frame's output needs (hands, face)
LATER = 1


class Tasks(Protocol):
    """Where an estimator's tasks run."""

    def submit(self, fn: Callable[[Any], T], priority: int = URGENT) -> Future: ...


def then(future: Future, fn: Callable[[Any], T]) -> Future:
    """A future of ``fn(future.result())``, computed as soon as ``future`` is done (in the thread
    that completes it, or at once if it is done); an error of either goes to the new future."""
    out: Future = Future()

    def done(source: Future) -> None:
        try:
            out.set_result(fn(source.result()))
        except BaseException as error:  # noqa: BLE001 - delivered through the future
            out.set_exception(error)

    future.add_done_callback(done)
    return out


def gather(futures: Sequence[Future], fn: Callable[[list[Any]], T]) -> Future:
    """A future of ``fn([f.result() for f in futures])``, computed when the last is done
    (without a thread waiting for them); the first error goes to the new future.

    The callbacks hold the results, not the futures: no reference cycle keeps a frame's data
    alive until the garbage collector's next full pass."""
    out: Future = Future()
    if not futures:
        return then(resolved([]), fn)
    results: list[Any] = [None] * len(futures)
    state: dict[str, Any] = {"remaining": len(futures), "error": None}
    lock = threading.Lock()

    def callback(index: int) -> Callable[[Future], None]:
        def one_done(future: Future) -> None:
            try:
                value, error = future.result(), None
            except BaseException as failure:  # noqa: BLE001 - delivered through ``out``
                value, error = None, failure
            with lock:
                results[index] = value
                if error is not None and state["error"] is None:
                    state["error"] = error
                state["remaining"] -= 1
                last = state["remaining"] == 0
            if not last:
                return
            if state["error"] is not None:
                out.set_exception(state["error"])
                return
            try:
                out.set_result(fn(results))
            except BaseException as failure:  # noqa: BLE001 - delivered through ``out``
                out.set_exception(failure)

        return one_done

    for index, future in enumerate(futures):
        future.add_done_callback(callback(index))
    return out


def resolved(value: Any) -> Future:
    """A future that is already done with ``value``."""
    future: Future = Future()
    future.set_result(value)
    return future


class InlineTasks:
    """Runs each task at once, in the calling thread, on ``models``."""

    def __init__(self, models: Any) -> None:
        self.models = models

    def submit(self, fn: Callable[[Any], T], priority: int = URGENT) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(self.models))
        except Exception as error:  # noqa: BLE001 - delivered through the future
            future.set_exception(error)
        return future


class WorkerPool:
    """One worker thread per replica; tasks by ``(priority, submission order)``.

    Args:
        replicas: the objects the tasks run on, one per worker (e.g. estimator copies with their
            own interpreters); a replica is only ever used by its own worker.
        name: thread name prefix.
        on_exit: called with each worker thread's CPU seconds and seconds spent waiting for a
            task, when it stops.

    Example:
        >>> pool = WorkerPool([BlazeWholeBody(c), BlazeWholeBody(c)])    # doctest: +SKIP
        >>> future = pool.submit(lambda est: est.estimate_body(image, rect))  # doctest: +SKIP
        >>> pool.close()                                                   # doctest: +SKIP
    """

    def __init__(self, replicas: Sequence[Any], name: str = "alphapose-worker",
                 on_exit: Callable[[float, float], None] | None = None) -> None:
        if not replicas:
            raise ValueError("WorkerPool: needs at least one replica")
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._closed = False
        self._lock = threading.Lock()
        self._on_exit = on_exit
        self._threads = [threading.Thread(target=self._work, args=(replica,),
                                          name=f"{name}-{n}", daemon=True)
                         for n, replica in enumerate(replicas)]
        for thread in self._threads:
            thread.start()

    @property
    def workers(self) -> int:
        return len(self._threads)

    def submit(self, fn: Callable[[Any], T], priority: int = URGENT) -> Future:
        """Queue ``fn``; it runs as ``fn(replica)`` on the first free worker."""
        future: Future = Future()
        with self._lock:
            if self._closed:
                future.cancel()
                return future
            self._queue.put((priority, next(self._order), fn, future))
        return future

    def _work(self, replica: Any) -> None:
        idle = 0.0
        while True:
            start = time.perf_counter()
            _, _, fn, future = self._queue.get()
            if fn is None:
                if self._on_exit is not None:
                    self._on_exit(time.thread_time(), idle)
                return
            idle += time.perf_counter() - start
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(replica))
            except BaseException as error:  # noqa: BLE001 - delivered through the future
                future.set_exception(error)

    def close(self, wait: bool = True) -> None:
        """Cancel the queued tasks (their waiters get ``CancelledError``), let the running ones
        finish, and stop the workers."""
        with self._lock:
            if not self._closed:
                self._closed = True
                pending = []
                while True:
                    try:
                        pending.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                for *_, future in pending:
                    future.cancel()
                for _ in self._threads:  # after every real task: lowest priority, last in order
                    self._queue.put((float("inf"), next(self._order), None, None))
        if wait:
            for thread in self._threads:
                thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Batcher:
    """Gathers the inputs of successive frames into calls of up to ``size`` items.

    :meth:`add` queues one frame's items (stacked along axis 0) and returns a future of that
    frame's outputs; a call runs as soon as ``size`` items wait (in the thread that added the
    last of them), or when somebody needs a result that has not run yet (:meth:`result` runs
    everything waiting, in the thread that asks). So a pipeline whose estimator stage runs
    ahead of its finisher stage gets batches across frames (``--posebatch``), and one that
    asks right away (``sp``) gets one call per frame. One call runs at a time.

    Args:
        run: ``items (N, ...) -> outputs (N, ...)``, row by row (e.g. a network on crops).
        size: items per call that trigger a call.
    """

    def __init__(self, run: Callable[[Any], Any], size: int) -> None:
        if size < 1:
            raise ValueError(f"Batcher: size must be >= 1, got {size}")
        self._run = run
        self.size = int(size)
        self._waiting: list[tuple[Any, Future]] = []
        self._count = 0
        self._lock = threading.Lock()  # guards the waiting list
        self._call_lock = threading.Lock()  # one call at a time
        self.calls = 0

    def add(self, items: Any) -> Future:
        """Queue ``items`` (a non-empty array); the future gets the matching output rows."""
        future: Future = Future()
        with self._lock:
            self._waiting.append((items, future))
            self._count += len(items)
            full = self._count >= self.size
        if full:
            self.flush()
        return future

    def flush(self) -> None:
        """Run everything waiting, in one call."""
        import numpy as np

        with self._call_lock:
            with self._lock:
                waiting, self._waiting, self._count = self._waiting, [], 0
            if not waiting:
                return
            try:
                outputs = self._run(np.concatenate([items for items, _ in waiting]))
                self.calls += 1
            except Exception as error:  # noqa: BLE001 - every waiting frame gets it
                for _, future in waiting:
                    future.set_exception(error)
                return
            start = 0
            for items, future in waiting:
                future.set_result(outputs[start:start + len(items)])
                start += len(items)

    def result(self, future: Future) -> Any:
        """The outputs of ``future`` (from :meth:`add`), running the waiting items if needed."""
        if not future.done():
            self.flush()
        return future.result()
