"""Tasks in line and on worker threads: order by priority, one replica per worker, errors, close."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from alphapose.tasks import LATER, URGENT, InlineTasks, WorkerPool


class Replica:
    """Records which thread used it and the order of the tasks it ran."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.threads: set[int] = set()


def test_inline_tasks_run_at_once_on_the_given_object() -> None:
    target = Replica("only")
    tasks = InlineTasks(target)
    future = tasks.submit(lambda r: (r.name, threading.get_ident()))
    assert future.done() and future.result() == ("only", threading.get_ident())
    failed = tasks.submit(lambda r: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failed.result()


def test_pool_runs_urgent_tasks_before_later_ones_and_fifo_among_equals() -> None:
    gate = threading.Event()
    order: list[str] = []
    with WorkerPool([Replica("a")]) as pool:
        blocker = pool.submit(lambda r: gate.wait(5))  # holds the only worker
        futures = [pool.submit(lambda r, n=n: order.append(f"later{n}"), LATER) for n in range(3)]
        futures += [pool.submit(lambda r, n=n: order.append(f"urgent{n}"), URGENT)
                    for n in range(2)]
        gate.set()
        for future in [blocker, *futures]:
            future.result(timeout=5)
    assert order == ["urgent0", "urgent1", "later0", "later1", "later2"]


def test_each_replica_is_used_by_one_worker_thread_only() -> None:
    replicas = [Replica("a"), Replica("b")]
    barrier = threading.Barrier(2, timeout=5)

    def task(r: Replica) -> str:
        r.threads.add(threading.get_ident())
        barrier.wait()  # both workers must be busy at once for the barrier to open
        return r.name

    with WorkerPool(replicas) as pool:
        pair = [pool.submit(task), pool.submit(task)]
        names = sorted(f.result(timeout=5) for f in pair)
    assert names == ["a", "b"]
    assert all(len(r.threads) == 1 for r in replicas)
    assert replicas[0].threads != replicas[1].threads


def test_errors_reach_the_waiter_and_the_pool_goes_on() -> None:
    with WorkerPool([Replica("a")]) as pool:
        bad = pool.submit(lambda r: {}["missing"])
        good = pool.submit(lambda r: r.name)
        with pytest.raises(KeyError):
            bad.result(timeout=5)
        assert good.result(timeout=5) == "a"


def test_close_cancels_queued_tasks_and_refuses_new_ones() -> None:
    gate, started = threading.Event(), threading.Event()
    pool = WorkerPool([Replica("a")])
    running = pool.submit(lambda r: started.set() or gate.wait(5))
    assert started.wait(5)
    queued = [pool.submit(lambda r: "never") for _ in range(3)]
    closer = threading.Thread(target=pool.close)
    closer.start()
    for future in queued:
        with pytest.raises(CancelledError):
            future.result(timeout=5)
    gate.set()
    closer.join(timeout=5)
    assert running.result(timeout=5) is True  # the running task finished
    assert pool.submit(lambda r: "late").cancelled()
    assert not any(t.is_alive() for t in pool._threads)


def test_pool_needs_a_replica() -> None:
    with pytest.raises(ValueError, match="replica"):
        WorkerPool([])


def test_a_second_close_waits_for_the_workers_and_each_reports_its_cpu_time() -> None:
    gate, started = threading.Event(), threading.Event()
    reports: list[tuple[float, float]] = []
    pool = WorkerPool([Replica("a"), Replica("b")], on_exit=lambda *r: reports.append(r))
    pool.submit(lambda r: started.set() or gate.wait(5))
    assert started.wait(5)
    pool.close(wait=False)
    assert any(t.is_alive() for t in pool._threads)  # the running task holds one worker
    gate.set()
    pool.close(wait=True)
    assert not any(t.is_alive() for t in pool._threads)
    assert len(reports) == 2 and all(cpu >= 0 and idle >= 0 for cpu, idle in reports)



def test_batcher_runs_full_batches_at_once_and_the_rest_on_demand() -> None:
    import numpy as np

    from alphapose.tasks import Batcher

    calls: list[int] = []

    def double(items):
        calls.append(len(items))
        return items * 2

    batcher = Batcher(double, size=4)
    first = batcher.add(np.array([1, 2]))
    second = batcher.add(np.array([3]))
    assert calls == [] and not first.done()
    third = batcher.add(np.array([4, 5]))  # 5 items waiting >= 4: one call for all three
    assert calls == [5] and batcher.calls == 1
    assert list(first.result()) == [2, 4] and list(second.result()) == [6]
    assert list(third.result()) == [8, 10]
    fourth = batcher.add(np.array([6]))
    assert list(batcher.result(fourth)) == [12] and calls == [5, 1]  # ran on demand
    assert batcher.result(fourth) is not None and calls == [5, 1]  # no second call


def test_batcher_gives_the_error_to_every_waiting_frame() -> None:
    import numpy as np

    from alphapose.tasks import Batcher

    def fail(items):
        raise RuntimeError("network failed")

    batcher = Batcher(fail, size=8)
    futures = [batcher.add(np.zeros(2)) for _ in range(2)]
    with pytest.raises(RuntimeError, match="network failed"):
        batcher.result(futures[0])
    with pytest.raises(RuntimeError, match="network failed"):
        futures[1].result(timeout=1)
    with pytest.raises(ValueError, match="size"):
        Batcher(fail, size=0)


def test_workers_report_the_time_they_waited_for_tasks() -> None:
    import time

    reports: list[tuple[float, float]] = []
    start = time.perf_counter()
    pool = WorkerPool([Replica("a")], on_exit=lambda *r: reports.append(r))
    time.sleep(0.2)  # idle before the first task
    pool.submit(lambda r: time.sleep(0.3)).result(timeout=5)  # busy, not idle
    pool.close()
    wall = time.perf_counter() - start
    (_cpu, idle), = reports
    # bounds that hold however loaded the machine is: the wait before the task counts (the
    # worker thread starts within the first 0.1 s of the 0.2), the task's own 0.3 s does not
    assert 0.1 <= idle <= wall - 0.3


def test_then_and_gather_compute_when_their_inputs_are_done() -> None:
    from concurrent.futures import Future

    from alphapose.tasks import gather, resolved, then

    first, second = Future(), Future()
    both = gather([first, second], sum)
    doubled = then(both, lambda total: 2 * total)
    assert not both.done() and not doubled.done()
    second.set_result(5)
    assert not both.done()  # waits for the last one
    first.set_result(2)
    assert both.result(timeout=0) == 7 and doubled.result(timeout=0) == 14
    assert gather([], len).result(timeout=0) == 0
    assert then(resolved(3), lambda v: v + 1).result(timeout=0) == 4
    failed: Future = Future()
    chained = then(gather([failed, resolved(1)], sum), lambda v: v)
    failed.set_exception(KeyError("lost"))
    with pytest.raises(KeyError, match="lost"):
        chained.result(timeout=0)
    with pytest.raises(ZeroDivisionError):
        then(resolved(0), lambda v: 1 / v).result(timeout=0)


def test_gather_leaves_no_reference_cycle_holding_the_results() -> None:
    # a frame's image held in a cycle waits for the garbage collector's next full pass: on a
    # long video that showed as ~40 MB of extra, fluctuating RSS
    import gc
    import weakref
    from concurrent.futures import Future

    from alphapose.tasks import gather, then

    class Image:
        pass

    gc.disable()
    try:
        image = Image()
        alive = weakref.ref(image)
        futures: list[Future] = [Future(), Future()]
        out = then(gather(futures, len), lambda n: n + 1)
        futures[0].set_result(image)
        futures[1].set_result(None)
        assert out.result(timeout=0) == 3
        del image, futures, out
        assert alive() is None  # freed by reference counting alone
    finally:
        gc.enable()
