"""The bench's chart: an SVG drawn from the JSON's series, the same on every machine and locale."""

from __future__ import annotations

import locale
import xml.etree.ElementTree as ET

from bench.charts import chart_svg, write_chart

SVG = "{http://www.w3.org/2000/svg}"


def made_report(*, budget=True, freshness=True) -> dict:
    scenarios = {}
    if budget:
        points = {
            "50 ms": {
                "mean_answer_ms": 50.0,
                "erp-bridge feed": 0.97,
                "erp-bridge list": 0.95,
                "fixed 8": 0.9,
                "naive": 0.2,
            },
            "200 ms": {
                "mean_answer_ms": 200.0,
                "erp-bridge feed": 0.93,
                "erp-bridge list": 0.94,
                "fixed 8": 0.38,
                "naive": 0.05,
            },
            "long tail": {
                "mean_answer_ms": 285.0,
                "erp-bridge feed": 0.91,
                "erp-bridge list": 0.92,
                "fixed 8": 0.28,
                "naive": 0.035,
            },
        }
        scenarios["budget"] = {"series": {"budget": points}}
    if freshness:
        scenarios["freshness"] = {"series": {"freshness": {"delays_s": [0.3] * 90 + [1.2] * 8 + [7.5], "missing": 1}}}
    return {
        "mode": "full",
        "started_at": "2026-12-07 10:00:00 UTC",
        "machine": {"cpu_model": "Test CPU", "cpus": 2, "git": "abc1234"},
        "database": {"engine": "sqlite"},
        "settings": {"concurrency": "adaptive (cap 64)"},
        "scenarios": scenarios,
    }


def test_the_chart_draws_each_series_of_the_budget_and_the_freshness_histogram(tmp_path):
    path = tmp_path / "latest.svg"
    write_chart(made_report(), path)
    root = ET.fromstring(path.read_text())  # well-formed XML
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert {"erp-bridge, feed", "erp-bridge, list", "fixed 8 workers", "naive importer"} <= set(texts)
    # One line through three answer times per series, a marker per point.
    assert len(list(root.iter(f"{SVG}polyline"))) == 4
    assert len(list(root.iter(f"{SVG}circle"))) == 12
    # 100 orders: p50 in the 0.25-0.5 s bin; p99 the 99th, at 7.5 s (the one never handled is the 100th).
    assert "p50 0.30 s" in texts and "p99 7.50 s" in texts
    assert "p50 < 1 s" in texts and "p99 < 3 s" in texts  # the targets, drawn at their bounds
    assert "100 orders" in texts
    assert any("adaptive (cap 64)" in (text or "") for text in texts)


def test_the_chart_is_the_same_whatever_the_locale_and_says_what_was_not_run(monkeypatch):
    before = chart_svg(made_report())
    original = locale.setlocale(locale.LC_ALL)
    try:
        locale.setlocale(locale.LC_ALL, "pt_BR.UTF-8")
    except locale.Error:
        pass  # the locale is not installed: the comparison still checks the output is stable
    try:
        assert chart_svg(made_report()) == before
    finally:
        locale.setlocale(locale.LC_ALL, original)
    assert "," not in "".join(ET.fromstring(before).find(f"{SVG}circle").attrib.values())

    texts = [
        element.text
        for element in ET.fromstring(chart_svg(made_report(budget=False, freshness=False))).iter(f"{SVG}text")
    ]
    assert "budget fill not run" in texts and "freshness not run" in texts


def test_the_three_cluster_run_is_one_point_beside_the_single_process_at_its_answer_time():
    report = made_report(freshness=False)
    shared = {"label": "200 ms", "mean_answer_ms": 200.0, "share": 0.575, "per_cluster": {}, "requests": 1}
    report["scenarios"]["shared-budget"] = {"series": {"shared_budget": shared}}
    root = ET.fromstring(chart_svg(report))
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "3 qclusters, feed" in texts
    assert len(list(root.iter(f"{SVG}polyline"))) == 4  # a single point: a marker, no line
    assert len(list(root.iter(f"{SVG}circle"))) == 13
    assert report["scenarios"]["budget"]["series"]["budget"]["200 ms"].get("3 qclusters feed") is None  # not altered

    alone = made_report(budget=False, freshness=False)  # --only shared-budget: its point alone
    alone["scenarios"]["shared-budget"] = {"series": {"shared_budget": shared}}
    root = ET.fromstring(chart_svg(alone))
    assert len(list(root.iter(f"{SVG}circle"))) == 1
    assert "budget fill not run" not in [element.text for element in root.iter(f"{SVG}text")]
