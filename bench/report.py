"""Scenario results, targets, the printed table and the JSON file (for comparing runs)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    name: str
    value: float | int | str | None
    unit: str = ""
    note: str = ""

    def text(self) -> str:
        return format_value(self.value, self.unit)


@dataclass
class Target:
    name: str
    rule: str  # e.g. "≥ 10×"
    value: float | int | None
    holds: bool | None  # None: could not be decided (the scenario failed)
    unit: str = ""
    #: A count (queries, 429 answers, megabytes), not a speed: a busy machine does not change it,
    #: so it may fail CI (--strict-counts) where timings may not.
    noise_free: bool = False


@dataclass
class ScenarioResult:
    key: str
    title: str
    params: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""
    #: Why the scenario did not run here (e.g. it needs PostgreSQL); shown as a line of the table.
    skipped: str = ""
    #: What the charts draw (bench/charts.py), kept in the JSON too.
    series: dict[str, Any] = field(default_factory=dict)

    def figure(self, name: str, value: Any, unit: str = "", note: str = "") -> Any:
        self.figures.append(Figure(name, value, unit, note))
        return value

    def target(
        self, name: str, rule: str, value: Any, holds: bool, unit: str = "", *, noise_free: bool = False
    ) -> None:
        self.targets.append(Target(name, rule, value, bool(holds), unit, noise_free))


def format_value(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if unit == "%":
        return f"{value * 100:.1f} %"
    if unit == "×":
        return f"{value:.2f}×"
    if unit == "s" and isinstance(value, float) and value < 10:
        return f"{value:.3f} s"
    if isinstance(value, float):
        text = f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".rstrip()


@dataclass
class Report:
    mode: str
    machine: dict[str, Any]
    database: dict[str, Any]
    settings: dict[str, Any]
    started_at: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def targets(self) -> list[tuple[ScenarioResult, Target]]:
        return [(scenario, target) for scenario in self.scenarios for target in scenario.targets]

    @property
    def crashed(self) -> list[ScenarioResult]:
        return [scenario for scenario in self.scenarios if scenario.error]

    @property
    def missed(self) -> list[tuple[ScenarioResult, Target]]:
        return [(scenario, target) for scenario, target in self.targets if not target.holds]

    @property
    def missed_noise_free(self) -> list[tuple[ScenarioResult, Target]]:
        return [(scenario, target) for scenario, target in self.missed if target.noise_free]

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "mode": self.mode,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 1),
            "machine": self.machine,
            "database": self.database,
            "settings": self.settings,
            "scenarios": {
                s.key: {
                    "title": s.title,
                    "params": s.params,
                    "seconds": round(s.seconds, 2),
                    "error": s.error,
                    "skipped": s.skipped,
                    "figures": {f.name: {"value": f.value, "unit": f.unit, "note": f.note} for f in s.figures},
                    "targets": [asdict(t) for t in s.targets],
                    "series": s.series,
                }
                for s in self.scenarios
            },
            "targets_missed": len(self.missed),
            "scenarios_crashed": [s.key for s in self.crashed],
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False, default=str) + "\n")

    def table(self, previous: dict[str, Any] | None = None) -> str:
        m, db = self.machine, self.database
        lines = [
            f"erp-bridge bench ({self.mode}) · {db['engine']} {db['version']} · {m['cpu_model']} × {m['cpus']} · "
            f"Python {m['python']} · Django {m['django']} · {m['git']} · {self.started_at}",
            f"load average at start {m['load_average_start']}, at end {m.get('load_average_end', '?')} "
            f"(on {m['cpus']} cores; above ~0.5 per core the figures are noisy) · total {self.seconds:.0f} s"
            f" · concurrency {self.settings.get('concurrency', '?')}",
            "",
        ]
        rows: list[tuple[str, str, str, str]] = []
        for scenario in self.scenarios:
            label = f"{scenario.title} ({scenario.seconds:.0f} s)"
            if scenario.error:
                rows.append((label, "CRASHED", scenario.error.strip().splitlines()[-1][:80], ""))
            if scenario.skipped:
                rows.append((label, f"skipped: {scenario.skipped}", "—", ""))
            for figure in scenario.figures:
                before = _previous_value(previous, scenario.key, figure.name)
                change = _change(before, figure.value)
                rows.append((label, figure.name + (f" ({figure.note})" if figure.note else ""), figure.text(), change))
                label = ""
        width = [max(len(r[i]) for r in rows) for i in range(3)] if rows else [0, 0, 0]
        header = ("scenario", "figure", "value", "vs previous" if previous else "")
        width = [max(width[i], len(header[i])) for i in range(3)]
        lines.append(f"{header[0]:<{width[0]}}  {header[1]:<{width[1]}}  {header[2]:>{width[2]}}  {header[3]}".rstrip())
        lines.append("-" * (sum(width) + 4 + (14 if previous else 0)))
        for r in rows:
            lines.append(f"{r[0]:<{width[0]}}  {r[1]:<{width[1]}}  {r[2]:>{width[2]}}  {r[3]}".rstrip())
        lines += ["", "targets"]
        for scenario, target in self.targets:
            mark = "ok  " if target.holds else "MISS"
            lines.append(
                f"  [{mark}] {scenario.title}: {target.name} {target.rule}  "
                f"(measured {format_value(target.value, target.unit)}){'  [count]' if target.noise_free else ''}"
            )
        for scenario in self.crashed:
            lines.append(f"  [CRASH] {scenario.title}: {scenario.error.strip().splitlines()[-1]}")
        held = sum(1 for _, t in self.targets if t.holds)
        lines.append(f"{held} of {len(self.targets)} targets hold")
        return "\n".join(lines)


def _previous_value(previous: dict[str, Any] | None, scenario: str, figure: str) -> Any:
    if not previous:
        return None
    return ((previous.get("scenarios", {}).get(scenario) or {}).get("figures", {}).get(figure) or {}).get("value")


def _change(before: Any, after: Any) -> str:
    if not isinstance(before, int | float) or not isinstance(after, int | float) or isinstance(before, bool):
        return ""
    if before == 0:
        return "" if after == 0 else "(was 0)"
    return f"{(after - before) / abs(before) * 100:+.0f} %"
