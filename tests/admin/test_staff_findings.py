"""What confused or slowed staff when they walked every workflow in a browser, each fixed in the
admin and checked here through the Django test client (the numbers are the walkthrough's findings).
What needs a browser (the live estimate's script, layout at 1280 px) is in tests/browser."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone

from integration.admin.base import sentence
from integration.admin.links import REFUSED_ANCHOR
from integration.admin.money import format_cents
from integration.admin.outbox import outbox_error_display
from integration.models import Invoice, Order, OrderEvent, OutboxMessage, SendState
from integration.services.tracking import (
    TrackingEventInput,
    invoice_mark_delivered,
    invoice_set_tracking,
    tracking_events_add,
)
from tests.factories import make_acknowledged_order, make_event, make_invoice, make_order, make_payment

pytestmark = pytest.mark.django_db

#: How the outbox keeps VTEX's refusal of an invoice: VTEX's words, its status and code, the request.
REFUSAL = {"last_status_code": 400, "last_error_code": "400", "last_error": "Order is canceled and cannot be invoiced"}


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    """No django-q2 task is queued: tests/conftest.py's no_task_queue, for every test here."""


@pytest.fixture
def order() -> Order:
    return make_acknowledged_order()


@pytest.fixture
def back_office(django_user_model) -> Client:
    user = django_user_model.objects.create_user("back-office", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Back office"))
    client = Client()
    client.force_login(user)
    return client


def order_url(order: Order) -> str:
    return reverse("admin:integration_order_change", args=[order.pk])


def invoice_url(invoice: Invoice) -> str:
    return reverse("admin:integration_invoice_change", args=[invoice.pk])


def add_invoice_url(order: Order) -> str:
    return reverse("admin:integration_order_add_invoice", args=[order.pk])


def refuse(invoice: Invoice) -> OutboxMessage:
    """The invoice's send, as the outbox leaves it when VTEX answers 400."""
    message = OutboxMessage.objects.get(invoice=invoice, kind=OutboxMessage.Kind.INVOICE)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=OutboxMessage.State.FAILED,
        attempts=1,
        last_request=f"POST /api/oms/pvt/orders/{invoice.order.order_id}/invoice",
        **REFUSAL,
    )
    Invoice.objects.filter(pk=invoice.pk).update(send_state=SendState.FAILED)
    message.refresh_from_db()
    return message


def between(content: str, start: str, end: str) -> str:
    """The part of the page from `start` up to the next `end`."""
    begin = content.index(start)
    return content[begin : content.index(end, begin)]


def local_moment(days_ago: int, hour: int, minute: int) -> datetime:
    """A past moment in store time (the admin shows store time)."""
    day = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


# ---- 1, 2: the add-invoice page with a quantity above what is left -----------------------------------------------


def test_2_a_refused_quantity_shows_its_line_value_marked_invalid_and_no_misleading_totals(admin_client, order):
    page = admin_client.get(add_invoice_url(order))
    data = {name: value for name, value in page.context["form"].initial.items() if value is not None}
    data |= {f"item_{index}": page.context["form"][f"item_{index}"].value() for index in range(3)}
    data |= {"number": "NF-1", "kind": "output", "issued_at": "", "item_0": "3", "_save": "1"}  # 2 are left

    response = admin_client.post(add_invoice_url(order), data)

    assert response.status_code == 200
    assert not Invoice.objects.exists()
    assert response.context["quantities_invalid"]
    content = response.content.decode()
    row = between(content, 'id="item-row-0"', "</tr>")
    assert format_cents(3 * 5_000) in row  # what was typed, not R$ 0,00
    assert "invalid quantity" in row
    assert "line-value invalid" in row
    assert format_cents(0) not in row
    # the figures left the item out: they are replaced by "check the quantities"
    assert '<p id="preview-invalid" role="status">' in content
    assert '<p id="preview-figures" hidden>' in content
    assert "Check the quantities" in content


def test_2_a_quantity_that_is_not_a_number_shows_a_dash(admin_client, order):
    response = admin_client.post(
        add_invoice_url(order), {"number": "NF-1", "kind": "output", "item_0": "dois", "_preview": "1"}
    )

    row = between(response.content.decode(), 'id="item-row-0"', "</tr>")
    assert "–" in row and "invalid quantity" in row


def test_1_the_live_estimate_knows_each_items_limit_for_either_type(admin_client, order):
    make_invoice(order, quantities={0: 1})

    content = admin_client.get(add_invoice_url(order)).content.decode()

    row = between(content, 'id="item-row-0"', "</tr>")
    assert 'data-remaining="1"' in row and 'data-returnable="1"' in row
    # over the limit is invalid, never "completes the order"
    assert "quantity > limit" in content


