"""The back-office work the reliability matrices apply to imported orders, and the final check.

Both are shared by the fault, crash and scale-out matrices so that "the same final result" means
the same thing everywhere. The workload is idempotent (it skips whatever is already entered), so
the crash matrix can kill the process that runs it (`manage.py shell -c ...`) and run it again.

Per order, by a number derived from its id alone (so a restarted run, or a run that sees more
orders, makes the same choice for each order):
- every tenth order is canceled;
- the others get an output invoice; every third one of those with two or more items is invoiced
  in two parts (partial, then the rest); every fifth of the single invoices is imported from its
  NF-e (issue 18: a signed nfeProc made by the sandbox's issuer, services.nfe.nfe_import) instead
  of entered, and must then reach VTEX like any other;
- every second invoiced order gets a tracking number on its first invoice, and every fourth one
  also a carrier event with delivery (one tracking-events call).
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from integration.models import CancellationRequest, Invoice, Order, OrderEvent, OutboxMessage
from integration.selectors.start_handling import StartHandlingState, order_start_handling, start_handling_done_q
from tests.factories import make_nfe_xml


def _moment(order: Order, minutes_before_import: int):
    # Anchored on the order's import time, in the past and equal in every run: a restarted
    # workload enters the same dates (replays must be identical to be recognised).
    return order.imported_at - timedelta(minutes=minutes_before_import)


def workload_plan(position: int, item_count: int) -> dict[str, bool]:
    cancel = position % 10 == 9
    return {
        "cancel": cancel,
        "split": not cancel and position % 3 == 0 and item_count >= 2,
        "nfe": not cancel and not (position % 3 == 0 and item_count >= 2) and position % 5 == 1,
        "tracking": not cancel and position % 2 == 0,
        "events": not cancel and position % 4 == 0,
    }


def run_workload(*, apply: bool = True, invoices_only: bool = False) -> dict[str, int]:
    """Enter the invoices, tracking, events and cancellations still missing; returns what it did
    (with apply=False: what it would do, changing nothing; invoices_only: no tracking, events or
    cancellations, every order invoiced)."""
    from integration.services.cancellation import cancellation_request_create
    from integration.services.invoicing import InvoiceInput, invoice_create
    from integration.services.nfe import nfe_import
    from integration.services.tracking import TrackingEventInput, invoice_set_tracking, tracking_events_add

    todo: Counter[str] = Counter()
    for order in Order.objects.filter(is_complete=True).order_by("order_id"):
        if order_start_handling(order).state != StartHandlingState.DONE:
            todo["not_acknowledged"] += 1
            continue
        lines = [(item.item_index, item.quantity) for item in order.items.order_by("item_index")]
        plan = workload_plan(zlib.crc32(order.order_id.encode()), len(lines))
        if invoices_only:
            plan = {"cancel": False, "split": plan["split"], "nfe": plan["nfe"], "tracking": False, "events": False}
        # A gift is no line of an NF-e: such an order's NF-e would leave it to invoice.
        from_nfe = plan["nfe"] and not order.items.filter(is_gift=True).exists()
        if plan["cancel"]:
            if not order.cancellation_requests.exists():
                todo["cancel"] += 1
                if apply:
                    cancellation_request_create(order=order, reason="Cliente desistiu da compra (teste)")
            continue
        parts = [lines[:1], lines[1:]] if plan["split"] else [lines]
        invoices = []
        for suffix, part in zip("ab", parts, strict=False):
            # An NF-e's number is nNF (digits); the same in every run, as is its issue date, so a
            # restarted run makes the same access key and finds its invoice.
            nfe_number = zlib.crc32(order.order_id.encode()) % 999_999_999 + 1
            number = str(nfe_number) if from_nfe else f"NF-{order.order_id[-8:]}-{suffix}"
            invoice = order.invoices.filter(number=number).first()
            if invoice is None:
                todo["invoice"] += 1
                if not apply:
                    break  # its tracking and events wait for it
                if from_nfe:
                    xml = make_nfe_xml(order, number=nfe_number, issued_at=_moment(order, 60))
                    invoice, _created = nfe_import(order=order, raw=xml)
                else:
                    invoice = invoice_create(order=order, data=InvoiceInput(number, _moment(order, 60), part))
            invoices.append(invoice)
        if len(invoices) < len(parts):
            continue
        first = invoices[0]
        if plan["tracking"] and not first.tracking_number:
            todo["tracking"] += 1
            if not apply:
                continue
            invoice_set_tracking(invoice=first, tracking_number=f"BR{order.order_id[-8:]}", courier="Correios")
            first.refresh_from_db()
        if plan["events"] and not first.is_delivered:
            todo["events"] += 1
            if apply:
                tracking_events_add(
                    invoice=first,
                    events=[TrackingEventInput(_moment(order, 30), "Objeto em trânsito", "Recife", "PE")],
                    delivered_at=_moment(order, 10),
                )
    return dict(todo)


def workload_left(*, invoices_only: bool = False) -> dict[str, int]:
    return run_workload(apply=False, invoices_only=invoices_only)


@dataclass
class Verdict:
    """The final result every matrix asserts, with counts for its report."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        head = ", ".join(f"{name} {value}" for name, value in self.counts.items())
        return head if self.ok else f"{head}; PROBLEMS: " + "; ".join(self.problems[:10])


