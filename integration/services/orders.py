"""Orders: storing what VTEX sent, acknowledging it (start-handling), refreshing, staff edits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Expression, F, JSONField, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from integration.infra.crashpoints import crash_point
from integration.models import Order, OrderEvent, OrderItem, Payment
from integration.services.events import order_event_record, stored_text
from integration.vtex import VtexClient, VtexConflict, VtexError
from integration.vtex.mapping import SHIPPING_ADDRESS_FIELDS, OrderData, VtexDataError, summary_fields

READY_FOR_HANDLING = "ready-for-handling"
#: VTEX statuses that mean start-handling already took effect (VTEX-API.md §10).
HANDLED_STATUSES = frozenset(
    {"start-handling", "handling", "invoice", "invoiced", "cancellation-requested", "cancel", "canceled"}
)
CANCELED_STATUSES = frozenset({"cancel", "canceled"})
#: A claim on start-handling older than this belongs to a process that died mid-call.
ACK_CLAIM_STALE_AFTER = timedelta(minutes=5)
#: VTEX statuses that show our start-handling (or an earlier, lost one) took effect.
ACK_TOOK_EFFECT_STATUSES = HANDLED_STATUSES - CANCELED_STATUSES - {"cancellation-requested"}
#: VTEX statuses of orders whose start-handling is retried until recorded (orders_awaiting_acknowledgement).
ACK_RETRY_STATUSES = frozenset({READY_FOR_HANDLING}) | ACK_TOOK_EFFECT_STATUSES

#: Fields staff may correct in the admin; each change is written to the timeline.
STAFF_EDITABLE_FIELDS = (*SHIPPING_ADDRESS_FIELDS, "notes")


def order_derive_state(order: Order) -> str:
    """The local state, from the data: VTEX's status, start-handling, invoices, tracking, cancellation.

    Nobody sets it by hand; services call order_recompute_state after every change.
    """
    from integration.models import CancellationRequest, Invoice, InvoiceItem

    has_rows = order.pk is not None
    # Each fact is read only when the rules get that far (a canceled order costs no query).
    return _state_from_facts(
        order,
        has_open_request=lambda: (
            has_rows and order.cancellation_requests.filter(state__in=CancellationRequest.OPEN_STATES).exists()
        ),
        outputs=lambda: (
            list(order.invoices.filter(kind=Invoice.Kind.OUTPUT).values("tracking_number", "delivered_at"))
            if has_rows
            else []
        ),
        ordered=lambda: order.items.aggregate(total=Sum("quantity"))["total"] or 0,
        invoiced=lambda: (
            InvoiceItem.objects.filter(invoice__order=order, invoice__kind=Invoice.Kind.OUTPUT).aggregate(
                total=Sum("quantity")
            )["total"]
            or 0
        ),
    )


def _state_from_facts(order: Order, *, has_open_request, outputs, ordered, invoiced) -> str:
    """The rules of order_derive_state, given its facts as functions (one order's queries, or a
    batch's answers already read): one set of rules for both paths."""
    if order.vtex_status in CANCELED_STATUSES:
        return Order.State.CANCELED
    if order.vtex_status == "cancellation-requested" or has_open_request():
        return Order.State.CANCELLATION_REQUESTED
    output_rows = outputs()
    if output_rows:
        if invoiced() < ordered():
            return Order.State.PARTIALLY_INVOICED
        if all(invoice["delivered_at"] for invoice in output_rows):
            return Order.State.DELIVERED
        if all(invoice["tracking_number"] for invoice in output_rows):
            return Order.State.SHIPPED
        return Order.State.INVOICED
    if order.vtex_status == "invoiced":
        return Order.State.INVOICED  # invoiced elsewhere (VTEX's admin, another system)
    if order.ack_state == Order.AckState.DONE or order.vtex_status in HANDLED_STATUSES:
        return Order.State.HANDLING
    return Order.State.RECEIVED


def orders_derive_states(orders: list[Order]) -> dict[int, str]:
    """order_derive_state for many stored orders (by pk), in four queries whatever their number."""
    from integration.models import CancellationRequest, Invoice, InvoiceItem

    pks = [order.pk for order in orders]
    if not pks:
        return {}
    with_request = set(
        CancellationRequest.objects.filter(order_id__in=pks, state__in=CancellationRequest.OPEN_STATES).values_list(
            "order_id", flat=True
        )
    )
    outputs: dict[int, list[dict[str, Any]]] = {}
    for row in Invoice.objects.filter(order_id__in=pks, kind=Invoice.Kind.OUTPUT).values(
        "order_id", "tracking_number", "delivered_at"
    ):
        outputs.setdefault(row["order_id"], []).append(row)
    ordered: dict[int, int] = {}
    invoiced: dict[int, int] = {}
    if outputs:  # the quantities only matter for orders with an output invoice
        ordered = dict(
            OrderItem.objects.filter(order_id__in=list(outputs))
            .values("order_id")
            .annotate(total=Sum("quantity"))
            .values_list("order_id", "total")
        )
        invoiced = dict(
            InvoiceItem.objects.filter(invoice__order_id__in=list(outputs), invoice__kind=Invoice.Kind.OUTPUT)
            .values("invoice__order_id")
            .annotate(total=Sum("quantity"))
            .values_list("invoice__order_id", "total")
        )
    return {
        order.pk: _state_from_facts(
            order,
            has_open_request=lambda pk=order.pk: pk in with_request,
            outputs=lambda pk=order.pk: outputs.get(pk, []),
            ordered=lambda pk=order.pk: ordered.get(pk) or 0,
            invoiced=lambda pk=order.pk: invoiced.get(pk) or 0,
        )
        for order in orders
    }


def order_recompute_state(order: Order) -> str:
    """Called after every change of an order's invoices, tracking or cancellation: the state follows,
    and updated_at moves so that an ERP polling the API with updated_since sees the change."""
    state = order_derive_state(order)
    now = timezone.now()
    Order.objects.filter(pk=order.pk).update(state=state, updated_at=now)
    order.state, order.updated_at = state, now
    return state


def orders_recompute_states(orders: list[Order]) -> None:
    """order_recompute_state for many orders: four reads, then one UPDATE per resulting state."""
    unique = list({order.pk: order for order in orders}.values())
    states = orders_derive_states(unique)
    now = timezone.now()
    groups: dict[str, list[int]] = {}
    for pk, state in states.items():
        groups.setdefault(state, []).append(pk)
    for state, pks in groups.items():
        Order.objects.filter(pk__in=pks).update(state=state, updated_at=now)
    for order in orders:
        order.state, order.updated_at = states[order.pk], now


ERP_RECEIPT_KEY = "erp_receipt"


def order_record_erp_receipt(*, order: Order, actor=None) -> bool:
    """Record, once, that the ERP stored the order (POST .../ack/). False when it was recorded before."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().defer("raw").get(pk=order.pk)  # two replays record one
        if locked.events.filter(kind=OrderEvent.Kind.ERP_RECEIVED).exists():
            return False
        order_event_record(
            order=locked,
            kind=OrderEvent.Kind.ERP_RECEIVED,
            message="The ERP confirmed it stored the order.",
            actor=actor,
            actor_label="api",
            data={ERP_RECEIPT_KEY: True},
        )
        Order.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
    return True


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


@dataclass
class StoreOutcome:
    order: Order
    created: bool
    changed: bool
    #: Inserted already claimed for start-handling (orders_store_from_vtex, claim_acknowledgement).
    claimed: bool = False


def order_store_from_vtex(
    *, data: OrderData, raw: dict[str, Any], payment_status: dict[str, dict[str, str]] | None = None
) -> StoreOutcome:
    """Insert or update one order with its items and payments, in one transaction.

    Idempotent on order_id: storing the same order twice changes nothing the second time.
    `payment_status` maps payment id → {"status", "transaction_status"} from the Payments API.
    """
    now = timezone.now()
    with transaction.atomic():
        # The stored JSON is large and not needed to decide anything here: never load it.
        order = Order.objects.select_for_update().defer("raw").filter(order_id=data.order_id).first()
        if order is None:
            try:
                (inserted,) = _insert_orders([(data, raw, payment_status or {})], now)
            except IntegrityError:
                # A concurrent run stored it between our read and our insert: update theirs.
                order = Order.objects.select_for_update().defer("raw").get(order_id=data.order_id)
            else:
                return StoreOutcome(order=inserted, created=True, changed=True)
        return _update_order(order, data, raw, payment_status or {}, now)


def _insert_orders(
    new: list[tuple[OrderData, dict[str, Any], dict[str, dict[str, str]]]],
    now,
    *,
    claim_acknowledgement: bool = False,
) -> list[Order]:
    """New orders with their items, payments and timeline entries, in one transaction: each table
    in one multi-row INSERT (the VTEX JSON is large: written once). Raises IntegrityError, having
    written nothing, when another process stored one of them meanwhile.

    With claim_acknowledgement, orders in ready-for-handling are inserted already claimed for
    start-handling (see orders_store_from_vtex)."""
    orders = []
    for data, _, _ in new:
        order = Order(
            order_id=data.order_id,
            **data.fields,
            raw=_JsonDocument(data.raw_json),
            raw_hash=data.raw_hash,
            is_complete=True,
            last_synced_at=now,
        )
        if claim_acknowledgement and order.vtex_status == READY_FOR_HANDLING:
            order.ack_state, order.ack_claimed_at, order.ack_attempts = Order.AckState.SENDING, now, 1
        order.state = order_derive_state(order)  # no invoices or requests yet: no query
        orders.append(order)
    with transaction.atomic():
        Order.objects.bulk_create(orders)
        for order, (_, raw, _) in zip(orders, new, strict=True):
            order.raw = raw  # the document, not the expression that wrote it
        items, payments, events = [], [], []
        for order, (data, _, payment_status) in zip(orders, new, strict=True):
            items += [OrderItem(order=order, **row) for row in data.items]
            payments += [Payment(order=order, **_payment_values(row, payment_status, now)) for row in data.payments]
            events.append(_imported_event(order))
        OrderItem.objects.bulk_create(items)
        crash_point("intake.store_in_transaction")
        Payment.objects.bulk_create(payments)
        OrderEvent.objects.bulk_create(events)
    return orders


def _imported_event(order: Order) -> OrderEvent:
    return OrderEvent(
        order=order,
        kind=OrderEvent.Kind.IMPORTED,
        message=f"Imported from VTEX in status {order.vtex_status}.",
        actor_label="intake",
    )


def orders_store_from_vtex(
    *,
    batch: list[tuple[OrderData, dict[str, Any], dict[str, dict[str, str]] | None]],
    claim_acknowledgement: bool = False,
    stored: set[str] | None = None,
) -> list[StoreOutcome]:
    """order_store_from_vtex for a batch of (data, raw, payment_status), outcomes in the same order.

    Each `data` must be mapped from its `raw` (order_data_from_vtex): a new order's JSON is
    written from data.raw_json, the text the mapping hashed.

    The orders not stored yet (intake's usual case) go in one transaction: their rows, items,
    payments and timeline entries each in one multi-row INSERT for the whole batch, instead of
    a transaction and six statements per order. Orders already stored, repeated in the batch, or
    a batch that meets a concurrent insert take the one-by-one path.

    With claim_acknowledgement, new orders in ready-for-handling are inserted already claimed
    for start-handling (as order_claim_acknowledgement leaves them; outcome.claimed): no other
    process can hold a claim on a row this transaction creates, so the claim's UPDATE is saved.
    """
    now = timezone.now()
    ids = [data.order_id for data, _, _ in batch]
    if stored is None:  # the caller may know already (intake reads it to skip orders)
        stored = set(Order.objects.filter(order_id__in=ids).values_list("order_id", flat=True))
    new, seen = [], set()
    for data, raw, payment_status in batch:
        if data.order_id not in stored and data.order_id not in seen:
            seen.add(data.order_id)
            new.append((data, raw, payment_status or {}))
    outcomes: dict[str, StoreOutcome] = {}
    if new:
        # In order_id order: two processes inserting overlapping batches wait for each other's
        # rows in the same order, never in a cycle (a deadlock on PostgreSQL's unique index).
        new.sort(key=lambda entry: entry[0].order_id)
        try:
            orders = _insert_orders(new, now, claim_acknowledgement=claim_acknowledgement)
        except IntegrityError:
            pass  # another process stored one of them meanwhile: every order goes one by one below
        else:
            outcomes = {
                order.order_id: StoreOutcome(
                    order=order, created=True, changed=True, claimed=order.ack_state == Order.AckState.SENDING
                )
                for order in orders
            }
    stored_first, seen = [], set()
    for data, raw, payment_status in batch:
        if data.order_id in stored and data.order_id not in seen:
            seen.add(data.order_id)
            stored_first.append((data, raw, payment_status or {}))
    if stored_first:
        outcomes.update(_update_stored_orders(stored_first, now))
    result = []
    for data, raw, payment_status in batch:
        outcome = outcomes.pop(data.order_id, None)
        if outcome is None:
            outcome = order_store_from_vtex(data=data, raw=raw, payment_status=payment_status)
        result.append(outcome)
    return result


def _update_stored_orders(
    batch: list[tuple[OrderData, dict[str, Any], dict[str, dict[str, str]]]], now
) -> dict[str, StoreOutcome]:
    """_update_order for the usual changes of stored orders (nothing new; new data or a new status,
    as the outbox's read-back after an invoice brings), with a few statements for the batch.

    Left out, for the one-by-one path: stubs of a failed import, payments read from the Payments
    API, and an order VTEX canceled meanwhile (which confirms requests and stops the outbox).
    """
    outcomes: dict[str, StoreOutcome] = {}
    with transaction.atomic():
        # Locked in pk order, so two processes storing overlapping batches cannot deadlock.
        locked = {
            order.order_id: order
            for order in Order.objects.select_for_update()
            .defer("raw")
            .filter(order_id__in=[data.order_id for data, _, _ in batch])
            .order_by("pk")
        }
        unchanged: list[Order] = []
        changed: list[tuple[Order, OrderData, dict[str, Any], str]] = []
        for data, raw, payment_status in batch:
            order = locked.get(data.order_id)
            if order is None or not order.is_complete or payment_status:
                continue
            if order.raw_hash == data.raw_hash:
                unchanged.append(order)
                continue
            new_status = data.fields["vtex_status"]
            if new_status in CANCELED_STATUSES and new_status != order.vtex_status:
                continue
            changed.append((order, data, raw, order.vtex_status))
        _note_synced(unchanged, now)
        for order in unchanged:
            outcomes[order.order_id] = StoreOutcome(order=order, created=False, changed=False)
        if not changed:
            return outcomes
        for order, data, raw, _ in changed:
            _apply_vtex_data(order, data, raw, now)
        # As in _update_order: the state from the new status and the rows as they were.
        states = orders_derive_states([order for order, _, _, _ in changed])
        pks = [order.pk for order, _, _, _ in changed]
        items: dict[int, dict[int, OrderItem]] = {pk: {} for pk in pks}
        for item in OrderItem.objects.filter(order_id__in=pks):
            items[item.order_id][item.item_index] = item
        payments: dict[int, dict[str, Payment]] = {pk: {} for pk in pks}
        for payment in Payment.objects.filter(order_id__in=pks):
            payments[payment.order_id][payment.payment_id] = payment
        events = []
        for order, data, _, previous_status in changed:
            order.state = states[order.pk]
            order.save()
            _store_items(order, data.items, existing=items[order.pk])
            _store_payments(order, data.payments, {}, existing=payments[order.pk])
            events.append(_changed_at_vtex_event(order, previous_status))
            outcomes[order.order_id] = StoreOutcome(order=order, created=False, changed=True)
        OrderEvent.objects.bulk_create(events)
    return outcomes


def _update_order(
    order: Order, data: OrderData, raw: dict[str, Any], payment_status: dict[str, dict[str, str]], now
) -> StoreOutcome:
    created = not order.is_complete  # a stub left by a failed first import, completed now
    changed = created or order.raw_hash != data.raw_hash
    if not changed:
        _note_synced([order], now)
        if payment_status:
            _store_payments(order, data.payments, payment_status)
        return StoreOutcome(order=order, created=False, changed=False)
    previous_status = order.vtex_status
    _apply_vtex_data(order, data, raw, now)
    order.state = order_derive_state(order)
    order.save()
    _store_items(order, data.items)
    _store_payments(order, data.payments, payment_status)
    if created:
        _imported_event(order).save()
    else:
        if previous_status != order.vtex_status:
            _follow_vtex_status(order, previous_status)
        _changed_at_vtex_event(order, previous_status).save()
    return StoreOutcome(order=order, created=created, changed=True)


def _note_synced(orders: list[Order], now) -> None:
    """Nothing new at VTEX: note the sync (and clear an old error) without rewriting the JSON."""
    if orders:
        Order.objects.filter(pk__in=[order.pk for order in orders]).update(
            last_synced_at=now, intake_error="", intake_failed_at=None
        )
    for order in orders:
        order.last_synced_at, order.intake_error, order.intake_failed_at = now, "", None


def _apply_vtex_data(order: Order, data: OrderData, raw: dict[str, Any], now) -> None:
    for name, value in data.fields.items():
        if name in SHIPPING_ADDRESS_FIELDS and order.shipping_address_edited:
            continue  # staff corrected it; VTEX's copy stays in raw
        setattr(order, name, value)
    order.raw = raw
    order.raw_hash = data.raw_hash
    order.is_complete = True
    order.intake_error = ""
    order.intake_failed_at = None
    order.last_synced_at = now


def _changed_at_vtex_event(order: Order, previous_status: str) -> OrderEvent:
    if previous_status != order.vtex_status:
        return OrderEvent(
            order=order,
            kind=OrderEvent.Kind.STATUS_CHANGED,
            message=f"VTEX status changed from {previous_status} to {order.vtex_status}.",
            data={"from": previous_status, "to": order.vtex_status},
        )
    return OrderEvent(order=order, kind=OrderEvent.Kind.UPDATED, message="Order data changed at VTEX.")


def _follow_vtex_status(order: Order, previous_status: str) -> None:
    """VTEX canceled the order (customer, payment, our request): confirm and stop what waits."""
    if order.vtex_status in CANCELED_STATUSES:
        from integration.services.cancellation import cancellation_confirm_from_vtex
        from integration.services.outbox import outbox_stop_for_order

        cancellation_confirm_from_vtex(order=order)
        outbox_stop_for_order(order=order, reason=f"The order was canceled at VTEX ({order.vtex_status}).")


def _store_items(order: Order, items: list[dict[str, Any]], existing: dict[int, OrderItem] | None = None) -> None:
    if existing is None:
        existing = {item.item_index: item for item in order.items.all()}
    new_items = []
    for row in items:
        item = existing.pop(row["item_index"], None)
        if item is None:
            new_items.append(OrderItem(order=order, **row))
        elif any(getattr(item, name) != value for name, value in row.items()):  # as payments: only what changed
            for name, value in row.items():
                setattr(item, name, value)
            item.save()
    OrderItem.objects.bulk_create(new_items)
    if existing:
        OrderItem.objects.filter(pk__in=[item.pk for item in existing.values()]).delete()


def _store_payments(
    order: Order,
    payments: list[dict[str, Any]],
    status: dict[str, dict[str, str]],
    existing: dict[str, Payment] | None = None,
) -> None:
    now = timezone.now()
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


def order_record_intake_failure(*, order_id: str, summary: dict[str, Any] | None, error: Exception) -> Order:
    """Keep a visible trace of an order that could not be taken in; the next run retries it."""
    message = error_message(error)
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(order_id=order_id).first()
        if order is None:
            fields = summary_fields(summary or {})
            fields.setdefault("vtex_status", READY_FOR_HANDLING)
            try:
                with transaction.atomic():
                    order = Order.objects.create(order_id=order_id, is_complete=False, **fields)
            except IntegrityError:
                order = Order.objects.select_for_update().get(order_id=order_id)
        order.intake_error = message
        order.intake_failed_at = now
        order.save(update_fields=["intake_error", "intake_failed_at", "updated_at"])
        order_event_record(
            order=order, kind=OrderEvent.Kind.INTAKE_FAILED, message=f"Intake failed: {message}", actor_label="intake"
        )
    return order


def error_message(error: Exception) -> str:
    if isinstance(error, VtexDataError):
        return f"VTEX sent a malformed order: {error}"
    return str(error)


# ---- start-handling -----------------------------------------------------------------------------


def _ack_claimable(now) -> Q:
    """Not acknowledged, and nobody is acknowledging it now (a claim gone stale is free again)."""
    return Q(is_complete=True) & (
        Q(ack_state__in=[Order.AckState.PENDING, Order.AckState.FAILED])
        | Q(ack_state=Order.AckState.SENDING, ack_claimed_at__lt=now - ACK_CLAIM_STALE_AFTER)
    )


def _ack_claim(orders, now, token: str = "") -> int:
    """The claim: a conditional UPDATE, so of two processes exactly one changes a row."""
    return orders.filter(_ack_claimable(now)).update(
        ack_state=Order.AckState.SENDING, ack_claimed_at=now, ack_claim_token=token, ack_attempts=F("ack_attempts") + 1
    )


def orders_awaiting_acknowledgement():
    """Stored orders whose start-handling is not recorded and that nobody is acknowledging now."""
    # Also an order VTEX already shows in handling (or later): an attempt whose answer was lost
    # took effect and the order was read again before the retry. Retried, VTEX answers 409 and
    # the read-back records it done; left out, it stayed "failed" and could never be invoiced.
    return Order.objects.filter(_ack_claimable(timezone.now()), vtex_status__in=ACK_RETRY_STATUSES)


def order_claim_acknowledgement(*, order_id: str) -> bool:
    """Take the right to send start-handling for this order; False if another process has it or it is done.

    A conditional UPDATE is the lock: of two processes, exactly one changes the row.
    """
    return bool(_ack_claim(Order.objects.filter(order_id=order_id), timezone.now()))


def orders_claim_acknowledgement(*, order_ids: list[str]) -> list[str]:
    """order_claim_acknowledgement for many orders in one UPDATE; returns the ids claimed.

    The rows this UPDATE changed are the ones now SENDING with its token.
    """
    if not order_ids:
        return []
    token = uuid.uuid4().hex
    if not _ack_claim(Order.objects.filter(order_id__in=order_ids), timezone.now(), token):
        return []
    claimed = set(
        Order.objects.filter(
            order_id__in=order_ids, ack_state=Order.AckState.SENDING, ack_claim_token=token
        ).values_list("order_id", flat=True)
    )
    return [order_id for order_id in order_ids if order_id in claimed]


@dataclass
class AckResult:
    order_id: str
    done: bool
    vtex_status: str = ""
    #: In English: stored as the order's ack_error and on its timeline.
    message: str = ""
    #: Why it is not done: "vtex" (VTEX refused or did not answer), "busy" (another process is
    #: sending it now), "incomplete" (the order was never read in full). Empty when done.
    reason: str = ""
    #: `message` as a gettext_noop template and its values, to show it in the reader's language.
    template: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.template and not self.message:
            self.message = self.template % self.params  # the template is the English text

    def text(self) -> str:
        """The message in the active language (the admin's and the API's answers)."""
        return gettext(self.template) % self.params if self.template else gettext(self.message)


def _read_back_result(order_id: str, template: str, *, done: bool, vtex_status: str = "", **params: str) -> AckResult:
    return AckResult(
        order_id,
        done=done,
        vtex_status=vtex_status,
        reason="" if done else "vtex",
        template=template,
        params=params,
    )


def vtex_send_start_handling(*, client: VtexClient, order_id: str) -> AckResult:
    """Send start-handling once; on a conflict or an unknown outcome, read the order back.

    No database access: this runs in worker threads. VTEX moves an order out of
    ready-for-handling only once, and a repeat gets 409 OMS003, so the read-back tells whether
    ours (or an earlier, lost one) took effect (VTEX-API.md §3, §12.4).
    """
    try:
        client.start_handling(order_id)
        # Stored (ack_error, the timeline) in English; the admin and the API translate it when shown.
        return AckResult(
            order_id, done=True, vtex_status="handling", message=gettext_noop("VTEX accepted start-handling.")
        )
    except VtexConflict as exc:
        first_error: VtexError = exc
    except VtexError as exc:
        if not exc.outcome_unknown:
            return AckResult(order_id, done=False, message=error_message(exc), reason="vtex")
        first_error = exc
    error = error_message(first_error)
    try:
        status = str(client.get_order(order_id).get("status") or "")
    except VtexError as exc:
        template = gettext_noop("%(error)s; reading the order back failed: %(read_error)s")
        return _read_back_result(order_id, template, done=False, error=error, read_error=str(exc))
    if status in ACK_TOOK_EFFECT_STATUSES:
        template = gettext_noop("VTEX shows the order in %(status)s.")
        return _read_back_result(order_id, template, done=True, vtex_status=status, status=status)
    if not status:
        template = gettext_noop("%(error)s; VTEX shows the order in an unknown status.")
        return _read_back_result(order_id, template, done=False, error=error)
    template = gettext_noop("%(error)s; VTEX shows the order in %(status)s.")
    return _read_back_result(order_id, template, done=False, vtex_status=status, error=error, status=status)


def _acknowledgement_fields(result: AckResult) -> dict[str, str]:
    """What a start-handling result sets on its order (one rule for one order and for a batch);
    acknowledged_at besides, set by the first success only."""
    fields = {
        "ack_state": Order.AckState.DONE if result.done else Order.AckState.FAILED,
        "ack_error": "" if result.done else result.message,
    }
    if result.vtex_status:
        fields["vtex_status"] = result.vtex_status
    return fields


def _acknowledgement_event_kind(result: AckResult) -> str:
    return OrderEvent.Kind.ACKNOWLEDGED if result.done else OrderEvent.Kind.ACK_FAILED


def order_record_acknowledgement(*, result: AckResult, actor=None) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().defer("raw").get(order_id=result.order_id)
        for name, value in _acknowledgement_fields(result).items():
            setattr(order, name, value)
        if result.done:
            order.acknowledged_at = order.acknowledged_at or timezone.now()
        order.state = order_derive_state(order)
        order.save(update_fields=["vtex_status", "ack_state", "acknowledged_at", "ack_error", "state", "updated_at"])
        order_event_record(
            order=order,
            kind=_acknowledgement_event_kind(result),
            message=result.message,
            actor=actor,
            actor_label="intake",
        )
    return order


def orders_record_acknowledgements(*, results: list[AckResult]) -> None:
    """order_record_acknowledgement for many results, by intake.

    Accepted start-handlings are written with one UPDATE per resulting status and one INSERT of
    the timeline entries; the orders that have an invoice or a cancellation request get their state
    recomputed from those rows. Anything else goes one by one.
    """
    from integration.models import CancellationRequest, Invoice

    simple = {r.order_id: r for r in results if r.done and r.vtex_status}
    one_by_one = [r for r in results if r.order_id not in simple]
    if simple:
        now = timezone.now()
        with transaction.atomic():
            # Accepted results differ only by the status VTEX shows: one UPDATE per status.
            groups: dict[str, list[AckResult]] = {}
            for result in simple.values():
                groups.setdefault(result.vtex_status, []).append(result)
            for results_of_status in groups.values():
                fields = _acknowledgement_fields(results_of_status[0])
                # Without an invoice or a request the state follows from these fields alone (no query).
                Order.objects.filter(order_id__in=[r.order_id for r in results_of_status]).update(
                    **fields,
                    acknowledged_at=Coalesce(F("acknowledged_at"), Value(now)),
                    state=order_derive_state(Order(**fields)),
                    updated_at=now,
                )
            # Read after the UPDATE, which holds the orders' row locks: an invoice or a request
            # (whose services lock the order first) is either committed and seen here, or waits.
            rows = (
                Order.objects.filter(order_id__in=simple)
                .annotate(
                    has_invoice=Exists(Invoice.objects.filter(order=OuterRef("pk"))),
                    has_request=Exists(
                        CancellationRequest.objects.filter(
                            order=OuterRef("pk"), state__in=CancellationRequest.OPEN_STATES
                        )
                    ),
                )
                .values_list("order_id", "pk", "has_invoice", "has_request")
            )
            pks, busy = {}, []
            for order_id, pk, has_invoice, has_request in rows:
                pks[order_id] = pk
                if has_invoice or has_request:
                    busy.append(Order(pk=pk, **_acknowledgement_fields(simple[order_id])))
            if busy:
                orders_recompute_states(busy)
            one_by_one += [result for order_id, result in simple.items() if order_id not in pks]  # raises, as alone
            OrderEvent.objects.bulk_create(
                OrderEvent(
                    order_id=pks[order_id],
                    kind=_acknowledgement_event_kind(simple[order_id]),
                    message=simple[order_id].message,
                    actor_label="intake",
                )
                for order_id in simple
                if order_id in pks
            )
    for result in one_by_one:
        order_record_acknowledgement(result=result)


def order_acknowledge(*, client: VtexClient, order: Order, actor=None) -> AckResult:
    """Claim, send and record start-handling for one stored order (admin action, ERP ack)."""
    if order.ack_state == Order.AckState.DONE:
        return AckResult(
            order.order_id, done=True, vtex_status=order.vtex_status, message=gettext("Already acknowledged.")
        )
    if not order.is_complete:
        return AckResult(
            order.order_id,
            done=False,
            message=gettext("The order was never read in full; refresh it first."),
            reason="incomplete",
        )
    if not order_claim_acknowledgement(order_id=order.order_id):
        return AckResult(
            order.order_id,
            done=False,
            message=gettext("Another process is acknowledging this order now."),
            reason="busy",
        )
    result = vtex_send_start_handling(client=client, order_id=order.order_id)
    order_record_acknowledgement(result=result, actor=actor)
    return result


# ---- refresh and staff edits ------------------------------------------------------------------------


def order_refresh_from_vtex(*, client: VtexClient, order: Order, actor=None) -> StoreOutcome:
    """Read the order again from VTEX (as the intake does) and store it; the attempt is on the timeline.

    Raises VtexError or VtexDataError after recording the failure as an event.
    """
    from integration.services.intake import vtex_fetch_order

    try:
        fetched = vtex_fetch_order(client=client, order_id=order.order_id, fetch_payments=settings.VTEX_FETCH_PAYMENTS)
    except (VtexError, VtexDataError) as exc:
        order_event_record(
            order=order,
            kind=OrderEvent.Kind.REFRESH_FAILED,
            message=f"Refresh from VTEX failed: {error_message(exc)}",
            actor=actor,
        )
        raise
    outcome = order_store_from_vtex(data=fetched.data, raw=fetched.raw, payment_status=fetched.payment_status)
    if not outcome.changed:
        order_event_record(
            order=outcome.order,
            kind=OrderEvent.Kind.REFRESHED,
            message="Refreshed from VTEX: nothing had changed.",
            actor=actor,
        )
    elif actor is not None:
        order_event_record(
            order=outcome.order, kind=OrderEvent.Kind.REFRESHED, message="Refreshed from VTEX.", actor=actor
        )
    return outcome


def order_update_local_fields(*, order: Order, changes: dict[str, Any], actor) -> list[str]:
    """Apply staff corrections (shipping address, notes) and record who changed what."""
    unknown = set(changes) - set(STAFF_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"these fields cannot be edited: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        changed = {
            name: {"from": getattr(locked, name), "to": value}
            for name, value in changes.items()
            if getattr(locked, name) != value
        }
        if not changed:
            return []
        for name, diff in changed.items():
            setattr(locked, name, diff["to"])
        if set(changed) & set(SHIPPING_ADDRESS_FIELDS):
            locked.shipping_address_edited = True
        locked.save()
        labels = ", ".join(stored_text(Order._meta.get_field(name).verbose_name) for name in changed)
        order_event_record(
            order=locked, kind=OrderEvent.Kind.EDITED, message=f"Changed {labels}.", actor=actor, data=changed
        )
    return list(changed)
