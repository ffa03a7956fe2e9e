"""Real-shaped VTEX orders through storage and the invoicing rules (issue 15): mapping → order_sync →
invoice_plan / invoice_create, with the figures written down. The API's view of the same orders is
in tests/api/test_real_orders_api.py.

Each figure is VTEX's: the output invoices of an order add up to its `value` (after its changes) to
the cent, a removed unit is never invoiced, a replaced order takes no invoice.
"""

from __future__ import annotations

import copy

import pytest
import responses
from django.utils import timezone, translation

from integration.infra.vtex_client import vtex_client
from integration.models import Invoice, Order, OrderChange, OrderEvent, OutboxMessage
from integration.selectors.timeline import event_text
from integration.services.errors import NotAllowed, ValidationFailed
from integration.services.invoicing import InvoiceInput, invoice_create, invoice_plan, order_invoicing_blocker
from integration.services.order_sync import FetchedOrder, order_refresh_from_vtex, orders_store_from_vtex
from integration.vtex.mapping import order_data_from_vtex
from tests.factories import make_invoice
from tests.vtex import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("vtex_settings")]

OMS = "https://teststore.vtexcommercestable.com.br"


@pytest.fixture(autouse=True)
def _no_queue(no_task_queue):
    """Outbox rows are written; nothing is sent."""


def store(raw: dict) -> Order:
    (outcome,) = orders_store_from_vtex(fetched=[FetchedOrder(raw=raw, data=order_data_from_vtex(raw))])
    return Order.objects.get(pk=outcome.order.pk)


def plan(order: Order, quantities: dict[int, int]):
    return invoice_plan(order=order, kind=Invoice.Kind.OUTPUT, quantities_by_index=quantities)


def invoice(order: Order, quantities: dict[int, int], number: str) -> Invoice:
    return make_invoice(order, quantities=quantities, number=number)


def sent_items(invoice: Invoice) -> list[tuple[str, int, int]]:
    message = OutboxMessage.objects.get(invoice=invoice, kind=OutboxMessage.Kind.INVOICE)
    return [(line["id"], line["price"], line["quantity"]) for line in message.payload["items"]]


# ---- a changed order ---------------------------------------------------------------------------------


def test_a_changed_order_invoices_what_is_left_and_adds_up_to_its_value_after_the_change():
    # given: value 20250 after two changes (shoes removed, one sock of three removed)
    order = store(load_fixture("order_changed"))
    items = {item.sku_id: item for item in order.items.all()}
    assert [(i.quantity, i.quantity_after_changes, i.total_cents) for i in items.values()] == [
        (2, 2, 14_380),
        (1, 0, 22_490),
        (3, 2, 5_970),
    ]

    # when: the T-shirts first, then the socks left
    first = plan(order, {0: 2})
    shirts = invoice(order, {0: 2}, "NF-1")
    last = plan(order, {2: 2})
    socks = invoice(order, {2: 2}, "NF-2")

    # then: 14380, then the rest of 20250: 2 socks (3980) + shipping 1890
    assert (first.value_cents, first.completes_order) == (14_380, False)
    assert (last.value_cents, last.completes_order) == (5_870, True)
    assert [shirts.value_cents, socks.value_cents] == [14_380, 5_870]
    assert shirts.value_cents + socks.value_cents == order.total_cents == 20_250
    assert sent_items(socks) == [("512", 1_990, 2)]
    order.refresh_from_db()
    assert order.state == Order.State.INVOICED  # the removed shoes are not waited for


def test_a_removed_item_is_never_invoiced_and_the_message_names_it():
    order = store(load_fixture("order_changed"))
    data = InvoiceInput(number="NF-9", issued_at=timezone.now(), lines=[(0, 2), (1, 1), (2, 3)])

    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data)

    assert error.value.fields == {
        "items[1]": [
            "“Tênis de Corrida Leve 42” was removed from the order at VTEX (the order was changed); "
            "it cannot be invoiced."
        ],
        "items[2]": [
            "1 of “Meia Esportiva Cano Curto Branca” were removed from the order at VTEX; only 2 are left to invoice."
        ],
    }
    assert not order.invoices.exists()


