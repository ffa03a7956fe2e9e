"""The database work of VTEX worker threads, done by one thread of their pool.

Django opens a database connection per thread. The worker threads of a pool (up to
VTEX_MAX_CONCURRENCY of them) touch the database only for the shared rate budget, yet each one
kept a connection open: two clusters with a few tasks each exhausted PostgreSQL's 100 connections
and the intake stopped ("sorry, too many clients already", found by the soak). Their database
work now goes to one thread per pool, which holds the pool's one connection and closes it when
the pool ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connections

T = TypeVar("T")

_local = threading.local()


class DatabaseThread:
    """One thread, and so one connection, for the database work of many threads."""

    def __init__(self, *, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}_db")

    def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        return self._executor.submit(fn, *args).result()

    def close(self) -> None:
        self._executor.submit(connections.close_all).result()
        self._executor.shutdown(wait=True)


def do_database_work_in(database_thread: DatabaseThread | None) -> None:
    """From now on this thread's database_work() runs in `database_thread` (None: in this thread)."""
    _local.database_thread = database_thread


def database_work(fn: Callable[..., T], /, *args: Any) -> T:
    """Run `fn(*args)`, which uses the database: in the pool's database thread when this is a
    worker thread, here otherwise."""
    database_thread = getattr(_local, "database_thread", None)
    if database_thread is None:
        return fn(*args)
    return database_thread.run(fn, *args)
