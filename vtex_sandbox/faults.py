"""What the server adds on the wire, on top of the store's rules: injected faults, a rate limit
answering 429 + Retry-After, and latency.

The server (server.py) asks these before every VTEX request; the control routes
``/_sandbox/faults``, ``/_sandbox/rate-limit`` and ``/_sandbox/latency`` change them at run time.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FAULT_KINDS = ("429", "500", "503", "slow", "drop")
FAULT_STATUS_MESSAGES = {
    "429": "Too Many Requests (sandbox fault)",
    "500": "Internal Server Error (sandbox fault)",
    "503": "Service Unavailable (sandbox fault)",
}
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
_RATE_WINDOW_S = 60.0


@dataclass(frozen=True)
class FaultConfig:
    """Which faults to inject, decided per request by a seeded RNG.

    - ``fail_rate``: probability that a VTEX request fails with one of ``kinds``, equally likely:
      ``429`` (with ``Retry-After: retry_after_s``), ``500``, ``503``, ``slow`` (sleep ``slow_s``,
      then answer normally, to outlast the client's read timeout) or ``drop`` (close the
      connection without answering; the effect is not applied).
    - ``lost_rate``: independently, probability that a POST/PUT/PATCH is applied and then its
      answer is lost (the connection is closed without answering).
    """

    fail_rate: float = 0.0
    lost_rate: float = 0.0
    retry_after_s: int = 1
    slow_s: float = 3.0
    seed: int | None = None
    kinds: tuple[str, ...] = FAULT_KINDS

    def __post_init__(self) -> None:
        for name in ("fail_rate", "lost_rate"):
            rate = getattr(self, name)
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1")
        if isinstance(self.retry_after_s, bool) or not isinstance(self.retry_after_s, int | float):
            raise ValueError("retry_after_s must be a number of seconds")
        if self.retry_after_s < 0 or self.slow_s < 0:
            raise ValueError("retry_after_s and slow_s must not be negative")
        kinds = tuple(self.kinds)
        unknown = set(kinds) - set(FAULT_KINDS)
        if not kinds or unknown:
            raise ValueError(f"kinds must be a non-empty subset of {FAULT_KINDS}")
        object.__setattr__(self, "kinds", kinds)

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "kinds": list(self.kinds)}


class FaultInjector:
    """Draws the faults of ``FaultConfig`` from one RNG, safely across handler threads."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.config = config
        self._rng = random.Random(config.seed)

    def update(self, **changes: Any) -> FaultConfig:
        with self._lock:
            self.config = dataclasses.replace(self.config, **changes)
            if "seed" in changes:
                self._rng = random.Random(self.config.seed)
            return self.config

    def pick_failure(self) -> str | None:
        with self._lock:
            if self.config.fail_rate and self._rng.random() < self.config.fail_rate:
                return self._rng.choice(self.config.kinds)
            return None

    def pick_lost(self, method: str) -> bool:
        with self._lock:
            if method not in _WRITE_METHODS or not self.config.lost_rate:
                return False
            return self._rng.random() < self.config.lost_rate


#: The longest latency the sandbox takes (a minute: longer would only hang clients).
MAX_LATENCY_MS = 60_000


def checked_latency_ms(ms: object, name: str) -> int:
    """`ms` when it is a latency the sandbox takes; else ValueError naming `name`."""
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_LATENCY_MS:
        raise ValueError(f"{name} must be an integer between 0 and {MAX_LATENCY_MS}")
    return ms


class RateLimiter:
    """A sliding 60-second window over every VTEX route; rejected requests take no slot."""

    def __init__(self, rpm: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._accepted: deque[float] = deque()
        self.rpm: int | None = None
        self.set_rpm(rpm)

    def set_rpm(self, rpm: int | None, *, fresh_window: bool = False) -> None:
        """A new limit; with fresh_window, the requests accepted so far stop counting against it."""
        if rpm is not None and (isinstance(rpm, bool) or not isinstance(rpm, int) or rpm < 1):
            raise ValueError("rpm must be a positive integer or null")
        with self._lock:
            self.rpm = rpm
            if fresh_window:
                self._accepted.clear()

    def acquire(self) -> int | None:
        """None when the request may go on, else the seconds until a slot frees (at least 1)."""
        with self._lock:
            now = self._clock()
            while self._accepted and self._accepted[0] <= now - _RATE_WINDOW_S:
                self._accepted.popleft()
            if self.rpm is not None and len(self._accepted) >= self.rpm:
                return max(1, math.ceil(self._accepted[0] + _RATE_WINDOW_S - now))
            self._accepted.append(now)
            return None


@dataclass(frozen=True)
class LatencyTail:
    """A long tail on top of the fixed latency: a seeded ``share`` of the VTEX answers take ``ms``
    instead (VTEX's answers mostly take 100 to 500 ms, a few far longer). Off unless given."""

    share: float
    ms: int
    seed: int | None = 1

    def __post_init__(self) -> None:
        if isinstance(self.share, bool) or not isinstance(self.share, int | float) or not 0 <= self.share <= 1:
            raise ValueError("tail.share must be a number between 0 and 1")
        checked_latency_ms(self.ms, "tail.ms")

    @classmethod
    def from_dict(cls, value: object) -> LatencyTail | None:
        """None for None; a LatencyTail for {"share": ..., "ms": ..., "seed": ...}; else ValueError."""
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) - {"share", "ms", "seed"} or not {"share", "ms"} <= set(value):
            raise ValueError('tail must be null or {"share": 0..1, "ms": milliseconds, "seed": optional}')
        return cls(share=value["share"], ms=value["ms"], seed=value.get("seed", 1))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class LatencyPicker:
    """Draws each answer's latency: the fixed one, or the tail's for a seeded share of answers."""

    def __init__(self, ms: int, tail: LatencyTail | None = None) -> None:
        self._lock = threading.Lock()
        self.set(ms, tail)

    def set(self, ms: int, tail: LatencyTail | None) -> None:
        with self._lock:
            self.ms = ms
            self.tail = tail
            self._rng = random.Random(tail.seed if tail else None)

    def draw_ms(self) -> int:
        with self._lock:
            if self.tail is not None and self._rng.random() < self.tail.share:
                return self.tail.ms
            return self.ms
