"""Issue 18's acceptance in Chromium: staff import the NF-e their ERP issued on an order, see the
invoice filled from it, sent to (the sandbox's) VTEX exactly once, with the DANFE downloadable; the
bulk upload on the invoice list shows per file what happened.

The NF-e are made by the sandbox's own issuer (vtex_sandbox/nfe.py) from the sandbox's order
documents, signed with its throwaway certificate, in SEFAZ's homologation environment (as the demo).
"""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from playwright.sync_api import expect

from integration.infra.vtex_client import vtex_client
from integration.models import Invoice, Order
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send_due
from vtex_sandbox.nfe import NfeIssuer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def order_url(order: Order) -> str:
    return reverse("admin:integration_order_change", args=[quote(order.pk)])


def without_gifts(orders: list[Order]) -> list[Order]:
    """Orders whose NF-e carries every item (a gift is no line of an NF-e)."""
    return [order for order in orders if not order.items.filter(is_gift=True).exists()]


def test_staff_import_an_nfe_on_an_order_and_in_bulk(make_sandbox, make_staff, log_in, screenshots, settings, tmp_path):
    settings.NFE_ALLOW_HOMOLOGATION = True
    server = make_sandbox(orders=5)
    assert intake_run().ok
    orders = without_gifts(list(Order.objects.order_by("sequence")))
    order, second, third = orders[:3]
    issuer = NfeIssuer.create()
    nfe = tmp_path / "nota-5001.xml"
    nfe.write_bytes(issuer.build(server.store.order(order.order_id), number=5001, environment=2))
    page = log_in(make_staff("elisa", groups=["Back office"]))

    # -- one file on the order page ---------------------------------------------------------------
    page.goto(order_url(order))
    page.get_by_role("link", name="Import NF-e XML").click()
    expect(page.get_by_role("heading", name=f"Import an NF-e XML into order {order.order_id}")).to_be_visible()
    page.get_by_label("NF-e XML file").set_input_files(str(nfe))
    screenshots.take(page, "import-nfe-form")
    page.get_by_role("button", name="Import").click()

    expect(page.get_by_role("listitem").filter(has_text="Invoice 5001 imported from the NF-e")).to_be_visible()
    invoice = Invoice.objects.get(order=order)
    assert invoice.number == "5001" and invoice.value_cents == order.total_cents and invoice.nfe_homologation
    expect(page.get_by_text("Homologation NF-e: no fiscal value.")).to_be_visible()
    for item in order.items.all():  # the quantities come from the NF-e
        expect(page.locator("#items-group")).to_contain_text(item.name)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the DANFE (PDF)").click()
    assert download.value.suggested_filename == f"DANFE-{invoice.access_key}.pdf"
    assert download.value.path().read_bytes().startswith(b"%PDF")
    screenshots.take(page, "imported-invoice")

    # sent to VTEX exactly once, also when the worker runs again and the file is imported again
    outbox_send_due(client=vtex_client())
    page.goto(order_url(order))  # a return NF-e could come next: the button stays
    page.get_by_role("link", name="Import NF-e XML").click()
    page.get_by_label("NF-e XML file").set_input_files(str(nfe))
    page.get_by_role("button", name="Import").click()
    expect(
        page.get_by_role("listitem").filter(has_text="This NF-e was imported before: it is invoice 5001.")
    ).to_be_visible()
    assert Invoice.objects.filter(order=order).count() == 1
    outbox_send_due(client=vtex_client())
    assert server.store.effects["invoice"] == {order.order_id: {"5001": 1}}

    # -- several files on the invoice list ----------------------------------------------------------
    good = tmp_path / "second.xml"
    good.write_bytes(issuer.build(server.store.order(second.order_id), number=5002, environment=2))
    altered = tmp_path / "third-altered.xml"
    altered.write_bytes(
        issuer.build(server.store.order(third.order_id), number=5003, environment=2).replace(b"<nNF>5003", b"<nNF>5004")
    )
    page.goto(reverse("admin:integration_invoice_changelist"))
    page.get_by_role("link", name="Import NF-e files").click()
    page.get_by_label("NF-e XML files or ZIP").set_input_files([str(good), str(altered), str(nfe)])
    page.get_by_role("button", name="Import").click()

    table = page.locator("#nfe-results")
    expect(table.get_by_role("caption")).to_have_text("1 of 3 files imported")
    expect(table.get_by_role("row").filter(has_text="second.xml")).to_contain_text("Invoice 5002 created")
    expect(table.get_by_role("row").filter(has_text="third-altered.xml")).to_contain_text("altered after it was signed")
    expect(table.get_by_role("row").filter(has_text="nota-5001.xml")).to_contain_text("Imported before: invoice 5001")
    screenshots.take(page, "bulk-import-results")
    outbox_send_due(client=vtex_client())
    assert server.store.effects["invoice"] == {order.order_id: {"5001": 1}, second.order_id: {"5002": 1}}
    assert not third.invoices.exists()