def test_a_valid_form_shows_the_figures(admin_client, order):
    content = admin_client.get(add_invoice_url(order)).content.decode()

    assert '<p id="preview-invalid" role="status" hidden>' in content
    assert '<p id="preview-figures">' in content


# ---- 3, 6, 18, 19: the order page --------------------------------------------------------------------------------


def test_3_why_an_order_cannot_be_invoiced_or_canceled_is_in_a_box_below_the_tools(admin_client):
    order = make_order()  # start-handling not confirmed: neither an invoice nor (here) a cancellation

    content = admin_client.get(order_url(order)).content.decode()

    tools = between(content, '<ul class="object-tools">', "</ul>")
    assert "No invoice possible" not in tools
    notes = between(content, 'id="order-notes"', "</div>")
    assert "No invoice possible:" in notes and "VTEX has not confirmed start-handling" in notes
    assert content.index('id="order-notes"') < content.index('id="order_form"')


def test_6_recent_activity_sits_under_the_status_and_links_to_the_whole_timeline(admin_client, order):
    for number in range(12):
        make_event(order, kind=OrderEvent.Kind.IMPORTED, message=f"event {number}")

    content = admin_client.get(order_url(order)).content.decode()

    recent = between(content, 'id="recent-activity"', "</table>")
    assert recent.count('class="recent-event"') == 10
    assert content.index("Status</h2>") < content.index('id="recent-activity"') < content.index("Totals</h2>")
    assert 'href="#order-timeline"' in content
    assert "The whole timeline (12 entries" in content
    # and a way to each section from the top
    jump = between(content, 'class="jump-links"', "</nav>")
    for anchor in ("#items-group", "#invoices-group", "#cancellation_requests-group", "#order-timeline"):
        assert anchor in jump


def test_18_empty_sections_say_so_and_still_post_their_management_data(admin_client, order):
    content = admin_client.get(order_url(order)).content.decode()

    assert "No invoices yet." in content
    assert "No cancellation requested." in content
    for prefix in ("invoices", "cancellation_requests"):
        assert f'name="{prefix}-TOTAL_FORMS"' in content
        assert f'id="{prefix}-group"' in content

    make_invoice(order, quantities={0: 1})
    assert "No invoices yet." not in admin_client.get(order_url(order)).content.decode()


def test_18_an_invoice_without_events_says_so(admin_client, order):
    invoice = make_invoice(order)

    assert "No tracking events yet." in admin_client.get(invoice_url(invoice)).content.decode()


def test_19_a_fully_invoiced_order_offers_a_return_invoice(admin_client, order):
    make_invoice(order, quantities={0: 1})
    partly = between(admin_client.get(order_url(order)).content.decode(), 'id="add-invoice"', "</a>")
    assert partly.endswith(">Add invoice")

    make_invoice(order)  # the rest
    content = admin_client.get(order_url(order)).content.decode()

    button = between(content, 'id="add-invoice"', "</a>")
    assert button.endswith(">Add return invoice")
    assert f'href="{add_invoice_url(order)}?kind=input"' in content
    # and the return page offers no sale: nothing is left to sell
    page = admin_client.get(f"{add_invoice_url(order)}?kind=input")
    assert page.context["kind"] == Invoice.Kind.INPUT
    assert 'id="other-kind"' not in page.content.decode()


def test_19_nothing_left_to_invoice_or_return_means_no_button_and_says_why(admin_client, order):
    make_invoice(order)
    make_invoice(order, kind=Invoice.Kind.INPUT)  # everything returned

    content = admin_client.get(order_url(order)).content.decode()

    assert 'id="add-invoice"' not in content
    assert "No invoice possible:" in content
    assert "every item was invoiced and returned" in content


# ---- 4, 5: widths ------------------------------------------------------------------------------------------------


def test_4_payment_ids_share_one_column_cut_to_width_with_the_whole_id_kept(admin_client, order):
    order.payments.all().delete()
    make_payment(order, transaction_id="A" * 32, payment_id="B" * 32, tid="TID-123456789")

    content = admin_client.get(order_url(order)).content.decode()

    payments = between(content, 'id="payments-group"', "</fieldset>")
    for value in ("A" * 32, "B" * 32, "TID-123456789"):
        assert f'<span class="long-id" title="{value}">{value}</span>' in payments
    assert "column-transaction_id" not in payments and "column-tid" not in payments


def test_5_order_list_columns_fit_with_badges_and_money_that_does_not_wrap(admin_client):
    make_order(sequence="5021", total_cents=40_957, start_handling="failed")

    content = admin_client.get(reverse("admin:integration_order_changelist")).content.decode()

    assert "R$409.57" in content  # English: no space at all (pt-BR's no-break space: tests/i18n)
    assert 'class="sequence">seq 5021<' in content
    assert '<span class="badge badge-neutral" title="Received (VTEX not yet told)">Received</span>' in content
    assert 'title="VTEX answered 500">Failed</span>' in content  # the badge's title: VTEX's answer
    assert "VTEX: Ready for handling (ready-for-handling)" in content  # VTEX admin's name, the API string beside
    assert "integration/admin.css" in content
    for header in ("column-vtex_status", "column-ack_state", "column-created_at_vtex"):
        assert header not in content


