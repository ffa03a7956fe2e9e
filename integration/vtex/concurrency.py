"""How many VTEX calls this process keeps in flight: as many as the budget and VTEX's answer times need.

Little's law: calls in flight = calls a second × seconds per call. With VTEX's 6000 rpm (98 calls a
second, VTEX-API.md §11) and answers of 200 ms, 20 calls must be on the wire at every moment to
spend the budget; at 50 ms, 5; at 500 ms, 49. A fixed number is wrong at every latency but one:
too few leaves the budget unspent, too many holds threads and connections for nothing. So the
target follows a moving mean of the answer times this process measures, with headroom for the
threads that are between calls (waiting for a token, mapping an order), between a floor and a cap.

Pure arithmetic, no Django: the client's recorder feeds `observe`, the thread pool reads `target`.
"""

from __future__ import annotations

import math
import threading

#: The answer time assumed before the first is measured: VTEX's usual (100–500 ms).
INITIAL_ANSWER_S = 0.25
#: Weight of each new answer in the moving mean: about the last 60 answers count, so a slower
#: VTEX is followed within a second at full budget, and one slow answer moves the mean little.
SMOOTHING = 1 / 32
#: Threads between two calls (a token to wait for, an order to map, a result to hand over) are not
#: on the wire: half again as many as the law's figure keeps the wire full while they are.
HEADROOM = 1.5
#: Never fewer than this: a slow start must not starve the first cycle.
FLOOR = 4


class InFlightTarget:
    """The number of calls to keep in flight, following the measured answer times.

    `per_second`: the calls a second the budget allows (None: no limit, the cap applies).
    `fixed`: an operator's override (VTEX_CONCURRENCY); then nothing moves.
    Thread-safe: every worker thread reports its answers.
    """

    def __init__(self, *, per_second: float | None, cap: int, fixed: int | None = None) -> None:
        if cap < 1:
            raise ValueError("the cap must be at least 1")
        self.per_second = per_second
        self.cap = cap
        self.fixed = fixed
        self._mean_s = INITIAL_ANSWER_S
        self._answers = 0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        """One answer (or timeout) took `seconds` on the wire."""
        seconds = max(0.0, seconds)
        with self._lock:
            self._answers += 1
            # The first answers replace the guess quickly (a plain mean), then the moving mean.
            weight = max(SMOOTHING, 1 / self._answers)
            self._mean_s += weight * (seconds - self._mean_s)

    @property
    def mean_answer_s(self) -> float:
        return self._mean_s

    @property
    def adaptive(self) -> bool:
        return self.fixed is None

    def target(self) -> int:
        if self.fixed is not None:
            return self.fixed
        if self.per_second is None:
            return self.cap
        needed = math.ceil(self.per_second * self._mean_s * HEADROOM)
        return max(min(FLOOR, self.cap), min(self.cap, needed))

    def describe(self) -> str:
        if self.fixed is not None:
            return f"{self.fixed} (fixed by VTEX_CONCURRENCY)"
        return f"{self.target()} (answers {self._mean_s * 1000:.0f} ms on average; cap {self.cap})"
