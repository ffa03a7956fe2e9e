"""The bench's chart: one SVG file next to its JSON, drawn from the JSON's series.

Two panels: the share of the rate budget against the answer time (erp-bridge through the feed
and the list, a fixed 8-worker run, the naive importer, three qclusters sharing the budget), and
the histogram of the freshness delays (hook call → start-handling accepted). Hand-written SVG,
no plotting library: numbers are written with Python's format specs, which never follow the
locale, so the file is the same on every machine. `python -m bench.charts var/bench/latest.json`
redraws it from a JSON file.
"""

from __future__ import annotations

import json
import math
import sys
from html import escape
from pathlib import Path
from typing import Any

WIDTH, PANEL_HEIGHT = 760, 330
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 60, 170, 40, 50
FONT = "font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif"

#: series name in the JSON -> (legend, colour, dash)
BUDGET_LINES = (
    ("erp-bridge feed", "erp-bridge, feed", "#1f6feb", ""),
    ("erp-bridge list", "erp-bridge, list", "#1a7f37", ""),
    ("fixed 8", "fixed 8 workers", "#bc4c00", "6 4"),
    ("naive", "naive importer", "#59636e", "2 3"),
    ("3 qclusters feed", "3 qclusters, feed", "#8250df", ""),
)
#: Freshness histogram: bins of this width up to HIST_MAX_S, then one bin for everything slower.
HIST_BIN_S = 0.25
HIST_MAX_S = 5.0


def _n(value: float) -> str:
    """A coordinate: at most one decimal, no locale, no exponent."""
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _text(x: float, y: float, text: str, *, size: int = 12, anchor: str = "start", extra: str = "") -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" style="{FONT}"{extra}>'
        f"{escape(text)}</text>"
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str = "#d1d9e0", dash: str = "", width: float = 1) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{colour}" '
        f'stroke-width="{_n(width)}"{dashed}/>'
    )


class _Panel:
    def __init__(self, top: float, x_max: float, y_max: float) -> None:
        self.top = top
        self.left = MARGIN_LEFT
        self.width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        self.height = PANEL_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
        self.x_max, self.y_max = x_max, y_max

    def x(self, value: float) -> float:
        return self.left + self.width * min(value, self.x_max) / self.x_max

    def y(self, value: float) -> float:
        return self.top + MARGIN_TOP + self.height * (1 - min(value, self.y_max) / self.y_max)

    @property
    def bottom(self) -> float:
        return self.top + MARGIN_TOP + self.height

    def frame(self, title: str, x_label: str, y_label: str, x_ticks, y_ticks) -> list[str]:
        parts = [_text(self.left, self.top + 22, title, size=14, extra=' font-weight="600"')]
        for value, label in y_ticks:
            parts.append(_line(self.left, self.y(value), self.left + self.width, self.y(value)))
            parts.append(_text(self.left - 6, self.y(value) + 4, label, size=11, anchor="end"))
        for value, label in x_ticks:
            parts.append(_line(self.x(value), self.bottom, self.x(value), self.bottom + 4, "#59636e"))
            parts.append(_text(self.x(value), self.bottom + 17, label, size=11, anchor="middle"))
        parts.append(_line(self.left, self.bottom, self.left + self.width, self.bottom, "#59636e"))
        parts.append(_text(self.left + self.width / 2, self.bottom + 36, x_label, size=12, anchor="middle"))
        parts.append(
            _text(
                14,
                self.top + MARGIN_TOP + self.height / 2,
                y_label,
                size=12,
                anchor="middle",
                extra=f' transform="rotate(-90 14 {_n(self.top + MARGIN_TOP + self.height / 2)})"',
            )
        )
        return parts

    def legend(self, row: int, text: str, colour: str, dash: str = "", *, box: bool = False) -> list[str]:
        x, y = self.left + self.width + 16, self.top + MARGIN_TOP + 8 + row * 20
        if box:
            mark = f'<rect x="{_n(x)}" y="{_n(y - 6)}" width="22" height="10" fill="{colour}"/>'
        else:
            mark = _line(x, y, x + 22, y, colour, dash, 2)
        return [mark, _text(x + 28, y + 4, text, size=11)]

    def empty(self, why: str) -> list[str]:
        return [_text(self.left + self.width / 2, self.top + MARGIN_TOP + self.height / 2, why, anchor="middle")]


def _budget_panel(top: float, series: dict[str, dict[str, Any]] | None) -> list[str]:
    points = sorted((series or {}).values(), key=lambda point: point["mean_answer_ms"])
    x_max = max([600.0] + [math.ceil(p["mean_answer_ms"] / 100 + 1) * 100 for p in points])
    panel = _Panel(top, x_max, 1.1)
    x_ticks = [(ms, f"{ms:.0f}") for ms in range(0, int(x_max) + 1, 100)]
    y_ticks = [(share / 100, f"{share} %") for share in range(0, 111, 20)]
    parts = panel.frame(
        "Share of the rate budget (6000 rpm) by VTEX's answer time",
        "mean answer time (ms); the long tail (90 % at 150 ms, 10 % at 1.5 s) at its mean",
        "requests / budget",
        x_ticks,
        y_ticks,
    )
    parts.append(_line(panel.left, panel.y(0.9), panel.left + panel.width, panel.y(0.9), "#cf222e", "4 3"))
    parts.append(_text(panel.left + 4, panel.y(0.9) - 4, "target 90 %", size=10, extra=' fill="#cf222e"'))
    if not points:
        return parts + panel.empty("budget fill not run")
    for row, (key, legend, colour, dash) in enumerate(BUDGET_LINES):
        xy = [(panel.x(p["mean_answer_ms"]), panel.y(p[key])) for p in points if isinstance(p.get(key), int | float)]
        if not xy:
            continue
        if len(xy) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y in xy)
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dashed}/>')
        for x, y in xy:
            parts.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{colour}"/>')
        parts += panel.legend(row, legend, colour, dash)
    return parts


