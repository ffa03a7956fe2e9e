"""The bulk imports in a real Chromium, in Portuguese (issue 19's acceptance), and the staff time
they save, counted on the real pages.

- 50 orders invoiced through one invoice spreadsheet, then a 50-row carrier spreadsheet of
  tracking codes (one row invalid) through the preview and one confirmation: each valid row's
  tracking reaches the sandbox store exactly once, the invalid row is reported and nothing is
  saved or sent for it.
- The same work for one order by hand (the order page's "Add invoice", the invoice page's
  tracking form), counted the same way: clicks, fields filled and pages loaded per order
  (docs/staff-guide.md, "Many orders at once").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook
from playwright.sync_api import Page, expect

from integration.infra.vtex_client import vtex_client
from integration.models import Invoice, Order, OutboxMessage
from integration.services.bulk_entry import access_key_check_digit
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send_due

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ORDERS = 50
LAPTOP = {"width": 1366, "height": 768}
_IN_WINDOW = """(element) => { const box = element.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight; }"""
_SIDEWAYS = "() => document.scrollingElement.scrollWidth - window.innerWidth"


# ---- helpers -------------------------------------------------------------------------------------------------


@dataclass
class Meter:
    """What a clerk does on the pages, on the issue's 1366×768 laptop: clicks, fields typed or
    chosen, pages loaded (every load of the tab, a redirect's target included), and scrolls (an
    element to use that is not in the window when the clerk reaches for it)."""

    page: Page
    clicks: int = 0
    fields: int = 0
    loads: int = 0
    scrolls: int = 0

    document: str = ""

    def __post_init__(self) -> None:
        self.page.set_viewport_size(LAPTOP)
        # Each document the tab loads gets its own mark: a new mark after an action is a page load.
        self.page.add_init_script("window.__meterDocument = `${Date.now()}-${Math.random()}`;")

    def _reach(self, locator) -> None:
        if not locator.evaluate(_IN_WINDOW):
            self.scrolls += 1

    def _settle(self) -> None:
        self.page.wait_for_load_state("load")
        document = self.page.evaluate("window.__meterDocument")
        if document != self.document:
            self.loads += 1
            self.document = document

    def click(self, locator) -> None:
        self._reach(locator)
        self.clicks += 1
        locator.click()
        self._settle()

    def fill(self, locator, text: str) -> None:
        self._reach(locator)
        self.fields += 1
        locator.fill(text)

    def choose_file(self, locator, path) -> None:
        """A file input: one click opens the chooser, the file chosen is the field."""
        self._reach(locator)
        self.clicks += 1
        self.fields += 1
        locator.set_input_files(str(path))

    def open(self, url: str) -> None:
        """Typing an address or following a bookmark: a load, no click."""
        self.page.goto(url)
        self._settle()

    def counts(self) -> tuple[int, int, int, int]:
        return (self.clicks, self.fields, self.loads, self.scrolls)


def take_in_orders(server) -> list[Order]:
    result = intake_run()
    assert result.ok and result.acknowledged == len(server.store.order_ids()), result.summary()
    return list(Order.objects.order_by("sequence"))


def send_outbox():
    return outbox_send_due(client=vtex_client())


def nfe_key(number: int) -> str:
    """A well-formed access key of NF `number` (series 1) issued this month (store time)."""
    first = f"35{timezone.localtime():%y%m}1234567800019055001{number:09d}1{number:08d}"
    return first + str(access_key_check_digit(first))


def workbook_file(path, rows: list[list[object]]):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def in_portuguese(page: Page) -> None:
    page.get_by_label("Language").select_option("pt-br")
    page.get_by_role("button", name="Change language").click()
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")


# ---- 50 orders through the imports, in Portuguese ----------------------------------------------------------


def test_fifty_orders_invoiced_and_tracked_through_two_imports_in_portuguese(
    make_sandbox, make_staff, log_in, screenshots, tmp_path
):
    server = make_sandbox(orders=ORDERS)
    orders = take_in_orders(server)
    page = log_in(make_staff("bia", groups=["Back office"]))
    in_portuguese(page)
    issued = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%d/%m/%Y %H:%M")
    invoices_file = workbook_file(
        tmp_path / "notas.xlsx",
        [
            ["Pedido", "Chave de acesso", "Data de emissão"],
            *[[order.order_id, nfe_key(1000 + n), issued] for n, order in enumerate(orders)],
        ],
    )
    meter = Meter(page)

    # -- the invoices: one spreadsheet, one preview, one confirmation ---------------------------------
    meter.open(reverse("admin:integration_order_changelist"))
    meter.click(page.get_by_role("link", name="Importar notas fiscais"))
    expect(page.get_by_role("heading", name="Importar notas fiscais")).to_be_visible()
    meter.choose_file(page.get_by_label("Arquivo da planilha"), invoices_file)
    meter.click(page.get_by_role("button", name="Pré-visualizar"))
    rows = page.locator("#bulk-rows tbody tr")
    expect(rows).to_have_count(ORDERS)
    expect(rows.filter(has_text="Pronta")).to_have_count(ORDERS)
    assert not Invoice.objects.exists()  # the preview saved nothing
    meter.click(page.get_by_role("button", name=f"Salvar as {ORDERS} linhas prontas"))
    expect(page.get_by_text(f"{ORDERS} linhas salvas; elas serão enviadas à VTEX.")).to_be_visible()
    assert Invoice.objects.count() == ORDERS
    summary = send_outbox()
    assert (summary.sent, summary.retrying, summary.failed) == (ORDERS, 0, 0)
    assert server.store.effects["invoice"] == {o.order_id: {str(1000 + n): 1} for n, o in enumerate(orders)}

    # -- the carrier's spreadsheet: 50 rows, the last one with an address that is not one ------------
    tracking_rows = [
        [order.order_id, f"BR{n:09d}BR", "Correios", f"https://rastreamento.correios.com.br/?objetos=BR{n:09d}BR"]
        for n, order in enumerate(orders[:-1])
    ]
    invalid_order = orders[-1]
    tracking_rows.append([invalid_order.order_id, "BR999999999BR", "Correios", "rastreamento.correios.com.br"])
    tracking_file = workbook_file(
        tmp_path / "rastreio.xlsx", [["Pedido", "Código de rastreio", "Transportadora", "URL"], *tracking_rows]
    )
    meter.click(page.get_by_role("link", name="Voltar à lista"))
    meter.click(page.get_by_role("link", name="Importar rastreios"))
    expect(page.get_by_role("heading", name="Importar códigos de rastreio")).to_be_visible()
    screenshots.take(page, "tracking-upload", full_page=False)
    meter.choose_file(page.get_by_label("Arquivo da planilha"), tracking_file)
    meter.click(page.get_by_role("button", name="Pré-visualizar"))

    expect(rows).to_have_count(ORDERS)
    expect(rows.filter(has_text="Pronta")).to_have_count(ORDERS - 1)
    invalid = rows.filter(has_text=invalid_order.order_id)
    expect(invalid).to_contain_text("Campo inválido")
    expect(invalid).to_contain_text("URL de rastreio: Informe um endereço http(s) completo.")
    expect(page.locator("#bulk-summary")).to_contain_text("Campo inválido: 1")
    assert not Invoice.objects.exclude(tracking_number="").exists()  # nothing saved by the preview
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING).exists()
    screenshots.take(page, "tracking-preview")
    assert page.evaluate(_SIDEWAYS) <= 0  # the 1366 px laptop never scrolls sideways
    meter.click(page.get_by_role("button", name=f"Salvar as {ORDERS - 1} linhas prontas"))

    expect(page.get_by_text(f"{ORDERS - 1} linhas salvas; elas serão enviadas à VTEX.")).to_be_visible()
    expect(page.get_by_text("1 linha não foi salva: veja o motivo abaixo.")).to_be_visible()
    expect(page.locator("#bulk-rows tbody tr.result-saved")).to_have_count(ORDERS - 1)
    expect(rows.filter(has_text=invalid_order.order_id)).to_contain_text("Não salva")
    expect(rows.filter(has_text=invalid_order.order_id)).to_contain_text("Campo inválido")
    screenshots.take(page, "tracking-results")
    assert page.evaluate(_SIDEWAYS) <= 0

    # -- each valid row's tracking reaches VTEX once; nothing for the invalid one ---------------------
    summary = send_outbox()
    assert (summary.sent, summary.retrying, summary.failed) == (ORDERS - 1, 0, 0)
    expected = {order.order_id: {str(1000 + n): 1} for n, order in enumerate(orders[:-1])}
    assert server.store.effects["tracking"] == expected
    for n, order in enumerate(orders[:-1]):
        package = server.store.order(order.order_id)["packageAttachment"]["packages"][0]
        assert (package["trackingNumber"], package["courier"]) == (f"BR{n:09d}BR", "Correios")
    assert invalid_order.invoices.get().tracking_number == ""
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING, order=invalid_order).exists()
    assert send_outbox().sent == 0  # nothing left to send, nothing sent twice
    assert server.store.effects["tracking"] == expected

    # Both imports for the 50 orders, from the order list to the last result page.
    # (docs/staff-guide.md: 50 orders take what one order takes by hand.)
    assert meter.counts() == (9, 2, 8, 0), meter.counts()


# ---- one order by hand, counted the same way -----------------------------------------------------------------


def test_one_order_invoiced_and_tracked_by_hand_counted_on_the_pages(make_sandbox, make_staff, log_in):
    """The path the imports replace, measured: find the order, enter its invoice, and later, when
    the carrier's code arrives, find its invoice and enter the tracking."""
    server = make_sandbox(orders=1)
    (order,) = take_in_orders(server)
    page = log_in(make_staff("caio", groups=["Back office"]))
    meter = Meter(page)

    # The invoice, from the order list.
    meter.open(reverse("admin:integration_order_changelist"))
    meter.fill(page.get_by_role("textbox", name="Search"), order.order_id)
    meter.click(page.get_by_role("button", name="Search"))
    meter.click(page.locator("#result_list").get_by_role("link", name=order.order_id))
    meter.click(page.get_by_role("link", name="Add invoice"))
    meter.fill(page.get_by_label("Invoice number"), "1000")
    meter.fill(
        page.get_by_label("Issued at"),
        timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    meter.fill(page.get_by_label("NF-e access key"), nfe_key(1000))
    meter.click(page.get_by_role("button", name="Save invoice"))
    expect(page.get_by_text("Invoice 1000 saved; it will be sent to VTEX.")).to_be_visible()
    send_outbox()

    # The tracking, once the carrier sends it: from the invoice list.
    meter.click(page.get_by_role("link", name="Invoices").first)
    meter.fill(page.get_by_role("textbox", name="Search"), order.order_id)
    meter.click(page.get_by_role("button", name="Search"))
    meter.click(page.locator("#result_list").get_by_role("link", name="1000"))
    tracking = page.locator("#tracking")
    meter.fill(tracking.get_by_label("Tracking number"), "BR000000001BR")
    meter.fill(tracking.get_by_label("Tracking URL"), "https://rastreamento.correios.com.br/?objetos=BR000000001BR")
    meter.fill(tracking.get_by_label("Courier"), "Correios")
    meter.click(page.get_by_role("button", name="Save tracking"))
    expect(page.get_by_text(re.compile("Tracking of invoice 1000 saved"))).to_be_visible()
    send_outbox()
    assert server.store.effects["tracking"] == {order.order_id: {"1000": 1}}

    assert meter.counts() == (8, 8, 9, 5), meter.counts()
