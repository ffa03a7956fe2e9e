"""The invoicing side of the admin through the Django test client (issue 3 §4): the order's
"Add invoice" page, the invoice page (tracking, events, delivery, sends), cancellation (button and
list action, both behind a confirmation page), the outbox list, and who may do what."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from integration.admin.forms import MoneyParseError, parse_money_cents
from integration.models import CancellationRequest, Invoice, Order, OrderEvent, OutboxMessage, TrackingEvent
from integration.services.tracking import TrackingEventInput, invoice_set_tracking, tracking_events_add
from tests.factories import make_acknowledged_order, make_invoice, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    """The services queue a send after commit; these tests look at the outbox rows only."""


# ---- helpers -----------------------------------------------------------------------------------------------


def order_url(order: Order) -> str:
    return reverse("admin:integration_order_change", args=[order.pk])


def add_invoice_url(order: Order) -> str:
    return reverse("admin:integration_order_add_invoice", args=[order.pk])


def cancel_url(order: Order) -> str:
    return reverse("admin:integration_order_request_cancellation", args=[order.pk])


def invoice_url(invoice: Invoice) -> str:
    return reverse("admin:integration_invoice_change", args=[invoice.pk])


def sent_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def local_input(moment) -> str:
    """A time as the browser's datetime-local field sends it (store time, to the minute)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def invoice_post(client, order: Order, *, save: bool = True, **fields):
    """Post the add-invoice form as the browser would: its initial values, then `fields` on top."""
    page = client.get(add_invoice_url(order), {"kind": fields.get("kind", "output")})
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {name: "" if value is None else value for name, value in data.items()}
    data["issued_at"] = local_input(timezone.now() - timedelta(hours=1))
    data.update({"number": "NF-1"}, **fields)
    data["_save" if save else "_preview"] = "1"
    return client.post(add_invoice_url(order), data)


def user_client(django_user_model, username: str, *, groups=(), permissions=()) -> Client:
    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    if permissions:
        user.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def back_office(django_user_model) -> Client:
    return user_client(django_user_model, "back-office", groups=["Back office"])


@pytest.fixture
def integration_admin(django_user_model) -> Client:
    return user_client(django_user_model, "integration-admin", groups=["Integration admin"])


@pytest.fixture
def order() -> Order:
    return make_acknowledged_order()


@pytest.fixture
def tracked_invoice(order) -> Invoice:
    invoice = make_invoice(order)
    invoice_set_tracking(invoice=invoice, tracking_number="BR123456789", courier="Correios")
    invoice.refresh_from_db()
    return invoice


# ---- money typed in R$ ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("1234,56", 123_456),
        ("1.234,56", 123_456),
        ("1234.56", 123_456),
        ("R$ 1.234,56", 123_456),
        ("R$\u00a01.234,56", 123_456),  # as format_cents writes it (no-break space), copied from a page
        ("1234", 123_400),
        ("1234,5", 123_450),
        ("0,01", 1),
        ("1.234.567,89", 123_456_789),
        ("1.234.567", 123_456_700),
        ("  99,90 ", 9_990),
        ("", None),
        ("0.29", 29),  # 0.29 * 100 is 28.999… as a float; Decimal keeps it exact
        ("1.15", 115),
    ],
)
def test_money_typed_in_reais_becomes_exact_cents(typed, cents):
    assert parse_money_cents(typed) == cents


@pytest.mark.parametrize("typed", ["1.234", "12,345", "1,2,3", "12.34.56", "abc", "-5,00", "1.23,45", "1e3", "١٢٣"])
def test_money_that_could_be_misread_is_refused(typed):
    with pytest.raises(MoneyParseError):
        parse_money_cents(typed)


# ---- the order page ------------------------------------------------------------------------------------------


def test_order_page_has_the_add_invoice_and_cancel_buttons(admin_client, order):
    content = admin_client.get(order_url(order)).content.decode()

    assert f'href="{add_invoice_url(order)}"' in content
    assert f'href="{cancel_url(order)}"' in content


def test_order_page_shows_why_it_cannot_be_invoiced_instead_of_the_button(admin_client):
    order = make_order()  # start-handling not confirmed yet

    content = admin_client.get(order_url(order)).content.decode()

    assert add_invoice_url(order) not in content
    assert "VTEX has not confirmed start-handling for this order yet" in content


