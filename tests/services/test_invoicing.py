"""Invoice rules (issue 3 §2): quantities, values to the cent, numbers, dates, order state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from integration.models import CancellationRequest, Invoice, Order, OrderEvent, OutboxMessage
from integration.services.errors import NotAllowed, ValidationFailed
from integration.services.invoicing import (
    InvoiceInput,
    invoice_create,
    invoice_kinds_open,
    invoice_plan,
    invoices_with_number_elsewhere,
    order_item_quantities,
)
from tests.factories import access_key_for, make_item, make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_task_queue")]


def sends():
    """The rows of invoices, tracking and cancellations (not the orders' start-handlings)."""
    return OutboxMessage.objects.exclude(kind=OutboxMessage.Kind.START_HANDLING)


@pytest.fixture
def order() -> Order:
    """Acknowledged; 3 items with a discount and odd cents; shipping carried by the last invoice.

    items: 2 × 900 (list 1000) + 1 × 3333 + 3 × 333 = 6132; shipping 1500; total 7632.
    """
    order = make_order(
        vtex_status="handling",
        start_handling="done",
        state=Order.State.HANDLING,
        total_cents=7632,
        items_total_cents=6332,
        discounts_total_cents=-200,
        shipping_total_cents=1500,
    )
    make_item(order, sku_id="A", name="Caneca", quantity=2, unit_price_cents=1000, selling_price_cents=900)
    make_item(order, sku_id="B", name="Chaleira", quantity=1, unit_price_cents=3333, selling_price_cents=3333)
    make_item(order, sku_id="C", name="Colher", quantity=3, unit_price_cents=333, selling_price_cents=333)
    return order


def data(number="NF-1", lines=((0, 2), (1, 1)), **fields) -> InvoiceInput:
    return InvoiceInput(number=number, issued_at=fields.pop("issued_at", timezone.now()), lines=list(lines), **fields)


def test_partial_invoice_of_two_items_takes_their_selling_prices_and_leaves_the_rest(order):
    invoice = invoice_create(order=order, data=data(lines=[(0, 2), (1, 1)]))

    assert invoice.value_cents == 2 * 900 + 3333
    assert sorted(invoice.items.values_list("order_item__item_index", "quantity", "unit_price_cents")) == [
        (0, 2, 900),
        (1, 1, 3333),
    ]
    remaining = {index: q.remaining for index, q in order_item_quantities(order).items()}
    assert remaining == {0: 0, 1: 0, 2: 3}
    order.refresh_from_db()
    assert order.state == Order.State.PARTIALLY_INVOICED
    message = OutboxMessage.objects.get(invoice=invoice)
    assert message.kind == OutboxMessage.Kind.INVOICE and message.state == OutboxMessage.State.PENDING
    assert message.payload["invoiceValue"] == "5133"
    assert message.payload["items"] == [
        {"id": "A", "price": 900, "quantity": 2, "description": "Caneca"},
        {"id": "B", "price": 3333, "quantity": 1, "description": "Chaleira"},
    ]
    assert order.events.filter(kind=OrderEvent.Kind.INVOICE_ADDED).count() == 1


def test_the_invoice_completing_the_order_carries_the_remainder_to_the_cent(order):
    first = invoice_create(order=order, data=data(number="NF-1", lines=[(0, 2), (1, 1)]))
    last = invoice_create(order=order, data=data(number="NF-2", lines=[(2, 3)]))

    assert last.value_cents == 7632 - first.value_cents  # 3 × 333 + shipping 1500
    assert first.value_cents + last.value_cents == order.total_cents
    order.refresh_from_db()
    assert order.state == Order.State.INVOICED


def test_odd_cents_split_over_three_invoices_still_add_up(order):
    values = [
        invoice_create(order=order, data=data(number="NF-1", lines=[(2, 1)])).value_cents,
        invoice_create(order=order, data=data(number="NF-2", lines=[(2, 1), (0, 1)])).value_cents,
        invoice_create(order=order, data=data(number="NF-3", lines=[(2, 1), (0, 1), (1, 1)])).value_cents,
    ]
    assert values[:2] == [333, 333 + 900]
    assert sum(values) == 7632


def test_every_line_error_is_reported_at_once_and_nothing_is_created(order):
    with pytest.raises(ValidationFailed) as error:
        invoice_create(
            order=order,
            data=data(
                number="NF/7",
                lines=[(0, 3), (1, 0), (9, 1), (2, -1)],
                access_key="123",
                issued_at=timezone.now() + timedelta(days=1),
            ),
        )

    fields = error.value.fields
    assert set(fields) == {"number", "access_key", "issued_at", "items[0]", "items[1]", "items[9]", "items[2]"}
    assert "Only 2" in fields["items[0]"][0]
    assert "'/'" in fields["number"][0]
    assert "44 digits" in fields["access_key"][0]
    assert "future" in fields["issued_at"][0]
    assert not Invoice.objects.exists() and not sends().exists()


def test_quantity_above_what_earlier_invoices_left_is_refused(order):
    invoice_create(order=order, data=data(number="NF-1", lines=[(0, 1)]))
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data(number="NF-2", lines=[(0, 2)]))
    assert error.value.fields == {"items[0]": ["Only 1 of “Caneca” is left to invoice."]}


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * 51, "at most 50"),
        ("12/34", "'/'"),
        (".", "only dots"),
        ("..", "only dots"),
    ],
)
def test_invoice_number_rules(order, number, problem):
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data(number=number))
    assert problem in error.value.fields["number"][0]