def test_a_changed_order_shows_its_changes_on_the_timeline():
    order = store(load_fixture("order_changed"))

    changes = list(order.changes.filter(kind=OrderChange.Kind.CHANGE))
    assert [(c.position, c.value_cents, c.reason) for c in changes] == [
        (0, -22_490, "Tênis sem estoque no centro de distribuição"),
        (1, -1_990, "Cliente pediu uma meia a menos"),
    ]
    events = list(order.events.filter(kind=OrderEvent.Kind.CHANGED).order_by("id"))
    assert len(events) == 2
    # Stored in English (the event list's search), in the store's time zone
    assert events[0].message == (
        "Changed at VTEX (05/15/2024 9:10 a.m.): removed 1 × Tênis de Corrida Leve 42 (SKU 3310); "
        "value -R$224.90. Reason: Tênis sem estoque no centro de distribuição. "
        "The order's value after the change is R$202.50."
    )
    # and shown in the reader's language (issue 19), VTEX's words (items, reason) as they came
    with translation.override("pt-br"):
        assert event_text(events[0]) == (
            "Alterado na VTEX (15/05/2024 09:10): removido(s) 1 × Tênis de Corrida Leve 42 (SKU 3310); "
            "valor -R$\xa0224,90. Motivo: Tênis sem estoque no centro de distribuição. "
            "O valor do pedido após a alteração é R$\xa0202,50."
        )


def test_a_change_made_after_intake_is_stored_with_an_event_when_the_order_is_read_again():
    # given: the order as imported, before any change (the same order, unchanged at VTEX)
    changed_doc = load_fixture("order_changed")
    before = copy.deepcopy(changed_doc)
    before["changesAttachment"] = None
    before["totals"] = [total for total in before["totals"] if total["id"] != "Change"]
    before["value"] = 44_730
    order = store(before)
    assert [i.quantity_after_changes for i in order.items.all()] == [2, 1, 3]
    assert order.total_cents == 44_730

    # when: VTEX answers the changed document to the next read (the refresh; feed, hook and
    # reconciliation store through the same path)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{OMS}/api/oms/pvt/orders/{order.order_id}", json=changed_doc)
        outcome = order_refresh_from_vtex(client=vtex_client(), order=order)

    # then
    assert outcome.changed
    order.refresh_from_db()
    assert order.total_cents == 20_250
    assert [i.quantity_after_changes for i in order.items.all()] == [2, 0, 2]
    assert order.changes.filter(kind=OrderChange.Kind.CHANGE).count() == 2
    assert order.events.filter(kind=OrderEvent.Kind.CHANGED).count() == 2
    assert order.events.filter(kind=OrderEvent.Kind.UPDATED).count() == 1

    # and the same document again records nothing new
    store(changed_doc)
    assert order.events.filter(kind=OrderEvent.Kind.CHANGED).count() == 2


def test_an_invoice_entered_before_a_change_leaves_the_rest_to_the_completing_invoice():
    # given: the T-shirts invoiced before the change (VTEX's case c: partial invoice, then change)
    changed_doc = load_fixture("order_changed")
    before = copy.deepcopy(changed_doc)
    before["changesAttachment"] = None
    before["totals"] = [total for total in before["totals"] if total["id"] != "Change"]
    before["value"] = 44_730
    order = store(before)
    invoice(order, {0: 2}, "NF-1")

    # when: the change arrives, then the rest is invoiced
    order = store(changed_doc)
    rest = plan(order, {2: 2})

    # then
    assert (rest.value_cents, rest.completes_order) == (20_250 - 14_380, True)


# ---- gifts, kits, weights, price tags ---------------------------------------------------------------


def test_a_gift_goes_on_the_invoice_at_zero_and_cannot_be_invoiced_alone():
    order = store(load_fixture("order_gift"))

    alone = InvoiceInput(number="NF-G", issued_at=timezone.now(), lines=[(1, 1)])
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=alone)
    assert error.value.fields == {"value": ["The invoice value must be above zero."]}

    everything = invoice(order, {0: 2, 1: 1}, "NF-1")
    assert everything.value_cents == 16_270 == order.total_cents
    assert sent_items(everything) == [("2041", 7_190, 2), ("9001", 0, 1)]


def test_a_warranty_is_invoiced_with_its_kit_or_after_it():
    order = store(load_fixture("order_kit"))

    warranty_first = InvoiceInput(number="NF-W", issued_at=timezone.now(), lines=[(1, 1)])
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=warranty_first)
    assert error.value.fields == {
        "items[1]": [
            "“Garantia estendida 12 meses” belongs to “Kit Churrasco Inox”: invoice it with that item or after it."
        ]
    }

    kit = invoice(order, {0: 1}, "NF-1")
    warranty = invoice(order, {1: 1}, "NF-2")
    assert [kit.value_cents, warranty.value_cents] == [19_990, 4_490]  # 2990 + shipping 1500
    assert kit.value_cents + warranty.value_cents == order.total_cents == 24_480