def test_order_page_lists_its_invoices_and_cancellation_requests(admin_client, order, admin_user):
    invoice = make_invoice(order, quantities={0: 1}, number="NF-77")
    other = make_acknowledged_order()
    CancellationRequest.objects.create(order=other, reason="Cliente desistiu", requested_by=admin_user)

    invoiced = admin_client.get(order_url(order)).content.decode()
    canceled = admin_client.get(order_url(other)).content.decode()

    assert f'<a href="{invoice_url(invoice)}">NF-77</a>' in invoiced
    assert "R$50.00" in invoiced
    assert "Waiting to be sent" in invoiced
    assert "Cliente desistiu" in canceled and admin_user.get_username() in canceled


# ---- Add invoice ----------------------------------------------------------------------------------------------


def test_add_invoice_form_shows_quantities_remaining_and_the_running_total(admin_client, order):
    # given: one shirt invoiced already
    make_invoice(order, quantities={0: 1})

    # when
    response = admin_client.get(add_invoice_url(order))

    # then: each item prefilled with its remainder, and the invoice completing the order
    assert response.status_code == 200
    form = response.context["form"]
    assert [form[f"item_{index}"].value() for index in range(3)] == [1, 1, 3]
    rows = {row.entry.item.item_index: row.entry for row in response.context["rows"]}
    assert [(rows[i].item.quantity, rows[i].invoiced, rows[i].remaining) for i in range(3)] == [
        (2, 1, 1),
        (1, 0, 1),
        (3, 0, 3),
    ]
    plan = response.context["plan"]
    assert (plan.invoiced_before_cents, plan.value_cents, plan.invoiced_after_cents) == (5_000, 12_490, 17_490)
    assert plan.completes_order
    content = response.content.decode()
    for text in ("Camiseta azul M", "5120", "R$50.00", "R$124.90", "R$174.90", "autofocus"):
        assert text in content
    # issued at: now, in the store's time zone (the browser's picker shows local time)
    shown = form["issued_at"].value()
    assert abs(shown - timezone.localtime().replace(tzinfo=None)) < timedelta(minutes=2)


def test_add_invoice_preview_shows_the_servers_numbers_and_saves_nothing(admin_client, order):
    response = invoice_post(admin_client, order, save=False, item_0="1", item_1="0", item_2="2")

    assert response.status_code == 200
    assert response.context["checked"]
    plan = response.context["plan"]
    assert (plan.value_cents, plan.invoiced_after_cents, plan.remaining_after_cents) == (7_000, 7_000, 10_490)
    assert "R$70.00" in response.content.decode()
    assert not Invoice.objects.exists()


def test_a_quantity_above_the_remainder_is_refused_beside_that_item(admin_client, order):
    response = invoice_post(admin_client, order, item_0="3")

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["item_0"]
    assert "Only 2 of “Camiseta azul M” are left to invoice." in errors["item_0"]
    content = response.content.decode()
    row = content[content.index('id="item-row-0"') : content.index('id="item-row-1"')]
    assert "Only 2 of" in row
    assert autofocused(content) == ["item_0"]  # the keyboard lands on the refused quantity
    assert not Invoice.objects.exists()
    assert not OutboxMessage.objects.exists()


def autofocused(content: str) -> list[str]:
    """The names of the page's controls that take the focus when it opens (autofocus)."""
    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", content)
    return [re.search(r'name="([^"]+)"', tag)[1] for tag in controls if re.search(r"\sautofocus\b", tag)]


def test_the_focus_goes_to_the_first_field_in_error_in_page_order(admin_client, order):
    assert autofocused(admin_client.get(add_invoice_url(order)).content.decode()) == ["number"]

    # The value override comes after the quantities on the page, though declared before them.
    both = invoice_post(admin_client, order, item_1="-1", value="12,345")
    assert set(both.context["form"].errors) == {"item_1", "value"}
    assert autofocused(both.content.decode()) == ["item_1"]

    value_only = invoice_post(admin_client, order, item_0="2", item_1="0", item_2="0", value="12,345")
    assert autofocused(value_only.content.decode()) == ["value"]

    # A form-level error names no field: the form opens on its first field, as before.
    nothing = invoice_post(admin_client, order, item_0="0", item_1="0", item_2="0")
    assert nothing.context["form"].non_field_errors() and not nothing.context["form"].has_error("number")
    assert autofocused(nothing.content.decode()) == ["number"]


def test_header_errors_from_the_service_show_beside_their_fields(admin_client, order):
    response = invoice_post(
        admin_client,
        order,
        number="NF/1",
        access_key="123",
        url="not a url",
        issued_at=local_input(timezone.now() + timedelta(days=2)),
    )

    errors = response.context["form"].errors
    assert set(errors) == {"number", "access_key", "url", "issued_at"}
    assert "must not contain '/'" in errors["number"][0]
    assert not Invoice.objects.exists()


