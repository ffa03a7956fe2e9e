"""Reconciliation: compare erp-bridge's orders with VTEX and list every drift with what to do.

Runs daily (and from the admin). Each open order of the last days is read back from VTEX and
brought up to date (which also syncs its status); then its invoices and cancellation are compared.
A drift found again stays one row (last_seen_at moves); one no longer found is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from integration.infra.leases import lease
from integration.infra.vtex_client import call_log
from integration.infra.workers import vtex_threads
from integration.models import CancellationRequest, Drift, Invoice, Order, SendState
from integration.selectors.health import CANCELLATION_CONFIRM_WITHIN
from integration.selectors.sellers import order_fulfilled_elsewhere
from integration.services.order_sync import FetchedOrder, orders_store_from_vtex, vtex_fetch_order
from integration.vtex import VtexClient, VtexError
from integration.vtex.mapping import VtexDataError, parse_datetime
from integration.vtex.statuses import CANCELED, INVOICING, VtexStatus

#: A ready order younger than this may simply not be pulled yet; older, it is a drift.
READY_GRACE = timedelta(minutes=15)

Kind = Drift.Kind


@dataclass
class Finding:
    kind: str
    order_id: str
    detail: str
    action: str
    order: Order | None = None


@dataclass
class ReconciliationResult:
    checked: int = 0
    found: list[Finding] = field(default_factory=list)
    resolved: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped_reason: str = ""

    def summary(self) -> str:
        # In the active language: the admin shows it to staff; commands and tasks run in English.
        if self.skipped_reason:
            return gettext("skipped: %(reason)s") % {"reason": gettext(self.skipped_reason)}
        return gettext(
            "checked %(checked)s orders, %(found)s drifts open, %(resolved)s resolved, %(errors)s could not be read"
        ) % {"checked": self.checked, "found": len(self.found), "resolved": self.resolved, "errors": len(self.errors)}


def orders_to_reconcile(*, days: int):
    """Orders that can still change: recent, and not finished on both sides."""
    since = timezone.now() - timedelta(days=days)
    return Order.objects.filter(is_complete=True, updated_at__gte=since).exclude(
        state__in=[Order.State.CANCELED, Order.State.DELIVERED]
    )


def compare_order(order: Order, vtex_order: dict[str, Any]) -> list[Finding]:
    """Drifts of one order against the order VTEX answered (pure apart from reading our rows).

    An order another seller fulfils has none: its invoices are that seller's, never entered here."""
    if order_fulfilled_elsewhere(order):
        return []
    findings: list[Finding] = []
    packages = (vtex_order.get("packageAttachment") or {}).get("packages") or []
    vtex_invoices = {
        str(p.get("invoiceNumber")): p for p in packages if isinstance(p, dict) and p.get("type", "Output") == "Output"
    }
    local = {invoice.number: invoice for invoice in order.invoices.filter(kind=Invoice.Kind.OUTPUT)}
    missing_here = sorted(set(vtex_invoices) - set(local))
    if missing_here:
        findings.append(
            Finding(
                Kind.VTEX_INVOICED_NOT_HERE,
                order.order_id,
                f"VTEX has invoice(s) {', '.join(missing_here)} that erp-bridge does not know.",
                "Enter these invoices in erp-bridge with the same numbers, or find out who invoiced the order "
                "in VTEX's admin.",
                order,
            )
        )
    sent_missing = sorted(
        number
        for number, invoice in local.items()
        if invoice.send_state == SendState.SENT and number not in vtex_invoices
    )
    vtex_status = str(vtex_order.get("status") or "")
    if sent_missing:
        findings.append(
            Finding(
                Kind.HERE_INVOICED_NOT_AT_VTEX,
                order.order_id,
                f"Invoice(s) {', '.join(sent_missing)} were sent, but VTEX does not show them.",
                "Open the invoice and use “Retry now” on its send; if VTEX refuses it, read VTEX's answer.",
                order,
            )
        )
    elif order.state in (Order.State.INVOICED, Order.State.SHIPPED) and vtex_status not in INVOICING:
        findings.append(
            Finding(
                Kind.HERE_INVOICED_NOT_AT_VTEX,
                order.order_id,
                f"Fully invoiced here, but VTEX still shows {vtex_status or 'no status'}.",
                "Check that every invoice was sent (their send state) and that they add up to the order total.",
                order,
            )
        )
    for number in sorted(set(vtex_invoices) & set(local)):
        vtex_value = vtex_invoices[number].get("invoiceValue")
        try:
            vtex_cents = int(vtex_value)
        except (TypeError, ValueError):
            continue
        if vtex_cents != local[number].value_cents:
            findings.append(
                Finding(
                    Kind.INVOICE_VALUE_DIFFERS,
                    order.order_id,
                    f"Invoice {number}: {local[number].value_cents} cents here, {vtex_cents} cents at VTEX.",
                    "Find out which value is right with the fiscal team; an invoice cannot be changed at VTEX, "
                    "so a wrong one is corrected with a return and a new invoice.",
                    order,
                )
            )
    stale = timezone.now() - CANCELLATION_CONFIRM_WITHIN
    waiting = order.cancellation_requests.filter(
        state__in=[CancellationRequest.State.REQUESTED, CancellationRequest.State.SENDING], requested_at__lt=stale
    ).first()
    if waiting is not None and vtex_status not in CANCELED:
        findings.append(
            Finding(
                Kind.CANCELLATION_NOT_CONFIRMED,
                order.order_id,
                f"Cancellation requested on {waiting.requested_at:%Y-%m-%d %H:%M} UTC; VTEX still shows "
                f"{vtex_status or 'no status'}.",
                "Look at the order in VTEX's admin: a cancellation may wait for the seller's approval there.",
                order,
            )
        )
    return findings


