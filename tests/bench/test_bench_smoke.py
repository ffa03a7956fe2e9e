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
from bench.scenarios import QUICK, BenchContext, dashboard, latency_bound
from integration.models import Invoice, OutboxMessage

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
    expected = {"erp-bridge", "naive importer", "ratio to naive", "VTEX calls per order", "bound", "ratio to bound"}
    assert expected | {"HTTP-only ceiling"} <= set(figures)
    assert all(isinstance(f.value, int | float) and f.value > 0 for f in figures.values())
    assert figures["erp-bridge"].unit == figures["naive importer"].unit == "orders/s"
    # 20 orders on one list page: two calls per order and one page
    assert figures["VTEX calls per order"].value == pytest.approx(2 + 1 / 20)
    assert [target.name for target in result.targets] == ["erp-bridge vs naive", "share of the bound"]
    assert all(isinstance(target.holds, bool) for target in result.targets)
    assert result.params == {
        "orders": 20,
        "naive_orders": 20,
        "ceiling_orders": 20,
        "latency_ms": 20,
        "concurrency": settings.VTEX_CONCURRENCY,
    }

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
    assert "naive importer" in table and "share of the bound ≥ 80 %" in table


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