def test_5_the_badges_and_cut_ids_are_styled_by_a_local_stylesheet():
    path = finders.find("integration/admin.css")
    assert path is not None
    css = open(path, encoding="utf-8").read()
    for rule in (".badge-danger", ".money", ".long-id", "text-overflow: ellipsis", "td.original p { display: none; }"):
        assert rule in css
    assert "http" not in css  # nothing from elsewhere


# ---- 8, 9, 10, 11: a send VTEX refused ---------------------------------------------------------------------------


def test_8_9_a_refused_invoice_says_so_at_the_top_with_vtex_answer_once_and_retry(admin_client, order):
    invoice = make_invoice(order)
    message = refuse(invoice)
    retry_url = reverse("admin:integration_invoice_retry", args=[invoice.pk, message.pk])

    content = admin_client.get(invoice_url(invoice)).content.decode()

    notice = between(content, f'id="{REFUSED_ANCHOR}"', "</section>")
    assert content.index(f'id="{REFUSED_ANCHOR}"') < content.index('id="invoice_form"')  # above the invoice
    assert "VTEX did not accept this invoice" in notice
    assert "HTTP 400: Order is canceled and cannot be invoiced" in notice
    assert notice.count("HTTP 400") == 1 and "[400]" not in notice
    assert retry_url in notice
    assert content.count('value="Retry now"') == 1  # in the notice only; the table points to it
    row = between(content, f'id="outbox-{message.pk}"', "</tr>")
    assert row.count("HTTP 400") == 1
    assert f'href="#{REFUSED_ANCHOR}"' in row


def test_8_back_office_sees_the_refusal_but_no_retry(back_office, order):
    invoice = make_invoice(order)
    message = refuse(invoice)

    content = back_office.get(invoice_url(invoice)).content.decode()

    notice = between(content, f'id="{REFUSED_ANCHOR}"', "</section>")
    assert "Order is canceled and cannot be invoiced" in notice
    assert "an integration admin can retry it" in notice
    assert reverse("admin:integration_invoice_retry", args=[invoice.pk, message.pk]) not in content
    assert 'value="Retry now"' not in content


def test_8_an_invoice_left_failed_by_a_stopped_send_still_says_so(admin_client, order):
    invoice = make_invoice(order)
    message = refuse(invoice)
    OutboxMessage.objects.filter(pk=message.pk).update(state=OutboxMessage.State.STOPPED)

    content = admin_client.get(invoice_url(invoice)).content.decode()

    notice = between(content, f'id="{REFUSED_ANCHOR}"', "</section>")
    assert "VTEX did not accept this invoice" in notice
    assert "cannot be retried" in notice
    assert 'value="Retry now"' not in content


def test_10_the_order_page_links_a_failed_invoice_to_its_notice(admin_client, order):
    invoice = make_invoice(order, number="NF-9")
    refuse(invoice)

    content = admin_client.get(order_url(order)).content.decode()

    row = between(content, 'id="invoices-0"', "</tr>")
    assert f'href="{invoice_url(invoice)}#{REFUSED_ANCHOR}"' in row
    assert "Failed: needs attention" in row


def test_10_a_later_failed_send_of_a_sent_invoice_is_linked_too(admin_client, order):
    invoice = make_invoice(order)
    OutboxMessage.objects.filter(invoice=invoice).update(state=OutboxMessage.State.SENT)
    Invoice.objects.filter(pk=invoice.pk).update(send_state=SendState.SENT)
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING).update(state=OutboxMessage.State.FAILED)

    row = between(admin_client.get(order_url(order)).content.decode(), 'id="invoices-0"', "</tr>")

    assert "Sent to VTEX; 1 later send failed" in row
    assert f"#{REFUSED_ANCHOR}" in row


def test_11_the_read_only_invoice_page_has_no_close_button_between_invoice_and_forms(admin_client, order):
    invoice = make_invoice(order)

    content = admin_client.get(invoice_url(invoice)).content.decode()

    assert 'class="closelink"' not in content
    assert 'value="Save tracking"' in content


# ---- 12, 13, 14, 15: the invoice page's words --------------------------------------------------------------------


