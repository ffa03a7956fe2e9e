"""Bodies of VTEX's write calls, built from plain values (VTEX-API.md §4–§7). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any


@dataclass(frozen=True)
class InvoiceLinePayload:
    sku_id: str
    unit_price_cents: int
    quantity: int
    description: str = ""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def invoice_payload(
    *,
    kind: str,
    number: str,
    issued_at: datetime,
    value_cents: int,
    lines: list[InvoiceLinePayload],
    access_key: str = "",
    url: str = "",
    embedded_xml: str = "",
    courier: str = "",
    tracking_number: str = "",
    tracking_url: str = "",
    dispatched_at: datetime | None = None,
) -> dict[str, Any]:
    """POST /invoice. `items[].price` is the UNIT price: VTEX multiplies it by the quantity.

    invoiceValue goes as a string of cents, as the official spec types it; VTEX also takes an
    integer (VTEX-API.md §12.2). Tracking fields go as "" when unknown; they come later by PATCH.
    """
    return {
        "type": "Output" if kind == "output" else "Input",
        "issuanceDate": _iso(issued_at),
        "invoiceNumber": number,
        "invoiceValue": str(value_cents),
        "invoiceKey": access_key or None,
        "invoiceUrl": url or None,
        "embeddedInvoice": embedded_xml or None,
        "courier": courier,
        "trackingNumber": tracking_number,
        "trackingUrl": tracking_url,
        "dispatchedDate": _iso(dispatched_at),
        "items": [
            {
                "id": line.sku_id,
                "price": line.unit_price_cents,
                "quantity": line.quantity,
                "description": line.description,
            }
            for line in lines
        ],
    }


def invoice_tracking_payload(
    *, tracking_number: str, tracking_url: str = "", courier: str = "", dispatched_at: datetime | None = None
) -> dict[str, Any]:
    """PATCH /invoice/{number}: all four fields are required by the spec, three nullable."""
    return {
        "trackingNumber": tracking_number,
        "trackingUrl": tracking_url or None,
        "courier": courier or None,
        "dispatchedDate": _iso(dispatched_at),
    }


@dataclass(frozen=True)
class TrackingEventPayload:
    occurred_at: datetime
    city: str
    state: str
    description: str


def tracking_events_payload(
    *, events: list[TrackingEventPayload], delivered_at: datetime | None, zone: tzinfo
) -> dict[str, Any]:
    """PUT /invoice/{number}/tracking: the whole list each time (it replaces VTEX's).

    deliveredDate is "yyyy-mm-dd hh:mm" and event dates "yyyy-mm-dd", both in the store's zone,
    as VTEX's examples show (VTEX-API.md §0, §6).
    """
    ordered = sorted(events, key=lambda event: event.occurred_at)
    return {
        "isDelivered": delivered_at is not None,
        "deliveredDate": delivered_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if delivered_at else None,
        "events": [
            {
                "city": event.city,
                "state": event.state,
                "description": event.description,
                "date": event.occurred_at.astimezone(zone).strftime("%Y-%m-%d"),
            }
            for event in ordered
        ],
    }


def cancel_payload(*, reason: str) -> dict[str, Any]:
    return {"reason": reason}