def test_an_item_sold_by_weight_is_invoiced_at_vtex_value_of_its_packs():
    # given: 3 packs of 0.35 kg of cheese worth 5219 (VTEX's total), 2 loaves at 850
    order = store(load_fixture("order_weight"))

    # when: one pack, then the rest
    one_pack = invoice(order, {0: 1}, "NF-1")
    rest = invoice(order, {0: 2, 1: 2}, "NF-2")

    # then: a third of 5219 is 1739.67 → 1740, sent as one pack at 1740 (not 4970 a kilogram)
    assert one_pack.value_cents == 1_740
    assert sent_items(one_pack) == [("6100", 1_740, 1)]
    assert rest.value_cents == 7_909 - 1_740
    assert one_pack.value_cents + rest.value_cents == order.total_cents


def test_price_tags_and_price_definition_make_the_item_values_and_the_rest_goes_last():
    # given: socks worth 2900 (3 × 1000 − 100), shoes 22490, shipping 1890 − 890 (discount@shipping)
    order = store(load_fixture("order_price_tags"))

    two_socks = plan(order, {0: 2})
    all_socks = plan(order, {0: 3})
    everything = plan(order, {0: 3, 1: 1})

    assert two_socks.value_cents == 1_933  # 2900 × 2/3 = 1933.33
    assert all_socks.value_cents == 2_900  # not 3 × 967 = 2901
    assert (everything.value_cents, everything.completes_order) == (26_390, True)
    assert everything.value_cents - 2_900 - 22_490 == 1_000  # the shipping after its discount


# ---- replaced orders ------------------------------------------------------------------------------------


def test_a_replaced_order_and_the_order_replacing_it_are_linked_both_ways_through_their_group():
    # given: the original, replaced, then the new order of its group placed two days later
    old = store(load_fixture("order_replaced"))
    assert old.state == Order.State.REPLACED
    assert order_invoicing_blocker(old) == "VTEX replaced this order with another one; it cannot be invoiced."

    # when
    new = store(load_fixture("order_replacing"))

    # then
    assert list(old.changes.values_list("kind", "other_order_id")) == [("replaced_by", "1438270519856-02")]
    assert list(new.changes.values_list("kind", "other_order_id")) == [("replaces", "1438270519856-01")]
    assert order_invoicing_blocker(old) == (
        "VTEX replaced this order with order 1438270519856-02; invoice that order instead."
    )
    with pytest.raises(NotAllowed):
        invoice_create(order=old, data=InvoiceInput(number="NF-1", issued_at=timezone.now(), lines=[(0, 1)]))
    assert [e.message for e in old.events.filter(kind=OrderEvent.Kind.REPLACED)] == [
        "Replaced at VTEX by order 1438270519856-02."
    ]
    # the new order arrives like any other: received, invoiced once VTEX shows it in handling
    assert new.state == Order.State.RECEIVED
    handling = load_fixture("order_replacing")
    handling["status"] = "handling"
    new = store(handling)
    assert invoice(new, {0: 2, 1: 3}, "NF-1").value_cents == 22_240


def test_an_order_of_the_same_purchase_placed_with_it_is_not_taken_for_its_replacement():
    # A group split between sellers: -02 was placed with -01 (same minute); -01 then replaced.
    sibling = load_fixture("order_replacing")
    sibling["creationDate"] = load_fixture("order_replaced")["creationDate"]
    store(sibling)

    old = store(load_fixture("order_replaced"))

    assert not old.changes.exists()
    assert order_invoicing_blocker(old) == "VTEX replaced this order with another one; it cannot be invoiced."


def test_a_link_the_document_names_wins_and_is_completed_when_the_new_order_arrives():
    raw = load_fixture("order_replaced")
    raw["replacedBy"] = "1438270519856-07"
    old = store(raw)
    assert list(old.changes.values_list("kind", "other_order_id")) == [("replaced_by", "1438270519856-07")]

    new_doc = load_fixture("order_replacing")
    new_doc["orderId"] = "1438270519856-07"
    new = store(new_doc)

    assert list(new.changes.values_list("kind", "other_order_id")) == [("replaces", "1438270519856-01")]


def test_when_vtex_replaces_an_order_what_waited_to_be_sent_for_it_is_stopped():
    # given: an order in handling with an invoice waiting to be sent
    doc = load_fixture("order_replaced")
    doc["status"] = "handling"
    order = store(doc)
    pending = invoice(order, {0: 2}, "NF-1")

    # when
    store(load_fixture("order_replaced"))

    # then
    message = OutboxMessage.objects.get(invoice=pending)
    assert message.state == OutboxMessage.State.STOPPED
    assert "replaced at VTEX" in message.last_error
    order.refresh_from_db()
    assert order.state == Order.State.REPLACED
