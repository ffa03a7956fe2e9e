"""The clerk's work queue in pt-BR, in a real Chromium (issue 19's acceptance): "A faturar" oldest
first, "Salvar e ir para o próximo" walking that filtered list, Enter saving, the breadcrumb back
to the same list, and an invoice VTEX refused shown as refused in the list (never a green
"Faturado") and on its order.

The admin runs on the live server against a sandbox store on a real port; the test sends the
outbox itself (outbox_send_due) where the background worker would.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from integration.infra.vtex_client import vtex_client
from integration.models import Invoice, Order
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send_due

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


_OVERFLOW = """() => ({
    page: document.scrollingElement.scrollWidth - window.innerWidth,
    table: (({scrollWidth, clientWidth}) => scrollWidth - clientWidth)(document.querySelector("#changelist .results")),
    columns: [...document.querySelectorAll("#result_list thead th")].map(
        (th) => [th.className, Math.round(th.getBoundingClientRect().width)]
    ),
})"""


def in_portuguese(page) -> None:
    page.get_by_label("Language").select_option("pt-br")
    page.get_by_role("button", name="Change language").click()
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")


def add_invoice_path(order: Order) -> str:
    return reverse("admin:integration_order_add_invoice", args=[order.pk])


def test_save_and_go_to_the_next_walks_a_to_invoice_queue_and_a_refused_invoice_shows_as_refused(
    make_sandbox, make_staff, log_in, screenshots, run_axe
):
    # given: four orders waiting at VTEX, taken in and acknowledged
    server = make_sandbox(orders=4)
    result = intake_run()
    assert result.ok and result.acknowledged == 4, result.summary()
    queue = list(Order.objects.order_by("created_at_vtex", "id"))
    assert all(order.state == Order.State.HANDLING for order in queue)

    page = log_in(make_staff("clara", groups=["Back office"]))
    in_portuguese(page)

    # The saved view "A faturar", at the top of the order list: the oldest order first.
    page.goto(reverse("admin:integration_order_changelist"))
    page.get_by_role("navigation", name="Filas de trabalho").get_by_role("link", name="A faturar").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first.get_by_role("link", name=queue[0].order_id)).to_be_visible()
    screenshots.take(page, "a-faturar")

    # The first order, then its invoice form from the top of the page.
    rows.first.get_by_role("link", name=queue[0].order_id).click()
    page.locator("#add-invoice").click()
    expect(page).to_have_url(
        f"{page.url.split('/admin/')[0]}{add_invoice_path(queue[0])}?_changelist_filters=queue%3Dto_invoice"
    )
    # "Transportadora" starts with the carrier VTEX chose for the order.
    carrier = queue[0].item_fulfillments.exclude(carrier="").values_list("carrier", flat=True).first()
    expect(page.get_by_label("Transportadora")).to_have_value(carrier or "")

    # "Salvar e ir para o próximo" twice: each saves and opens the next order of "A faturar".
    for number, (order, following) in enumerate(zip(queue[:2], queue[1:3], strict=True), start=1001):
        expect(page.get_by_role("heading", name=f"Adicionar nota fiscal ao pedido {order.order_id}")).to_be_visible()
        page.get_by_label("Número da nota fiscal").fill(str(number))
        page.get_by_role("button", name="Salvar e ir para o próximo").click()
        expect(page.get_by_text(f"Nota fiscal {number} salva")).to_be_visible()
        expect(
            page.get_by_role("heading", name=f"Adicionar nota fiscal ao pedido {following.order_id}")
        ).to_be_visible()
        assert Invoice.objects.filter(order=order, number=str(number)).count() == 1
        screenshots.take(page, f"next-after-{number}")

    # The third one: Enter in the number field saves (Preview is a button of its own).
    page.get_by_label("Número da nota fiscal").fill("1003")
    page.get_by_label("Número da nota fiscal").press("Enter")
    expect(page.get_by_text("Nota fiscal 1003 salva")).to_be_visible()
    assert Invoice.objects.filter(order=queue[2], number="1003").exists()
    # Back on that order; its breadcrumb leads to the same filtered list, where one order is left.
    page.locator(".breadcrumbs").get_by_role("link", name="Pedidos").click()
    expect(page).to_have_url(f"{page.url.split('?')[0]}?queue=to_invoice")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name=queue[3].order_id)).to_be_visible()

    # VTEX cancels the first order before its invoice reaches it: VTEX refuses the invoice (400).
    server.store.set_status(queue[0].order_id, "canceled")
    summary = outbox_send_due(client=vtex_client())
    assert (summary.sent, summary.failed) == (2, 1), summary
    assert Invoice.objects.get(order=queue[0]).send_state == "failed"

    # The list says so, in red, and never "Faturado" for that order.
    page.goto(reverse("admin:integration_order_changelist") + "?queue=failed")
    refused_row = page.locator("#result_list tbody tr").filter(has_text=queue[0].order_id)
    expect(refused_row.locator(".badge-danger")).to_have_text("Recusado pela VTEX")
    expect(refused_row.locator(".badge-success")).to_have_count(0)
    expect(refused_row).not_to_contain_text("Faturado")
    screenshots.take(page, "recusado-na-lista")
    # The other two invoiced orders read "Faturado" in the whole list, which still fits 1280 px with
    # each order's UF, carrier, NF and tracking (neither the page nor the table scrolls sideways).
    page.goto(reverse("admin:integration_order_changelist"))
    for order in queue[1:3]:
        row = page.locator("#result_list tbody tr").filter(has_text=order.order_id)
        expect(row.locator(".badge-success")).to_have_text("Faturado")
    assert page.viewport_size["width"] == 1280
    measured = page.evaluate(_OVERFLOW)
    assert measured["page"] <= 0 and measured["table"] <= 0, measured

    # And its page opens on a banner with VTEX's answer.
    page.goto(reverse("admin:integration_order_change", args=[queue[0].pk]))
    banner = page.locator("#refused-invoices")
    expect(banner).to_contain_text("Recusado pela VTEX")
    expect(banner).to_contain_text("cannot be invoiced")
    screenshots.take(page, "recusado-no-pedido", full_page=False)

    # The picking list of the order still to invoice and another: items with SKU, EAN and quantity,
    # the delivery method and the address, on a page of its own (print stylesheet), with no
    # serious WCAG finding.
    page.goto(reverse("admin:integration_order_changelist"))
    for order in (queue[2], queue[3]):
        page.locator("#result_list tbody tr").filter(has_text=order.order_id).get_by_role("checkbox").check()
    page.get_by_label("Ação:").select_option(label="Imprimir lista de separação")
    page.get_by_role("button", name="Ir").click()
    expect(page.get_by_role("heading", name="Lista de separação: 2 pedidos")).to_be_visible()
    block = page.locator(f"#picking-{queue[3].order_id}")
    for item in queue[3].items.all():
        row = block.locator("tbody tr").filter(has_text=item.name)
        expect(row).to_contain_text(item.sku_id)
        expect(row.locator("td.qty")).to_have_text(str(item.quantity_after_changes))
    expect(block.locator(".address")).to_contain_text(queue[3].postal_code)
    screenshots.take(page, "lista-de-separacao")
    report = run_axe(page, "picking-list")
    assert not report.blocking, [str(finding) for finding in report.blocking]
