"""The request budget the client draws from before every attempt.

VTEX limits the whole account (about 6000 requests/minute on Get order, VTEX-API.md §11) and
answers 429 beyond it. The budget spreads `rpm` over seconds and pauses everyone after a 429.
This module holds the interface and an in-process implementation; the one shared by every
process of an installation lives in integration.infra.rate_budget (it needs the database).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol


class RateBudget(Protocol):
    def acquire(self) -> None:
        """Block until one request may be sent."""

    def pause(self, seconds: float) -> None:
        """Nobody sends anything for `seconds` (after a 429)."""


def tokens_per_second(rpm: int) -> int:
    # A limiter with a sliding 60 s window can see 61 partial one-second slots at once, so
    # rpm/61 per slot guarantees we never exceed rpm in any window.
    return max(1, math.floor(rpm / 61))


class LocalRateBudget:
    """A budget for one process (tests, scripts). Thread-safe."""

    def __init__(
        self,
        rpm: int,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = tokens_per_second(rpm)
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._second = -1
        self._used = 0
        self.paused_until = 0.0
        self.pauses = 0

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self.clock()
                if now < self.paused_until:
                    wait = self.paused_until - now
                else:
                    second = int(now)
                    if second != self._second:
                        self._second, self._used = second, 0
                    if self._used < self.per_second:
                        self._used += 1
                        return
                    wait = second + 1 - now
            self.sleep(max(wait, 0.001))

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.pauses += 1
            self.paused_until = max(self.paused_until, self.clock() + seconds)


class UnlimitedBudget:
    def acquire(self) -> None:
        return None

    def pause(self, seconds: float) -> None:
        return None
