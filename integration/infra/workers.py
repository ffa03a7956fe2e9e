"""Threads for VTEX calls, as many as the in-flight target asks for at each moment.

A plain ThreadPoolExecutor has a fixed number of threads; here their number follows a target
that moves with VTEX's answer times (integration.vtex.concurrency): a thread is started when work
waits and fewer threads than the target run, and a thread ends after its job when more run than
the target. The cap of the target bounds threads, connections and memory.

The thread that owns the pool stores results; the worker threads only speak to VTEX. Their call
records are buffered (infra.vtex_client.call_log) and written by the owner, so SQLite's single
writer stays free. The shared rate budget reads and writes its row for the worker threads: that
work goes to the pool's one database thread (infra.db_work), so a pool holds one connection
however many threads it runs.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

from django.db import connections

from integration.infra.db_work import DatabaseThread, do_database_work_in
from integration.infra.vtex_client import buffer_calls_in_this_thread, vtex_in_flight_target


class FollowingExecutor(Executor):
    """An executor whose number of threads follows `target()` (read at every submit and job end)."""

    def __init__(self, target: Callable[[], int], *, name: str = "vtex") -> None:
        self.target = target
        self._name = name
        self._work: deque[tuple[Future, Callable[..., Any], tuple, dict]] = deque()
        self._lock = threading.Condition()
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._busy = 0
        self._shutdown = False
        self._started = 0
        self._database_thread = DatabaseThread(name=name)
        #: The most threads alive at once (the bench and the tests read it).
        self.peak_threads = 0

    # ---- what callers see --------------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._submit((fn, args, kwargs), first=False)

    def submit_first(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Before the work already waiting: a read that brings more work (the feed's next lot, the
        list's next page) must not wait behind the orders of the lots before it."""
        return self._submit((fn, args, kwargs), first=True)

    def _submit(self, job: tuple[Callable[..., Any], tuple, dict], *, first: bool) -> Future:
        future: Future = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a pool that was shut down")
            if first:
                self._work.appendleft((future, *job))
            else:
                self._work.append((future, *job))
            if self._idle:
                self._lock.notify()
            self._grow()
        return future

    @property
    def unfinished(self) -> int:
        """Jobs waiting or running."""
        with self._lock:
            return len(self._work) + self._busy

    @property
    def threads(self) -> int:
        with self._lock:
            return len(self._threads)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while self._work:
                    self._work.popleft()[0].cancel()
            self._lock.notify_all()
        if wait:
            # Until none is left: a thread ending may start another for work still waiting.
            while threads := self._alive():
                for thread in threads:
                    thread.join()
            self._database_thread.close()

    def _alive(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._threads)

    # ---- the threads -------------------------------------------------------------------------

    def _grow(self) -> None:
        """Under the lock: start threads for waiting work, up to the target."""
        target = max(1, self.target())
        while len(self._work) > self._idle and len(self._threads) < target:
            self._started += 1
            thread = threading.Thread(target=self._run, name=f"{self._name}_{self._started}", daemon=True)
            self._threads.add(thread)
            self.peak_threads = max(self.peak_threads, len(self._threads))
            thread.start()

    def _run(self) -> None:
        buffer_calls_in_this_thread()
        do_database_work_in(self._database_thread)
        try:
            while self._next_job():
                pass
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())
                self._grow()  # another thread takes work left behind by this one, if any
            connections.close_all()  # any this thread opened itself (database work goes to the pool's thread)

    def _next_job(self) -> bool:
        """Run one job; False when this thread should end (shut down, or more threads than the target)."""
        with self._lock:
            while not self._work and not self._shutdown:
                self._idle += 1
                self._lock.wait()
                self._idle -= 1
            if not self._work:  # shut down, nothing left
                return False
            future, fn, args, kwargs = self._work.popleft()
            self._busy += 1
        try:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller with the future
                    future.set_exception(exc)
        finally:
            with self._lock:
                self._busy -= 1
        with self._lock:
            if len(self._threads) > max(1, self.target()):
                return False  # VTEX answers faster now: fewer threads keep the wire full
            self._grow()
        return True


@contextmanager
def vtex_threads(target: Callable[[], int] | None = None) -> Iterator[FollowingExecutor]:
    """A pool for VTEX calls (no database work of their own), following the process's in-flight
    target (VTEX_CONCURRENCY fixes it); `target` replaces it (tests, what-ifs)."""
    executor = FollowingExecutor(target or vtex_in_flight_target().target)
    try:
        yield executor
    finally:
        executor.shutdown(wait=True)