def test_no_items_chosen_is_a_form_level_error(admin_client, order):
    response = invoice_post(admin_client, order, item_0="0", item_1="0", item_2="0")

    assert response.context["form"].non_field_errors() == ["Choose at least one item and its quantity."]
    assert not Invoice.objects.exists()


def test_partial_invoice_then_the_rest(admin_client, admin_user, order):
    # when: two shirts and one pair of socks first
    first = invoice_post(admin_client, order, number="NF-1", item_0="2", item_1="0", item_2="1")

    # then
    assert first.status_code == 302
    assert first["Location"] == order_url(order)
    assert ("success", "Invoice NF-1 saved; it will be sent to VTEX.") in sent_messages(first)
    invoice = Invoice.objects.get(number="NF-1")
    assert invoice.value_cents == 2 * 5_000 + 1_000
    assert invoice.created_by == admin_user
    assert OutboxMessage.objects.get(invoice=invoice).kind == OutboxMessage.Kind.INVOICE
    order.refresh_from_db()
    assert order.state == Order.State.PARTIALLY_INVOICED

    # when: the form again, prefilled with the rest
    page = admin_client.get(add_invoice_url(order))
    form = page.context["form"]
    assert [form[f"item_{index}"].value() for index in range(3)] == [0, 1, 2]
    assert page.context["plan"].value_cents == 17_490 - 11_000

    second = invoice_post(admin_client, order, number="NF-2")

    # then: the second invoice carries the remainder of the order total, shipping included
    assert second.status_code == 302
    rest = Invoice.objects.get(number="NF-2")
    assert rest.value_cents == 6_490
    assert sorted(rest.items.values_list("order_item__item_index", "quantity")) == [(1, 1), (2, 2)]
    order.refresh_from_db()
    assert order.state == Order.State.INVOICED


def test_value_override_in_reais_is_saved_in_cents(admin_client, order):
    response = invoice_post(admin_client, order, item_0="2", item_1="0", item_2="0", value="99,90")

    assert response.status_code == 302
    assert Invoice.objects.get().value_cents == 9_990


def test_value_override_that_cannot_be_read_is_refused_beside_the_field(admin_client, order):
    response = invoice_post(admin_client, order, item_0="2", item_1="0", item_2="0", value="12,345")

    assert list(response.context["form"].errors) == ["value"]
    assert not Invoice.objects.exists()


def test_value_override_the_service_refuses_shows_beside_the_field(admin_client, order):
    # the whole order at a value other than its total: the invoices would not add up
    response = invoice_post(admin_client, order, value="1.000,00")

    errors = response.context["form"].errors
    assert list(errors) == ["value"]
    assert "17490 cents" in errors["value"][0]
    assert not Invoice.objects.exists()


def test_a_number_used_before_is_refused(admin_client, order):
    make_invoice(order, quantities={0: 1}, number="NF-1")

    response = invoice_post(admin_client, order, number="NF-1")

    assert "already has an invoice numbered 'NF-1'" in response.context["form"].errors["number"][0]
    assert Invoice.objects.count() == 1


def test_a_fully_invoiced_order_offers_a_return_and_refuses_another_sale(admin_client, order):
    make_invoice(order)

    page = admin_client.get(add_invoice_url(order))
    assert page.context["kind"] == Invoice.Kind.INPUT
    assert [page.context["form"][f"item_{index}"].value() for index in range(3)] == [0, 0, 0]
    assert "Returnable" in page.content.decode()

    response = invoice_post(admin_client, order, number="NF-9", kind="output", item_0="1")
    assert response.context["form"].non_field_errors() == ["The order is fully invoiced already."]

    returned = invoice_post(admin_client, order, number="DEV-1", kind="input", item_1="1")
    assert returned.status_code == 302
    assert Invoice.objects.get(number="DEV-1").value_cents == 2_990


def test_add_invoice_page_of_a_blocked_order_says_why_and_has_no_form(admin_client):
    order = make_order()

    response = admin_client.get(add_invoice_url(order))

    assert response.status_code == 200
    assert "VTEX has not confirmed start-handling" in response.content.decode()
    assert b"Save invoice" not in response.content


# ---- the invoice page: tracking, events, delivery --------------------------------------------------------------


