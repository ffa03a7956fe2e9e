"""Smoke test of `manage.py bench`: one tiny scenario end to end, and the report built from it.

No timing is asserted (the machine may be busy): only that the scenario did its work and that
the result carries every figure and target the table and the JSON need.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from django.conf import settings
from django.core.management import call_command

from bench.machine import machine_info
from bench.report import Report, ScenarioResult
from bench.scenarios import (
    QUICK,
    BenchContext,
    budget_fill,
    concurrency_label,
    dashboard,
    freshness,
    latency_bound,
    mean_answer_ms,
)
from integration.models import Invoice, Order, OutboxMessage
from tests.conftest import database_url_for_children

pytestmark = pytest.mark.django_db(transaction=True)


class FlushedTestDatabase:
    """The test database stands in for the bench's: emptied before each part of the scenario."""

    def fresh(self, label: str) -> str:
        call_command("flush", interactive=False, verbosity=0)
        return label

    def analyze(self) -> None:
        pass


def test_the_latency_scenario_imports_every_order_and_reports_its_figures_and_targets():
    counts = replace(QUICK, latency_orders=20, naive_orders=20, ceiling_orders=20)
    result = ScenarioResult(key="latency", title="latency-bound intake")

    latency_bound(BenchContext(db=FlushedTestDatabase(), counts=counts, log=lambda message: None), result)

    figures = {figure.name: figure for figure in result.figures}
    expected = {"erp-bridge", "naive importer", "ratio to naive", "VTEX calls per order", "HTTP-only ceiling"}
    assert expected | {"ceiling threads", "ratio to the HTTP-only ceiling", "erp-bridge calls in flight"} <= set(
        figures
    )
    assert all(isinstance(f.value, int | float) and f.value > 0 for f in figures.values())
    assert figures["erp-bridge"].unit == figures["naive importer"].unit == "orders/s"
    # 20 orders on one list page: two calls per order and one page
    assert figures["VTEX calls per order"].value == pytest.approx(2 + 1 / 20)
    # The ceiling runs as many threads as erp-bridge kept calls in flight, seen by the sandbox.
    assert 1 <= figures["ceiling threads"].value <= (settings.VTEX_CONCURRENCY or settings.VTEX_MAX_CONCURRENCY)
    assert [target.name for target in result.targets] == ["share of the HTTP-only ceiling"]
    assert all(isinstance(target.holds, bool) for target in result.targets)
    assert result.params == {
        "orders": 20,
        "naive_orders": 20,
        "ceiling_orders": 20,
        "latency_ms": 20,
        "concurrency": concurrency_label(),
    }
    assert set(result.series["latency"]) == {"erp_bridge", "ceiling", "naive", "threads"}

    report = Report(
        mode="quick",
        machine={**machine_info(), "load_average_end": "0 0 0"},
        database={"engine": "sqlite", "version": "3", "name": "test"},
        settings={},
        started_at="now",
        scenarios=[result],
    )
    data = json.loads(json.dumps(report.as_json()))
    assert data["machine"]["cpus"] >= 1 and data["machine"]["cpu_model"]
    assert set(data["scenarios"]["latency"]["figures"]) == set(figures)
    assert data["scenarios"]["latency"]["error"] == ""
    table = report.table(previous=data)
    assert "naive importer" in table and "share of the HTTP-only ceiling ≥ 80 %" in table


def test_the_budget_scenario_fills_through_the_feed_and_the_list_and_sets_the_comparisons_beside():
    counts = replace(
        QUICK, budget_orders=20, budget_answer_times=("50 ms",), budget_fixed_orders=10, budget_naive_orders=3
    )
    result = ScenarioResult(key="budget", title="budget fill")

    budget_fill(BenchContext(db=FlushedTestDatabase(), counts=counts, log=lambda message: None), result)

    figures = {figure.name: figure.value for figure in result.figures}
    for source in ("feed", "list"):
        assert figures[f"50 ms, {source}: 429 answers"] == 0
        assert 0 < figures[f"50 ms, {source}: share of the budget"] <= 1.5
        assert figures[f"50 ms, {source}: calls in flight"] >= 1
    assert 0 < figures["50 ms, naive: share of the budget"] < figures["50 ms, fixed 8: share of the budget"]
    assert [target.name for target in result.targets] == [
        "50 ms, feed: share of the budget",
        "50 ms, feed: 429 answers",
        "50 ms, list: share of the budget",
        "50 ms, list: 429 answers",
    ]
    assert [target.noise_free for target in result.targets] == [False, True, False, True]
    point = result.series["budget"]["50 ms"]
    assert point["mean_answer_ms"] == 50
    assert set(point) == {"mean_answer_ms", "erp-bridge feed", "erp-bridge list", "fixed 8", "naive"}


def test_the_long_tail_is_placed_at_its_mean_answer_time():
    assert mean_answer_ms("long tail") == pytest.approx(0.9 * 150 + 0.1 * 1500)
    assert mean_answer_ms("500 ms") == 500


class ServedTestDatabase(FlushedTestDatabase):
    """The test database, for child processes too (gunicorn and a qcluster read and write it)."""

    def child_env(self) -> dict[str, str]:
        return {"DATABASE_URL": database_url_for_children()}


@pytest.mark.heavy  # gunicorn and a qcluster start: tens of seconds on a busy machine
def test_the_freshness_scenario_times_every_order_from_the_hook_call_to_its_start_handling():
    counts = replace(QUICK, freshness_seconds=2, freshness_per_second=5)
    result = ScenarioResult(key="freshness", title="freshness with the hook")

    freshness(BenchContext(db=ServedTestDatabase(), counts=counts, log=lambda message: None), result)

    figures = {figure.name: figure.value for figure in result.figures}
    assert figures["orders"] == 10 and figures["not handled in time"] == 0
    assert 0 < figures["p50"] <= figures["p90"] <= figures["p99"] <= figures["max"]
    assert [target.name for target in result.targets] == ["p50", "p99"]
    assert len(result.series["freshness"]["delays_s"]) == 10
    assert Order.objects.filter(vtex_status="handling").count() == 10  # stored by the served erp-bridge


def test_the_dashboard_scenario_fills_a_store_with_its_history_and_reports_both_shapes(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    counts = replace(QUICK, dashboard_orders=40, admin_requests=2)
    result = ScenarioResult(key="dashboard", title="health dashboard")

    dashboard(BenchContext(db=FlushedTestDatabase(), counts=counts, log=lambda message: None), result)

    figures = {figure.name: figure.value for figure in result.figures}
    for shape in ("40 orders over a year", "40 orders over one week"):
        assert figures[f"{shape}: dashboard queries"] > 0
        assert figures[f"{shape}: dashboard median"] > 0
    assert [target.name for target in result.targets] == [
        "dashboard, 40 orders over a year",
        "admin index, 40 orders over a year",
        "dashboard, 40 orders over one week",
        "admin index, 40 orders over one week",
    ]
    # populate_history: every acknowledged order's start-handling, every invoice's send, sent
    assert OutboxMessage.objects.filter(kind="start_handling", state="sent").count() > 0
    assert OutboxMessage.objects.filter(kind="invoice").count() == Invoice.objects.count()
