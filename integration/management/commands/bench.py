"""`python manage.py bench` (`make bench`): performance figures against the sandbox store.

Prints a table and writes it as JSON (var/bench/latest.json by default, and a copy under
var/bench/history/ named by time, engine and mode) with its chart beside it (latest.svg).
`--soak --minutes 30` (`make bench-soak`) runs the soak instead (bench/soak.py) and writes
var/bench/soak.json. Exit status: 1 when a
scenario crashed; in full mode 3 when a target was missed; --quick (CI) fails on crashes only,
and with --strict-counts also when a count (queries, 429s, memory) misses its target.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bench.charts import write_chart
from bench.runner import DEFAULT_OUTPUT, SCENARIO_KEYS, load_previous, run_bench
from bench.soak import ARRIVALS_PER_S, DEFAULT_SOAK_OUTPUT, run_soak

EXIT_CRASHED = 1
EXIT_TARGET_MISSED = 3


class Command(BaseCommand):
    help = (
        "Benchmark intake, the outbox, the admin at scale, memory and the hook against the sandbox store, "
        "each in a fresh database (temporary SQLite files, or the PostgreSQL database of DATABASE_URL, whose "
        "name must contain 'bench': it is emptied). Takes about 5 minutes on a 2-core machine; --quick about a minute."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quick", action="store_true", help="Reduced counts (for CI); targets reported only.")
        parser.add_argument(
            "--only", action="append", choices=SCENARIO_KEYS, default=[], help="Run this scenario (repeatable)."
        )
        parser.add_argument(
            "--output", type=Path, default=DEFAULT_OUTPUT, help=f"JSON file to write (default {DEFAULT_OUTPUT})."
        )
        parser.add_argument(
            "--strict-counts",
            action="store_true",
            help="With --quick: fail (exit 3) when a count target misses (queries, 429s, memory), not a timing one.",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="Run with this VTEX_CONCURRENCY instead of the setting's (a what-if; the table shows it).",
        )
        parser.add_argument(
            "--compare", type=Path, default=None, help="A JSON file of an earlier run: show the change of each figure."
        )
        parser.add_argument(
            "--soak",
            action="store_true",
            help="Run the soak instead (erp-bridge served, orders arriving, faults, a cluster killed halfway).",
        )
        parser.add_argument("--minutes", type=float, default=30.0, help="With --soak: how long orders arrive.")
        parser.add_argument(
            "--per-second", type=float, default=ARRIVALS_PER_S, help="With --soak: orders arriving a second."
        )

    def handle(
        self,
        *args,
        quick: bool,
        only: list[str],
        output: Path,
        compare: Path | None,
        strict_counts: bool,
        concurrency: int | None = None,
        soak: bool = False,
        minutes: float = 30.0,
        per_second: float = ARRIVALS_PER_S,
        **options,
    ):
        if soak:
            self._soak(minutes, per_second, output if output != DEFAULT_OUTPUT else DEFAULT_SOAK_OUTPUT)
            return
        previous = None
        if compare is not None:
            previous = load_previous(compare)
            if previous is None:
                raise CommandError(f"cannot read an earlier run from {compare}")
        if concurrency is not None and concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        report = run_bench(quick=quick, only=only, concurrency=concurrency)
        report.write_json(output)
        write_chart(report.as_json(), output.with_suffix(".svg"))
        stamp = report.started_at.replace(" UTC", "").replace(" ", "T").replace(":", "")
        report.write_json(output.parent / "history" / f"{stamp}-{report.database['engine']}-{report.mode}.json")
        self.stdout.write(report.table(previous))
        self.stdout.write(f"\nwritten to {output} and its chart {output.with_suffix('.svg')}")
        if report.crashed:
            self.stderr.write(f"crashed: {', '.join(s.key for s in report.crashed)}")
            sys.exit(EXIT_CRASHED)
        if (report.missed and not quick) or (strict_counts and report.missed_noise_free):
            sys.exit(EXIT_TARGET_MISSED)

    def _soak(self, minutes: float, per_second: float, output: Path) -> None:
        if not 0 < minutes <= 24 * 60:
            raise CommandError("--minutes must be more than 0 and at most 1440")
        if not 0 < per_second <= 1000:
            raise CommandError("--per-second must be more than 0 and at most 1000")
        report = run_soak(minutes=minutes, per_second=per_second)
        report.write_json(output)
        self.stdout.write(report.text())
        self.stdout.write(f"\nwritten to {output}")
        if report.error:
            sys.exit(EXIT_CRASHED)
        if not report.holds:
            sys.exit(EXIT_TARGET_MISSED)
