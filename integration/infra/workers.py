"""Threads for VTEX calls: a plain ThreadPoolExecutor whose threads stay off the database writer.

The thread that owns the pool stores results; the worker threads only speak to VTEX. Their call
records are buffered (infra.vtex_client.call_log) and written by the owner, so SQLite's single
writer stays free. The shared rate budget reads and writes its row from the worker threads, so
each thread has a database connection: they are closed when the pool ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connections

from integration.infra.vtex_client import buffer_calls_in_this_thread


@contextmanager
def vtex_threads(size: int) -> Iterator[ThreadPoolExecutor]:
    """An executor of `size` threads for VTEX calls (no database work of their own)."""
    started: list[int] = []  # the executor starts its threads as work comes

    def start_thread() -> None:
        started.append(threading.get_ident())
        buffer_calls_in_this_thread()

    executor = ThreadPoolExecutor(max_workers=max(1, size), thread_name_prefix="vtex", initializer=start_thread)
    try:
        yield executor
    finally:
        _close_connections(executor, len(started))
        executor.shutdown(wait=True)


def _close_connections(executor: ThreadPoolExecutor, started: int) -> None:
    """Each thread closes its own connections (Django's are per thread): one job per thread, held
    at a barrier until every started thread has one, so no thread takes two."""
    if not started:
        return
    barrier = threading.Barrier(started)

    def close() -> None:
        barrier.wait()
        connections.close_all()

    for future in [executor.submit(close) for _ in range(started)]:
        future.result()