def verify_exactly_once(store, *, expected_orders: set[str]) -> Verdict:
    """Every order imported once and acknowledged once; every VTEX effect exactly once; nothing waits."""
    verdict = Verdict()
    problems = verdict.problems
    effects = store.effects

    stored = dict(Order.objects.values_list("order_id", "is_complete"))
    if set(stored) != expected_orders:
        missing, extra = expected_orders - set(stored), set(stored) - expected_orders
        problems.append(f"orders: {len(missing)} missing {sorted(missing)[:3]}, {len(extra)} unexpected")
    incomplete = [order_id for order_id, complete in stored.items() if not complete]
    if incomplete:
        problems.append(f"{len(incomplete)} orders never read in full: {incomplete[:3]}")
    imported = Counter(
        OrderEvent.objects.filter(kind=OrderEvent.Kind.IMPORTED).values_list("order__order_id", flat=True)
    )
    twice = {order_id: n for order_id, n in imported.items() if n != 1}
    if twice or set(imported) != set(stored):
        problems.append(f"IMPORTED events not one per order: {dict(list(twice.items())[:3])}")
    not_acked = list(
        Order.objects.exclude(start_handling_done_q()).values_list("order_id", "vtex_status", "is_complete")[:5]
    )
    if not_acked:
        problems.append(f"orders not acknowledged: {not_acked}")

    start_handling = effects["start_handling"]
    if set(start_handling) != expected_orders or set(start_handling.values()) - {1}:
        wrong = {k: v for k, v in start_handling.items() if v != 1}
        problems.append(
            f"start-handling at VTEX: {len(start_handling)} orders (want {len(expected_orders)}), not once: {wrong}"
        )

    waiting = Counter(
        OutboxMessage.objects.exclude(state__in=[OutboxMessage.State.SENT, OutboxMessage.State.STOPPED]).values_list(
            "state", flat=True
        )
    )
    if waiting:
        problems.append(f"outbox rows not sent: {dict(waiting)}")
    stopped = OutboxMessage.objects.filter(state=OutboxMessage.State.STOPPED).count()
    if stopped:
        problems.append(f"{stopped} outbox rows stopped (the workload never replaces a row)")

    # What erp-bridge sent, per (kind, order, invoice number), against what took effect at VTEX.
    sent = Counter()
    for kind, order_id, number in OutboxMessage.objects.filter(state=OutboxMessage.State.SENT).values_list(
        "kind", "order__order_id", "invoice__number"
    ):
        sent[(kind, order_id, number or "")] += 1
    at_vtex = Counter()
    for kind in ("invoice", "tracking", "tracking_events"):
        for order_id, per_invoice in effects[kind].items():
            for number, count in per_invoice.items():
                at_vtex[(kind, order_id, number)] += count
    for kind in ("start_handling", "cancel"):
        for order_id, count in effects[kind].items():
            at_vtex[(kind, order_id, "")] += count
    if sent != at_vtex:
        diff = {
            key: (sent.get(key, 0), at_vtex.get(key, 0))
            for key in set(sent) | set(at_vtex)
            if sent.get(key, 0) != at_vtex.get(key, 0)
        }
        problems.append(f"sent vs effect at VTEX differ (sent, at VTEX): {dict(list(diff.items())[:5])}")
    if any(count != 1 for count in sent.values()):
        problems.append("an outbox row was sent twice for the same thing")

    invoices = Invoice.objects.count()
    unsent_invoices = Invoice.objects.exclude(send_state="sent").count()
    if unsent_invoices:
        problems.append(f"{unsent_invoices} invoices not sent")
    open_cancellations = CancellationRequest.objects.exclude(state=CancellationRequest.State.CONFIRMED).count()
    if open_cancellations:
        problems.append(f"{open_cancellations} cancellations not confirmed by VTEX")
    for order_id in effects["cancel"]:
        if store.order(order_id)["status"] != "canceled":
            problems.append(f"order {order_id} canceled at erp-bridge but {store.order(order_id)['status']} at VTEX")
            break

    kinds = Counter(kind for kind, _order, _number in sent.elements())
    verdict.counts = {
        "orders": len(stored),
        "start_handling": sum(start_handling.values()),
        "invoices": invoices,
        "invoices_from_nfe": Invoice.objects.exclude(nfe_xml="").count(),
        "invoice_effects": kinds["invoice"],
        "tracking_effects": kinds["tracking"],
        "event_effects": kinds["tracking_events"],
        "cancel_effects": kinds["cancel"],
    }
    return verdict