def _ready_unknown_here(client: VtexClient) -> list[Finding]:
    findings = []
    grace = timezone.now() - READY_GRACE
    for page in client.iter_order_pages(status=VtexStatus.READY_FOR_HANDLING):
        ids = [str(entry.get("orderId")) for entry in page if isinstance(entry, dict) and entry.get("orderId")]
        known = set(Order.objects.filter(order_id__in=ids, is_complete=True).values_list("order_id", flat=True))
        for entry in page:
            order_id = str(entry.get("orderId") or "")
            try:
                created = parse_datetime(entry.get("creationDate"), "creationDate")
            except VtexDataError:
                created = None
            if not order_id or order_id in known or (created is not None and created > grace):
                continue
            findings.append(
                Finding(
                    Kind.READY_UNKNOWN_HERE,
                    order_id,
                    f"VTEX shows order {order_id} ready for handling since "
                    f"{f'{created:%Y-%m-%d %H:%M} UTC' if created else 'an unknown time'}; "
                    "erp-bridge has not taken it in.",
                    "Run “pull_orders”, and look at the intake errors of the order list (needs attention).",
                )
            )
    return findings


def _record(findings: list[Finding], *, checked_ids: set[str], kinds_checked: set[str]) -> int:
    """Open or refresh the drifts found; resolve the ones checked again and not found."""
    now = timezone.now()
    with transaction.atomic():
        for finding in findings:
            updated = Drift.objects.filter(
                order_id_text=finding.order_id, kind=finding.kind, resolved_at__isnull=True
            ).update(detail=finding.detail, action=finding.action, last_seen_at=now)
            if not updated:
                Drift.objects.create(
                    kind=finding.kind,
                    order=finding.order,
                    order_id_text=finding.order_id,
                    detail=finding.detail,
                    action=finding.action,
                    last_seen_at=now,
                )
        still = {(f.order_id, f.kind) for f in findings}
        resolved = 0
        for drift in Drift.objects.filter(resolved_at__isnull=True, kind__in=kinds_checked):
            checked = drift.kind == Kind.READY_UNKNOWN_HERE or drift.order_id_text in checked_ids
            if checked and (drift.order_id_text, drift.kind) not in still:
                drift.resolved_at = now
                drift.save(update_fields=["resolved_at"])
                resolved += 1
    return resolved


RECONCILE_LEASE_TTL = timedelta(minutes=30)


def reconciliation_run(*, client: VtexClient, days: int | None = None) -> ReconciliationResult:
    """One reconciliation at a time (the daily job and the admin button may meet): lease "reconcile"."""
    with lease("reconcile", ttl=RECONCILE_LEASE_TTL) as held:
        if held is None:
            return ReconciliationResult(skipped_reason=gettext_noop("another reconciliation is running"))
        return _reconcile(client=client, days=settings.VTEX_RECONCILE_DAYS if days is None else days)


def _reconcile(*, client: VtexClient, days: int) -> ReconciliationResult:
    result = ReconciliationResult()
    orders = {order.order_id: order for order in orders_to_reconcile(days=days)}

    def fetch(order_id: str) -> FetchedOrder | Exception:
        try:
            return vtex_fetch_order(client=client, order_id=order_id, fetch_payments=False)
        except (VtexError, VtexDataError) as exc:  # one order that cannot be read stops no other
            return exc

    findings: list[Finding] = []
    checked: set[str] = set()
    with vtex_threads() as executor:
        # In order, as the threads read them; each stored as it comes (the rows are few).
        for order_id, fetched in zip(orders, executor.map(fetch, orders), strict=True):
            if isinstance(fetched, Exception):
                result.errors.append((order_id, str(fetched)))
                continue
            (outcome,) = orders_store_from_vtex(fetched=[fetched])
            checked.add(order_id)
            findings.extend(compare_order(outcome.order, fetched.raw))
    call_log.flush()
    kinds_checked = {Kind.VTEX_INVOICED_NOT_HERE, Kind.HERE_INVOICED_NOT_AT_VTEX, Kind.INVOICE_VALUE_DIFFERS}
    kinds_checked.add(Kind.CANCELLATION_NOT_CONFIRMED)
    try:
        findings += _ready_unknown_here(client)
        kinds_checked.add(Kind.READY_UNKNOWN_HERE)
    except VtexError as exc:
        result.errors.append(("(list orders)", str(exc)))
    result.checked = len(checked)
    result.found = findings
    result.resolved = _record(findings, checked_ids=checked, kinds_checked=kinds_checked)
    return result
