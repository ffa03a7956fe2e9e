"""WorkerPool: results handed back in batches, and the owner's short wait to gather a bigger one."""

import queue
import threading

import pytest

from integration.infra.workers import WorkerPool


def test_next_batch_returns_what_is_finished_without_waiting_for_more():
    with WorkerPool(lambda job: job * 10, size=3, inline=True) as pool:
        for job in (1, 2, 3):
            pool.submit(job)
        batch = pool.next_batch()
        assert sorted(done.result for done in batch) == [10, 20, 30]
        assert pool.in_flight == 0


def test_gather_waits_for_as_many_results_as_asked_while_they_finish_in_time():
    slow = threading.Event()
    with WorkerPool(lambda job: (slow.wait(timeout=5) and job) if job == 3 else job, size=3) as pool:
        for job in (1, 2, 3):
            pool.submit(job)
        threading.Timer(0.1, slow.set).start()
        batch = pool.next_batch(gather=3, within_s=2.0)
    # Without gathering, the first call would have returned 1 and 2 and left 3 for later.
    assert sorted(done.result for done in batch) == [1, 2, 3]


def test_gather_gives_up_after_its_time_and_returns_the_results_it_has():
    gate = threading.Event()
    with WorkerPool(lambda job: job if job == 1 else gate.wait(timeout=5) and job, size=2) as pool:
        pool.submit(1)
        pool.submit(2)
        batch = pool.next_batch(gather=2, within_s=0.05)
        # Job 2 was not waited for: waiting would have returned its False (the gate's timeout) here.
        assert [done.result for done in batch] == [1]
        assert pool.in_flight == 1
        gate.set()
        assert [done.result for done in pool.next_batch()] == [2]


@pytest.mark.parametrize("gather", [4, 100])
def test_gather_never_waits_for_more_results_than_are_in_flight(gather):
    with WorkerPool(lambda job: job * 10, size=2) as pool:
        pool._done = WaitsSeen(pool)
        pool.submit(1)
        pool.submit(2)
        results = []
        while pool.in_flight:
            results += [done.result for done in pool.next_batch(gather=gather, within_s=5.0)]
        # Two in flight: asking for more must not sit out the 5 s waiting for results that cannot come.
        assert sorted(results) == [10, 20]
        assert pool._done.waits_with_nothing_in_flight == []


class WaitsSeen(queue.Queue):
    """The pool's queue of finished jobs, noting each wait for a result while none is in flight."""

    def __init__(self, pool: WorkerPool) -> None:
        super().__init__()
        self.pool = pool
        self.waits_with_nothing_in_flight: list[float] = []

    def get(self, block: bool = True, timeout: float | None = None):
        if block and self.pool.in_flight == 0:
            self.waits_with_nothing_in_flight.append(timeout)
        return super().get(block, timeout)
