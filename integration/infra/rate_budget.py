"""The VTEX rate budget shared by every process of one installation, kept in the database.

Each process takes tokens for the current second with one conditional UPDATE (no row lock is
held, so it works the same on SQLite and PostgreSQL), a few at a time so that a busy intake does
not pay one write per request. Tokens a process took but did not use lapse with their second.
A 429 anywhere sets paused_until, which every process reads before each request (a read of one
row: the tokens it holds do not let it send during another process's pause).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import IntegrityError, connection
from django.db.models import F

from integration.infra.db_work import database_work
from integration.models import RateBudget
from integration.vtex.budget import tokens_per_second

BUDGET_NAME = "vtex"


class DatabaseRateBudget:
    def __init__(
        self,
        rpm: int,
        *,
        name: str = BUDGET_NAME,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = tokens_per_second(rpm)
        # Small reservations keep the budget fair between processes; one tenth of a second's
        # worth keeps the database writes at about ten per second per busy process.
        self.chunk = max(1, self.per_second // 10)
        self.name = name
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._second = -1
        self._tokens = 0
        self._paused_until = 0.0

    def _row(self):
        return RateBudget.objects.filter(name=self.name)

    def _ensure_row(self) -> None:
        if not self._row().exists():
            try:
                RateBudget.objects.create(name=self.name)
            except IntegrityError:
                pass  # another process created it first

    def _reserve(self, now: float) -> tuple[int, float]:
        """Take up to `chunk` tokens of this second. Returns (tokens, seconds to wait if none)."""
        second = int(now)
        for want in (self.chunk, 1):
            taken = self._row().filter(window_start=second, used__lte=self.per_second - want, paused_until__lte=now)
            if taken.update(used=F("used") + want):
                return want, 0.0
            rolled = self._row().filter(window_start__lt=second, paused_until__lte=now)
            if rolled.update(window_start=second, used=want):
                return want, 0.0
        row = self._row().values("paused_until", "window_start").first()
        if row is None:
            self._ensure_row()
            return 0, 0.0
        if row["paused_until"] > now:
            self._paused_until = row["paused_until"]
            return 0, row["paused_until"] - now
        return 0, max(second + 1 - now, 0.001)

    def acquire(self) -> None:
        while True:
            holds_token = False
            with self._lock:
                now = self.clock()
                if now < self._paused_until:
                    wait = self._paused_until - now
                elif int(now) == self._second and self._tokens > 0:
                    self._tokens -= 1
                    holds_token = True
                else:
                    # its UPDATE checks the shared pause itself
                    tokens, wait = database_work(self._reserve, now)
                    if tokens:
                        self._second, self._tokens = int(now), tokens - 1
                        return
            if holds_token:
                # Tokens held for this second were reserved before any 429 another process may
                # have had since: read the shared pause (a read, no write) before the request
                # goes. Read after the token is taken and outside the lock: no thread waits for
                # another's read (a database call under a lock made every worker queue behind
                # the slowest), and no wait for the lock comes between the read and the request.
                paused_until = database_work(self._shared_paused_until)
                now = self.clock()
                if paused_until <= now and self._paused_until <= now:  # and no 429 here meanwhile
                    return
                with self._lock:
                    self._tokens = 0  # they lapse: taken before the pause
                    self._paused_until = max(self._paused_until, paused_until)
                    wait = self._paused_until - now
            self.sleep(max(wait, 0.001))

    def _shared_paused_until(self) -> float:
        # Read before nearly every request: a plain SELECT, as building the ORM query costs
        # more than SQLite or PostgreSQL spends answering it.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT paused_until FROM {RateBudget._meta.db_table} WHERE name = %s", [self.name])
            row = cursor.fetchone()
        return row[0] if row else 0.0

    def pause(self, seconds: float) -> None:
        until = self.clock() + seconds
        with self._lock:
            self._tokens = 0
            self._paused_until = max(self._paused_until, until)
        database_work(self._share_pause, until)

    def _share_pause(self, until: float) -> None:
        self._ensure_row()
        self._row().filter(paused_until__lt=until).update(paused_until=until)
        self._row().update(pauses=F("pauses") + 1)


def vtex_budget_paused_for(*, name: str = BUDGET_NAME, now: float | None = None) -> float:
    """Seconds every process still waits after VTEX's last 429 (0 when not paused)."""
    paused_until = RateBudget.objects.filter(name=name).values_list("paused_until", flat=True).first() or 0.0
    return max(0.0, paused_until - (time.time() if now is None else now))
