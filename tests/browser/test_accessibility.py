"""Accessibility of the back office's own pages (issue 8 §4), checked in Chromium with axe-core.

axe-core's script comes inside the axe-playwright-python wheel and is evaluated in the page
(conftest's `run_axe`): nothing is loaded from a CDN. Each custom page is checked as staff see it,
with an error shown where the page has a form, in the light and in the dark theme (the admin
follows the system's): no violation of a WCAG 2 A/AA rule of impact serious or critical. What axe
found on each page, including its minor and best-practice findings, is written to var/axe/<test>/.

The keyboard test walks the add-invoice form with Tab: the fields come in the order they are
shown, the submit buttons are reached, and wherever the focus is, it is visibly ringed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from integration.models import Invoice, Order, OutboxMessage
from integration.services.tracking import invoice_set_tracking
from tests.browser.conftest import PASSWORD, VIEWPORT
from tests.factories import make_acknowledged_order, make_call, make_event, make_invoice, make_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@dataclass
class Shop:
    order: Order  # invoiced in part, tracked: timeline, invoices, add-invoice form
    tracked: Invoice
    untracked: Invoice  # its page shows the tracking form only
    refused: Invoice  # VTEX refused its send: the page's red notice
    cancellable: Order


@pytest.fixture
def shop(transactional_db) -> Shop:
    """Orders in every state and start-handling state (every badge colour of the list), an order
    with a timeline and invoices, a send VTEX refused, and orders stuck for the health dashboard."""
    order = make_acknowledged_order(customer_name="João da Conceição")
    make_event(order)
    make_call(order.order_id)
    make_call(order.order_id, operation="start_handling", method="POST", status_code=500, path="/x/start-handling")
    tracked = make_invoice(order, quantities={0: 1}, number="NF-501")
    invoice_set_tracking(invoice=tracked, tracking_number="BR000000501BR", courier="Correios")
    untracked = make_invoice(order, quantities={1: 1}, number="NF-502")

    refused_order = make_acknowledged_order()
    refused = make_invoice(refused_order, number="NF-601")
    OutboxMessage.objects.filter(invoice=refused).update(
        state=OutboxMessage.State.FAILED,
        attempts=15,
        last_status_code=400,
        last_error="POST /api/oms/pvt/orders/x/invoice: HTTP 400 [400] Order is canceled and cannot be invoiced",
    )
    Invoice.objects.filter(pk=refused.pk).update(send_state="failed")

    long_ago = timezone.now() - timedelta(days=5)
    for state in Order.State.values:
        make_order(state=state, start_handling="done", created_at_vtex=long_ago)
    make_order(start_handling="failed", start_handling_error="HTTP 500", created_at_vtex=long_ago)
    make_order(start_handling="sending")
    make_order(intake_error="VTEX answered HTTP 500", created_at_vtex=long_ago)
    return Shop(
        order=order,
        tracked=tracked,
        untracked=untracked,
        refused=refused,
        cancellable=make_acknowledged_order(),
    )


def order_url(order: Order, view: str = "change") -> str:
    return reverse(f"admin:integration_order_{view}", args=[quote(order.pk)])


def invoice_url(invoice: Invoice) -> str:
    return reverse("admin:integration_invoice_change", args=[quote(invoice.pk)])


def assert_no_blocking(reports) -> None:
    blocking = [f"{report.page}: {finding}" for report in reports for finding in report.blocking]
    assert not blocking, "axe found serious or critical WCAG violations:\n" + "\n".join(blocking)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_custom_pages_have_no_serious_wcag_violation(
    shop, make_staff, log_in, run_axe, chromium, live_server, screenshots, scheme
):
    page = log_in(make_staff("ana", groups=["Back office"]))
    page.emulate_media(color_scheme=scheme)
    requested: list[str] = []  # axe runs from the wheel's copy: the pages fetch nothing from elsewhere
    page.on("request", lambda request: requested.append(request.url))
    reports = []

    # The order list: every state's badge, a failed start-handling, the filters.
    page.goto(reverse("admin:integration_order_changelist"))
    expect(page.locator("#result_list .badge-danger").first).to_be_visible()
    expect(page.locator("#result_list .badge-warning").first).to_be_visible()
    reports.append(run_axe(page, f"order-list-{scheme}"))

    # The order page and its timeline.
    page.goto(order_url(shop.order))
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    reports.append(run_axe(page, f"order-page-{scheme}"))

    # The add-invoice form, with a quantity refused beside its field.
    page.goto(order_url(shop.order, "add_invoice"))
    page.get_by_label("Invoice number").fill("NF-503")
    quantity = page.locator("input.invoice-quantity").first
    quantity.fill("50")
    page.get_by_role("button", name="Save invoice").click()
    expect(page.get_by_text("Please correct the errors below. Nothing was saved.")).to_be_visible()
    expect(quantity).to_have_attribute("aria-invalid", "true")
    reports.append(run_axe(page, f"add-invoice-with-error-{scheme}"))
    screenshots.take(page, f"add-invoice-with-error-{scheme}", full_page=False)

    # The NF-e import, refused (not an NF-e), and the bulk upload's table.
    not_nfe = {"name": "nota.xml", "mimeType": "application/xml", "buffer": b"<nota/>"}
    page.goto(order_url(shop.order, "import_nfe"))
    page.get_by_label("NF-e XML file").set_input_files(not_nfe)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("The NF-e was not imported. Nothing was saved or sent.")).to_be_visible()
    reports.append(run_axe(page, f"import-nfe-with-error-{scheme}"))
    page.goto(reverse("admin:integration_invoice_import_nfe"))
    page.get_by_label("NF-e XML files or ZIP").set_input_files([not_nfe])
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#nfe-results")).to_contain_text("This is not an NF-e")
    reports.append(run_axe(page, f"import-nfe-files-results-{scheme}"))

    # An invoice's page: the tracking form, refused empty.
    page.goto(invoice_url(shop.untracked))
    tracking = page.locator("#tracking")
    expect(tracking.get_by_role("heading", name="Tracking")).to_be_visible()
    page.get_by_role("button", name="Save tracking").click()
    expect(tracking.locator(".errorlist").first).to_be_visible()
    reports.append(run_axe(page, f"tracking-form-with-error-{scheme}"))

    # An invoice with tracking: the events and delivery forms.
    page.goto(invoice_url(shop.tracked))
    expect(page.get_by_role("button", name="Mark delivered")).to_be_visible()
    reports.append(run_axe(page, f"invoice-events-and-delivery-{scheme}"))

    # A send VTEX refused: the red notice at the top of the invoice's page.
    page.goto(invoice_url(shop.refused))
    expect(page.locator(".refused-notice")).to_be_visible()
    reports.append(run_axe(page, f"invoice-refused-send-{scheme}"))

    # The cancellation's confirmation page, with the server's refusal of a blank reason.
    page.goto(order_url(shop.cancellable, "request_cancellation"))
    page.get_by_label("Reason").fill("   ")
    page.get_by_role("button", name="Yes, ask VTEX to cancel").click()
    expect(page.get_by_text("Please correct the error below. Nothing was sent.")).to_be_visible()
    reports.append(run_axe(page, f"cancellation-confirmation-with-error-{scheme}"))

    # The tracking import: its form refused empty, then a preview with a ready and an invalid row.
    page.goto(reverse("admin:integration_invoice_import_tracking"))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("Choose a file or paste the columns.")).to_be_visible()
    reports.append(run_axe(page, f"import-tracking-with-error-{scheme}"))
    page.get_by_label("Or paste the columns").fill(
        f"order\tNF number\ttracking code\ttracking URL\n{shop.order.order_id}\tNF-502\tBR1\t\n"
        f"{shop.order.order_id}\tNF-404\tBR2\tftp://x\n"
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#bulk-rows .badge-success")).to_have_count(1)
    reports.append(run_axe(page, f"import-tracking-preview-{scheme}"))

    # The health dashboard, with stuck orders; the home page with its headline; the invoice list.
    page.goto(reverse("admin:integration_health"))
    reports.append(run_axe(page, f"health-dashboard-{scheme}"))
    page.goto(reverse("admin:index"))
    reports.append(run_axe(page, f"home-{scheme}"))
    page.goto(reverse("admin:integration_invoice_changelist"))
    reports.append(run_axe(page, f"invoice-list-{scheme}"))
    screenshots.take(page, f"invoice-list-{scheme}")

    # The login page, before and after a wrong password.
    context = chromium.new_context(viewport=VIEWPORT, base_url=live_server.url, locale="en-US", color_scheme=scheme)
    try:
        login = context.new_page()
        login.goto(reverse("admin:login"))
        # Django's login page has no heading of its own (templates/admin/login.html gives it one).
        expect(login.get_by_role("heading", level=1, name="Log in")).to_be_visible()
        reports.append(run_axe(login, f"login-{scheme}"))
        screenshots.take(login, f"login-{scheme}", full_page=False)
        login.get_by_label("Username").fill("ana")
        login.get_by_label("Password").fill(PASSWORD + "-wrong")
        login.get_by_role("button", name="Log in").click()
        expect(login.locator(".errornote")).to_be_visible()
        reports.append(run_axe(login, f"login-with-error-{scheme}"))
    finally:
        context.close()

    assert_no_blocking(reports)
    assert [url for url in requested if not url.startswith((live_server.url, "data:"))] == []


#: The add-invoice form's controls in the order staff see them: the invoice, its shipping, each
#: item's quantity (one row each), the value override, then the buttons.
INVOICE_FORM_ORDER = [
    "number",
    "kind",
    "issued_at",
    "access_key",
    "series",
    "url",
    "embedded_xml",
    "courier",
    "tracking_number",
    "tracking_url",
    "item_0",
    "item_1",
    "item_2",
    "value",
    "_save",
    "_save_next",
    "_preview",
]

_FOCUSED = """() => {
    const element = document.activeElement;
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    return {
        name: element.getAttribute("name") || element.id || element.tagName,
        top: box.top + window.scrollY,
        left: box.left + window.scrollX,
        height: box.height,
        focusVisible: element.matches(":focus-visible"),
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth) || 0,
    };
}"""


def test_the_invoice_form_is_walked_with_tab_in_visual_order_with_a_visible_focus(
    shop, make_staff, log_in, screenshots
):
    page = log_in(make_staff("bruno", groups=["Back office"]))
    order = make_acknowledged_order()
    page.goto(order_url(order, "add_invoice"))
    number = page.get_by_label("Invoice number")
    expect(number).to_be_focused()  # the form opens on its first field

    walked = [page.evaluate(_FOCUSED)]
    for _ in range(80):  # a date and time field takes several Tabs (day, month, year, hour, minute)
        if walked[-1]["name"] == "_preview":
            break
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused["name"] != walked[-1]["name"]:
            walked.append(focused)
            if focused["name"] == "item_1":
                screenshots.take(page, "keyboard-focus-on-a-quantity", full_page=False)

    assert [step["name"] for step in walked] == INVOICE_FORM_ORDER
    # Visual order: each control is below the previous one, or on the same line to its right.
    for before, after in zip(walked, walked[1:], strict=False):
        same_line = abs(after["top"] - before["top"]) < min(before["height"], after["height"]) / 2
        assert (after["left"] > before["left"]) if same_line else (after["top"] > before["top"]), (before, after)
    # The focus is ringed wherever it goes (admin.css: 2 px, in the theme's focus colour).
    for step in walked:
        assert step["focusVisible"], step
        assert step["outlineStyle"] != "none" and step["outlineWidth"] >= 2, step

    # A quantity above what is left, sent with Enter: the page comes back with the focus on that
    # quantity (server-side autofocus), not on the invoice number, so it is corrected at once.
    number.fill("NF-701")
    quantity = page.locator('input[name="item_1"]')
    quantity.fill(str(int(quantity.input_value()) + 5))
    quantity.press("Enter")
    expect(page.locator(".errornote")).to_be_visible()
    expect(quantity).to_have_attribute("aria-invalid", "true")
    assert page.evaluate(_FOCUSED)["name"] == "item_1"
    assert not order.invoices.exists()

    # Enter saves (the first submit button is "Save invoice", issue 19); the server checked it all.
    quantity.fill("1")
    quantity.press("Enter")
    expect(page.get_by_text("Invoice NF-701 saved; it will be sent to VTEX.")).to_be_visible()
    assert order.invoices.get().number == "NF-701"


#: How far the page scrolls sideways (0 when it fits the window), and each list column's width.
_OVERFLOW = """() => ({
    overflow: document.scrollingElement.scrollWidth - window.innerWidth,
    // The admin wraps the table in a box that scrolls sideways on its own: the page may fit while
    // the table does not.
    tableOverflow: (({scrollWidth, clientWidth}) => scrollWidth - clientWidth)(
        document.querySelector("#changelist .results")
    ),
    columns: [...document.querySelectorAll("#result_list thead th")].map(
        (th) => [th.className, Math.round(th.getBoundingClientRect().width)]
    ),
})"""


@pytest.mark.parametrize("language", ["en-US", "pt-BR"])
def test_the_invoice_list_fits_a_1280_px_window(shop, make_staff, log_in, screenshots, language):
    """Staff scan the invoice list without scrolling sideways (neither the page nor the table), in
    either language (the pt-BR labels are the longer ones), with the shop's invoices in it."""
    page = log_in(make_staff("carla", groups=["Back office"]))
    if language == "pt-BR":
        page.get_by_label("Language").select_option("pt-br")
        page.get_by_role("button", name="Change language").click()
        expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    assert page.viewport_size["width"] == 1280
    page.goto(reverse("admin:integration_invoice_changelist"))
    expect(page.locator("#result_list tbody tr")).to_have_count(Invoice.objects.count())
    screenshots.take(page, f"invoice-list-{language}", full_page=False)
    measured = page.evaluate(_OVERFLOW)
    assert measured["overflow"] <= 0, measured
    assert measured["tableOverflow"] <= 0, measured


