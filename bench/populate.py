"""A database of N realistic orders, inserted fast in batches, for the admin scenario.

The orders look like a store's year: sandbox-generated orders (real names, addresses, items,
payments) spread over 365 days, most invoiced with tracking, some canceled, a few still ready;
each with its items, payments, two timeline events, two VTEX call records and, when invoiced,
its invoice. The newest (more than the list's first page) carry a full VTEX JSON as every
stored order does; the older ones a stub, to keep the database small and the insert quick.
Rows go in with executemany (SQLite) or COPY (PostgreSQL): bulk_create prepares every field of
every row in Python, which would take minutes at 100k orders.

One order, the page's order, is stored through the services as intake and the ERP would: its
full VTEX JSON, items, payments, acknowledgement, call records and a partial invoice. It is the
newest, so it is on the list's first page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from django.core.management.color import no_style
from django.db import connection, connections, models, transaction
from django.utils import timezone

from integration.models import Invoice, Order, OrderEvent, OrderItem, OutboxMessage, Payment, SendState, VtexCall
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.order_state import order_recompute_state
from integration.services.order_sync import FetchedOrder, orders_store_from_vtex
from integration.services.outbox import outbox_enqueue_start_handling
from integration.vtex.mapping import OrderData, order_data_from_vtex
from vtex_sandbox.generator import OrderGenerator

BATCH = 5000
TEMPLATES = 64
#: Orders (the newest) stored with a full VTEX JSON (~15 KB); more than the list's first page.
FULL_RAW_NEWEST = 120

# An order's life by its age, as in a store: (younger than, VTEX status, local state, invoiced,
# tracked, delivered). Older orders: mostly delivered, some canceled, a few still in transit.
RECENT = (
    (timedelta(hours=1), "ready-for-handling", Order.State.RECEIVED, False, False, False),
    (timedelta(days=1), "handling", Order.State.HANDLING, False, False, False),
    (timedelta(days=3), "invoiced", Order.State.INVOICED, True, False, False),
    (timedelta(days=10), "invoiced", Order.State.SHIPPED, True, True, False),
)
OLDER = 18 * [("invoiced", Order.State.DELIVERED, True, True, True)] + [
    ("canceled", Order.State.CANCELED, False, False, False),
    ("invoiced", Order.State.SHIPPED, True, True, False),
]


def _life(i: int, age: timedelta) -> tuple[str, str, bool, bool, bool]:
    for younger_than, *life in RECENT:
        if age < younger_than:
            return tuple(life)
    return OLDER[(i * 7) % len(OLDER)]


class _Inserter:
    """executemany of fully prepared rows: Django's bulk_create prepares every field of every row
    in Python (about 3 ms an order with its rows on a slow core: 5 minutes for 100k orders)."""

    def __init__(self, model) -> None:
        self.fields = list(model._meta.concrete_fields)
        self.defaults = {f.attname: f.get_default() for f in self.fields}
        quote = connection.ops.quote_name
        self.target = f"{quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in self.fields)})"
        self.adapters = [self._adapter(f) for f in self.fields]
        self.rows: list[tuple] = []

    @staticmethod
    def _adapter(field):
        db = connections["default"]  # the real connection, not the per-call proxy
        if isinstance(field, models.DateTimeField):
            adapt = db.ops.adapt_datetimefield_value
            return lambda value: None if value is None else adapt(value)
        if isinstance(field, models.JSONField):
            return lambda value: field.get_db_prep_value(value, db)
        return None

    def add(self, **values) -> None:
        row = self.defaults | values
        self.rows.append(
            tuple(
                row[f.attname] if adapt is None else adapt(row[f.attname])
                for f, adapt in zip(self.fields, self.adapters, strict=True)
            )
        )

    def flush(self) -> None:
        if not self.rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # COPY: several times faster than executemany
                with cursor.cursor.copy(f"COPY {self.target} FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(f"INSERT INTO {self.target} VALUES ({marks})", self.rows)
        self.rows = []


def _templates(now: datetime) -> list[tuple[dict, OrderData]]:
    generator = OrderGenerator(seed=11, account="sandbox")
    docs = [
        generator.new_order(sequence=i, created=now - timedelta(days=1), status="handling", last_change=now)
        for i in range(TEMPLATES)
    ]
    return [(doc, order_data_from_vtex(doc)) for doc in docs]


def _bulk_orders(count: int, now: datetime, days: int = 365) -> None:
    templates = _templates(now)
    span = timedelta(days=days).total_seconds()
    tables = {m: _Inserter(m) for m in (Order, OrderItem, Payment, OrderEvent, VtexCall, Invoice)}
    ids = dict.fromkeys(tables, 0)

    def add(model, **values) -> int:
        ids[model] += 1
        tables[model].add(id=ids[model], **values)
        return ids[model]

    for start in range(0, count, BATCH):
        for i in range(start, min(start + BATCH, count)):
            doc, data = templates[i % TEMPLATES]
            age = timedelta(seconds=span * (count - i) / count + 600)
            created = now - age
            status, state, invoiced, tracked, delivered = _life(i, age)
            synced = min(created + timedelta(days=2), now)
            acked = min(created + timedelta(minutes=5), now)
            order_id = f"{1_200_000_000_000 + i}-01"
            ready = status == "ready-for-handling"
            fields = dict(data.fields)
            fields.update(
                sequence=str(2_000_000 + i),
                order_group=order_id[:-3],
                vtex_status=status,
                created_at_vtex=created,
                authorized_at=created + timedelta(minutes=3),
                last_change_at_vtex=synced,
                invoiced_at_vtex=min(created + timedelta(hours=20), now) if invoiced else None,
            )
            pk = add(
                Order,
                order_id=order_id,
                **fields,
                state=state,
                # The list shows the newest: those carry a full VTEX JSON, as every stored order does.
                raw=dict(doc, orderId=order_id, status=status)
                if i >= count - FULL_RAW_NEWEST
                else {"orderId": order_id, "status": status},
                raw_hash=data.raw_hash,
                imported_at=acked,
                updated_at=synced,
                last_synced_at=synced,
            )
            for row in data.items:
                add(OrderItem, order_id=pk, **row)
            for row in data.payments:
                add(Payment, order_id=pk, **row)
            path = f"/api/oms/pvt/orders/{order_id}"
            add(
                OrderEvent,
                order_id=pk,
                kind=OrderEvent.Kind.IMPORTED,
                actor_label="intake",
                created_at=acked,
                message="Imported from VTEX in status ready-for-handling.",
            )
            add(
                VtexCall,
                operation="get_order",
                order_id=order_id,
                method="GET",
                path=path,
                status_code=200,
                duration_ms=85,
                response_excerpt=f'{{"orderId": "{order_id}", "status": "ready-for-handling"}}',
                created_at=acked,
            )
            if not ready:
                add(
                    OrderEvent,
                    order_id=pk,
                    kind=OrderEvent.Kind.ACKNOWLEDGED,
                    actor_label="intake",
                    created_at=acked,
                    message="VTEX accepted start-handling.",
                )
                add(
                    VtexCall,
                    operation="start_handling",
                    order_id=order_id,
                    method="POST",
                    path=path + "/start-handling",
                    status_code=204,
                    duration_ms=120,
                    created_at=acked,
                )
            if invoiced:
                issued = fields["invoiced_at_vtex"]
                add(
                    Invoice,
                    order_id=pk,
                    number=f"NF{fields['sequence']}",
                    kind=Invoice.Kind.OUTPUT,
                    issued_at=issued,
                    access_key=f"{35240512345678000190550010000000000000000000 + pk:044d}"[-44:],
                    value_cents=fields["total_cents"],
                    courier="Correios" if tracked else "",
                    tracking_number=f"BR{pk:09d}BR" if tracked else "",
                    dispatched_at=issued if tracked else None,
                    delivered_at=issued + timedelta(days=3) if delivered else None,
                    send_state=SendState.SENT,
                    vtex_receipt=f"rcpt-{pk}",
                    created_via="erp",
                    created_at=issued,
                )
        with transaction.atomic():
            for inserter in tables.values():
                inserter.flush()
    # Explicit ids: move PostgreSQL's sequences past them (SQLite's AUTOINCREMENT follows by itself).
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(tables)):
            cursor.execute(sql)


def _page_order(now: datetime) -> Order:
    """One order as the services store it, with everything its page shows."""
    generator = OrderGenerator(seed=5, account="sandbox")
    doc = None
    for sequence in range(100):  # the first with several items, so a partial invoice is possible
        doc = generator.new_order(
            sequence=9_000_000 + sequence,
            created=now - timedelta(minutes=50),
            status="ready-for-handling",
            last_change=now - timedelta(minutes=15),
        )
        if len(doc["items"]) >= 3:
            break
    assert doc is not None
    (stored,) = orders_store_from_vtex(fetched=[FetchedOrder(raw=doc, data=order_data_from_vtex(doc))])
    order = stored.order
    order_id = order.order_id
    base = now - timedelta(minutes=10)
    VtexCall.objects.bulk_create(
        [
            VtexCall(
                operation="list_orders",
                method="GET",
                path="/api/oms/pvt/orders?f_status=ready-for-handling",
                status_code=200,
                duration_ms=140,
                created_at=base,
            ),
            VtexCall(
                operation="get_order",
                order_id=order_id,
                method="GET",
                path=f"/api/oms/pvt/orders/{order_id}",
                status_code=200,
                duration_ms=92,
                response_excerpt=json.dumps(doc)[:2000],
                created_at=base,
            ),
            VtexCall(
                operation="start_handling",
                order_id=order_id,
                method="POST",
                path=f"/api/oms/pvt/orders/{order_id}/start-handling",
                status_code=204,
                duration_ms=133,
                created_at=base + timedelta(seconds=1),
            ),
        ]
    )
    # Start-handling as the outbox records VTEX's acceptance.
    (start_handling,) = outbox_enqueue_start_handling(orders=[order])
    OutboxMessage.objects.filter(pk=start_handling.pk).update(
        state=OutboxMessage.State.SENT, attempts=1, sent_at=base + timedelta(seconds=1)
    )
    Order.objects.filter(pk=order.pk).update(vtex_status="handling")
    order.refresh_from_db()
    order_recompute_state(order)
    first = order.items.order_by("item_index").first()
    invoice_create(
        order=order,
        data=InvoiceInput(
            number=f"NF{order.sequence}-1",
            issued_at=now - timedelta(minutes=5),
            lines=[(first.item_index, first.quantity)],
            # Series 1, number the sequence: the key writes what "NF<seq>-1" says.
            access_key=f"3524051234567800019055001{int(order.sequence):09d}1{order.pk:08d}0",
            courier="Correios",
            tracking_number="BR123456789BR",
        ),
        via="erp",
    )
    return order


def populate_orders(count: int, *, now: datetime | None = None, days: int = 365) -> Order:
    """`count` orders in all (the page's order included), placed over the last `days` days;
    returns the page's order."""
    now = now or timezone.now().astimezone(UTC)
    _bulk_orders(count - 1, now, days)
    return _page_order(now)


def populate_history() -> None:
    """What a store's database also holds after a year, for the dashboard (bench "dashboard"): the
    outbox row of every VTEX write (start-handling of each acknowledged order, each invoice and
    each tracking number, all sent) and the timeline's VTEX status changes (handling, invoiced,
    canceled). Written with INSERT … SELECT from the orders and invoices populate_orders() stored;
    the page's order, stored through the services, has its own rows already."""
    quote = connection.ops.quote_name
    outbox, event = OutboxMessage._meta.db_table, OrderEvent._meta.db_table
    orders, invoices = Order._meta.db_table, Invoice._meta.db_table
    empty_json = "'{}'"
    dispatched = "COALESCE(dispatched_at, created_at)"  # the page's order's invoice has no dispatch time
    outbox_columns = (
        "kind, order_id, invoice_id, payload, state, attempts, next_attempt_at, outcome_unknown, last_error_code, "
        "last_error, last_request, gave_up, vtex_receipt, sent_at, created_at, claim_token"
    )
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute(
            f"INSERT INTO {quote(outbox)} ({outbox_columns}) "
            f"SELECT 'start_handling', id, NULL, {empty_json}, 'sent', 1, imported_at, FALSE, '', '', '', FALSE, "
            f"'', imported_at, imported_at, '' FROM {quote(orders)} WHERE vtex_status <> 'ready-for-handling' "
            f"AND id NOT IN (SELECT order_id FROM {quote(outbox)} WHERE kind = 'start_handling')"
        )
        cursor.execute(
            f"INSERT INTO {quote(outbox)} ({outbox_columns}) "
            f"SELECT 'invoice', order_id, id, {empty_json}, 'sent', 1, created_at, FALSE, '', '', '', FALSE, "
            f"vtex_receipt, created_at, created_at, '' FROM {quote(invoices)} "
            f"WHERE id NOT IN (SELECT invoice_id FROM {quote(outbox)} WHERE invoice_id IS NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {quote(outbox)} ({outbox_columns}) "
            f"SELECT 'tracking', order_id, id, {empty_json}, 'sent', 1, {dispatched}, FALSE, '', '', '', FALSE, "
            f"'', {dispatched}, {dispatched}, '' FROM {quote(invoices)} WHERE tracking_number <> '' "
            f"AND id NOT IN (SELECT invoice_id FROM {quote(outbox)} WHERE invoice_id IS NOT NULL)"
        )
        event_columns = "order_id, kind, message, data, actor_label, created_at"
        for old, new, when in (
            ("ready-for-handling", "handling", "imported_at"),
            ("handling", "invoiced", "invoiced_at_vtex"),
            ("handling", "canceled", "last_change_at_vtex"),
        ):
            data = json.dumps({"from": old, "to": new})
            cursor.execute(
                f"INSERT INTO {quote(event)} ({event_columns}) "
                f"SELECT id, 'status_changed', %s, %s, 'system', {when} FROM {quote(orders)} "
                f"WHERE {'vtex_status <> %s' if new == 'handling' else 'vtex_status = %s'} AND {when} IS NOT NULL",
                [f"VTEX status changed from {old} to {new}.", data, "ready-for-handling" if new == "handling" else new],
            )
