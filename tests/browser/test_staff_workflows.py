"""Every staff workflow of the back office, clicked through in a real Chromium (issue 8 part 1).

The admin runs on pytest-django's live server and talks to a sandbox store on a real port, so
each button press goes all the way to (fake) VTEX. Orders come in through intake_run(); the sends
to VTEX are made by the test itself with outbox_send_due() after each step (there is no django-q2
cluster here), so the test can check after every step that the sandbox shows its effect exactly
once. test_issue_3_acceptance is issue 3's acceptance: a staff user invoices an order in two parts,
adds tracking and events, marks it delivered and requests the cancellation of another order.

Locators are accessible ones (roles, labels) wherever the page allows, so these tests also check
that every field has its label.

Screenshots of each step: var/screenshots/<test>/. To refresh the three in docs/screenshots/:
`UPDATE_DOCS_SCREENSHOTS=1 .venv/bin/pytest tests/browser`.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from integration.admin.money import format_cents
from integration.infra.vtex_client import vtex_client
from integration.models import CancellationRequest, Invoice, Order, OrderItem, OutboxMessage
from integration.services.intake import intake_run
from integration.services.outbox import PushSummary, outbox_send_due

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


# ---- helpers -------------------------------------------------------------------------------------------------


def take_in_orders(server) -> list[Order]:
    """One intake cycle against the sandbox: every waiting order stored and acknowledged."""
    result = intake_run()
    waiting = len(server.store.order_ids())
    assert result.ok and result.imported == waiting and result.acknowledged == waiting, result.summary()
    return list(Order.objects.order_by("sequence"))


def send_outbox() -> PushSummary:
    """What the background worker does after each change: send every due row to VTEX once."""
    return outbox_send_due(client=vtex_client())


def sends(summary: PushSummary) -> tuple[int, int, int]:
    return summary.sent, summary.retrying, summary.failed


def store_time(moment) -> str:
    """A time as typed into a datetime-local field: store time, to the minute."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def cpf_with_punctuation(digits: str) -> str:
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def order_url(order: Order) -> str:
    return reverse("admin:integration_order_change", args=[quote(order.pk)])


def scroll_to(locator, *, where: str = "center") -> None:
    """Scroll the element to the window's "center" or "start" (for a viewport screenshot)."""
    locator.evaluate("(element, where) => element.scrollIntoView({block: where})", where)


def message(page, text: str):
    """The admin's message at the top of the page (success, info or warning)."""
    return page.get_by_role("listitem").filter(has_text=text)


def vtex_package(server, order: Order, number: str) -> dict:
    """The invoice as the sandbox store holds it (VTEX's "package")."""
    packages = server.store.order(order.order_id)["packageAttachment"]["packages"]
    return next(package for package in packages if package["invoiceNumber"] == number)


def partial_invoice_order(orders: list[Order]) -> tuple[Order, OrderItem]:
    """An order with two or more items, one of them bought more than once: it can be invoiced in
    two parts by leaving one unit of that item for the second invoice."""
    for order in orders:
        items = list(order.items.order_by("item_index"))
        several = [item for item in items if item.quantity >= 2]
        if len(items) >= 2 and several:
            return order, several[0]
    raise AssertionError("the sandbox made no order with two items, one bought twice; change its seed")


# ---- finding an order and reading it ---------------------------------------------------------------------


