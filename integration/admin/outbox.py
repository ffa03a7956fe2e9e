"""The outbox of sends to VTEX (read only, with "Retry now"), and how a send and VTEX's answer to it
are shown: here and on the invoice page ("Sends to VTEX", and the notice of refused sends)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integration.admin.actions import retry_now
from integration.admin.base import ReadOnlyAdmin, sentence, store_datetime
from integration.admin.links import invoice_link, order_link
from integration.admin.permissions import can_retry_sends
from integration.models import Invoice, OutboxMessage, SendState

# ---- VTEX's answer to a send ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VtexAnswer:
    """VTEX's answer to a send, in parts: the HTTP status once, VTEX's words, and the request."""

    status: int | None
    message: str
    request: str = ""
    note: str = ""

    @property
    def headline(self) -> str:
        """The status said once, then VTEX's words: "HTTP 400: Order is canceled and cannot be invoiced".
        VTEX's words stay as VTEX wrote them (English): they are what its support and docs quote."""
        parts = [f"HTTP {self.status}"] if self.status else []
        if self.message:
            parts.append(self.message)
        return ": ".join(parts) or "-"


def outbox_error_display(message: OutboxMessage) -> VtexAnswer:
    """What the message kept of VTEX's answer to its last send (the status, VTEX's code and words,
    the request: stored as data by the outbox), so a page says the status once."""
    text = message.last_error
    code = message.last_error_code
    if code and code != str(message.last_status_code or ""):  # VTEX's code is often the status again
        text = f"[{code}] {text}"
    note = ""
    if message.gave_up:
        note = ngettext("gave up after %(count)s attempt", "gave up after %(count)s attempts", message.attempts) % {
            "count": message.attempts
        }
    return VtexAnswer(status=message.last_status_code, message=text, request=message.last_request, note=note)


# ---- a send, as the invoice page lists it -------------------------------------------------------------------


def outbox_label(message: OutboxMessage) -> str:
    """What a send carries, from its payload: VTEX takes events and delivery through one call, so
    the kind alone ("Tracking events") would hide a delivery."""
    if message.kind == OutboxMessage.Kind.TRACKING_EVENTS and isinstance(message.payload, dict):
        if message.payload.get("isDelivered"):
            return gettext("Tracking events and delivery") if message.payload.get("events") else gettext("Delivery")
    return str(message.get_kind_display())


@dataclass(frozen=True)
class SendRow:
    """One send of the invoice page's "Sends to VTEX" (and, failed, of its notice at the top)."""

    message: OutboxMessage
    label: str
    answer: VtexAnswer | None
    accepted: str

    @property
    def failed(self) -> bool:
        return self.message.state == OutboxMessage.State.FAILED


def send_row(message: OutboxMessage) -> SendRow:
    accepted = ""
    if message.state == OutboxMessage.State.SENT:
        values = {"receipt": message.vtex_receipt, "when": store_datetime(message.sent_at)}
        # One whole sentence per case, so that translators can order its parts.
        if message.vtex_receipt and message.sent_at:
            accepted = gettext("Accepted (receipt %(receipt)s) on %(when)s") % values
        elif message.vtex_receipt:
            accepted = gettext("Accepted (receipt %(receipt)s)") % values
        elif message.sent_at:
            accepted = gettext("Accepted on %(when)s") % values
        else:
            accepted = gettext("Accepted")
        accepted = sentence(accepted)
    answer = outbox_error_display(message) if message.last_status_code or message.last_error else None
    return SendRow(message=message, label=outbox_label(message), answer=answer, accepted=accepted)


def refused_sends(invoice: Invoice, rows: list[SendRow]) -> list[SendRow]:
    """The sends the invoice page's notice shows at the top: every failed one and, when the invoice
    itself stands failed without a failed send (its send was stopped since), its last send."""
    refused = [row for row in rows if row.failed]
    if invoice.send_state == SendState.FAILED and not any(
        row.message.kind == OutboxMessage.Kind.INVOICE for row in refused
    ):
        last = next((row for row in reversed(rows) if row.message.kind == OutboxMessage.Kind.INVOICE), None)
        if last is not None:
            refused.insert(0, last)
    return refused


# ---- the outbox list ---------------------------------------------------------------------------------------


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "what",
        "state",
        "order_column",
        "invoice_column",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error_excerpt",
    )
    list_filter = ("kind", "state")
    list_select_related = ("order", "invoice")
    search_fields = ("=order__order_id", "=invoice__number")
    search_help_text = _("Exact order id or invoice number.")
    actions = (retry_now,)
    fields = (
        ("kind", "state"),
        ("order_column", "invoice_column", "cancellation"),
        ("attempts", "next_attempt_at", "claimed_at"),
        ("outcome_unknown", "last_status_code"),
        "last_error",
        ("vtex_receipt", "sent_at"),
        ("created_by", "created_at"),
        "payload_json",
    )
    readonly_fields = ("order_column", "invoice_column", "payload_json")

    def has_retry_sends_permission(self, request: HttpRequest) -> bool:
        return can_retry_sends(request)

    @admin.display(description=_("order"), ordering="order__order_id")
    def order_column(self, message: OutboxMessage) -> str:
        return order_link(message.order)

    @admin.display(description=_("invoice"), ordering="invoice__number")
    def invoice_column(self, message: OutboxMessage) -> str:
        return invoice_link(message.invoice)

    @admin.display(description=_("what"), ordering="kind")
    def what(self, message: OutboxMessage) -> str:
        return outbox_label(message)

    @admin.display(description=_("last error"))
    def last_error_excerpt(self, message: OutboxMessage) -> str:
        # The status has its own column: VTEX's words only (the whole text is on the row's page).
        answer = outbox_error_display(message)
        text = f"{answer.note}: {answer.message}" if answer.note else answer.message
        return text if len(text) <= 120 else text[:119] + "…"

    @admin.display(description=_("payload"))
    def payload_json(self, message: OutboxMessage) -> str:
        text = json.dumps(message.payload, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)
