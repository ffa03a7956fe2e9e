"""The CSV downloads as staff get them in Chromium (issue 8 §3): the action on the ticked orders,
and the button that exports the whole filtered invoice list. The file's columns and rules are
tested in tests/admin/test_csv_export.py; here, that the browser receives a file it can save."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from integration.services.tracking import invoice_set_tracking
from tests.factories import make_acknowledged_order, make_invoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BOM = b"\xef\xbb\xbf"


def read_download(download) -> list[list[str]]:
    content = open(download.path(), "rb").read()  # noqa: SIM115 - Playwright's temporary file
    assert content.startswith(BOM)
    return list(csv.reader(io.StringIO(content[len(BOM) :].decode("utf-8"), newline="")))


def test_staff_download_the_ticked_orders_and_the_filtered_invoices(make_staff, log_in, screenshots):
    first = make_acknowledged_order(customer_name="Conceição Araújo")
    second = make_acknowledged_order(customer_name="Érico Gonçalves")
    make_acknowledged_order(customer_name="Not ticked")
    invoice = make_invoice(first, quantities={0: 1}, number="NF-801")
    invoice_set_tracking(invoice=invoice, tracking_number="BR000000801BR", courier="Correios")
    make_invoice(second, number="NF-802")
    page = log_in(make_staff("fabio", groups=["Back office"]))

    # The action, on two ticked orders.
    page.goto(reverse("admin:integration_order_changelist"))
    for order in (first, second):
        page.get_by_role("checkbox", name=f"Select this object for an action - {order.order_id}").check()
    page.get_by_role("combobox", name="Action").select_option(label="Export selected orders to CSV")
    screenshots.take(page, "orders-ticked-for-export")
    with page.expect_download() as info:
        page.get_by_role("button", name="Go", exact=True).click()
    download = info.value

    assert re.fullmatch(r"orders-\d{4}-\d{2}-\d{2}-\d{4}\.csv", download.suggested_filename)
    rows = read_download(download)
    assert [row[6] for row in rows[1:]] == ["Érico Gonçalves", "Conceição Araújo"]
    assert rows[2][15:17] == ["NF-801", "BR000000801BR"]

    # The button: every invoice the search selects, on every page.
    page.goto(reverse("admin:integration_invoice_changelist"))
    page.get_by_role("textbox", name="Search").fill("NF-802")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    with page.expect_download() as info:
        page.get_by_role("link", name="Export list to CSV").click()

    rows = read_download(info.value)
    assert re.fullmatch(r"invoices-\d{4}-\d{2}-\d{2}-\d{4}\.csv", info.value.suggested_filename)
    assert [(row[0], row[2]) for row in rows[1:]] == [(second.order_id, "NF-802")]