def test_invoice_page_is_read_only_with_its_items(admin_client, order):
    invoice = make_invoice(order, number="NF-5")

    response = admin_client.get(invoice_url(invoice))

    assert response.status_code == 200
    assert response.context["adminform"].form.fields == {}
    content = response.content.decode()
    for text in ("NF-5", "Camiseta azul M", "R$174.90", order.order_id, "Save tracking", "Invoice"):
        assert text in content
    # events and delivery wait for the tracking number
    assert "Enter the tracking number first" in content
    assert 'value="Mark delivered"' not in content


def test_tracking_form_sets_the_tracking_through_the_service(admin_client, order):
    invoice = make_invoice(order)

    response = admin_client.post(
        reverse("admin:integration_invoice_tracking", args=[invoice.pk]),
        {
            "tracking_number": "BR999",
            "tracking_url": "https://rastreio.example/BR999",
            "courier": "Correios",
            "dispatched_at": local_input(timezone.now() - timedelta(minutes=30)),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == invoice_url(invoice)
    invoice.refresh_from_db()
    assert (invoice.tracking_number, invoice.courier) == ("BR999", "Correios")
    assert invoice.dispatched_at is not None
    assert OutboxMessage.objects.filter(invoice=invoice, kind=OutboxMessage.Kind.TRACKING).count() == 1


def test_tracking_form_errors_show_beside_the_fields_and_change_nothing(admin_client, order):
    invoice = make_invoice(order)

    response = admin_client.post(
        reverse("admin:integration_invoice_tracking", args=[invoice.pk]),
        {"tracking_number": "", "tracking_url": "rastreio", "courier": "", "dispatched_at": ""},
    )

    assert response.status_code == 200
    errors = response.context["tracking_form"].errors
    assert errors == {
        "tracking_number": ["The tracking number is required."],
        "tracking_url": ["Enter a full http(s) address."],
    }
    assert "The tracking number is required." in response.content.decode()
    assert autofocused(response.content.decode()) == ["tracking_number"]
    only_url = admin_client.post(
        reverse("admin:integration_invoice_tracking", args=[invoice.pk]),
        {"tracking_number": "BR1", "tracking_url": "rastreio", "courier": "", "dispatched_at": ""},
    )
    assert autofocused(only_url.content.decode()) == ["tracking_url"]
    invoice.refresh_from_db()
    assert invoice.tracking_number == ""
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING).exists()


def events_data(*rows: tuple[str, str, str, str]) -> dict[str, str]:
    data = {"events-TOTAL_FORMS": "3", "events-INITIAL_FORMS": "0"}
    for index, (when, city, state, description) in enumerate(rows):
        data |= {
            f"events-{index}-occurred_at": when,
            f"events-{index}-city": city,
            f"events-{index}-state": state,
            f"events-{index}-description": description,
        }
    return data


def test_events_need_a_tracking_number_first(admin_client, order):
    invoice = make_invoice(order)
    yesterday = local_input(timezone.now() - timedelta(days=1))

    response = admin_client.post(
        reverse("admin:integration_invoice_tracking_events", args=[invoice.pk]),
        events_data((yesterday, "São Paulo", "SP", "Objeto postado")),
    )

    assert response.status_code == 200
    expected = f"Add the tracking number of invoice {invoice.number} before its events."
    assert response.context["events_errors"] == [expected]
    assert not TrackingEvent.objects.exists()


def test_events_form_adds_events_and_ignores_duplicates(admin_client, tracked_invoice):
    url = reverse("admin:integration_invoice_tracking_events", args=[tracked_invoice.pk])
    posted = local_input(timezone.now() - timedelta(days=2))
    moving = local_input(timezone.now() - timedelta(days=1))
    rows = [(posted, "São Paulo", "SP", "Objeto postado"), (moving, "Campinas", "SP", "Em trânsito")]

    first = admin_client.post(url, events_data(*rows))
    [(level, text)] = sent_messages(first)
    admin_client.get(invoice_url(tracked_invoice))  # shows (and so consumes) that message
    again = admin_client.post(url, events_data(*rows))

    assert first.status_code == again.status_code == 302
    assert level == "success" and "2 tracking events added" in text
    nothing_new = f"Nothing added to invoice {tracked_invoice.number}: every event was there."
    assert sent_messages(again) == [("info", nothing_new)]
    assert list(tracked_invoice.tracking_events.values_list("description", flat=True)) == [
        "Objeto postado",
        "Em trânsito",
    ]
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING_EVENTS).count() == 1