def test_an_invoice_number_is_unique_per_order(order):
    invoice_create(order=order, data=data(number="NF-1", lines=[(0, 1)]))
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data(number="NF-1", lines=[(1, 1)]))
    assert "already has an invoice" in error.value.fields["number"][0]
    assert Invoice.objects.count() == 1


def test_a_valid_44_digit_access_key_and_urls_are_kept(order):
    key = access_key_for(1)  # NF-1, series 1
    invoice = invoice_create(order=order, data=data(access_key=key, url="https://nfe.example.com/1", tracking_url=""))
    assert invoice.access_key == key
    assert OutboxMessage.objects.get(invoice=invoice).payload["invoiceKey"] == key


# ---- the access key: one NF-e, one invoice; the number and series written inside it (issue 19) ----------


@pytest.mark.parametrize("number", ["2002", "000002002", "NF-2002", "1-2002", "2002-1", "001-000002002"])
def test_the_number_and_series_may_be_written_as_staff_write_them_when_the_key_agrees(order, number):
    invoice = invoice_create(order=order, data=data(number=number, access_key=access_key_for(2002, series=1)))
    assert invoice.number == number


@pytest.mark.parametrize(
    ("number", "series", "field", "words"),
    [
        ("2003", "", "number", "not the number inside the access key (2002)"),
        ("2-2002", "", "number", "(number 2002, series 1)"),
        ("NF", "", "number", "as the access key does (2002)"),
        ("2002", "3", "series", "not the series inside the access key (1)"),
        ("2002", "x", "series", "not the series inside the access key (1)"),
    ],
)
def test_a_number_or_series_other_than_the_keys_is_refused_naming_the_field(order, number, series, field, words):
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data(number=number, series=series, access_key=access_key_for(2002)))
    assert words in " ".join(error.value.fields[field])
    assert not order.invoices.exists()


def test_a_series_without_a_key_is_refused_it_has_nothing_to_be_checked_against(order):
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data(number="2002", series="1"))
    assert "enter the key too" in error.value.fields["series"][0]


def test_the_same_access_key_is_refused_on_another_order_and_on_the_same_one(order):
    key = access_key_for(2002)
    other = make_order(vtex_status="handling", start_handling="done", state=Order.State.HANDLING, total_cents=900)
    make_item(other, sku_id="Z", name="Pires", quantity=1, unit_price_cents=900, selling_price_cents=900)
    first = invoice_create(order=other, data=data(number="2002", lines=[(0, 1)], access_key=key))

    for number in ("2002", "1-2002"):
        with pytest.raises(ValidationFailed) as error:
            invoice_create(order=order, data=data(number=number, access_key=key))
        assert error.value.fields["access_key"] == [
            f"This access key is already on invoice 2002 of order {other.order_id}: one NF-e, one invoice."
        ]
    assert list(Invoice.objects.filter(access_key=key)) == [first]


def test_the_same_number_on_another_order_is_allowed_and_listed_for_a_warning(order):
    other = make_order(vtex_status="handling", start_handling="done", state=Order.State.HANDLING, total_cents=900)
    make_item(other, sku_id="Z", name="Pires", quantity=1, unit_price_cents=900, selling_price_cents=900)
    assert invoices_with_number_elsewhere(order=order, number="2002") == []
    elsewhere = invoice_create(order=other, data=data(number="2002", lines=[(0, 1)]))

    assert invoices_with_number_elsewhere(order=order, number=" 2002 ") == [elsewhere]
    assert invoices_with_number_elsewhere(order=other, number="2002") == []  # its own order: not "elsewhere"
    invoice_create(order=order, data=data(number="2002"))  # a warning, never a refusal


def test_bad_urls_are_refused(order):
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data(url="nfe.example.com", tracking_url="ftp://x"))
    assert set(error.value.fields) == {"url", "tracking_url"}


def test_value_override_within_bounds_is_kept_and_the_last_invoice_still_completes_the_total(order):
    first = invoice_create(order=order, data=data(number="NF-1", lines=[(0, 2)], value_cents=1700))
    last = invoice_create(order=order, data=data(number="NF-2", lines=[(1, 1), (2, 3)]))
    assert first.value_cents == 1700
    assert first.value_cents + last.value_cents == 7632


