"""crash_point itself (quick; part of make test): it fires exactly where and when it is asked to."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from integration.infra import crashpoints
from integration.models import OutboxMessage
from tests.conftest import PROJECT_ROOT

PROGRAM = textwrap.dedent(
    """
    import sys
    from integration.infra.crashpoints import crash_point
    for n in range(1, 6):
        crash_point("intake.order_stored")
        crash_point("outbox.claimed")
        print(n, flush=True)
    """
)


def run(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ERP_BRIDGE_CRASH")}
    return subprocess.run(
        [sys.executable, "-c", PROGRAM],
        env={**clean, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unset_point_never_fires():
    completed = run()
    assert completed.returncode == 0
    assert completed.stdout.split() == ["1", "2", "3", "4", "5"]


def test_the_named_point_kills_the_process_on_the_nth_pass():
    completed = run(ERP_BRIDGE_CRASH_POINT="outbox.claimed", ERP_BRIDGE_CRASH_AFTER="3")
    assert completed.returncode == -9, completed.stderr  # SIGKILL: no cleanup ran
    assert completed.stdout.split() == ["1", "2"]


def test_a_name_that_is_no_point_fails_loudly_instead_of_never_firing():
    completed = run(ERP_BRIDGE_CRASH_POINT="outbox.clamed")
    assert completed.returncode == 1
    assert "names no crash point" in completed.stderr


def test_every_point_is_placed_in_the_code():
    sources = "\n".join(
        path.read_text() for path in (PROJECT_ROOT / "integration").rglob("*.py") if path.name != "crashpoints.py"
    )
    dynamic_kinds = set(OutboxMessage.Kind.values)  # every write to VTEX, start-handling included
    for name in crashpoints.CRASH_POINTS:
        if name.startswith("outbox.sent."):
            assert name.removeprefix("outbox.sent.") in dynamic_kinds
            assert 'crash_point(f"outbox.sent.{message.kind}")' in sources
            continue
        # Some steps exist twice (one row sent alone, or many by the concurrent sender).
        assert f'crash_point("{name}")' in sources, name
