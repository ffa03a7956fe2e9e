"""Keyset pagination of the order list, for polling ERPs and generated clients.

Orders are listed by (updated_at, id). A cursor is the position after (or before) one order of that
order, plus the filters and page size of the walk: the next page is the orders strictly after the
position, so orders sharing one updated_at are neither repeated nor skipped across pages, whatever
the page size, and an order changed during the walk simply shows up again at its new place.

DRF's CursorPagination was replaced because it keeps ties apart with an offset counted among the
orders of the same updated_at: when one of them changes between two requests, the offset then
skips another one.

The cursor is opaque to clients (url-safe base64 of a small JSON object) but not secret: it holds
nothing but the position, filters and page size, and everything in it is validated again when it
comes back, as if the client had sent it as parameters. It is not signed, so a cursor an ERP saved
survives a change of the server's secret key.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_lazy
from rest_framework import serializers
from rest_framework.request import Request

from integration.api.fields import QueryInteger

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
#: The highest primary key a position may name (PostgreSQL's bigint).
MAX_ID = 2**63 - 1

INVALID_CURSOR = gettext_lazy(
    "This cursor is not one the server made: pass the next_cursor or resume_cursor of an answer unchanged."
)


class PageParametersSerializer(serializers.Serializer):
    cursor = serializers.CharField(
        required=False,
        max_length=2000,
        help_text="Opaque: the `next_cursor`, `previous_cursor` or `resume_cursor` of an earlier answer, unchanged. "
        "It carries the filters and page size of the walk; send it alone, or with the same filters.",
    )
    page_size = QueryInteger(
        required=False,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        help_text=f"Orders per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}, or the cursor's).",
    )


@dataclass(frozen=True)
class Position:
    updated_at: datetime
    id: int


@dataclass(frozen=True)
class Cursor:
    """Where a walk stands: after (forward) or before (backward) `position`; None is the start."""

    position: Position | None
    filters: dict[str, str] = field(default_factory=dict)
    page_size: int = DEFAULT_PAGE_SIZE
    backward: bool = False

    def encode(self) -> str:
        data: dict[str, Any] = {"f": self.filters, "n": self.page_size}
        if self.position is not None:
            data["t"] = self.position.updated_at.astimezone(UTC).isoformat()
            data["i"] = self.position.id
        if self.backward:
            data["b"] = 1
        raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """The cursor a client sent back; ValidationError naming `cursor` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or not set(data) <= {"f", "n", "t", "i", "b"}:
            raise ValueError
        filters, page_size = data.get("f", {}), data.get("n", DEFAULT_PAGE_SIZE)
        if not isinstance(filters, dict) or not all(isinstance(v, str) for v in filters.values()):
            raise ValueError
        if type(page_size) is not int or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError
        position = None
        if "t" in data or "i" in data:
            moment = parse_datetime(data["t"]) if isinstance(data.get("t"), str) else None
            ident = data.get("i")
            if moment is None or moment.tzinfo is None or type(ident) is not int or not 0 <= ident <= MAX_ID:
                raise ValueError
            position = Position(moment.astimezone(UTC), ident)
        backward = data.get("b", 0)
        if backward not in (0, 1) or (backward and position is None):
            raise ValueError
    except (ValueError, TypeError, UnicodeError, OverflowError, binascii.Error, RecursionError):
        raise serializers.ValidationError({"cursor": [INVALID_CURSOR]}) from None
    return Cursor(position=position, filters=filters, page_size=page_size, backward=bool(backward))


def _after(position: Position) -> Q:
    return Q(updated_at__gt=position.updated_at) | Q(updated_at=position.updated_at, id__gt=position.id)


def _before(position: Position) -> Q:
    return Q(updated_at__lt=position.updated_at) | Q(updated_at=position.updated_at, id__lt=position.id)


def _position(order: Any) -> Position:
    return Position(order.updated_at, order.pk)


@dataclass
class Page:
    results: list[Any]
    next_cursor: str | None
    previous_cursor: str | None
    resume_cursor: str

    def links(self, request: Request) -> dict[str, str | None]:
        base = request.build_absolute_uri(request.path)
        return {
            name: f"{base}?{urlencode({'cursor': cursor})}" if cursor else None
            for name, cursor in (("next", self.next_cursor), ("previous", self.previous_cursor))
        }


def paginate(orders: QuerySet, cursor: Cursor) -> Page:
    """One page of `orders` (already filtered) from `cursor`; the cursors of the pages around it.

    resume_cursor is where the next poll starts: after the last order of this page (or where this
    page started when it is empty), forward, with the same filters.
    """
    n, at = cursor.page_size, cursor.position

    def forward(position: Position | None) -> str:
        return Cursor(position, cursor.filters, n).encode()

    def backward(position: Position) -> str:
        return Cursor(position, cursor.filters, n, backward=True).encode()

    if cursor.backward:
        assert at is not None
        rows = list(orders.filter(_before(at)).order_by("-updated_at", "-id")[: n + 1])
        more_before, rows = len(rows) > n, rows[:n][::-1]
        # Forward from this page's last order; an empty page means nothing is left before `at`: the start.
        last = _position(rows[-1]) if rows else None
        return Page(
            results=rows,
            next_cursor=forward(last),
            previous_cursor=backward(_position(rows[0])) if more_before else None,
            resume_cursor=forward(last),
        )

    chosen = orders.filter(_after(at)) if at is not None else orders
    rows = list(chosen.order_by("updated_at", "id")[: n + 1])
    more_after, rows = len(rows) > n, rows[:n]
    last = _position(rows[-1]) if rows else at
    previous_cursor = None
    if at is not None:
        # Before this page's first order; on an empty page, up to and with the order at `at`.
        first = _position(rows[0]) if rows else Position(at.updated_at, min(at.id + 1, MAX_ID))
        if orders.filter(_before(first)).exists():
            previous_cursor = backward(first)
    return Page(
        results=rows,
        next_cursor=forward(last) if more_after else None,
        previous_cursor=previous_cursor,
        resume_cursor=forward(last),
    )


def same_filters_message(name: str) -> str:
    return gettext(
        "The cursor carries the filters of its walk; %(name)s differs from the cursor's. Send the cursor alone "
        "or with the same filters, or start a new walk without a cursor."
    ) % {"name": name}