def test_back_office_finds_an_order_by_sequence_and_by_document_and_reads_its_timeline(
    make_sandbox, make_staff, log_in, screenshots
):
    server = make_sandbox(orders=6)
    orders = take_in_orders(server)
    order = orders[2]
    page = log_in(make_staff("ana", groups=["Back office"]))
    screenshots.take(page, "logged-in")

    # The order list, from the home page.
    page.get_by_role("link", name="Orders", exact=True).first.click()
    expect(page.get_by_role("heading", name="Select order to change")).to_be_visible()

    # By sequence, as staff say it: "seq" and the number.
    page.get_by_role("textbox", name="Search").fill(f"seq{order.sequence}")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#result_list tbody tr")
    expect(results).to_have_count(1)
    expect(results.get_by_role("link", name=order.order_id)).to_be_visible()
    screenshots.take(page, "found-by-sequence")

    # By the customer's CPF, typed with its punctuation.
    document = order.customer_document
    same_document = [o.order_id for o in orders if o.customer_document == document]
    page.get_by_role("textbox", name="Search").fill(cpf_with_punctuation(document))
    page.get_by_role("button", name="Search").click()
    expect(results).to_have_count(len(same_document))
    expect(results.get_by_role("link", name=order.order_id)).to_be_visible()
    screenshots.take(page, "found-by-document")

    # The order page: its timeline says what happened and every VTEX call, newest first.
    results.get_by_role("link", name=order.order_id).click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    timeline = page.locator("#order-timeline tbody tr")
    expect(timeline.filter(has_text="Imported:")).to_have_count(1)
    expect(timeline.filter(has_text="Start-handling confirmed:")).to_have_count(1)
    start_handling = timeline.filter(has_text=f"POST /api/oms/pvt/orders/{order.order_id}/start-handling")
    expect(start_handling).to_have_count(1)
    expect(start_handling).to_contain_text(re.compile(r"HTTP 20\d"))
    expect(timeline.first).to_contain_text("Start-handling confirmed")  # newest first
    expect(timeline.last).to_contain_text(f"GET /api/oms/pvt/orders/{order.order_id}")  # the first read
    expect(timeline.last).to_contain_text("HTTP 200")
    # Back office may invoice and cancel it.
    expect(page.get_by_role("link", name="Add invoice")).to_be_visible()
    expect(page.get_by_role("link", name="Request cancellation")).to_be_visible()
    screenshots.take(page, "order-page-with-timeline")


# ---- issue 3's acceptance ----------------------------------------------------------------------------------


