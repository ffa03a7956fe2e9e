"""An order's timeline entries (OrderEvent) as text in the reader's language: one renderer per kind.

An entry is stored as its kind and its parameters (`OrderEvent.params`: ids, numbers, codes and
VTEX's or a person's own words) and written out when it is read, so a pt-BR reader sees it all in
Portuguese and an English reader in English; before, the kind was translated and the stored
message was not ("Nota fiscal lançada: Output (sale) invoice 2002…"). The English text is also
stored (`OrderEvent.message`, written by integration.services.events with these renderers) for
the list's search and for the entries of older versions, which have no parameters: those are
shown as stored.

What is not ours is never translated: VTEX's error answers, a cancellation's reason, an item's
name, a carrier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.translation import get_language, gettext, ngettext, to_locale

from integration.models import Invoice, Order, OrderEvent, OutboxMessage
from integration.selectors.labels import vtex_status_text

Params = dict[str, Any]
Kind = OrderEvent.Kind


def event_text(event: OrderEvent) -> str:
    """The entry in the active language; an entry without parameters (or with parameters this
    version cannot read) as it was stored."""
    if event.params is None:
        return event.message
    try:
        return render_event(event.kind, event.params)
    except (KeyError, TypeError, ValueError):
        return event.message


def render_event(kind: str, params: Params) -> str:
    renderer = RENDERERS.get(kind)
    if renderer is None:
        raise KeyError(kind)
    return renderer(params)


# ---- pieces --------------------------------------------------------------------------------------------


def _money(cents: int, currency: str | None) -> str:
    code = (currency or settings.STORE_CURRENCY or "BRL").upper()
    locale = to_locale(get_language() or settings.LANGUAGE_CODE)
    return format_currency(Decimal(int(cents)).scaleb(-2), code, locale=locale)


def _send_what(params: Params) -> str:
    """An outbox row as the timeline names it: its kind ("Tracking"), and its invoice if it has one."""
    kind = params.get("outbox_kind", "")
    label = str(OutboxMessage.Kind(kind).label) if kind in OutboxMessage.Kind.values else kind
    if params.get("invoice") and kind == OutboxMessage.Kind.INVOICE:
        return gettext("Invoice %(invoice)s") % {"invoice": params["invoice"]}
    if params.get("invoice"):
        return gettext("%(send)s of invoice %(invoice)s") % {"send": label, "invoice": params["invoice"]}
    return label


def _items(rows: list[list[Any]]) -> str:
    """[[quantity, name, sku], …] → "2 × Caneca (SKU 12), 1 × …"."""
    return ", ".join(
        gettext("%(quantity)s × %(name)s (SKU %(sku)s)") % {"quantity": quantity, "name": name or sku, "sku": sku}
        for quantity, name, sku in rows
    )


def _when(iso: str | None) -> str:
    if not iso:
        return gettext("at an unknown time")
    moment = datetime.fromisoformat(iso)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


# ---- one renderer per kind --------------------------------------------------------------------------------


def _imported(p: Params) -> str:
    return gettext("Imported from VTEX in status %(status)s.") % {"status": vtex_status_text(p["status"])}


def _updated(p: Params) -> str:
    return gettext("Order data changed at VTEX.")


def _status_changed(p: Params) -> str:
    return gettext("VTEX status changed from %(old)s to %(new)s.") % {
        "old": vtex_status_text(p["from"]),
        "new": vtex_status_text(p["to"]),
    }


def _refreshed(p: Params) -> str:
    return gettext("Refreshed from VTEX.") if p.get("changed") else gettext("Refreshed from VTEX: nothing had changed.")


def _refresh_failed(p: Params) -> str:
    return gettext("Refresh from VTEX failed: %(error)s") % {"error": p["error"]}


def _intake_failed(p: Params) -> str:
    return gettext("Intake failed: %(error)s") % {"error": p["error"]}


def _sent(p: Params) -> str:
    text = gettext("%(send)s sent to VTEX.") % {"send": _send_what(p)}
    note = p.get("note", "")
    if note == "already_shown":
        detail = gettext("VTEX already shows it (read back after an unanswered attempt).")
    elif note == "status_shown":
        detail = gettext("VTEX shows the order in %(status)s.") % {"status": vtex_status_text(p.get("vtex_status", ""))}
    elif p.get("receipt"):
        detail = gettext("VTEX accepted it (receipt %(receipt)s).") % {"receipt": p["receipt"]}
    else:
        detail = gettext("VTEX accepted it.")
    return f"{text} {detail}"


def _send_failed(p: Params) -> str:
    values = {"send": _send_what(p), "error": p["error"], "attempts": p.get("attempts", 0)}
    if p.get("gave_up"):
        return (
            ngettext(
                "%(send)s not accepted by VTEX: gave up after %(attempts)s attempt: %(error)s",
                "%(send)s not accepted by VTEX: gave up after %(attempts)s attempts: %(error)s",
                values["attempts"],
            )
            % values
        )
    return gettext("%(send)s not accepted by VTEX: %(error)s") % values


def _send_retry(p: Params) -> str:
    if p.get("retry") == "now":
        return gettext("%(send)s: sent now on request.") % {"send": _send_what(p)}
    return gettext("%(send)s: retry requested.") % {"send": _send_what(p)}


def _edited(p: Params) -> str:
    names = []
    for name in p["fields"]:
        try:
            names.append(str(Order._meta.get_field(name).verbose_name))
        except FieldDoesNotExist:  # a field a later version removed: its name as stored
            names.append(name)
    return gettext("Changed %(fields)s.") % {"fields": ", ".join(names)}


def _invoice_added(p: Params) -> str:
    kind = p["invoice_kind"]
    kind_label = str(Invoice.Kind(kind).label) if kind in Invoice.Kind.values else kind
    lines = ", ".join(
        gettext("%(quantity)s × %(name)s") % {"quantity": quantity, "name": name} for quantity, name in p["lines"]
    )
    return gettext("%(kind)s invoice %(invoice)s entered: %(lines)s; value %(value)s.") % {
        "kind": kind_label,
        "invoice": p["invoice"],
        "lines": lines,
        "value": _money(p["value_cents"], p.get("currency")),
    }


def _tracking(p: Params) -> str:
    if "tracking_number" in p:
        return gettext("Tracking of invoice %(invoice)s: %(courier)s %(tracking)s.") % {
            "invoice": p["invoice"],
            "courier": p.get("courier") or gettext("carrier not given"),
            "tracking": p["tracking_number"],
        }
    events, delivered = p.get("events", 0), p.get("delivered", False)
    values = {"invoice": p["invoice"], "count": events}
    if events and delivered:
        return (
            ngettext(
                "Invoice %(invoice)s: %(count)s tracking event and delivery entered.",
                "Invoice %(invoice)s: %(count)s tracking events and delivery entered.",
                events,
            )
            % values
        )
    if delivered:
        return gettext("Invoice %(invoice)s: delivery entered.") % values
    return (
        ngettext(
            "Invoice %(invoice)s: %(count)s tracking event entered.",
            "Invoice %(invoice)s: %(count)s tracking events entered.",
            events,
        )
        % values
    )


def _cancellation_requested(p: Params) -> str:
    return gettext("Cancellation requested: %(reason)s") % {"reason": p["reason"]}


def _changed(p: Params) -> str:
    parts = []
    if p.get("removed"):
        parts.append(gettext("removed %(items)s") % {"items": _items(p["removed"])})
    if p.get("added"):
        parts.append(gettext("added %(items)s") % {"items": _items(p["added"])})
    value = int(p["value_cents"])
    money = _money(value, p.get("currency"))
    parts.append(gettext("value %(change)s") % {"change": f"+{money}" if value > 0 else money})
    return gettext(
        "Changed at VTEX (%(when)s): %(what)s. Reason: %(reason)s. The order's value after the change is %(total)s."
    ) % {
        "when": _when(p.get("changed_at")),
        "what": "; ".join(parts),
        "reason": p.get("reason") or gettext("no reason given"),
        "total": _money(p["total_cents"], p.get("currency")),
    }


def _replaced(p: Params) -> str:
    if p.get("direction") == "replaces":
        return gettext("Replaces order %(order)s.") % {"order": p["other_order_id"]}
    return gettext("Replaced at VTEX by order %(order)s.") % {"order": p["other_order_id"]}


def _erp_received(p: Params) -> str:
    return gettext("The ERP confirmed it stored the order.")


def _note(p: Params) -> str:
    return str(p.get("text", ""))


RENDERERS: dict[str, Callable[[Params], str]] = {
    Kind.IMPORTED: _imported,
    Kind.UPDATED: _updated,
    Kind.REFRESHED: _refreshed,
    Kind.REFRESH_FAILED: _refresh_failed,
    Kind.INTAKE_FAILED: _intake_failed,
    Kind.ACKNOWLEDGED: _sent,
    Kind.ACK_FAILED: _send_failed,
    Kind.EDITED: _edited,
    Kind.INVOICE_ADDED: _invoice_added,
    Kind.TRACKING_ADDED: _tracking,
    Kind.DELIVERED: _tracking,
    Kind.CANCELLATION_REQUESTED: _cancellation_requested,
    Kind.SENT: _sent,
    Kind.SEND_FAILED: _send_failed,
    Kind.SEND_RETRY: _send_retry,
    Kind.STATUS_CHANGED: _status_changed,
    Kind.CHANGED: _changed,
    Kind.REPLACED: _replaced,
    Kind.ERP_RECEIVED: _erp_received,
    Kind.NOTE: _note,
}