@pytest.mark.parametrize(
    ("lines", "value", "expected"),
    [
        ([(0, 2)], 0, "above zero"),
        ([(0, 2)], -5, "above zero"),
        ([(0, 2)], 7632, "must be below"),
        ([(0, 2), (1, 1), (2, 3)], 7000, "remaining 7632 cents"),
    ],
)
def test_values_that_would_break_the_order_total_are_refused(order, lines, value, expected):
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data(lines=lines, value_cents=value))
    assert expected in error.value.fields["value"][0]
    assert not Invoice.objects.exists()


def test_the_plan_shows_the_running_total_before_saving(order):
    invoice_create(order=order, data=data(number="NF-1", lines=[(0, 2)]))
    plan = invoice_plan(order=order, kind="output", quantities_by_index={1: 1, 2: 3})
    assert plan.completes_order
    assert (plan.invoiced_before_cents, plan.value_cents, plan.invoiced_after_cents) == (1800, 5832, 7632)
    assert plan.remaining_after_cents == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vtex_status": "canceled"}, "canceled"),
        ({"vtex_status": "ready-for-handling"}, "start-handling"),
        ({"is_complete": False}, "never read in full"),
    ],
)
def test_no_invoice_on_an_order_that_cannot_take_one(order, changes, message):
    Order.objects.filter(pk=order.pk).update(**changes)
    order.refresh_from_db()
    with pytest.raises(NotAllowed, match=message):
        invoice_create(order=order, data=data())
    assert not Invoice.objects.exists()


def test_no_invoice_while_a_cancellation_is_requested(order):
    CancellationRequest.objects.create(order=order, reason="customer asked")
    with pytest.raises(NotAllowed, match="cancellation"):
        invoice_create(order=order, data=data())


def test_a_return_needs_the_order_fully_invoiced_then_is_limited_to_what_was_invoiced(order):
    invoice_create(order=order, data=data(number="NF-1", lines=[(0, 2)]))
    with pytest.raises(NotAllowed, match="fully invoiced"):
        invoice_create(order=order, data=data(number="DEV-1", kind="input", lines=[(0, 1)]))

    invoice_create(order=order, data=data(number="NF-2", lines=[(1, 1), (2, 3)]))
    returned = invoice_create(order=order, data=data(number="DEV-1", kind="input", lines=[(0, 1)]))

    assert returned.value_cents == 900
    assert OutboxMessage.objects.get(invoice=returned).payload["type"] == "Input"
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data(number="DEV-2", kind="input", lines=[(0, 2)]))
    assert "Only 1" in error.value.fields["items[0]"][0]


def test_invoice_kinds_open_follow_the_quantities_a_sale_then_a_return_then_nothing(order):
    assert invoice_kinds_open(order) == (Invoice.Kind.OUTPUT,)
    invoice_create(order=order, data=data(number="NF-1", lines=[(0, 2)]))
    assert invoice_kinds_open(order) == (Invoice.Kind.OUTPUT,)  # no return before the order is fully invoiced

    invoice_create(order=order, data=data(number="NF-2", lines=[(1, 1), (2, 3)]))
    assert invoice_kinds_open(order) == (Invoice.Kind.INPUT,)

    invoice_create(order=order, data=data(number="DEV-1", kind="input", lines=[(0, 2), (1, 1), (2, 3)]))
    assert invoice_kinds_open(order) == ()
    with pytest.raises(NotAllowed, match="nothing left to return"):
        invoice_create(order=order, data=data(number="DEV-2", kind="input", lines=[(0, 1)]))


def test_invoice_kinds_open_is_empty_while_the_order_takes_no_invoice(order):
    CancellationRequest.objects.create(order=order, reason="customer asked")

    assert invoice_kinds_open(order) == ()


def test_a_fully_invoiced_order_takes_no_more_output_invoices(order):
    invoice_create(order=order, data=data(number="NF-1", lines=[(0, 2), (1, 1), (2, 3)]))
    with pytest.raises(NotAllowed, match="fully invoiced"):
        invoice_create(order=order, data=data(number="NF-2", lines=[(0, 1)]))


def test_an_invoice_with_no_lines_is_refused(order):
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=data(lines=[]))
    assert "at least one item" in error.value.fields["items"][0]


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"courier": "C" * 101}, "courier", "at most 100"),
        ({"tracking_number": "T" * 101}, "tracking_number", "at most 100"),
        ({"access_key": "٣" * 44}, "access_key", "44 digits"),  # Arabic-Indic digits are digits to str.isdigit()
        ({"issued_at": datetime(1900, 1, 1, tzinfo=UTC)}, "issued_at", "2000-01-01"),
        ({"issued_at": datetime(1999, 12, 31, 23, 0, tzinfo=UTC)}, "issued_at", "2000-01-01"),
    ],
)
def test_the_service_refuses_what_the_api_refuses_whatever_the_interface(order, changes, field, rule):
    # Issue 16, defect 6: the admin's form passes these to the same service as the API.
    with pytest.raises(ValidationFailed) as error:
        invoice_create(order=order, data=replace(data(), **changes))
    assert rule in error.value.fields[field][0]
    assert not order.invoices.exists()
