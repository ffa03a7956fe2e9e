"""Issue 15's acceptance in the browser: real order shapes (a company buyer collecting at a pickup
point with a kit, an item sold by weight and a change made after purchase; a gift with a shipping
discount paid with two cards; a Colombian store) read and invoiced by staff in the admin, the
invoice adding up to VTEX's value (after the change), then tracked and delivered; and an order
another seller fulfils, shown with why it cannot be invoiced here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from integration.infra.vtex_client import vtex_client
from integration.models import Invoice, Order
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send_due

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def store_time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    ("features", "currency"),
    [
        (["company", "pickup", "kit", "weight", "changed"], "BRL"),
        (["gift", "shipping_discount", "two_cards"], "BRL"),
        (["pickup", "weight"], "COP"),
    ],
    ids=["company-pickup-kit-weight-changed", "gift-shipping-discount-two-cards", "cop-store"],
)
def test_staff_invoice_track_and_deliver_a_real_order_shape(
    make_sandbox, make_staff, log_in, screenshots, features, currency
):
    server = make_sandbox(orders=0, shapes="mixed", seed=3, currency=currency)
    (order_id,) = server.store.add_orders(1, features=features)
    doc = server.store.order(order_id)
    assert intake_run().acknowledged == 1
    order = Order.objects.get(order_id=order_id)
    page = log_in(make_staff("carla", groups=["Back office"]))

    # The order page says who buys (a company), where the parcel goes (a pickup point) and what
    # VTEX changed.
    page.goto(reverse("admin:integration_order_change", args=[quote(order.pk)]))
    if "company" in features:
        expect(page.get_by_text(doc["clientProfileData"]["corporateName"]).first).to_be_visible()
    if "pickup" in features:
        expect(page.get_by_text("Pickup at").first).to_be_visible()
    if "changed" in features:
        expect(page.get_by_role("heading", name="Changes at VTEX")).to_be_visible()
    start_handling = page.locator(".field-start_handling .readonly")
    expect(start_handling).to_contain_text("Acknowledged")
    expect(start_handling).not_to_contain_text("<time")  # its date as a date, not as escaped markup
    screenshots.take(page, "real-order-page")

    # Add invoice: the quantities are prefilled with what is left after the change; saved as is,
    # the invoice completes the order.
    page.get_by_role("link", name="Add invoice").click()
    page.get_by_label("Invoice number").fill("NF-7001")
    page.get_by_label("Issued at").fill(store_time(timezone.now() - timedelta(hours=1)))
    screenshots.take(page, "real-order-add-invoice")
    page.get_by_role("button", name="Save invoice").click()
    expect(page.get_by_role("listitem").filter(has_text="Invoice NF-7001 saved")).to_be_visible()
    invoice = Invoice.objects.get(order=order)
    assert invoice.value_cents == doc["value"]  # VTEX's value after the change, to the cent
    assert outbox_send_due(client=vtex_client()).sent == 1
    assert server.store.order(order_id)["status"] == "invoiced"

    # Tracking and delivery on the invoice's page.
    page.reload()
    page.locator("#invoices-group").get_by_role("link", name="NF-7001").click()
    page.locator("#tracking").get_by_label("Tracking number").fill("BR000007001BR")
    page.get_by_role("button", name="Save tracking").click()
    page.get_by_role("button", name="Mark delivered").click()
    expect(page.get_by_role("listitem").filter(has_text="marked delivered")).to_be_visible()
    assert outbox_send_due(client=vtex_client()).sent == 2
    order.refresh_from_db()
    assert order.state == Order.State.DELIVERED
    package = server.store.order(order_id)["packageAttachment"]["packages"][0]
    assert package["trackingNumber"] == "BR000007001BR" and package["courierStatus"]["finished"] is True


def test_an_order_another_seller_fulfils_shows_why_it_cannot_be_invoiced(make_sandbox, make_staff, log_in):
    server = make_sandbox(orders=0, shapes="mixed", seed=3)
    ours, theirs = sorted(server.store.add_orders(2, features=["split"]))
    intake_run()
    page = log_in(make_staff("davi", groups=["Back office"]))

    page.goto(reverse("admin:integration_order_change", args=[quote(Order.objects.get(order_id=theirs).pk)]))

    expect(page.get_by_role("link", name="Add invoice")).to_have_count(0)
    expect(page.get_by_text("seller").first).to_be_visible()
    assert theirs not in server.store.effects["start_handling"] and ours in server.store.effects["start_handling"]
