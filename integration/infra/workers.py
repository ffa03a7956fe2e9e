"""A small pool of threads for VTEX calls, owned by one thread that alone writes to the database.

Worker threads only talk to VTEX (their call records are buffered, see services.vtex); the owner
submits jobs and stores results as they complete. This keeps SQLite's single writer free and the
number of database connections small. Each worker closes its connections when the pool ends.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections

from integration.infra.vtex_client import buffer_calls_in_this_thread

_STOP = object()


@dataclass
class Done:
    job: Any
    result: Any = None
    error: BaseException | None = None


class WorkerPool:
    def __init__(
        self, work: Callable[[Any], Any], *, size: int, window: int | None = None, inline: bool = False
    ) -> None:
        self.work = work
        self.size = max(1, size)
        # inline: no threads, each job runs in submit() (the owner's thread), same interface.
        self.inline = inline
        # Jobs submitted and not yet taken back. Twice the threads keeps every thread busy while
        # the owner stores results; more lets results pile up, so the owner stores bigger batches.
        self.window = max(self.size, window or self.size * 2)
        self.in_flight = 0
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._done: queue.Queue[Done] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, name=f"vtex-worker-{n}", daemon=True)
            for n in range(0 if inline else self.size)
        ]

    def __enter__(self) -> WorkerPool:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        buffer_calls_in_this_thread()
        try:
            while (job := self._jobs.get()) is not _STOP:
                self._do(job)
        finally:
            connections.close_all()

    def _do(self, job: Any) -> None:
        try:
            self._done.put(Done(job, result=self.work(job)))
        except BaseException as exc:  # handed to the owner, who decides
            self._done.put(Done(job, error=exc))

    def submit(self, job: Any) -> None:
        self.in_flight += 1
        if self.inline:
            self._do(job)
        else:
            self._jobs.put(job)

    @property
    def full(self) -> bool:
        return self.in_flight >= self.window

    def next_done(self) -> Done:
        done = self._done.get()
        self.in_flight -= 1
        return done

    def next_batch(self, *, gather: int = 1, within_s: float = 0.0) -> list[Done]:
        """The next result (waiting for it) and every other one already finished: the owner then
        stores a batch in a few statements instead of one order at a time.

        With `gather`, wait up to `within_s` more for that many results (never more than are in
        flight): the owner's statements cost about the same for one order as for twenty, and
        the workers stay busy meanwhile as long as the window holds more jobs than threads."""
        gather = min(gather, self.in_flight)
        batch = [self.next_done()]
        deadline = time.monotonic() + within_s
        while True:
            try:
                left_s = deadline - time.monotonic() if len(batch) < gather else 0.0
                done = self._done.get(timeout=left_s) if left_s > 0 else self._done.get_nowait()
            except queue.Empty:
                return batch
            self.in_flight -= 1
            batch.append(done)
