"""Runs the scenarios in order in one process, so their figures come from the same conditions."""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import override_settings

from bench import scenarios
from bench.databases import BenchDatabase
from bench.machine import PROJECT_ROOT, load_average, machine_info
from bench.report import Report, ScenarioResult

#: key, title, function. The keys are what --only takes.
SCENARIOS: tuple[tuple[str, str, Callable[[scenarios.BenchContext, ScenarioResult], None]], ...] = (
    ("latency", "latency-bound intake", scenarios.latency_bound),
    ("budget", "budget fill", scenarios.budget_fill),
    ("shared-budget", "budget fill, 3 qclusters (PostgreSQL)", scenarios.shared_budget),
    ("outbox", "outbox", scenarios.outbox),
    ("freshness", "freshness with the hook", scenarios.freshness),
    ("admin", "admin scale", scenarios.admin_scale),
    ("dashboard", "health dashboard", scenarios.dashboard),
    ("memory", "memory", scenarios.memory),
    ("hook", "hook endpoint", scenarios.hook),
)
SCENARIO_KEYS = tuple(key for key, _, _ in SCENARIOS)
DEFAULT_OUTPUT = PROJECT_ROOT / "var" / "bench" / "latest.json"


def _stderr_log(started: float) -> Callable[[str], None]:
    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    return log


def run_bench(
    *,
    quick: bool = False,
    only: Iterable[str] = (),
    counts: scenarios.Counts | None = None,
    log: Callable[[str], None] | None = None,
    concurrency: int | None = None,
) -> Report:
    started = time.perf_counter()
    log = log or _stderr_log(started)
    only = set(only)
    unknown = only - set(SCENARIO_KEYS)
    if unknown:
        raise ValueError(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIO_KEYS)}")
    counts = counts or (scenarios.QUICK if quick else scenarios.FULL)
    if concurrency is not None:  # a what-if run; the default is the setting's
        with override_settings(VTEX_CONCURRENCY=concurrency):
            return run_bench(quick=quick, only=only, counts=counts, log=log)
    report = Report(
        mode="quick" if quick else "full",
        machine=machine_info(),
        database={},
        settings={
            "VTEX_CONCURRENCY": scenarios.configured_concurrency(),
            "VTEX_MAX_CONCURRENCY": settings.VTEX_MAX_CONCURRENCY,
            "concurrency": scenarios.concurrency_label(),
            "counts": counts.__dict__,
        },
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    # django-q2 logs every task it queues (hook, outbox): thousands of lines that hide the progress.
    q_logger = logging.getLogger("django-q")
    q_level = q_logger.level
    q_logger.setLevel(logging.WARNING)
    # As in production: DEBUG off (no query log kept); the test client's host allowed.
    with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        db = BenchDatabase(log=log)
        try:
            db.fresh("describe")
            report.database = db.describe()
            context = scenarios.BenchContext(db=db, counts=counts, log=log)
            for key, title, function in SCENARIOS:
                if only and key not in only:
                    continue
                result = ScenarioResult(key=key, title=title)
                log(f"{title}")
                scenario_started = time.perf_counter()
                try:
                    function(context, result)
                except Exception:  # reported, and the next scenario still runs
                    result.error = traceback.format_exc()
                    log(f"{title} CRASHED:\n{result.error}")
                result.seconds = time.perf_counter() - scenario_started
                report.scenarios.append(result)
        finally:
            db.close()
            q_logger.setLevel(q_level)
    report.machine["load_average_end"] = load_average()
    report.seconds = time.perf_counter() - started
    return report


def load_previous(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
