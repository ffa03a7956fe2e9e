"""VTEX's copy of an order, brought here: read it, store it, follow its status.

The one path for everyone who brings an order from VTEX: intake (list, feed, hook, sweep), the
staff's "Refresh from VTEX", reconciliation and the outbox's read-back after a send. Storing is
batch-shaped (one order is a list of one): the orders not stored yet go in one transaction with
one multi-row INSERT per table; stored ones are locked and updated in another.

Following VTEX's status: an order VTEX shows canceled confirms its open cancellation requests and
stops what was waiting to be sent for it; one VTEX shows replaced stops what was waiting too, and
is linked both ways to the order that replaced it.

Changes VTEX made to an order (changesAttachment) are stored as OrderChange rows with a timeline
entry each, whether they were there at intake or came later: an order changed while in handling is
read again by the feed, the hook, the staff's refresh or the daily reconciliation, and its new
document goes through the update below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Expression, JSONField, Q
from django.utils import timezone

from integration.infra.crashpoints import crash_point
from integration.models import (
    CancellationRequest,
    ItemFulfillment,
    Order,
    OrderChange,
    OrderEvent,
    OrderItem,
    OrderSeller,
    OutboxMessage,
    Payment,
)
from integration.services.events import order_event_build, order_event_record
from integration.services.order_state import orders_derive_states
from integration.vtex import VtexClient, VtexError, VtexNotFound
from integration.vtex.mapping import (
    SHIPPING_ADDRESS_FIELDS,
    OrderData,
    VtexDataError,
    order_data_from_vtex,
    summary_fields,
)
from integration.vtex.statuses import CANCELED, VtexStatus, start_handling_shown


@dataclass
class FetchedOrder:
    """An order as read from VTEX: its document, its mapping, and its payments' status (payment id
    → {"status", "transaction_status"}) when the Payments API was read too."""

    raw: dict[str, Any]
    data: OrderData
    payment_status: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def order_id(self) -> str:
        return self.data.order_id


def vtex_fetch_order(*, client: VtexClient, order_id: str, fetch_payments: bool) -> FetchedOrder:
    """Read one order (and its transaction's payments) from VTEX and map it. No database access,
    so worker threads call it."""
    raw = client.get_order(order_id)
    data = order_data_from_vtex(raw)
    if data.order_id != order_id:
        raise VtexDataError("orderId", f"VTEX answered with order {data.order_id!r} for {order_id!r}")
    payment_status: dict[str, dict[str, str]] = {}
    if fetch_payments:
        for transaction_id in sorted({p["transaction_id"] for p in data.payments if p["transaction_id"]}):
            transaction_data = client.get_transaction(transaction_id, order_id=order_id)
            transaction_status = str(transaction_data.get("status") or "")[:32]
            for payment in client.get_transaction_payments(transaction_id, order_id=order_id):
                if isinstance(payment, dict) and payment.get("id"):
                    payment_status[str(payment["id"])] = {
                        "status": str(payment.get("status") or "")[:32],
                        "transaction_status": transaction_status,
                    }
    return FetchedOrder(raw=raw, data=data, payment_status=payment_status)


def error_message(error: Exception) -> str:
    """An intake or refresh error as staff read it."""
    if isinstance(error, VtexDataError):
        return f"VTEX sent a malformed order: {error}"
    return str(error)


# ---- storing ------------------------------------------------------------------------------------


@dataclass
class StoreOutcome:
    order: Order
    created: bool
    changed: bool


class _JsonDocument(Expression):
    """A VTEX document's JSON text (OrderData.raw_json) for a JSONField in bulk_create, as one
    placeholder per row.

    On PostgreSQL, bulk_create otherwise sends each column as one array (UNNEST), and psycopg
    escapes every quote of every ~15 KB document in Python to build the array: about 7 ms an
    order, more than everything else intake does. An expression value keeps the plain
    multi-row INSERT."""

    output_field = JSONField()

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text  # written once by the mapping, which hashed it: not encoded again here

    def as_sql(self, compiler, connection):
        if connection.vendor == "postgresql":
            return "%s::jsonb", [self.text]
        return "%s", [self.text]


def orders_store_from_vtex(*, fetched: list[FetchedOrder]) -> list[StoreOutcome]:
    """Insert or update orders with their items and payments; outcomes in the batch's order.

    Idempotent on order_id: storing the same document twice changes nothing the second time (an
    order repeated in the batch is stored once). Each `data` must be mapped from its `raw`
    (vtex_fetch_order): a new order's JSON is written from data.raw_json, the text the mapping
    hashed.
    """
    unique = list({entry.order_id: entry for entry in fetched}.values())
    try:
        outcomes = _store(unique)
    except IntegrityError:
        # Another process inserted one of the new orders between our read and our insert. Alone,
        # each order now finds its row (or inserts it): stored one at a time, each committed.
        if len(unique) == 1:
            outcomes = _store(unique)
        else:
            outcomes = {}
            for entry in unique:
                outcomes.update(_store([entry]))
    return [outcomes[entry.order_id] for entry in fetched]


def _store(batch: list[FetchedOrder]) -> dict[str, StoreOutcome]:
    """Two transactions, so that one never holds both the rows it updates and the unique-index
    entries it inserts: two processes storing overlapping batches then wait for each other instead
    of deadlocking (PostgreSQL)."""
    now = timezone.now()
    stored = set(
        Order.objects.filter(order_id__in=[entry.order_id for entry in batch]).values_list("order_id", flat=True)
    )
    new = [entry for entry in batch if entry.order_id not in stored]
    outcomes = {order.order_id: StoreOutcome(order, created=True, changed=True) for order in _insert(new, now)}
    outcomes.update(_update([entry for entry in batch if entry.order_id in stored], now))
    _link_replacements(batch, outcomes)
    return outcomes


def _insert(new: list[FetchedOrder], now) -> list[Order]:
    """New orders with their items, payments and timeline entries: each table in one multi-row
    INSERT (the VTEX JSON is large: written once). Raises IntegrityError, having written nothing,
    when another process stored one of them meanwhile."""
    if not new:
        return []
    # In order_id order: two processes inserting overlapping batches wait for each other's rows
    # in the same order, never in a cycle.
    new = sorted(new, key=lambda entry: entry.order_id)
    orders = [
        Order(
            order_id=entry.order_id,
            **entry.data.fields,
            raw=_JsonDocument(entry.data.raw_json),
            raw_hash=entry.data.raw_hash,
            is_complete=True,
            last_synced_at=now,
        )
        for entry in new
    ]
    for order, state in zip(orders, orders_derive_states(orders), strict=True):  # not saved: no query
        order.state = state
    with transaction.atomic():
        Order.objects.bulk_create(orders)
        items, payments, sellers, fulfillments = [], [], [], []
        for order, entry in zip(orders, new, strict=True):
            order.raw = entry.raw  # the document, not the expression that wrote it
            items += [OrderItem(order=order, **row) for row in entry.data.items]
            payments += [
                Payment(order=order, **_payment_values(row, entry.payment_status, now)) for row in entry.data.payments
            ]
            sellers += _seller_rows(order, entry.data)
            fulfillments += _fulfillment_rows(order, entry.data)
        OrderItem.objects.bulk_create(items)
        crash_point("intake.store_in_transaction")
        Payment.objects.bulk_create(payments)
        OrderSeller.objects.bulk_create(sellers)
        ItemFulfillment.objects.bulk_create(fulfillments)
        events = [_imported_event(order) for order in orders]
        changes = []
        for order, entry in zip(orders, new, strict=True):
            changes += [OrderChange(order=order, **row) for row in entry.data.changes]
            events += [_change_event(order, row) for row in entry.data.changes]
        OrderChange.objects.bulk_create(changes)
        OrderEvent.objects.bulk_create(events)
    return orders


def _update(batch: list[FetchedOrder], now) -> dict[str, StoreOutcome]:
    """Stored orders brought up to date: the unchanged ones only noted as synced; the changed ones
    rewritten with their items and payments, a timeline entry each, and VTEX's status followed."""
    if not batch:
        return {}
    outcomes: dict[str, StoreOutcome] = {}
    with transaction.atomic():
        # Locked in pk order, so two processes storing overlapping batches cannot deadlock. The
        # stored JSON is large and not needed to decide anything here: never loaded.
        locked = {
            order.order_id: order
            for order in Order.objects.select_for_update()
            .defer("raw")
            .filter(order_id__in=[entry.order_id for entry in batch])
            .order_by("pk")
        }
        unchanged: list[Order] = []
        changed: list[tuple[Order, FetchedOrder, str, bool]] = []  # order, entry, previous status, completed
        for entry in batch:
            order = locked[entry.order_id]
            if order.is_complete and (order.raw_hash == entry.data.raw_hash or _older_than_stored(order, entry)):
                unchanged.append(order)
                if entry.payment_status:
                    _store_payments(order, entry.data.payments, entry.payment_status, now)
                outcomes[order.order_id] = StoreOutcome(order, created=False, changed=False)
            else:
                # A stub left by a failed first import is completed now: it counts as created.
                changed.append((order, entry, order.vtex_status, not order.is_complete))
        _note_synced(unchanged, now)
        if not changed:
            return outcomes
        for order, entry, _, _ in changed:
            _apply_vtex_data(order, entry, now)
        # The state from the new status and the rows as they are.
        changed_orders = [order for order, _, _, _ in changed]
        for order, state in zip(changed_orders, orders_derive_states(changed_orders), strict=True):
            order.state = state
        pks = [order.pk for order in changed_orders]
        items: dict[int, dict[int, OrderItem]] = {pk: {} for pk in pks}
        for item in OrderItem.objects.filter(order_id__in=pks):
            items[item.order_id][item.item_index] = item
        payments: dict[int, dict[str, Payment]] = {pk: {} for pk in pks}
        for payment in Payment.objects.filter(order_id__in=pks):
            payments[payment.order_id][payment.payment_id] = payment
        changes: dict[int, dict[int, OrderChange]] = {pk: {} for pk in pks}
        for change in OrderChange.objects.filter(order_id__in=pks, kind=OrderChange.Kind.CHANGE):
            changes[change.order_id][change.position] = change
        events = []
        # Sellers and item fulfillments hold nothing of ours and nothing points at them: the
        # changed orders' rows are written anew.
        OrderSeller.objects.filter(order_id__in=pks).delete()
        ItemFulfillment.objects.filter(order_id__in=pks).delete()
        sellers, fulfillments = [], []
        for order, entry, previous_status, completed in changed:
            order.save()
            _store_items(order, entry.data.items, existing=items[order.pk])
            _store_payments(order, entry.data.payments, entry.payment_status, now, existing=payments[order.pk])
            events += [
                _change_event(order, row)
                for row in _store_changes(order, entry.data.changes, existing=changes[order.pk])
            ]
            sellers += _seller_rows(order, entry.data)
            fulfillments += _fulfillment_rows(order, entry.data)
            if completed:
                events.append(_imported_event(order))
            else:
                if previous_status != order.vtex_status:
                    events += _follow_vtex_status(order, previous_status)
                events.append(_changed_at_vtex_event(order, previous_status))
            outcomes[order.order_id] = StoreOutcome(order, created=completed, changed=True)
        OrderSeller.objects.bulk_create(sellers)
        ItemFulfillment.objects.bulk_create(fulfillments)
        OrderEvent.objects.bulk_create(events)
    return outcomes


def _seller_rows(order: Order, data: OrderData) -> list[OrderSeller]:
    return [OrderSeller(order=order, **row) for row in data.sellers]


def _fulfillment_rows(order: Order, data: OrderData) -> list[ItemFulfillment]:
    return [ItemFulfillment(order=order, **row) for row in data.fulfillments]


def _imported_event(order: Order) -> OrderEvent:
    return order_event_build(
        order=order, kind=OrderEvent.Kind.IMPORTED, params={"status": order.vtex_status}, actor_label="intake"
    )


def _note_synced(orders: list[Order], now) -> None:
    """Nothing new at VTEX: note the sync (and clear an old error) without rewriting the JSON."""
    if orders:
        Order.objects.filter(pk__in=[order.pk for order in orders]).update(
            last_synced_at=now, intake_error="", intake_failed_at=None
        )
    for order in orders:
        order.last_synced_at, order.intake_error, order.intake_failed_at = now, "", None


def _apply_vtex_data(order: Order, entry: FetchedOrder, now) -> None:
    for name, value in entry.data.fields.items():
        if name in SHIPPING_ADDRESS_FIELDS and order.shipping_address_edited:
            continue  # staff corrected it; VTEX's copy stays in raw
        setattr(order, name, value)
    order.raw = entry.raw
    order.raw_hash = entry.data.raw_hash
    order.is_complete = True
    order.intake_error = ""
    order.intake_failed_at = None
    order.last_synced_at = now


def _changed_at_vtex_event(order: Order, previous_status: str) -> OrderEvent:
    if previous_status != order.vtex_status:
        change = {"from": previous_status, "to": order.vtex_status}
        return order_event_build(order=order, kind=OrderEvent.Kind.STATUS_CHANGED, params=change, data=change)
    return order_event_build(order=order, kind=OrderEvent.Kind.UPDATED, params={})


def _older_than_stored(order: Order, entry: FetchedOrder) -> bool:
    """VTEX's answer is older than the one stored: two threads read the order (an intake lot and
    a start-handling's read-back) and the earlier answer came to be stored last. Storing it would
    move the order back (from handling to ready-for-handling, say)."""
    stored, read = order.last_change_at_vtex, entry.data.fields.get("last_change_at_vtex")
    return stored is not None and read is not None and read < stored


def _follow_vtex_status(order: Order, previous_status: str) -> list[OrderEvent]:
    """VTEX canceled the order (customer, payment, our request): its open cancellation requests
    are confirmed, and nothing waiting to be sent for it is sent any more. VTEX replaced it: nothing
    waiting is sent either (VTEX takes no invoice for a replaced order; the new one gets them).

    What waited but VTEX's statuses show took effect is recorded as sent, not stopped: a
    start-handling when the order was stored past ready-for-handling before it was canceled (its
    answer was lost, and it took), and our own cancellation whose answer was lost. Returns their
    timeline entries."""
    waiting = OutboxMessage.objects.filter(
        order=order, state__in=[OutboxMessage.State.PENDING, OutboxMessage.State.FAILED]
    )
    if order.vtex_status == VtexStatus.REPLACED:
        waiting.update(
            state=OutboxMessage.State.STOPPED,
            last_error="The order was replaced at VTEX; the order that replaced it carries it on.",
            last_error_code="",
        )
        return []
    if order.vtex_status not in CANCELED:
        return []
    order.cancellation_requests.filter(
        state__in=[*CancellationRequest.OPEN_STATES, CancellationRequest.State.FAILED]
    ).update(state=CancellationRequest.State.CONFIRMED, confirmed_at=timezone.now())
    shown = {OutboxMessage.Kind.CANCEL: (Q(kind=OutboxMessage.Kind.CANCEL, outcome_unknown=True), order.vtex_status)}
    if start_handling_shown(order.vtex_status, stored=previous_status):
        shown[OutboxMessage.Kind.START_HANDLING] = (Q(kind=OutboxMessage.Kind.START_HANDLING), previous_status)
    events = []
    for kind, (condition, status) in shown.items():
        took = list(waiting.filter(condition).values_list("pk", flat=True))
        if not took:
            continue
        OutboxMessage.objects.filter(pk__in=took).update(
            state=OutboxMessage.State.SENT,
            sent_at=timezone.now(),
            outcome_unknown=False,
            last_error="",
            last_error_code="",
            last_status_code=None,
            gave_up=False,
        )
        event_kind = OrderEvent.Kind.ACKNOWLEDGED if kind == OutboxMessage.Kind.START_HANDLING else OrderEvent.Kind.SENT
        events += [
            order_event_build(
                order=order,
                kind=event_kind,
                params={
                    "outbox_kind": kind,
                    "invoice": "",
                    "receipt": "",
                    "note": "status_shown",
                    "vtex_status": status,
                },
                actor_label="system",
                data={"outbox": pk},
            )
            for pk in took
        ]
    waiting.update(
        state=OutboxMessage.State.STOPPED,
        last_error=f"The order was canceled at VTEX ({order.vtex_status}).",
        last_error_code="",
    )
    return events


def _store_items(order: Order, items: list[dict[str, Any]], *, existing: dict[int, OrderItem]) -> None:
    new_items = []
    for row in items:
        item = existing.pop(row["item_index"], None)
        if item is None:
            new_items.append(OrderItem(order=order, **row))
        elif any(getattr(item, name) != value for name, value in row.items()):  # only what changed
            for name, value in row.items():
                setattr(item, name, value)
            item.save()
    OrderItem.objects.bulk_create(new_items)
    if existing:
        OrderItem.objects.filter(pk__in=[item.pk for item in existing.values()]).delete()


def _store_changes(
    order: Order, changes: list[dict[str, Any]], *, existing: dict[int, OrderChange]
) -> list[dict[str, Any]]:
    """The order's changes as VTEX lists them now; returns those that are new or different."""
    new_rows, news = [], []
    for row in changes:
        change = existing.pop(row["position"], None)
        if change is None:
            new_rows.append(OrderChange(order=order, **row))
            news.append(row)
        elif any(getattr(change, name) != value for name, value in row.items()):
            for name, value in row.items():
                setattr(change, name, value)
            change.save()
            news.append(row)
    OrderChange.objects.bulk_create(new_rows)
    if existing:  # VTEX no longer lists them (a change undone): the rows follow VTEX
        OrderChange.objects.filter(pk__in=[change.pk for change in existing.values()]).delete()
    return news


def _items_params(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[row["quantity"], row["name"], row["sku_id"]] for row in rows]


def _change_event(order: Order, change: dict[str, Any]) -> OrderEvent:
    """A change at VTEX on the timeline: what, when, why, and what it did to the value."""
    value = change["increment_cents"] - change["discount_cents"]
    params = {
        "changed_at": change["changed_at"].isoformat() if change["changed_at"] else None,
        "removed": _items_params(change["items_removed"]),
        "added": _items_params(change["items_added"]),
        "value_cents": value,
        "reason": change["reason"],
        "total_cents": order.total_cents,
        "currency": order.currency_code,
    }
    return order_event_build(
        order=order,
        kind=OrderEvent.Kind.CHANGED,
        params=params,
        actor_label="vtex",
        data={"position": change["position"], "receipt": change["receipt"], "value_cents": value},
    )


# ---- replaced orders ---------------------------------------------------------------------------

#: The new order of a replacement is placed when the change is made, after the original; orders
#: of one purchase (a group split between sellers) are placed together, within this.
REPLACEMENT_AFTER = timedelta(minutes=1)


def _link_replacements(batch: list[FetchedOrder], outcomes: dict[str, StoreOutcome]) -> None:
    """Link replaced orders and the orders that replaced them, both ways (OrderChange rows).

    The link comes from the document when it names the new order (mapping._replaced_by, not a
    documented VTEX field), else from the order group: VTEX's spec documents no field linking the
    two, but the new order carries on the same purchase, so it is the one order of the replaced
    order's group placed after it (REPLACEMENT_AFTER) that is not replaced itself and replaces no
    other. With several such orders nothing is guessed: the replaced order stays unlinked (its
    invoicing stays blocked all the same) until a document names the new one. Idempotent: run on
    every store, also of unchanged documents, so a link whose other order came later is completed.
    """
    named = {entry.order_id: entry.data.replaced_by for entry in batch if entry.data.replaced_by}
    replaced = {order_id for order_id, o in outcomes.items() if o.order.vtex_status == VtexStatus.REPLACED}
    created = {order_id for order_id, o in outcomes.items() if o.created}
    if not (named or replaced or created):
        return
    groups = {
        o.order.order_group
        for order_id, o in outcomes.items()
        if o.order.order_group and order_id in replaced | created
    }
    members = list(
        Order.objects.filter(order_group__in=groups).values("order_id", "order_group", "vtex_status", "created_at_vtex")
    )
    ids = set(outcomes) | set(named.values()) | {member["order_id"] for member in members}
    pairs: dict[str, str] = {}  # replaced order id → replacing order id
    for order_id, kind, other in (
        OrderChange.objects.filter(kind__in=[OrderChange.Kind.REPLACED_BY, OrderChange.Kind.REPLACES])
        .filter(Q(order__order_id__in=ids) | Q(other_order_id__in=ids))
        .values_list("order__order_id", "kind", "other_order_id")
    ):
        if kind == OrderChange.Kind.REPLACED_BY:
            pairs.setdefault(order_id, other)
        else:
            pairs.setdefault(other, order_id)
    pairs.update(named)
    by_group: dict[str, list[dict[str, Any]]] = {}
    for member in members:
        by_group.setdefault(member["order_group"], []).append(member)
    for group_members in by_group.values():
        for old in group_members:
            if old["vtex_status"] != VtexStatus.REPLACED or old["order_id"] in pairs or not old["created_at_vtex"]:
                continue
            candidates = [
                member
                for member in group_members
                if member["vtex_status"] != VtexStatus.REPLACED
                and member["order_id"] not in pairs.values()
                and member["created_at_vtex"]
                and member["created_at_vtex"] >= old["created_at_vtex"] + REPLACEMENT_AFTER
            ]
            if len(candidates) == 1:
                pairs[old["order_id"]] = candidates[0]["order_id"]
    relevant = {old: new for old, new in pairs.items() if old in ids or new in ids}
    if relevant:
        _write_links(relevant)


def _write_links(pairs: dict[str, str]) -> None:
    stored = {
        order.order_id: order
        for order in Order.objects.defer("raw").filter(order_id__in=set(pairs) | set(pairs.values()))
    }
    wanted = []
    for old, new in pairs.items():
        if old in stored:
            wanted.append((stored[old], OrderChange.Kind.REPLACED_BY, new))
        if new in stored:
            wanted.append((stored[new], OrderChange.Kind.REPLACES, old))
    with transaction.atomic():
        existing = {
            (change.order_id, change.kind): change
            for change in OrderChange.objects.select_for_update().filter(
                order_id__in=[order.pk for order, _, _ in wanted],
                kind__in=[OrderChange.Kind.REPLACED_BY, OrderChange.Kind.REPLACES],
            )
        }
        events = []
        for order, kind, other in wanted:
            change = existing.get((order.pk, kind))
            if change is not None and change.other_order_id == other:
                continue
            if change is None:
                OrderChange.objects.create(order=order, kind=kind, position=0, other_order_id=other)
            else:
                change.other_order_id = other
                change.save(update_fields=["other_order_id"])
            direction = "replaced_by" if kind == OrderChange.Kind.REPLACED_BY else "replaces"
            events.append(
                order_event_build(
                    order=order,
                    kind=OrderEvent.Kind.REPLACED,
                    params={"other_order_id": other, "direction": direction},
                    actor_label="vtex",
                    data={"other_order_id": other},
                )
            )
        OrderEvent.objects.bulk_create(events)


def _store_payments(
    order: Order,
    payments: list[dict[str, Any]],
    status: dict[str, dict[str, str]],
    now,
    *,
    existing: dict[str, Payment] | None = None,
) -> None:
    if existing is None:
        existing = {payment.payment_id: payment for payment in order.payments.all()}
    new_payments = []
    for row in payments:
        values = _payment_values(row, status, now)
        payment = existing.get(row["payment_id"])
        if payment is None:
            new_payments.append(Payment(order=order, **values))
        elif any(getattr(payment, name) != value for name, value in values.items() if name != "fetched_at"):
            for name, value in values.items():
                setattr(payment, name, value)
            payment.save()
    Payment.objects.bulk_create(new_payments)


def _payment_values(row: dict[str, Any], status: dict[str, dict[str, str]], now) -> dict[str, Any]:
    """A payment's fields from the order, plus its status from the Payments API when it was read."""
    extra = status.get(row["payment_id"], {})
    return dict(row, **extra, **({"fetched_at": now} if extra else {}))


# ---- failures and refreshes ---------------------------------------------------------------------


def order_record_intake_failure(*, order_id: str, summary: dict[str, Any] | None, error: Exception) -> Order | None:
    """Keep a visible trace of an order that could not be taken in; the next run retries it.

    A failed first import leaves a row built from the list summary (is_complete=False), so staff
    see it; not for an order VTEX says it does not have (404): there is no order to show, and the
    notification that named it keeps the error (services.hook)."""
    message = error_message(error)
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().defer("raw").filter(order_id=order_id).first()
        if order is None and isinstance(error, VtexNotFound):
            return None
        if order is None:
            fields = summary_fields(summary or {})
            # The feed and the hook name only the order (its summary has no status): intake
            # takes what is ready for handling.
            fields["vtex_status"] = fields.get("vtex_status") or VtexStatus.READY_FOR_HANDLING
            try:
                with transaction.atomic():
                    order = Order.objects.create(order_id=order_id, is_complete=False, **fields)
            except IntegrityError:
                order = Order.objects.select_for_update().defer("raw").get(order_id=order_id)
        order.intake_error = message
        order.intake_failed_at = now
        order.save(update_fields=["intake_error", "intake_failed_at", "updated_at"])
        order_event_record(
            order=order, kind=OrderEvent.Kind.INTAKE_FAILED, params={"error": message}, actor_label="intake"
        )
    return order


def order_refresh_from_vtex(*, client: VtexClient, order: Order, actor=None) -> StoreOutcome:
    """Read the order again from VTEX and store it, as intake does; the attempt is on the timeline.

    Raises VtexError or VtexDataError after recording the failure as an event.
    """
    try:
        fetched = vtex_fetch_order(client=client, order_id=order.order_id, fetch_payments=settings.VTEX_FETCH_PAYMENTS)
    except (VtexError, VtexDataError) as exc:
        order_event_record(
            order=order,
            kind=OrderEvent.Kind.REFRESH_FAILED,
            params={"error": error_message(exc)},
            actor=actor,
        )
        raise
    (outcome,) = orders_store_from_vtex(fetched=[fetched])
    if not outcome.changed:
        order_event_record(
            order=outcome.order,
            kind=OrderEvent.Kind.REFRESHED,
            params={"changed": False},
            actor=actor,
        )
    elif actor is not None:
        order_event_record(order=outcome.order, kind=OrderEvent.Kind.REFRESHED, params={"changed": True}, actor=actor)
    return outcome