def test_issue_3_acceptance(make_sandbox, make_staff, log_in, screenshots):
    """Invoice in two parts, tracking, two events, delivered; cancel another order. After each
    step the sandbox shows that step's effect exactly once, and nothing else."""
    server = make_sandbox(orders=6)
    orders = take_in_orders(server)
    order, item = partial_invoice_order(orders)
    other = next(o for o in orders if o.pk != order.pk)
    assert server.store.effects["start_handling"] == {o.order_id: 1 for o in orders}
    page = log_in(make_staff("bruno", groups=["Back office"]))
    now = timezone.now()

    # -- first invoice: a quantity above what is left is refused beside that item ----------------
    page.goto(order_url(order))
    page.get_by_role("link", name="Add invoice").click()
    expect(page.get_by_role("heading", name=f"Add an invoice to order {order.order_id}")).to_be_visible()
    page.get_by_label("Invoice number").fill("NF-1001")
    page.get_by_label("Issued at").fill(store_time(now - timedelta(hours=3)))
    quantity = page.get_by_label(item.name, exact=True)
    expect(quantity).to_have_value(str(item.quantity))  # prefilled: everything is left to invoice
    quantity.fill(str(item.quantity + 1))
    page.get_by_role("button", name="Save invoice").click()

    expect(page.get_by_text("Please correct the errors below. Nothing was saved.")).to_be_visible()
    error = f"Only {item.quantity} of “{item.name}” are left to invoice."
    item_row = page.get_by_role("row").filter(has=page.get_by_label(item.name, exact=True))
    expect(item_row).to_contain_text(error)
    expect(page.get_by_text(error)).to_have_count(1)  # beside that field only
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(quantity).to_be_focused()  # the keyboard lands on the refused quantity, not the number
    assert not Invoice.objects.exists()
    scroll_to(item_row)
    screenshots.for_docs(page, "add-invoice-error")

    # Corrected: one unit of that item stays for the second invoice. This package leaves with
    # its tracking number, entered with the invoice.
    quantity.fill(str(item.quantity - 1))
    expect(page.locator("#preview-completes")).to_be_hidden()
    page.get_by_label("Courier").fill("Correios")
    page.get_by_label("Tracking number").fill("BR000000001BR")
    page.get_by_role("button", name="Save invoice").click()
    expect(message(page, "Invoice NF-1001 saved; it will be sent to VTEX.")).to_be_visible()
    first = Invoice.objects.get(order=order, number="NF-1001")
    assert 0 < first.value_cents < order.total_cents
    assert sends(send_outbox()) == (1, 0, 0)
    assert server.store.effects["invoice"] == {order.order_id: {"NF-1001": 1}}
    page.reload()
    invoices = page.locator("#invoices-group")  # the order page's list of invoices
    expect(invoices.get_by_role("row").filter(has_text="NF-1001")).to_contain_text("Sent to VTEX")
    expect(page.locator(".fieldBox.field-state")).to_contain_text("Partially invoiced")
    screenshots.take(page, "first-invoice-sent")

    # -- the rest: the form holds the remainder, and its value brings the order to its total ------
    page.get_by_role("link", name="Add invoice").click()
    expect(page.get_by_label(item.name, exact=True)).to_have_value("1")
    for other_item in order.items.exclude(pk=item.pk):
        expect(page.get_by_label(other_item.name, exact=True)).to_have_value("0")
    expect(page.locator("#preview-completes")).to_be_visible()
    expect(page.locator("#preview-value")).to_have_text(format_cents(order.total_cents - first.value_cents))
    expect(page.locator("#preview-after")).to_have_text(format_cents(order.total_cents))
    expect(page.locator("#preview-left")).to_have_text(format_cents(0))
    page.get_by_label("Invoice number").fill("NF-1002")
    page.get_by_label("Issued at").fill(store_time(now - timedelta(hours=2)))
    screenshots.take(page, "second-invoice-completes-the-order")
    page.get_by_role("button", name="Save invoice").click()
    expect(message(page, "Invoice NF-1002 saved; it will be sent to VTEX.")).to_be_visible()
    assert sends(send_outbox()) == (1, 0, 0)
    assert server.store.effects["invoice"] == {order.order_id: {"NF-1001": 1, "NF-1002": 1}}
    assert server.store.order(order.order_id)["status"] == "invoiced"
    assert sum(Invoice.objects.filter(order=order).values_list("value_cents", flat=True)) == order.total_cents

    # -- the second package: tracking number, URL and courier on the invoice's page ----------------
    page.reload()
    page.locator("#invoices-group").get_by_role("link", name="NF-1002").click()
    tracking = page.locator("#tracking")
    expect(tracking.get_by_role("heading", name="Tracking")).to_be_visible()
    tracking.get_by_label("Tracking number").fill("BR000000002BR")
    tracking.get_by_label("Tracking URL").fill("https://rastreamento.correios.com.br/?objetos=BR000000002BR")
    tracking.get_by_label("Courier").fill("Correios")
    tracking.get_by_label("Dispatched at").fill(store_time(now - timedelta(minutes=90)))
    page.get_by_role("button", name="Save tracking").click()
    expect(message(page, "Tracking of invoice NF-1002 saved; it will be sent to VTEX.")).to_be_visible()
    assert sends(send_outbox()) == (1, 0, 0)
    assert server.store.effects["tracking"] == {order.order_id: {"NF-1002": 1}}

    # -- two carrier events ---------------------------------------------------------------------------
    events = [
        (now - timedelta(minutes=80), "São Paulo", "SP", "Objeto postado"),
        (now - timedelta(minutes=30), "Campinas", "SP", "Objeto em trânsito"),
    ]
    for row, (when, city, state, description) in enumerate(events, start=1):
        page.get_by_label(f"Date and time (row {row})").fill(store_time(when))
        page.get_by_label(f"City (row {row})").fill(city)
        page.get_by_label(f"State (UF) (row {row})").fill(state)
        page.get_by_label(f"Description (row {row})").fill(description)
    page.get_by_role("button", name="Add events").click()
    expect(message(page, "2 tracking events added to invoice NF-1002; they will be sent to VTEX.")).to_be_visible()
    assert sends(send_outbox()) == (1, 0, 0)
    assert server.store.effects["tracking_events"] == {order.order_id: {"NF-1002": 1}}

    # -- delivered ----------------------------------------------------------------------------------------
    expect(page.get_by_label("Delivered at")).not_to_have_value("")  # prefilled with now
    page.get_by_role("button", name="Mark delivered").click()
    expect(message(page, "Invoice NF-1002 marked delivered; it will be sent to VTEX.")).to_be_visible()
    # VTEX takes events and delivery through one call (PUT …/tracking): the delivery is this
    # invoice's second such call, carrying both events again.
    assert sends(send_outbox()) == (1, 0, 0)
    assert server.store.effects["tracking_events"] == {order.order_id: {"NF-1002": 2}}
    package = vtex_package(server, order, "NF-1002")
    assert package["trackingNumber"] == "BR000000002BR" and package["courier"] == "Correios"
    assert package["courierStatus"]["finished"] is True
    assert [e["description"] for e in package["courierStatus"]["data"]] == ["Objeto postado", "Objeto em trânsito"]

    page.reload()
    expect(page.get_by_text(re.compile(r"^Delivered on "))).to_be_visible()
    expect(page.get_by_role("button", name="Mark delivered")).to_have_count(0)
    expect(page.get_by_role("button", name="Add events")).to_have_count(0)
    expect(page.locator("#tracking_events-group tbody tr").filter(has_text="Objeto")).to_have_count(2)
    sent_rows = page.locator("#outbox tbody tr")
    expect(sent_rows).to_have_count(4)  # invoice, tracking, events, delivery
    expect(sent_rows.filter(has_text="Accepted")).to_have_count(4)
    screenshots.take(page, "second-invoice-tracked-and-delivered")
    scroll_to(page.get_by_role("heading", name="Shipping"), where="start")
    screenshots.for_docs(page, "invoice-tracking-delivered")

    # -- the first package arrives too: the order is delivered -------------------------------------------
    page.goto(order_url(order))
    page.locator("#invoices-group").get_by_role("link", name="NF-1001").click()
    expect(page.locator("#tracking").get_by_label("Tracking number")).to_have_value("BR000000001BR")
    page.get_by_role("button", name="Mark delivered").click()
    expect(message(page, "Invoice NF-1001 marked delivered; it will be sent to VTEX.")).to_be_visible()
    assert sends(send_outbox()) == (1, 0, 0)
    assert server.store.effects["tracking_events"] == {order.order_id: {"NF-1001": 1, "NF-1002": 2}}
    assert vtex_package(server, order, "NF-1001")["courierStatus"]["finished"] is True
    page.goto(order_url(order))
    expect(page.locator(".fieldBox.field-state")).to_contain_text("Delivered")
    screenshots.take(page, "order-delivered")

    # -- the cancellation of another order, through its confirmation page ---------------------------
    page.goto(order_url(other))
    page.get_by_role("link", name="Request cancellation").click()
    expect(page.get_by_role("heading", name="Request cancellation at VTEX")).to_be_visible()
    expect(page.get_by_text("VTEX will be asked to cancel this order.")).to_be_visible()
    confirm = page.get_by_role("button", name="Yes, ask VTEX to cancel")
    reason = page.get_by_label("Reason")

    confirm.click()  # empty: the browser itself refuses (the field is required)
    assert reason.evaluate("field => field.validity.valueMissing") is True
    reason.fill("   ")  # only spaces pass the browser; the server says what is wrong
    confirm.click()
    expect(page.get_by_text("Please correct the error below. Nothing was sent.")).to_be_visible()
    expect(page.locator(".field-reason")).to_contain_text("This field is required.")
    assert not CancellationRequest.objects.exists()
    screenshots.for_docs(page, "request-cancellation")

    page.get_by_label("Reason").fill("Cliente desistiu da compra")
    page.get_by_role("button", name="Yes, ask VTEX to cancel").click()
    expect(message(page, f"{other.order_id}: cancellation requested; it will be sent to VTEX.")).to_be_visible()
    assert sends(send_outbox()) == (1, 0, 0)
    assert server.store.effects["cancel"] == {other.order_id: 1}
    assert server.store.order(other.order_id)["status"] in ("cancellation-requested", "canceled")
    page.reload()
    expect(page.locator("#cancellation_requests-group")).to_contain_text("Accepted by VTEX")
    expect(page.locator("#cancellation_requests-group")).to_contain_text("Cliente desistiu da compra")
    screenshots.take(page, "other-order-cancellation-requested")

    # -- nothing is left to send, and the sandbox shows each effect exactly once ------------------------
    assert sends(send_outbox()) == (0, 0, 0)
    assert not OutboxMessage.objects.exclude(state=OutboxMessage.State.SENT).exists()
    assert server.store.effects == {
        "start_handling": {o.order_id: 1 for o in orders},
        "invoice": {order.order_id: {"NF-1001": 1, "NF-1002": 1}},
        "tracking": {order.order_id: {"NF-1002": 1}},  # NF-1001's came with the invoice
        # NF-1001: its delivery; NF-1002: its events, then its delivery.
        "tracking_events": {order.order_id: {"NF-1001": 1, "NF-1002": 2}},
        "cancel": {other.order_id: 1},
    }