def test_events_form_errors_show_beside_the_row_and_add_nothing(admin_client, tracked_invoice):
    url = reverse("admin:integration_invoice_tracking_events", args=[tracked_invoice.pk])
    yesterday = local_input(timezone.now() - timedelta(days=1))
    tomorrow = local_input(timezone.now() + timedelta(days=1))

    response = admin_client.post(
        url, events_data((yesterday, "São Paulo", "SP", "Objeto postado"), (tomorrow, "Campinas", "SP", ""))
    )

    assert response.status_code == 200
    forms = response.context["events_formset"].forms
    assert forms[0].errors == {}
    assert forms[1].errors == {
        "occurred_at": ["The date cannot be in the future."],
        "description": ["The description is required."],
    }
    assert not TrackingEvent.objects.exists()


def test_an_empty_events_form_asks_for_an_event(admin_client, tracked_invoice):
    url = reverse("admin:integration_invoice_tracking_events", args=[tracked_invoice.pk])

    response = admin_client.post(url, events_data())

    assert response.status_code == 200
    assert response.context["events_errors"] == ["Fill in at least one event: its date and time and what happened."]


def test_mark_delivered(admin_client, tracked_invoice):
    delivered = timezone.now() - timedelta(hours=2)

    response = admin_client.post(
        reverse("admin:integration_invoice_delivered", args=[tracked_invoice.pk]),
        {"delivered_at": local_input(delivered)},
    )

    assert response.status_code == 302
    tracked_invoice.refresh_from_db()
    assert tracked_invoice.delivered_at == delivered.replace(second=0, microsecond=0)
    assert OutboxMessage.objects.get(kind=OutboxMessage.Kind.TRACKING_EVENTS).payload["isDelivered"] is True
    tracked_invoice.order.refresh_from_db()
    assert tracked_invoice.order.state == Order.State.DELIVERED
    # then the page takes no more tracking, and says why
    content = admin_client.get(invoice_url(tracked_invoice)).content.decode()
    assert "is delivered already" in content
    assert "Save tracking" not in content and 'value="Add events"' not in content


def test_delivery_before_the_last_event_is_refused(admin_client, tracked_invoice):
    tracking_events_add(
        invoice=tracked_invoice,
        events=[TrackingEventInput(timezone.now() - timedelta(hours=1), "Saiu para entrega")],
    )

    response = admin_client.post(
        reverse("admin:integration_invoice_delivered", args=[tracked_invoice.pk]),
        {"delivered_at": local_input(timezone.now() - timedelta(days=1))},
    )

    assert response.status_code == 200
    form = response.context["delivered_form"]
    assert form.errors["delivered_at"] == ["Earlier than the latest tracking event."]
    assert "Delivery comes last" in form.non_field_errors()[0]
    tracked_invoice.refresh_from_db()
    assert tracked_invoice.delivered_at is None


def test_a_return_invoice_takes_no_tracking(admin_client, order):
    make_invoice(order)
    returned = make_invoice(order, kind=Invoice.Kind.INPUT, quantities={1: 1})

    content = admin_client.get(invoice_url(returned)).content.decode()

    assert "Only sale (output) invoices are shipped and tracked." in content
    assert "Save tracking" not in content


def test_tracking_views_take_post_only(admin_client, order):
    invoice = make_invoice(order)

    for name in ("tracking", "tracking_events", "delivered"):
        assert admin_client.get(reverse(f"admin:integration_invoice_{name}", args=[invoice.pk])).status_code == 405


# ---- the invoice list ---------------------------------------------------------------------------------------


def test_invoice_list_columns_filters_and_search(admin_client, order, tracked_invoice):
    other = make_acknowledged_order()
    untracked = make_invoice(other, quantities={0: 1}, number="NF-300")
    changelist = reverse("admin:integration_invoice_changelist")

    listing = admin_client.get(changelist)
    content = listing.content.decode()
    assert {invoice.pk for invoice in listing.context["cl"].result_list} == {tracked_invoice.pk, untracked.pk}
    assert order_url(order) in content and "BR123456789" in content and "R$50.00" in content

    def found(query):
        return {invoice.pk for invoice in admin_client.get(changelist, query).context["cl"].result_list}

    assert found({"q": "NF-300"}) == {untracked.pk}
    assert found({"q": other.order_id}) == {untracked.pk}
    assert found({"q": "BR123456789"}) == {tracked_invoice.pk}
    assert found({"delivered": "no"}) == {tracked_invoice.pk, untracked.pk}
    assert found({"delivered": "yes"}) == set()
    assert found({"kind__exact": "input"}) == set()
    assert found({"send_state__exact": "pending"}) == {tracked_invoice.pk, untracked.pk}


