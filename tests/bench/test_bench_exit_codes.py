"""`manage.py bench` exit status: what fails a run (CI runs --quick), from the report it builds.

The scenarios themselves are replaced by a made-up report, so these rules are checked in
milliseconds: a crash always fails (1); a missed target fails a full run (3); --quick fails only
on a crash, and with --strict-counts also on a missed count (queries, 429s, memory), never on a
missed timing (a busy machine must not fail CI).
"""

from __future__ import annotations

import pytest
from django.core.management import call_command

from bench.machine import machine_info
from bench.report import Report, ScenarioResult
from integration.management.commands import bench as bench_command


def report(*, error: str = "", timing_holds: bool = True, count_holds: bool = True) -> Report:
    scenario = ScenarioResult(key="admin", title="admin scale", error=error)
    scenario.target("list time ratio", "≤ 1.5×", 1.2 if timing_holds else 2.0, timing_holds, "×")
    scenario.target("list queries", "same", 5, count_holds, noise_free=True)
    return Report(
        mode="quick",
        machine=machine_info(),
        database={"engine": "sqlite", "version": "3"},
        settings={},
        started_at="2026-11-28 12:00:00 UTC",
        scenarios=[scenario],
    )


def run(monkeypatch, tmp_path, made: Report, *args: str) -> int:
    monkeypatch.setattr(bench_command, "run_bench", lambda **kwargs: made)
    try:
        call_command("bench", *args, "--output", str(tmp_path / "latest.json"))
    except SystemExit as exit_:
        return exit_.code
    return 0


@pytest.mark.parametrize(
    ("made", "args", "status"),
    [
        (report(), (), 0),
        (report(error="Traceback …\nRuntimeError: sandbox died"), (), bench_command.EXIT_CRASHED),
        (report(error="Traceback …\nRuntimeError: sandbox died"), ("--quick",), bench_command.EXIT_CRASHED),
        (report(timing_holds=False), (), bench_command.EXIT_TARGET_MISSED),
        (report(timing_holds=False), ("--quick",), 0),
        (report(timing_holds=False), ("--quick", "--strict-counts"), 0),
        (report(count_holds=False), ("--quick",), 0),
        (report(count_holds=False), ("--quick", "--strict-counts"), bench_command.EXIT_TARGET_MISSED),
    ],
    ids=[
        "all-hold",
        "crash-full",
        "crash-quick",
        "timing-missed-full",
        "timing-missed-quick",
        "timing-missed-strict",
        "count-missed-quick",
        "count-missed-strict",
    ],
)
def test_the_exit_status_follows_crashes_and_missed_targets(monkeypatch, tmp_path, made, args, status):
    assert run(monkeypatch, tmp_path, made, *args) == status
    assert (tmp_path / "latest.json").exists()  # the figures are written whatever the outcome