# ---- a send VTEX refuses, and its retry ----------------------------------------------------------------------


def test_a_refused_send_shows_vtex_answer_and_only_the_integration_admin_retries_it(
    make_sandbox, make_staff, log_in, screenshots
):
    server = make_sandbox(orders=3)
    order = take_in_orders(server)[0]
    back_office = log_in(make_staff("carla", groups=["Back office"]))

    # An invoice for the whole order (the form is prefilled with it)...
    back_office.goto(order_url(order))
    back_office.get_by_role("link", name="Add invoice").click()
    back_office.get_by_label("Invoice number").fill("NF-2001")
    back_office.get_by_role("button", name="Save invoice").click()
    expect(message(back_office, "Invoice NF-2001 saved; it will be sent to VTEX.")).to_be_visible()

    # ...that VTEX refuses: the customer canceled the order there in the meantime.
    server.store.set_status(order.order_id, "canceled")
    assert sends(send_outbox()) == (0, 0, 1)
    assert server.store.effects["invoice"] == {}

    back_office.reload()
    invoices = back_office.locator("#invoices-group")
    expect(invoices.get_by_role("row").filter(has_text="NF-2001")).to_contain_text("Failed: needs attention")
    expect(back_office.locator("#order-timeline")).to_contain_text("Sending to VTEX failed")
    invoices.get_by_role("link", name="NF-2001").click()
    failed = back_office.locator("#outbox tbody tr").filter(has_text="Invoice")
    expect(failed).to_contain_text("Failed: needs attention")
    expect(failed).to_contain_text("HTTP 400")
    expect(failed).to_contain_text("Order is canceled and cannot be invoiced")
    expect(back_office.get_by_role("button", name="Retry now")).to_have_count(0)  # not theirs to retry
    screenshots.take(back_office, "back-office-sees-the-refusal")

    # The cause is fixed at VTEX; the integration admin finds the failed send and retries it.
    server.store.set_status(order.order_id, "handling")
    admin = log_in(make_staff("davi", groups=["Integration admin"]))
    admin.get_by_role("link", name="Outbox messages").click()
    admin.get_by_role("link", name="Failed: needs attention").click()
    expect(admin.locator("#result_list tbody tr")).to_have_count(1)
    admin.locator("#result_list").get_by_role("link", name="NF-2001").click()
    expect(admin.get_by_role("button", name="Retry now")).to_be_visible()
    screenshots.take(admin, "integration-admin-sees-retry")
    admin.get_by_role("button", name="Retry now").click()
    expect(
        message(admin, f"Invoice of order {order.order_id}, invoice NF-2001: it will be sent to VTEX again now.")
    ).to_be_visible()
    assert sends(send_outbox()) == (1, 0, 0)
    assert server.store.effects["invoice"] == {order.order_id: {"NF-2001": 1}}

    admin.reload()
    sent = admin.locator("#outbox tbody tr").filter(has_text="Invoice")
    expect(sent).to_contain_text("Sent")
    expect(sent).to_contain_text("Accepted")
    expect(admin.get_by_role("button", name="Retry now")).to_have_count(0)
    screenshots.take(admin, "retried-and-sent")
    admin.goto(order_url(order))
    timeline = admin.locator("#order-timeline")
    for text in ("Sending to VTEX failed", "Send retried", "Sent to VTEX"):
        expect(timeline).to_contain_text(text)
    assert sends(send_outbox()) == (0, 0, 0)
    assert server.store.effects["invoice"] == {order.order_id: {"NF-2001": 1}}