def test_invoice_list_shows_the_delivery_day_under_the_tracking_number(admin_client, tracked_invoice):
    """The list keeps to 1280 px: the delivery is a line of the tracking column, not a column."""
    delivered_at = timezone.make_aware(datetime(2026, 3, 9, 23, 30), timezone.get_default_timezone())
    Invoice.objects.filter(pk=tracked_invoice.pk).update(delivered_at=delivered_at)

    content = admin_client.get(reverse("admin:integration_invoice_changelist")).content.decode()

    cell = content[content.index('class="field-shipping"') :]
    cell = cell[: cell.index("</td>")]
    assert "BR123456789" in cell and "Delivered on 03/09/2026" in cell
    assert 'class="column-delivered' not in content and 'class="column-issued_at' not in content


def test_invoices_cannot_be_added_or_deleted_through_the_standard_admin(admin_client, order):
    invoice = make_invoice(order)

    assert admin_client.get(reverse("admin:integration_invoice_add")).status_code == 403
    delete_url = reverse("admin:integration_invoice_delete", args=[invoice.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert admin_client.post(invoice_url(invoice), {"number": "X"}).status_code == 403
    assert Invoice.objects.get().number == invoice.number


# ---- cancellation ----------------------------------------------------------------------------------------------


def test_cancellation_page_says_what_will_happen_and_requires_a_reason(admin_client, order):
    page = admin_client.get(cancel_url(order))

    assert page.status_code == 200
    content = page.content.decode()
    assert "VTEX will be asked to cancel this order." in content
    assert "This cannot be undone" in content
    assert "The customer's payment will be refunded or cancelled by VTEX." in content

    no_reason = admin_client.post(cancel_url(order), {"confirm": "1", "reason": "  "})
    assert no_reason.status_code == 200
    assert no_reason.context["form"].errors == {"reason": ["This field is required."]}
    assert autofocused(no_reason.content.decode()) == ["reason"]

    too_short = admin_client.post(cancel_url(order), {"confirm": "1", "reason": "no"})
    assert "at least 5 characters" in too_short.context["form"].errors["reason"][0]

    not_confirmed = admin_client.post(cancel_url(order), {"reason": "Cliente desistiu da compra"})
    assert not_confirmed.status_code == 200

    assert not CancellationRequest.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_confirmed_cancellation_creates_the_request_and_its_send(admin_client, admin_user, order):
    response = admin_client.post(cancel_url(order), {"confirm": "1", "reason": "Cliente desistiu da compra"})

    assert response.status_code == 302
    assert response["Location"] == order_url(order)
    assert sent_messages(response) == [
        ("success", f"{order.order_id}: cancellation requested; it will be sent to VTEX.")
    ]
    request = CancellationRequest.objects.get(order=order)
    assert (request.reason, request.requested_by) == ("Cliente desistiu da compra", admin_user)
    message = OutboxMessage.objects.get(order=order)
    assert (message.kind, message.cancellation) == (OutboxMessage.Kind.CANCEL, request)
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLATION_REQUESTED
    assert order.events.filter(kind=OrderEvent.Kind.CANCELLATION_REQUESTED).exists()
    # the order page now says a cancellation is on its way
    content = admin_client.get(order_url(order)).content.decode()
    assert cancel_url(order) not in content
    assert "A cancellation was requested already" in content


def test_cancellation_of_an_invoiced_order_is_refused_with_the_reason(admin_client, order):
    make_invoice(order, quantities={0: 1})

    page = admin_client.get(order_url(order)).content.decode()
    assert cancel_url(order) not in page
    assert "VTEX cancels only orders without any invoice" in page

    confirmation = admin_client.get(cancel_url(order))
    assert b"Yes, ask VTEX to cancel" not in confirmation.content
    assert "VTEX cancels only orders without any invoice" in confirmation.content.decode()

    refused = admin_client.post(cancel_url(order), {"confirm": "1", "reason": "Cliente desistiu da compra"})
    [(level, text)] = sent_messages(refused)
    assert level == "warning"
    assert "VTEX cancels only orders without any invoice" in text
    assert not CancellationRequest.objects.exists()
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CANCEL).exists()


def run_cancel_action(client, *orders: Order, **extra: str):
    data = {"action": "request_cancellation", "_selected_action": [order.pk for order in orders], **extra}
    return client.post(reverse("admin:integration_order_changelist"), data)


def test_cancel_action_confirms_then_cancels_each_order_and_skips_the_invoiced_one(admin_client):
    # given
    first, second, invoiced = make_acknowledged_order(), make_acknowledged_order(), make_acknowledged_order()
    make_invoice(invoiced, quantities={0: 1})

    # when: the action from the list
    page = run_cancel_action(admin_client, first, second, invoiced, index="0")

    # then: a confirmation page, nothing done yet
    assert page.status_code == 200
    content = page.content.decode()
    assert "VTEX will be asked to cancel these 2 orders." in content
    assert "1 order above cannot be canceled and will be skipped." in content
    assert "VTEX cancels only orders without any invoice" in content
    assert not CancellationRequest.objects.exists()

    # when: confirmed
    done = run_cancel_action(admin_client, first, second, invoiced, confirm="1", reason="Estoque esgotado")

    # then
    assert done.status_code == 302
    reports = sent_messages(done)
    assert ("success", f"{first.order_id}: cancellation requested; it will be sent to VTEX.") in reports
    assert ("success", f"{second.order_id}: cancellation requested; it will be sent to VTEX.") in reports
    [(level, text)] = [report for report in reports if report[1].startswith(invoiced.order_id)]
    assert level == "warning" and "without any invoice" in text
    assert set(CancellationRequest.objects.values_list("order_id", flat=True)) == {first.pk, second.pk}
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CANCEL).count() == 2


