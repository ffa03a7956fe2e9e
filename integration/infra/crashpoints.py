"""Named crash points (failpoints) for the crash matrix (tests/reliability/test_crash_matrix.py).

The crash matrix proves that a process killed at any step of intake or sending loses nothing and
duplicates nothing once it is restarted. A real SIGKILL (no `finally`, no atexit, no rollback but
the database's own) at an exact step is the only honest way to test that, so the code marks its
steps with `crash_point("name")`, and the test starts a real process with
ERP_BRIDGE_CRASH_POINT=name (and optionally ERP_BRIDGE_CRASH_AFTER=N to die on the Nth pass).

Harmless in production: the variable is never set there, and an unset point costs one dict
lookup. The environment is read once per process (a point is hit thousands of times a cycle).
"""

from __future__ import annotations

import os
import signal
import threading

CRASH_POINT_ENV = "ERP_BRIDGE_CRASH_POINT"
CRASH_AFTER_ENV = "ERP_BRIDGE_CRASH_AFTER"

#: Every point placed in the code, so that the test can check it covers them all and a typo in
#: ERP_BRIDGE_CRASH_POINT fails loudly instead of never firing.
CRASH_POINTS = (
    # intake
    "intake.lease_taken",
    "intake.list_page_read",
    "intake.order_fetched",
    "intake.store_in_transaction",
    "intake.order_stored",
    "intake.start_handling_queued",
    "intake.feed_read",
    "intake.feed_before_commit",
    "intake.feed_committed",
    # sending
    "invoicing.outbox_row_written",
    "outbox.committed_before_queue",
    "outbox.claimed",
    "outbox.sent.start_handling",
    "outbox.sent.invoice",
    "outbox.sent.tracking",
    "outbox.sent.tracking_events",
    "outbox.sent.cancel",
    "outbox.recorded",
    "outbox.read_back",
)

_armed: dict[str, int] = {}
_lock = threading.Lock()


def _arm() -> None:
    name = os.environ.get(CRASH_POINT_ENV, "")
    if not name:
        return
    if name not in CRASH_POINTS:
        raise RuntimeError(f"{CRASH_POINT_ENV}={name!r} names no crash point; known: {', '.join(CRASH_POINTS)}")
    after = int(os.environ.get(CRASH_AFTER_ENV, "1") or "1")
    _armed[name] = max(1, after)


_arm()


def crash_point(name: str) -> None:
    """SIGKILL this process here when the crash matrix asks for it (see the module docstring)."""
    if name not in _armed:
        return
    with _lock:  # worker threads pass some points: count each pass once
        _armed[name] -= 1
        if _armed[name] > 0:
            return
    os.kill(os.getpid(), signal.SIGKILL)