def test_12_sends_are_labelled_by_what_they_carry(admin_client, order):
    invoice = make_invoice(order)
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    tracking_events_add(invoice=invoice, events=[TrackingEventInput(timezone.now() - timedelta(hours=2), "Postado")])
    invoice_mark_delivered(invoice=invoice, delivered_at=timezone.now() - timedelta(hours=1))
    only_delivered = make_invoice(make_acknowledged_order())
    invoice_set_tracking(invoice=only_delivered, tracking_number="BR2")
    invoice_mark_delivered(invoice=only_delivered)

    labels = [row.label for row in admin_client.get(invoice_url(invoice)).context["send_rows"]]
    other = [row.label for row in admin_client.get(invoice_url(only_delivered)).context["send_rows"]]

    assert labels[:2] == ["Invoice", "Tracking number"]
    assert labels[-1] == "Tracking events and delivery"
    assert "Tracking events" in labels[2:-1]  # the events' own send, replaced by the delivery
    assert other[-1] == "Delivery"


def test_13_tracking_events_show_store_time_without_the_utc_caption(admin_client, order):
    invoice = make_invoice(order)
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    tracking_events_add(invoice=invoice, events=[TrackingEventInput(local_moment(1, 13, 1), "Postado")])

    content = admin_client.get(invoice_url(invoice)).content.decode()

    events = between(content, 'id="tracking_events-group"', "</fieldset>")
    assert 'class="module read-only-inline"' in events  # its row captions (str(), in UTC) are hidden
    assert formats.date_format(local_moment(1, 13, 1), "DATETIME_FORMAT") in events


def test_14_no_double_full_stop_after_a_time(admin_client, order):
    invoice = make_invoice(order)
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    delivered = local_moment(1, 14, 21)
    invoice_mark_delivered(invoice=invoice, delivered_at=delivered)
    OutboxMessage.objects.filter(invoice=invoice).update(
        state=OutboxMessage.State.SENT, vtex_receipt="r-1", sent_at=delivered
    )

    content = admin_client.get(invoice_url(invoice)).content.decode()

    shown = formats.date_format(delivered, "DATETIME_FORMAT")
    assert shown.endswith("p.m.")
    assert f">Delivered on {shown}<" in content
    assert f"Accepted (receipt r-1) on {shown}\n" in content or f"Accepted (receipt r-1) on {shown}<" in content
    assert "p.m.." not in content


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Delivered on Nov. 28, 2026, 2:21 p.m.", "Delivered on Nov. 28, 2026, 2:21 p.m."),
        ("Delivered on Nov. 28, 2026, noon", "Delivered on Nov. 28, 2026, noon."),
        ("Accepted ", "Accepted."),
    ],
)
def test_14_sentence_ends_with_one_full_stop(text, expected):
    assert sentence(text) == expected


def test_15_read_only_labels_match_the_forms(admin_client, order):
    invoice = make_invoice(order)

    content = admin_client.get(invoice_url(invoice)).content.decode()

    for label in ("Tracking URL:", "VTEX receipt:", "Invoice URL:"):
        assert label in content
    for wrong in ("Tracking url", "Vtex receipt"):
        assert wrong not in content


# ---- 9: VTEX's answer, the status once ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "headline", "sent", "note"),
    [
        (
            {
                "last_status_code": 400,
                "last_error_code": "400",
                "last_error": "Order is canceled and cannot be invoiced",
                "last_request": "POST /api/oms/pvt/orders/1-01/invoice",
            },
            "HTTP 400: Order is canceled and cannot be invoiced",
            "POST /api/oms/pvt/orders/1-01/invoice",
            "",
        ),
        (
            {
                "last_status_code": 503,
                "last_error": "Service Unavailable",
                "last_request": "PUT /api/x",
                "gave_up": True,
                "attempts": 8,
            },
            "HTTP 503: Service Unavailable",
            "PUT /api/x",
            "gave up after 8 attempts",
        ),
        (
            {"last_status_code": 400, "last_error_code": "ORD002", "last_error": "Invalid value"},
            "HTTP 400: [ORD002] Invalid value",
            "",
            "",
        ),
        ({"last_status_code": 400, "last_error": "invoiceValue inválido"}, "HTTP 400: invoiceValue inválido", "", ""),
        ({"last_error": "Read timed out"}, "Read timed out", "", ""),
        ({}, "-", "", ""),
    ],
)
def test_9_vtex_answer_shows_the_status_once(row, headline, sent, note):
    answer = outbox_error_display(OutboxMessage(**row))

    assert (answer.headline, answer.request, answer.note) == (headline, sent, note)


# ---- 16: the cancellation reason ---------------------------------------------------------------------------------


def test_16_the_cancellation_form_leaves_checks_to_the_server_and_says_the_minimum(admin_client, order):
    content = admin_client.get(reverse("admin:integration_order_request_cancellation", args=[order.pk])).content

    page = content.decode()
    assert '<form method="post" novalidate>' in page
    assert "at least 5 characters" in page