def test_cancel_action_without_a_reason_shows_the_page_again(admin_client):
    first, second = make_acknowledged_order(), make_acknowledged_order()

    response = run_cancel_action(admin_client, first, second, confirm="1", reason="")

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert not CancellationRequest.objects.exists()


# ---- retry of a send ------------------------------------------------------------------------------------------


def failed_send(invoice: Invoice) -> OutboxMessage:
    message = OutboxMessage.objects.get(invoice=invoice, kind=OutboxMessage.Kind.INVOICE)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=OutboxMessage.State.FAILED, attempts=15, last_status_code=400, last_error="invoiceValue inválido"
    )
    return message


def test_retry_now_on_the_invoice_page(admin_client, admin_user, order):
    invoice = make_invoice(order)
    message = failed_send(invoice)
    page = admin_client.get(invoice_url(invoice)).content.decode()
    retry_url = reverse("admin:integration_invoice_retry", args=[invoice.pk, message.pk])
    assert retry_url in page and "invoiceValue inválido" in page and "HTTP 400" in page

    response = admin_client.post(retry_url)

    assert response.status_code == 302
    assert sent_messages(response)[0][0] == "success"
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxMessage.State.PENDING, 0)
    invoice.refresh_from_db()
    assert invoice.send_state == "pending"
    assert order.events.get(kind=OrderEvent.Kind.SEND_RETRY).actor == admin_user


def test_retry_now_action_on_the_outbox_list_reports_each_row(admin_client, order):
    invoice = make_invoice(order)
    failed = failed_send(invoice)
    sent = OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.TRACKING,
        order=order,
        invoice=invoice,
        payload={},
        state=OutboxMessage.State.SENT,
        next_attempt_at=timezone.now(),
    )
    changelist = reverse("admin:integration_outboxmessage_changelist")
    listing = admin_client.get(changelist, {"state__exact": "failed"})
    assert [row.pk for row in listing.context["cl"].result_list] == [failed.pk]
    assert order_url(order) in listing.content.decode()

    response = admin_client.post(changelist, {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]})

    reports = sent_messages(response)
    assert [level for level, _ in reports] == ["success", "warning"]
    assert "only failed or waiting sends can be retried" in reports[1][1]
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.state, sent.state) == (OutboxMessage.State.PENDING, OutboxMessage.State.SENT)


def test_cancellation_request_list_filters_and_searches(admin_client, order):
    other = make_acknowledged_order()
    CancellationRequest.objects.create(order=order, reason="Cliente desistiu")
    CancellationRequest.objects.create(order=other, reason="Fraude", state=CancellationRequest.State.FAILED)
    changelist = reverse("admin:integration_cancellationrequest_changelist")

    def found(query):
        return {row.order_id for row in admin_client.get(changelist, query).context["cl"].result_list}

    assert found({}) == {order.pk, other.pk}
    assert found({"state__exact": "failed"}) == {other.pk}
    assert found({"q": order.order_id}) == {order.pk}
    assert admin_client.get(reverse("admin:integration_cancellationrequest_add")).status_code == 403


