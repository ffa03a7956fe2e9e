"""The budget fill shared by three qclusters (bench scenario `shared-budget`, issue 17).

On PostgreSQL: a small run end to end, three `manage.py qcluster` children on the test database
(heavy: the children take tens of seconds to start on a busy machine). No timing is asserted, only
that the work was done once and that the figures and targets are all there. On SQLite the
scenario says it did not run, and the report shows why.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from django.db import connection

from bench.machine import machine_info
from bench.report import Report, ScenarioResult
from bench.scenarios import QUICK, SHARED_CLUSTERS, BenchContext, shared_budget
from integration.models import Order
from tests.bench.test_bench_smoke import ServedTestDatabase
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db(transaction=True)


def _report(result: ScenarioResult) -> Report:
    return Report(
        mode="full",
        machine={**machine_info(), "load_average_end": "0 0 0"},
        database={"engine": connection.vendor, "version": "?", "name": "test"},
        settings={},
        started_at="now",
        scenarios=[result],
    )


def test_on_sqlite_the_scenario_is_skipped_with_a_line_in_the_report(settings):
    if connection.vendor != "sqlite":
        pytest.skip("this test checks the SQLite run")
    result = ScenarioResult(key="shared-budget", title="budget fill, 3 qclusters (PostgreSQL)")

    shared_budget(BenchContext(db=ServedTestDatabase(), counts=QUICK, log=lambda message: None), result)

    assert "needs PostgreSQL" in result.skipped
    assert result.figures == [] and result.targets == [] and result.series == {}
    report = _report(result)
    assert "skipped: needs PostgreSQL" in report.table()
    assert json.loads(json.dumps(report.as_json()))["scenarios"]["shared-budget"]["skipped"] == result.skipped
    assert report.missed == []  # a scenario that did not run misses no target


@pytest.mark.heavy
@pytest.mark.postgres
def test_three_qclusters_acknowledge_every_order_once_and_report_the_shared_share():
    if connection.vendor != "postgresql":
        skip_or_fail("this test needs PostgreSQL (DATABASE_URL=postgres://...)", required_by="REQUIRE_POSTGRES")
    orders = 30
    result = ScenarioResult(key="shared-budget", title="budget fill, 3 qclusters (PostgreSQL)")

    shared_budget(
        BenchContext(db=ServedTestDatabase(), counts=replace(QUICK, shared_orders=orders), log=lambda message: None),
        result,
    )

    figures = {figure.name: figure.value for figure in result.figures}
    assert result.skipped == ""
    assert figures["orders acknowledged once"] == orders  # the sandbox saw each start-handling once
    assert Order.objects.filter(vtex_status="handling").count() == orders  # stored by the clusters
    assert figures["429 answers"] == 0
    per_cluster = [figures[f"qcluster {n}: requests"] for n in range(SHARED_CLUSTERS)]
    # every request came through one cluster's own port: the per-cluster counts add up
    assert sum(per_cluster) == result.series["shared_budget"]["requests"]
    assert sum(per_cluster) > orders  # a start-handling per order and the reads before it
    assert 1 <= figures["clusters that sent requests"] <= SHARED_CLUSTERS
    assert figures["share of the budget"] > 0
    assert [target.name for target in result.targets] == ["share of the budget", "429 answers"]
    assert set(result.series["shared_budget"]) == {"label", "mean_answer_ms", "share", "per_cluster", "requests"}
    assert "share of the budget ≥ 90 %" in _report(result).table()