def _freshness_panel(top: float, series: dict[str, Any] | None) -> list[str]:
    bins = int(HIST_MAX_S / HIST_BIN_S)
    counts = [0] * (bins + 1)  # the last: slower than HIST_MAX_S, or never handled
    delays = (series or {}).get("delays_s") or []
    for delay in delays:
        counts[min(bins, max(0, int(delay / HIST_BIN_S)))] += 1
    counts[bins] += (series or {}).get("missing", 0)
    total = sum(counts)
    y_max = max(0.1, math.ceil(max(counts) / max(total, 1) * 10 + 0.5) / 10) if total else 1.0
    panel = _Panel(top, HIST_MAX_S + HIST_BIN_S, y_max)
    x_ticks = [(s, f"{s:g} s") for s in range(0, int(HIST_MAX_S) + 1)]
    y_step = 0.1 if y_max <= 0.6 else 0.2
    y_ticks = [(i * y_step, f"{i * y_step * 100:.0f} %") for i in range(int(round(y_max / y_step)) + 1)]
    parts = panel.frame(
        "Freshness: the sandbox's hook call → start-handling accepted",
        f"seconds (bins of {HIST_BIN_S:g} s; the last bar: slower than {HIST_MAX_S:g} s or not handled)",
        "share of the orders",
        x_ticks,
        y_ticks,
    )
    if not total:
        return parts + panel.empty("freshness not run")
    for index, count in enumerate(counts):
        if not count:
            continue
        x0, x1 = panel.x(index * HIST_BIN_S), panel.x((index + 1) * HIST_BIN_S)
        y = panel.y(count / total)
        colour = "#cf222e" if index == bins else "#1f6feb"
        parts.append(
            f'<rect x="{_n(x0 + 1)}" y="{_n(y)}" width="{_n(x1 - x0 - 2)}" height="{_n(panel.bottom - y)}" '
            f'fill="{colour}" fill-opacity="0.8"/>'
        )
    ordered = sorted(delays) + [math.inf] * (series or {}).get("missing", 0)
    for row, (share, label, colour, target) in enumerate(((0.5, "p50", "#1a7f37", 1.0), (0.99, "p99", "#9a6700", 3.0))):
        value = ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))]
        x = panel.x(value if math.isfinite(value) else HIST_MAX_S + HIST_BIN_S)
        parts.append(_line(x, panel.top + MARGIN_TOP, x, panel.bottom, colour, "", 2))
        shown = f"{value:.2f} s" if math.isfinite(value) else "not handled"
        parts += panel.legend(row, f"{label} {shown}", colour)
        # The target: a dashed line at its bound, named at its top.
        tx = panel.x(target)
        parts.append(_line(tx, panel.top + MARGIN_TOP, tx, panel.bottom, "#cf222e", "4 3"))
        parts.append(
            _text(
                tx + 3,
                panel.top + MARGIN_TOP + 10 + 12 * row,
                f"{label} < {target:g} s",
                size=10,
                extra=' fill="#cf222e"',
            )
        )
    parts += panel.legend(2, f"{total} orders", "#1f6feb", box=True)
    return parts


def chart_svg(report: dict[str, Any]) -> str:
    scenarios = report.get("scenarios", {})
    budget = (scenarios.get("budget") or {}).get("series", {}).get("budget")
    shared = (scenarios.get("shared-budget") or {}).get("series", {}).get("shared_budget")
    if shared:  # the three-cluster point beside the single process's, at its answer time
        budget = {label: dict(point) for label, point in (budget or {}).items()}
        point = budget.setdefault(shared["label"], {"mean_answer_ms": shared["mean_answer_ms"]})
        point["3 qclusters feed"] = shared["share"]
    fresh = (scenarios.get("freshness") or {}).get("series", {}).get("freshness")
    machine = report.get("machine", {})
    database = report.get("database", {})
    settings = report.get("settings", {})
    caption = (
        f"erp-bridge bench ({report.get('mode', '?')}) · {report.get('started_at', '')} · "
        f"{database.get('engine', '?')} · {machine.get('cpu_model', '?')} × {machine.get('cpus', '?')} · "
        f"git {machine.get('git', '?')} · concurrency {settings.get('concurrency', '?')}"
    )
    height = 2 * PANEL_HEIGHT + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        *_budget_panel(0, budget),
        *_freshness_panel(PANEL_HEIGHT, fresh),
        _text(MARGIN_LEFT, height - 10, caption, size=10, extra=' fill="#59636e"'),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def write_chart(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(chart_svg(report), encoding="utf-8")


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "var/bench/latest.json")
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else source.with_suffix(".svg")
    write_chart(json.loads(source.read_text(encoding="utf-8")), target)
    print(f"written to {target}")