# ---- who may do what (the groups of migration 0003) -------------------------------------------------------------


def test_back_office_can_invoice_and_cancel_but_not_retry(back_office, order):
    # invoice
    assert 'id="add-invoice"' in back_office.get(order_url(order)).content.decode()
    saved = invoice_post(back_office, order, number="NF-1", item_0="1", item_1="0", item_2="0")
    assert saved.status_code == 302
    invoice = Invoice.objects.get()

    # track it
    tracked = back_office.post(
        reverse("admin:integration_invoice_tracking", args=[invoice.pk]), {"tracking_number": "BR1"}
    )
    assert tracked.status_code == 302

    # cancel another order
    other = make_acknowledged_order()
    assert 'id="request-cancellation"' in back_office.get(order_url(other)).content.decode()
    canceled = back_office.post(cancel_url(other), {"confirm": "1", "reason": "Cliente desistiu"})
    assert canceled.status_code == 302
    assert CancellationRequest.objects.filter(order=other).exists()

    # but no retry
    message = failed_send(invoice)
    retry_url = reverse("admin:integration_invoice_retry", args=[invoice.pk, message.pk])
    assert retry_url not in back_office.get(invoice_url(invoice)).content.decode()
    assert back_office.post(retry_url).status_code == 403
    assert back_office.get(reverse("admin:integration_outboxmessage_changelist")).status_code == 403
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.FAILED


def test_integration_admin_can_retry(integration_admin, order):
    invoice = make_invoice(order)
    message = failed_send(invoice)
    changelist = reverse("admin:integration_outboxmessage_changelist")

    actions = integration_admin.get(changelist).context["action_form"].fields["action"].choices
    assert "retry_now" in [name for name, _ in actions]
    response = integration_admin.post(changelist, {"action": "retry_now", "_selected_action": [message.pk]})

    assert sent_messages(response)[0][0] == "success"
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.PENDING


def test_without_request_cancellation_there_is_no_cancel_button_action_or_view(django_user_model, order):
    clerk = user_client(
        django_user_model,
        "clerk",
        permissions=["view_order", "change_order", "view_invoice", "enter_invoices"],
    )

    page = clerk.get(order_url(order)).content.decode()
    assert 'id="add-invoice"' in page
    assert cancel_url(order) not in page and "No cancellation possible" not in page
    actions = clerk.get(reverse("admin:integration_order_changelist")).context["action_form"].fields["action"].choices
    assert "request_cancellation" not in [name for name, _ in actions]
    assert clerk.get(cancel_url(order)).status_code == 403
    assert clerk.post(cancel_url(order), {"confirm": "1", "reason": "Cliente desistiu"}).status_code == 403
    run_cancel_action(clerk, order, confirm="1", reason="Cliente desistiu")
    assert not CancellationRequest.objects.exists()


def test_without_enter_invoices_there_are_no_invoice_forms_and_the_views_refuse(django_user_model, order):
    invoice = make_invoice(order, quantities={0: 1})
    viewer = user_client(
        django_user_model,
        "viewer",
        permissions=["view_order", "view_invoice", "view_invoiceitem", "view_trackingevent"],
    )

    page = viewer.get(order_url(order)).content.decode()
    assert add_invoice_url(order) not in page and "No invoice possible" not in page
    assert viewer.get(add_invoice_url(order)).status_code == 403
    assert viewer.post(add_invoice_url(order), {"number": "NF-2", "_save": "1", "item_0": "1"}).status_code == 403
    invoice_page = viewer.get(invoice_url(invoice))
    assert invoice_page.status_code == 200
    assert b"Save tracking" not in invoice_page.content and b"Mark delivered" not in invoice_page.content
    for name in ("tracking", "tracking_events", "delivered"):
        url = reverse(f"admin:integration_invoice_{name}", args=[invoice.pk])
        assert viewer.post(url, {"tracking_number": "BR1"}).status_code == 403
    assert Invoice.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.tracking_number == ""


def test_the_preview_scripts_figures_are_plain_integers_in_pt_br(admin_client, order, settings):
    # The page's script reads data-total/data-before as integer cents: "14.490" would be 14.49.
    settings.USE_THOUSAND_SEPARATOR = True
    with translation.override(translation.get_language()):
        page = admin_client.get(add_invoice_url(order), headers={"accept-language": "pt-BR"}).content.decode()
    assert f'data-total="{order.total_cents}"' in page
    assert 'data-before="0"' in page
