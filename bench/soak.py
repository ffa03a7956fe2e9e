"""The soak (`make bench-soak`, about 30 minutes, not in CI): erp-bridge served as deployed, for
a long time, with a store's traffic and VTEX's faults; nothing lost, nothing done twice, memory
and backlog flat.

- The sandbox (its own process): orders arriving at 40 a second, every answer 200 ms late, 1 %
  of the VTEX requests failing (429, 500, 503, a slow answer, a dropped connection: faults.py);
  the hook registered. It allows 12 000 requests a minute, and erp-bridge is told the same: each
  order takes four calls (get, start-handling, invoice, tracking), 160 a second at 40 orders a
  second, more than VTEX's documented 6000 a minute.
- erp-bridge: gunicorn (the hook) and two `manage.py qcluster` children on a fresh database,
  default settings otherwise. Halfway, one cluster's process group is killed (SIGKILL, a crash:
  its running task dies mid-way) and started again.
- The ERP: this process, every two seconds, enters an invoice for each handled order and a
  tracking number for each invoice VTEX accepted, through erp-bridge's services (the outbox
  sends them).
- Every 10 s: the RSS of each child's process tree and the backlog (orders still ready at the
  sandbox, outbox rows not sent yet).

When the arrivals stop, the soak waits for the backlog to drain, then checks: every order the
sandbox made is stored and acknowledged, every invoice and tracking number accepted (0 lost);
no effect twice on one order or invoice (0 duplicates); RSS and backlog flat (the last quarter
of the arrivals against the second: the first quarter is the warm-up).
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone

from bench.databases import BenchDatabase
from bench.machine import PROJECT_ROOT, load_average, machine_info
from bench.sandbox import SandboxProcess
from bench.served import ServedBridge, bridge_env, process_tree_rss_kb
from integration.models import Invoice, Order, OutboxMessage
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.tracking import invoice_set_tracking

DEFAULT_SOAK_OUTPUT = PROJECT_ROOT / "var" / "bench" / "soak.json"
ARRIVALS_PER_S = 40
LATENCY_MS = 200
FAULT_RATE = 0.01
SOAK_RPM = 12_000
QCLUSTERS = 2
SAMPLE_EVERY_S = 10
ERP_EVERY_S = 2
#: The ERP handles this many orders (or invoices) a round at most.
ERP_BATCH = 400
#: After the arrivals: the killed cluster's intake lease (5 minutes) and the outbox's retry delays.
DRAIN_TIMEOUT_S = 15 * 60
#: RSS and backlog are "flat" when the last quarter's median is at most this times the second's,
#: plus a margin (RSS: 15 MB; backlog: ten seconds of arrivals).
FLAT_RATIO = 1.25


@dataclass
class Sample:
    at_s: float
    rss_mb: dict[str, float]
    ready_at_vtex: int
    outbox_unsent: int
    orders_stored: int
    created: int

    @property
    def backlog(self) -> int:
        return self.ready_at_vtex + self.outbox_unsent


@dataclass
class Check:
    name: str
    rule: str
    value: Any
    holds: bool


@dataclass
class SoakReport:
    minutes: float
    per_second: float
    started_at: str
    machine: dict[str, Any]
    database: dict[str, Any] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    #: The end of each child's output when a check missed (in the JSON only).
    logs: dict[str, str] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def holds(self) -> bool:
        return not self.error and bool(self.checks) and all(check.holds for check in self.checks)

    def check(self, name: str, rule: str, value: Any, holds: bool) -> None:
        self.checks.append(Check(name, rule, value, bool(holds)))

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "kind": "soak",
            "minutes": self.minutes,
            "arrivals_per_s": self.per_second,
            "latency_ms": LATENCY_MS,
            "fault_rate": FAULT_RATE,
            "rpm": SOAK_RPM,
            "qclusters": QCLUSTERS,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 1),
            "machine": self.machine,
            "database": self.database,
            "figures": self.figures,
            "checks": [asdict(check) for check in self.checks],
            "events": self.events,
            "logs": self.logs,
            "samples": [{**asdict(sample), "backlog": sample.backlog} for sample in self.samples],
            "error": self.error,
            "holds": self.holds,
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")

    def text(self) -> str:
        m = self.machine
        lines = [
            f"erp-bridge soak · {self.database.get('engine', '?')} {self.database.get('version', '')} · "
            f"{m.get('cpu_model', '?')} × {m.get('cpus', '?')} · git {m.get('git', '?')} · {self.started_at}",
            f"{self.minutes:g} min of orders at {self.per_second:g}/s, {LATENCY_MS} ms answers, "
            f"{FAULT_RATE:.0%} faults, {SOAK_RPM} rpm, {QCLUSTERS} qclusters (one killed halfway) · "
            f"total {self.seconds:.0f} s · load average at end {m.get('load_average_end', '?')}",
            "",
        ]
        lines += [f"  {name}: {value}" for name, value in self.figures.items()]
        lines += ["", "events"] + [f"  {event}" for event in self.events]
        lines += ["", "samples (s: backlog = ready at VTEX + outbox unsent; RSS MB)"]
        for sample in self.samples:
            rss = ", ".join(f"{name} {mb:.0f}" for name, mb in sample.rss_mb.items())
            lines.append(
                f"  {sample.at_s:7.0f}: made {sample.created}, stored {sample.orders_stored}, backlog "
                f"{sample.backlog} ({sample.ready_at_vtex} + {sample.outbox_unsent}); {rss}"
            )
        lines += ["", "checks"]
        for check in self.checks:
            lines.append(f"  [{'ok  ' if check.holds else 'MISS'}] {check.name} {check.rule} (measured {check.value})")
        if self.error:
            lines.append(f"  [CRASH] {self.error.strip().splitlines()[-1]}")
        lines.append("the soak holds" if self.holds else "the soak does NOT hold")
        return "\n".join(lines)


# ---- the ERP's side -----------------------------------------------------------------------------------


def erp_round() -> tuple[int, int]:
    """Invoice the handled orders, give a tracking number to the accepted invoices; returns how many."""
    issued = timezone.now() - timedelta(minutes=1)
    invoiced = 0
    to_invoice = (
        Order.objects.filter(vtex_status="handling", invoices__isnull=True).order_by("pk").prefetch_related("items")
    )
    for order in to_invoice[:ERP_BATCH]:
        invoice_create(
            order=order,
            data=InvoiceInput(
                number=str(int(order.sequence)),
                issued_at=issued,
                lines=[(item.item_index, item.quantity) for item in order.items.all()],
                # Series 1 and this number inside the key, as the invoicing rules ask.
                access_key=f"3524051234567800019055001{int(order.sequence):09d}1{order.pk:08d}0",
                courier="Correios",
            ),
            via="erp",
        )
        invoiced += 1
    tracked = 0
    for invoice in Invoice.objects.filter(send_state="sent", tracking_number="").order_by("pk")[:ERP_BATCH]:
        invoice_set_tracking(invoice=invoice, tracking_number=f"BR{invoice.pk:09d}BR", courier="Correios", via="erp")
        tracked += 1
    return invoiced, tracked


class ErpThread(threading.Thread):
    """The ERP, beside the soak's sampling: erp_round() every ERP_EVERY_S (a round can take
    seconds on a busy database, which must not delay the samples or the kill)."""

    def __init__(self) -> None:
        super().__init__(name="soak-erp", daemon=True)
        self._stop_event = threading.Event()
        self._idle = threading.Event()
        self.invoiced = self.tracked = 0
        self.error = ""

    def run(self) -> None:
        try:
            while not self._stop_event.is_set():
                invoiced, tracked = erp_round()
                self.invoiced += invoiced
                self.tracked += tracked
                if invoiced or tracked:
                    self._idle.clear()
                else:
                    self._idle.set()
                self._stop_event.wait(ERP_EVERY_S)
        except Exception:
            self.error = traceback.format_exc()
        finally:
            connection.close()

    def idle(self) -> bool:
        """The last round found nothing to do."""
        return self._idle.is_set()

    def error_check(self) -> None:
        if self.error:
            raise RuntimeError(f"the ERP thread failed:\n{self.error}")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=120)


def _outbox_unsent() -> int:
    return OutboxMessage.objects.exclude(state__in=[OutboxMessage.State.SENT, OutboxMessage.State.STOPPED]).count()


def _sample(started: float, sandbox: SandboxProcess, bridge: ServedBridge) -> Sample:
    state = sandbox.state()
    return Sample(
        at_s=round(time.monotonic() - started, 1),
        rss_mb={name: round(process_tree_rss_kb(pid) / 1024, 1) for name, pid in bridge.pids().items()},
        ready_at_vtex=state["orders_by_status"].get("ready-for-handling", 0),
        outbox_unsent=_outbox_unsent(),
        orders_stored=Order.objects.count(),
        created=state["arrivals"]["created"],
    )


def _quarter_medians(samples: list[Sample], end_s: float, value: Callable[[Sample], float]) -> tuple[float, float]:
    """Medians of the second and the last quarter of the arrival period (0 when no sample)."""
    second = [value(s) for s in samples if end_s / 4 <= s.at_s < end_s / 2]
    last = [value(s) for s in samples if 3 * end_s / 4 <= s.at_s <= end_s]
    return (statistics.median(second) if second else 0.0), (statistics.median(last) if last else 0.0)


def _arrival_period(
    report: SoakReport,
    sandbox: SandboxProcess,
    bridge: ServedBridge,
    erp: ErpThread,
    *,
    soak_started: float,
    arrival_s: float,
    log: Callable[[str], None],
) -> None:
    """Samples every SAMPLE_EVERY_S while the orders arrive; kills and restarts a cluster halfway."""
    killed = False
    next_sample = soak_started
    while True:
        elapsed = time.monotonic() - soak_started
        if not killed and elapsed >= arrival_s / 2:
            bridge.kill_cluster(0)
            report.events.append(f"{elapsed:.0f} s: qcluster-0 killed (SIGKILL to its process group)")
            log(report.events[-1])
            time.sleep(5)
            bridge.restart_cluster(0)
            report.events.append(f"{time.monotonic() - soak_started:.0f} s: qcluster-0 started again")
            log(report.events[-1])
            killed = True
        if time.monotonic() >= next_sample:
            sample = _sample(soak_started, sandbox, bridge)
            report.samples.append(sample)
            next_sample += SAMPLE_EVERY_S
            log(
                f"made {sample.created}, stored {sample.orders_stored}, backlog {sample.backlog}, invoiced "
                f"{erp.invoiced}, tracked {erp.tracked}, RSS {sum(sample.rss_mb.values()):.0f} MB "
                f"({', '.join(f'{name} {mb:.0f}' for name, mb in sample.rss_mb.items())})"
            )
        if not bridge.alive():
            raise RuntimeError(f"an erp-bridge child ended on its own:\n{bridge.log_tail('web', 1500)}")
        erp.error_check()
        if elapsed >= arrival_s:
            return
        time.sleep(0.5)


def _drained(sandbox: SandboxProcess) -> bool:
    state = sandbox.state()
    return (
        state["orders_by_status"].get("ready-for-handling", 0) == 0
        and Order.objects.count() == state["arrivals"]["created"]
        and not Order.objects.filter(Q(vtex_status="handling", invoices__isnull=True)).exists()
        and not Invoice.objects.filter(Q(tracking_number="") | ~Q(send_state="sent")).exists()
        and _outbox_unsent() == 0
    )


# ---- the soak -------------------------------------------------------------------------------------------


def run_soak(
    *, minutes: float, per_second: float = ARRIVALS_PER_S, log: Callable[[str], None] | None = None
) -> SoakReport:
    started = time.monotonic()

    def _log(message: str) -> None:
        print(f"[{time.monotonic() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    log = log or _log
    report = SoakReport(
        minutes=minutes,
        per_second=per_second,
        started_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        machine=machine_info(),
    )
    # django-q2 logs every task queued (each invoice and tracking number): thousands of lines.
    q_logger = logging.getLogger("django-q")
    q_level = q_logger.level
    q_logger.setLevel(logging.WARNING)
    with override_settings(DEBUG=False):
        db = BenchDatabase(log=log)
        try:
            db.fresh("soak")
            report.database = db.describe()
            _soak(report, db, minutes=minutes, per_second=per_second, log=log)
        except Exception:
            report.error = traceback.format_exc()
            log(f"the soak CRASHED:\n{report.error}")
        finally:
            db.close()
            q_logger.setLevel(q_level)
    report.machine["load_average_end"] = load_average()
    report.seconds = time.monotonic() - started
    return report


def _soak(
    report: SoakReport,
    db: BenchDatabase,
    *,
    minutes: float,
    per_second: float,
    log: Callable[[str], None],
) -> None:
    arrival_s = minutes * 60
    with (
        SandboxProcess(orders=0, latency_ms=LATENCY_MS, rate_limit_rpm=SOAK_RPM) as sandbox,
        tempfile.TemporaryDirectory(prefix="erp-bridge-soak-") as logs,
    ):
        env = bridge_env(sandbox, db.child_env(), VTEX_RATE_LIMIT_RPM=str(SOAK_RPM))
        log(f"starting gunicorn and {QCLUSTERS} qclusters, registering the hook")
        with ServedBridge(env=env, qclusters=QCLUSTERS, log_dir=Path(logs)) as bridge:
            bridge.register_hook()
            sandbox.set_faults(fail_rate=FAULT_RATE, seed=17)  # after the set-up: the hook config is a VTEX call
            log(f"orders at {per_second:g}/s for {minutes:g} min, {LATENCY_MS} ms answers, {FAULT_RATE:.0%} faults")
            sandbox.start_arrivals(per_second, arrival_s)
            soak_started = time.monotonic()
            erp = ErpThread()
            erp.start()
            try:
                _arrival_period(report, sandbox, bridge, erp, soak_started=soak_started, arrival_s=arrival_s, log=log)
                sandbox.set_faults(fail_rate=0.0)  # the drain measures catching up, not more faults
                log("arrivals over; waiting for the backlog to drain")
                drain_started = time.monotonic()
                drained = False
                next_sample = time.monotonic() + SAMPLE_EVERY_S
                while time.monotonic() - drain_started < DRAIN_TIMEOUT_S:
                    erp.error_check()
                    if erp.idle() and _drained(sandbox):
                        drained = True
                        break
                    if time.monotonic() >= next_sample:
                        report.samples.append(_sample(soak_started, sandbox, bridge))
                        next_sample += SAMPLE_EVERY_S
                        log(f"draining: backlog {report.samples[-1].backlog}")
                    time.sleep(1)
            finally:
                erp.stop()
            drain_s = time.monotonic() - drain_started
            report.figures["invoices / tracking numbers entered by the ERP"] = f"{erp.invoiced} / {erp.tracked}"
            report.samples.append(_sample(soak_started, sandbox, bridge))
            state = sandbox.state()
            effects = sandbox.raw_effects()
            logs_tail = {name: bridge.log_tail(name, 2000) for name in bridge.pids()}
    _checks(report, state, effects, arrival_s=arrival_s, drained=drained, drain_s=drain_s)
    if not report.holds:
        report.logs = logs_tail


def _checks(
    report: SoakReport,
    state: dict[str, Any],
    effects: dict[str, dict[str, Any]],
    *,
    arrival_s: float,
    drained: bool,
    drain_s: float,
) -> None:
    created = state["arrivals"]["created"]
    summary = state["effects"]
    stored = Order.objects.count()
    invoices = Invoice.objects.count()
    tracked = Invoice.objects.exclude(tracking_number="").count()
    acked = summary["start_handling"]["orders"]
    invoices_at_vtex = summary["invoice"]["total"]
    tracking_at_vtex = sum(len(per_invoice) for per_invoice in effects["tracking"].values())
    report.figures.update(
        {
            "orders made at the sandbox": created,
            "orders stored": stored,
            "start-handling accepted": acked,
            "invoices entered / accepted at VTEX": f"{invoices} / {invoices_at_vtex}",
            "tracking numbers entered / accepted at VTEX": f"{tracked} / {tracking_at_vtex}",
            "VTEX requests": state["requests"]["total"],
            "429 answers (1 % faults include injected 429s)": state["requests"]["429"],
            "drained": f"{'yes' if drained else 'NO'} in {drain_s:.0f} s after the arrivals",
        }
    )
    lost = (created - min(stored, acked)) + (invoices - invoices_at_vtex) + (tracked - tracking_at_vtex)
    report.check("drained after the arrivals", f"within {DRAIN_TIMEOUT_S // 60} min", f"{drain_s:.0f} s", drained)
    report.check(
        "lost (orders not stored or not acknowledged, invoices or tracking not accepted)", "= 0", lost, lost == 0
    )
    twice = {kind: value["max_per_target"] for kind, value in summary.items() if value["max_per_target"] > 1}
    report.check("duplicate effects at VTEX (an effect twice on one order or invoice)", "= 0", twice or 0, not twice)

    samples = report.samples
    rss_second, rss_last = _quarter_medians(samples, arrival_s, lambda s: sum(s.rss_mb.values()))
    report.check(
        "RSS flat (erp-bridge's processes; median of the last quarter vs the second)",
        f"≤ {FLAT_RATIO:g}× + 15 MB",
        f"{rss_second:.0f} → {rss_last:.0f} MB",
        rss_last <= FLAT_RATIO * rss_second + 15,
    )
    backlog_second, backlog_last = _quarter_medians(samples, arrival_s, lambda s: s.backlog)
    margin = 10 * report.per_second
    report.check(
        "backlog flat (ready at VTEX + outbox unsent; median of the last quarter vs the second)",
        f"≤ {FLAT_RATIO:g}× + {margin:g}",
        f"{backlog_second:.0f} → {backlog_last:.0f}",
        backlog_last <= FLAT_RATIO * backlog_second + margin,
    )