# ---- who sees which button ---------------------------------------------------------------------------------------


def test_staff_without_the_cancellation_permission_see_no_cancel_button(make_sandbox, make_staff, log_in, screenshots):
    server = make_sandbox(orders=2)
    order = take_in_orders(server)[0]
    clerk = make_staff(
        "elis", permissions=["view_order", "change_order", "view_invoice", "add_invoice", "enter_invoices"]
    )
    page = log_in(clerk)

    page.goto(order_url(order))
    expect(page.get_by_role("link", name="Add invoice")).to_be_visible()
    expect(page.get_by_role("link", name="Request cancellation")).to_have_count(0)
    expect(page.get_by_text("No cancellation possible")).to_have_count(0)
    screenshots.take(page, "order-page-without-cancel")

    # Nor in the order list's actions.
    page.get_by_role("link", name="Orders", exact=True).first.click()
    actions = page.get_by_label("Action")
    expect(actions.locator("option", has_text="Request cancellation")).to_have_count(0)
    expect(actions.locator("option", has_text="Refresh from VTEX")).to_have_count(1)

    # And the confirmation page itself refuses them.
    response = page.goto(
        reverse("admin:integration_order_request_cancellation", args=[quote(order.pk)]), wait_until="commit"
    )
    assert response.status == 403
    assert not CancellationRequest.objects.exists()