_HEADER = """() => {
    const name = document.querySelector("#site-name");
    const link = name.querySelector("a") || name;
    const select = document.querySelector("#language-switch-select");
    const button = document.querySelector("#language-switch button");
    const box = (element) => element.getBoundingClientRect();
    const within = (element) => box(element).left >= 0 && box(element).right <= window.innerWidth;
    return {
        name: link.textContent.trim(),
        clipped: Math.max(name.scrollWidth - name.clientWidth, link.scrollWidth - link.clientWidth),
        // One line: a name broken in two ("erp- / bridge") is cut too, if not clipped.
        lines: (() => { const range = document.createRange(); range.selectNodeContents(link);
            return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size; })(),
        overflow: document.scrollingElement.scrollWidth - window.innerWidth,
        switchInWindow: within(select) && within(button),
        overlap: box(name).right > box(select.closest("form")).left && box(name).bottom > box(select).top,
    };
}"""


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("language", ["en-US", "pt-BR"])
def test_the_login_header_shows_the_site_name_whole_and_the_language_switch(
    chromium, live_server, screenshots, width, language
):
    context = chromium.new_context(viewport={"width": width, "height": 800}, base_url=live_server.url, locale=language)
    try:
        page = context.new_page()
        page.goto(reverse("admin:login"))
        screenshots.take(page, f"login-{width}-{language}", full_page=False)
        measured = page.evaluate(_HEADER)
        assert measured["name"] == "erp-bridge", measured
        assert measured["clipped"] <= 0, measured  # the site name is shown whole
        assert measured["lines"] == 1, measured
        assert measured["overflow"] <= 0, measured
        assert measured["switchInWindow"], measured
        assert not measured["overlap"], measured
        expect(page.locator("#language-switch-select")).to_be_visible()
        expect(page.locator("#language-switch button")).to_be_visible()
        expect(page.locator("#site-name")).to_be_visible()
    finally:
        context.close()
