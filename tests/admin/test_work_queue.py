"""The order list as the clerk's work queue (issue 19), through the Django test client: the saved
views, the list's filters kept through the order, add-invoice and invoice pages, "Save and go to
the next", the list's columns (carrier, UF, NF, tracking) in a bounded number of queries, VTEX's
carrier prefilled, an invoice VTEX refused shown as refused, NF numbers and access keys checked,
the exact NF search, the order page's layout, and the picking list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import responses
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integration.admin.queue import next_pk
from integration.infra.vtex_client import vtex_client
from integration.models import Invoice, Order, OutboxMessage, SendState
from integration.services.outbox import outbox_send
from integration.services.tracking import invoice_set_tracking
from tests.admin.test_order_admin import order_form_data
from tests.factories import (
    access_key_for,
    make_acknowledged_order,
    make_fulfillment,
    make_invoice,
    make_item,
    make_order,
)

pytestmark = pytest.mark.django_db

OMS = "https://teststore.vtexcommercestable.com.br"
TO_INVOICE = "queue=to_invoice"


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    """The services queue a send after commit; these tests send explicitly (refuse_at_vtex)."""


# ---- helpers ------------------------------------------------------------------------------------------


def changelist(query: str = "") -> str:
    return reverse("admin:integration_order_changelist") + (f"?{query}" if query else "")


def order_page(order: Order, filters: str = "") -> str:
    url = reverse("admin:integration_order_change", args=[order.pk])
    return f"{url}?{urlencode({'_changelist_filters': filters})}" if filters else url


def add_invoice(order: Order, filters: str = "") -> str:
    url = reverse("admin:integration_order_add_invoice", args=[order.pk])
    return f"{url}?{urlencode({'_changelist_filters': filters})}" if filters else url


def invoice_page(invoice: Invoice, filters: str = "") -> str:
    url = reverse("admin:integration_invoice_change", args=[invoice.pk])
    return f"{url}?{urlencode({'_changelist_filters': filters})}" if filters else url


def listed(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return [order.order_id for order in response.context["cl"].result_list]


def sent_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def invoice_form_data(client: Client, url: str, **fields: str) -> dict[str, str]:
    """The add-invoice form as the browser posts it: its prefilled values, then `fields`."""
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: "" if form[name].value() is None else form[name].value() for name in form.fields}
    data["issued_at"] = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data.update(fields)
    return data


def refuse_at_vtex(invoice: Invoice, message: str = "Invoice key does not belong to this store") -> None:
    """The invoice's send goes to a VTEX that answers 400, through the outbox as push_pending sends it."""
    row = OutboxMessage.objects.get(invoice=invoice, kind=OutboxMessage.Kind.INVOICE)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as vtex:
        vtex.add(
            responses.POST,
            f"{OMS}/api/oms/pvt/orders/{invoice.order.order_id}/invoice",
            status=400,
            json={"error": {"code": "1", "message": message}},
        )
        outcome = outbox_send(message_id=row.pk, client=vtex_client())
    assert outcome.state == OutboxMessage.State.FAILED
    invoice.refresh_from_db()
    assert invoice.send_state == SendState.FAILED


def day(number: int) -> datetime:
    return datetime(2024, 5, number, 12, 0, tzinfo=UTC)


@pytest.fixture
def queue() -> list[Order]:
    """Three orders to invoice, created on May 3, 1 and 2 (so oldest first is 2nd, 3rd, 1st)."""
    return [make_acknowledged_order(created_at_vtex=day(n)) for n in (3, 1, 2)]


# ---- saved views ----------------------------------------------------------------------------------------


def test_to_invoice_lists_the_orders_that_take_an_invoice_oldest_first(admin_client, queue, vtex_settings):
    # given: beside the queue, orders that take no invoice now
    make_order(created_at_vtex=day(1))  # not yet acknowledged at VTEX
    make_acknowledged_order(created_at_vtex=day(1), seller_id="strbar", seller_name="Star Bar")  # another seller's
    make_acknowledged_order(created_at_vtex=day(1), is_complete=False)  # never read in full
    make_invoice(make_acknowledged_order(created_at_vtex=day(1)))  # invoiced already
    partial = make_acknowledged_order(created_at_vtex=day(4))
    make_invoice(partial, quantities={0: 1})

    # when
    response = admin_client.get(changelist(TO_INVOICE))

    # then: the waiting ones, oldest first; a partially invoiced order still waits for the rest
    oldest_first = sorted(queue, key=lambda order: order.created_at_vtex) + [partial]
    assert listed(response) == [order.order_id for order in oldest_first]
    # a column the clerk sorts by wins over the queue's own order (-5: "created", newest first; 0 is the checkbox)
    assert listed(admin_client.get(changelist(f"{TO_INVOICE}&o=-5")))[0] == partial.order_id


def test_the_saved_views_are_links_at_the_top_of_the_list_the_current_one_marked(admin_client, queue):
    content = admin_client.get(changelist("queue=no_tracking")).content.decode()

    nav = content[content.index('class="work-queues"') : content.index("</nav>", content.index("work-queues"))]
    assert nav.index("To invoice") < nav.index("No tracking") < nav.index("Failed") < nav.index("All orders")
    assert f'href="{changelist(TO_INVOICE)}"' in nav
    assert 'href="/admin/integration/order/?queue=no_tracking" id="queue-2" aria-current="page"' in nav
    assert content.index('class="work-queues"') < content.index('id="changelist-search"')


def test_no_tracking_and_failed_hold_what_their_names_say(admin_client, vtex_settings):
    # given
    waiting = make_acknowledged_order()
    make_invoice(waiting)
    tracked = make_acknowledged_order()
    invoice_set_tracking(invoice=make_invoice(tracked), tracking_number="BR1BR", courier="Correios", via="test")
    refused = make_acknowledged_order()
    refuse_at_vtex(make_invoice(refused))
    intake_failed = make_order(intake_error="VTEX answered 500", intake_failed_at=timezone.now())
    ack_failed = make_order(start_handling="failed", start_handling_error="VTEX answered 409")
    make_acknowledged_order()  # to invoice: in neither

    # then
    assert listed(admin_client.get(changelist("queue=no_tracking"))) == [waiting.order_id]
    assert set(listed(admin_client.get(changelist("queue=failed")))) == {
        refused.order_id,
        intake_failed.order_id,
        ack_failed.order_id,
    }


# ---- the columns and their cost ---------------------------------------------------------------------------


def _order_with_everything(state_code: str = "SP") -> Order:
    order = make_acknowledged_order(state_code=state_code)
    for index in range(3):
        make_fulfillment(order, index, carrier="Correios", sla="Sedex")
    invoice = make_invoice(order, quantities={0: 2})
    invoice_set_tracking(invoice=invoice, tracking_number=f"BR{order.pk}BR", courier="Correios", via="test")
    return order


def test_the_list_shows_uf_carrier_method_nf_and_tracking(admin_client):
    order = make_acknowledged_order(state_code="RJ")
    make_fulfillment(order, 0, carrier="Transportadora Rápida", sla="Expressa")
    make_fulfillment(order, 1, carrier="Transportadora Rápida", sla="Expressa")
    first = make_invoice(order, quantities={0: 2})
    invoice_set_tracking(invoice=first, tracking_number="JD0001", courier="", via="test")
    second = make_invoice(order, quantities={1: 1})
    other = make_acknowledged_order(state_code="", customer_name="Sem Entrega")

    content = admin_client.get(changelist()).content.decode()

    row = content[content.index(f">{order.order_id}<") :]
    row = row[: row.index("</tr>")]
    # under the customer: where and how it goes (UF, VTEX's carrier, the delivery method)
    assert (
        '<td class="field-customer">Maria Souza<span class="delivery">RJ · Transportadora Rápida · Expressa</span>'
        in row
    )
    # under the status: each NF with its tracking code
    assert f'<span class="invoice-line">NF {first.number} · <span class="tracking">JD0001</span></span>' in row
    assert f'<span class="invoice-line">NF {second.number}</span>' in row
    # an order VTEX said nothing of: its customer alone
    assert '<td class="field-customer">Sem Entrega</td>' in content
    assert other.order_id in content


def test_a_carrier_entered_on_an_invoice_wins_over_vtexs_in_the_list(admin_client):
    order = make_acknowledged_order()
    make_fulfillment(order, 0, carrier="Correios", sla="Sedex")
    invoice_set_tracking(invoice=make_invoice(order), tracking_number="LG1", courier="Loggi", via="test")

    content = admin_client.get(changelist()).content.decode()

    assert '<span class="delivery">SP · Loggi · Sedex</span>' in content


def test_the_list_stays_within_ten_queries_whatever_the_number_of_orders(admin_client):
    # given: a first request warms what a session caches
    for _ in range(3):
        _order_with_everything()
    admin_client.get(changelist())
    with CaptureQueriesContext(connection) as with_3:
        assert len(listed(admin_client.get(changelist()))) == 3

    # when
    for _ in range(27):
        _order_with_everything()
    with CaptureQueriesContext(connection) as with_30:
        assert len(listed(admin_client.get(changelist()))) == 30

    # then
    sql = [query["sql"] for query in with_30.captured_queries]
    assert len(with_30) == len(with_3), sql
    assert len(with_30) <= 10, sql


# ---- a refused invoice ------------------------------------------------------------------------------------


def test_an_invoice_vtex_refused_is_red_in_the_lists_and_a_banner_on_the_order(admin_client, vtex_settings):
    # given: the order's only invoice, refused (its local state would read "Invoiced")
    order = make_acknowledged_order()
    invoice = make_invoice(order)
    refuse_at_vtex(invoice, "Invoice key does not belong to this store")
    order.refresh_from_db()
    assert order.state == Order.State.INVOICED

    for language, refused_text, invoiced_text in (
        ("en", "Refused by VTEX", "Invoiced"),
        ("pt-BR", "Recusado pela VTEX", "Faturado"),
    ):
        # when
        listing = admin_client.get(changelist(), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        page = admin_client.get(order_page(order), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        invoices = admin_client.get(
            reverse("admin:integration_invoice_changelist"), HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()

        # then: the order list says refused, in red, never a green "Invoiced"
        status = listing[listing.index('class="status-cell"') :]
        status = status[: status.index("</div>")]
        assert '<span class="badge badge-danger" title="' in status and f">{refused_text}</span>" in status
        assert "badge-success" not in status and f">{invoiced_text}<" not in status
        assert f'<span class="refused" title="{refused_text}">{invoice.number} ✕</span>' in status
        # the order page opens on a banner with VTEX's answer and the way to the retry
        banner = page[page.index('id="refused-invoices"') :]
        banner = banner[: banner.index("</section>")]
        assert "HTTP 400" in banner and "Invoice key does not belong to this store" in banner
        assert f'href="{invoice_page(invoice)}#vtex-refused"' in banner
        assert page.index('id="refused-invoices"') < page.index("fieldset")
        # and the invoice list marks it the same way
        assert f">{refused_text}</span>" in invoices


def test_an_order_without_a_refused_invoice_has_no_banner(admin_client):
    order = make_acknowledged_order()
    make_invoice(order)
    assert 'id="refused-invoices"' not in admin_client.get(order_page(order)).content.decode()


# ---- filters kept ---------------------------------------------------------------------------------------


def test_the_lists_filters_travel_through_the_order_and_add_invoice_pages_and_back(admin_client, queue):
    order = queue[1]
    listing = admin_client.get(changelist(TO_INVOICE)).content.decode()
    assert f'href="{order_page(order, TO_INVOICE)}"' in listing.replace("&amp;", "&")

    page = admin_client.get(order_page(order, TO_INVOICE)).content.decode().replace("&amp;", "&")
    # the breadcrumb goes back to the filtered list; the invoice button keeps the filters
    assert f'href="{changelist(TO_INVOICE)}"' in page
    assert f'href="{add_invoice(order, TO_INVOICE)}" id="add-invoice"' in page

    form = admin_client.get(add_invoice(order, TO_INVOICE)).content.decode().replace("&amp;", "&")
    assert f'href="{changelist(TO_INVOICE)}"' in form  # breadcrumb
    assert f'href="{order_page(order, TO_INVOICE)}" class="closelink"' in form  # Cancel

    saved = admin_client.post(
        add_invoice(order, TO_INVOICE),
        invoice_form_data(admin_client, add_invoice(order, TO_INVOICE), number="NF-1", _save="1"),
    )
    assert saved.status_code == 302 and saved["Location"] == order_page(order, TO_INVOICE)

    # the order page's own Save goes back to the filtered list (Django's preserved filters)
    data = order_form_data(admin_client, order, notes="Conferido", _save="Save")
    edited = admin_client.post(order_page(order, TO_INVOICE), data)
    assert edited.status_code == 302 and edited["Location"] == changelist(TO_INVOICE)


def test_the_invoice_pages_forms_come_back_with_the_invoice_lists_filters(admin_client):
    invoice = make_invoice(make_acknowledged_order())
    filters = "send_state__exact=pending"
    page = admin_client.get(invoice_page(invoice, filters))
    action = page.context["tracking_action"]
    assert parse_qs(urlsplit(action).query) == {"_changelist_filters": [filters]}

    saved = admin_client.post(action, {"tracking_number": "BR9BR", "courier": "Correios", "tracking_url": ""})

    assert saved.status_code == 302 and saved["Location"] == invoice_page(invoice, filters)


# ---- save and go to the next -------------------------------------------------------------------------------


def test_save_and_go_to_the_next_walks_the_filtered_queue_to_its_end(admin_client, queue):
    oldest_first = sorted(queue, key=lambda order: order.created_at_vtex)
    outside = make_order(created_at_vtex=day(1))  # not to invoice: never visited
    url = add_invoice(oldest_first[0], TO_INVOICE)
    visited = []
    for number, order in enumerate(oldest_first, start=1):
        assert url == add_invoice(order, TO_INVOICE)
        visited.append(order.order_id)
        response = admin_client.post(url, invoice_form_data(admin_client, url, number=f"NF-{number}", _save_next="1"))
        assert response.status_code == 302
        assert Invoice.objects.filter(order=order).count() == 1
        url = response["Location"]

    assert visited == [order.order_id for order in oldest_first]
    assert url == changelist(TO_INVOICE)
    assert ("info", "That was the last order of this list.") in sent_messages(response)
    assert not outside.invoices.exists()


def test_save_and_go_to_the_next_follows_a_list_the_order_stays_in(admin_client, queue):
    # Filtered on the customer: the invoiced order stays listed, the next one is the one after it.
    filters = "q=Maria"
    listing = listed(admin_client.get(changelist(filters)))
    first, second = (Order.objects.get(order_id=order_id) for order_id in listing[:2])

    response = admin_client.post(
        add_invoice(first, filters),
        invoice_form_data(admin_client, add_invoice(first), number="NF-1", _save_next="1"),
    )

    assert response["Location"] == add_invoice(second, filters)


def test_the_next_order_that_takes_no_invoice_opens_on_its_page(admin_client, queue):
    filters = "vtex_status=handling"
    # next after the oldest, but not invoiceable
    blocked = make_acknowledged_order(created_at_vtex=day(1) + timedelta(hours=1), is_complete=False)
    listing = listed(admin_client.get(changelist(filters + "&o=5")))
    position = listing.index(blocked.order_id)
    before = Order.objects.get(order_id=listing[position - 1])

    response = admin_client.post(
        add_invoice(before, filters + "&o=5"),
        invoice_form_data(admin_client, add_invoice(before), number="NF-1", _save_next="1"),
    )

    assert response["Location"] == order_page(blocked, filters + "&o=5")


@pytest.mark.parametrize(
    ("before", "after", "current", "expected"),
    [
        ([1, 2, 3], [2, 3], 1, 2),  # the order done left the list
        ([1, 2, 3], [1, 2, 3], 1, 2),  # it stays in it
        ([1, 2, 3], [1, 3], 2, 3),
        ([1, 2, 3], [1, 2], 2, None),  # the one after it left meanwhile: the end
        ([1, 2, 3], [1, 2, 3, 4], 3, 4),  # one joined the list after its end
        ([1, 2, 3], [2, 3], 9, 2),  # opened from elsewhere: the list's first
        ([], [], 1, None),
    ],
)
def test_next_pk_is_the_first_after_the_current_order_still_listed(before, after, current, expected):
    assert next_pk(before, after, current) == expected


# ---- the add-invoice page: Enter saves, the carrier prefilled, numbers and keys -------------------------------


def test_enter_saves_the_first_submit_button_is_save(admin_client, queue):
    content = admin_client.get(add_invoice(queue[0])).content.decode()
    form = content[content.index('id="invoice-form"') :]
    buttons = [
        form[index : form.index(">", index)]
        for index in range(len(form))
        if form.startswith('<input type="submit"', index)
    ]
    assert [button.split('name="')[1].split('"')[0] for button in buttons] == ["_save", "_save_next", "_preview"]

    # and preview is still a button of its own: it saves nothing
    data = invoice_form_data(admin_client, add_invoice(queue[0]), _preview="1")
    assert admin_client.post(add_invoice(queue[0]), data).status_code == 200
    assert not queue[0].invoices.exists()


def test_vtex_carrier_and_method_prefill_the_carrier_and_show_on_the_order(admin_client):
    order = make_acknowledged_order()
    for index in range(3):
        make_fulfillment(order, index, carrier="Correios", sla="Sedex")

    page = admin_client.get(add_invoice(order))
    order_content = admin_client.get(order_page(order)).content.decode()

    assert page.context["form"]["courier"].value() == "Correios"
    assert "VTEX's carrier: Correios; delivery method: Sedex." in page.content.decode()
    assert '<span id="vtex-carrier">Correios</span> · <span id="vtex-method">Sedex</span>' in order_content


def test_the_tracking_form_starts_with_the_carrier_vtex_chose_for_the_invoices_items(admin_client):
    order = make_acknowledged_order()
    make_fulfillment(order, 0, carrier="Correios", sla="PAC")
    make_fulfillment(order, 1, carrier="Jadlog", sla="Expressa")
    make_fulfillment(order, 2, carrier="Jadlog", sla="Expressa")
    first = make_invoice(order, quantities={0: 2})
    second = make_invoice(order, quantities={1: 1, 2: 3}, courier="Loggi")

    assert admin_client.get(invoice_page(first)).context["tracking_form"]["courier"].value() == "Correios"
    # entered on the invoice: that one wins
    assert admin_client.get(invoice_page(second)).context["tracking_form"]["courier"].value() == "Loggi"
    # several carriers for the order: nothing guessed on its invoice form
    assert admin_client.get(add_invoice(make_acknowledged_order())).context["form"]["courier"].value() == ""


def test_several_carriers_prefill_nothing_on_the_invoice_form(admin_client):
    order = make_acknowledged_order()
    make_fulfillment(order, 0, carrier="Correios")
    make_fulfillment(order, 1, carrier="Jadlog")
    assert admin_client.get(add_invoice(order)).context["form"]["courier"].value() == ""


def test_a_number_another_order_has_warns_and_saves_when_saved_again(admin_client, queue):
    other = make_acknowledged_order()
    make_invoice(other, number="2002")
    order = queue[0]
    data = invoice_form_data(admin_client, add_invoice(order), number="2002", _save="1")

    warned = admin_client.post(add_invoice(order), data)

    assert warned.status_code == 200 and not order.invoices.exists()
    notice = warned.content.decode()
    notice = notice[notice.index('id="number-elsewhere"') : notice.index("</div>", notice.index("number-elsewhere"))]
    assert other.order_id in notice and "save again to keep it" in notice
    assert '<input type="hidden" name="_same_number_ok" value="2002">' in warned.content.decode()

    saved = admin_client.post(add_invoice(order), {**data, "_same_number_ok": "2002"})

    assert saved.status_code == 302
    assert order.invoices.get().number == "2002"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"number": "2003"}, "number", "not the number inside the access key (2002)"),
        ({"number": "2002", "series": "7"}, "series", "not the series inside the access key (1)"),
        ({"number": "2002", "access_key": "USED"}, "access_key", "already on invoice"),
    ],
)
def test_numbers_series_and_keys_are_checked_beside_their_fields(admin_client, queue, fields, field, words):
    used = make_invoice(make_acknowledged_order(), number="2002-1", access_key=access_key_for(2002, code=77))
    key = used.access_key if fields.get("access_key") == "USED" else access_key_for(2002)
    order = queue[0]
    data = invoice_form_data(admin_client, add_invoice(order), _save="1", _same_number_ok="2002", **fields)
    data["access_key"] = key

    response = admin_client.post(add_invoice(order), data)

    assert response.status_code == 200
    assert words in " ".join(response.context["form"].errors[field])
    assert not order.invoices.exists()


# ---- search -----------------------------------------------------------------------------------------------


def test_an_nf_number_is_found_exactly_before_any_substring(admin_client):
    exact = make_acknowledged_order()
    make_invoice(exact, number="123")
    longer = make_acknowledged_order()
    make_invoice(longer, number="1234")
    make_acknowledged_order(sequence="5123")  # its sequence holds "123"

    assert listed(admin_client.get(changelist("q=123"))) == [exact.order_id]
    invoices = admin_client.get(reverse("admin:integration_invoice_changelist") + "?q=123")
    assert [invoice.number for invoice in invoices.context["cl"].result_list] == ["123"]
    # no invoice has the number: substrings as before
    assert len(listed(admin_client.get(changelist("q=512")))) == 1
    substring = admin_client.get(reverse("admin:integration_invoice_changelist") + "?q=12")
    assert sorted(invoice.number for invoice in substring.context["cl"].result_list) == ["123", "1234"]


# ---- the order page --------------------------------------------------------------------------------------


def test_the_order_page_opens_on_customer_items_delivery_and_address_with_internals_folded(admin_client):
    order = make_acknowledged_order(raw={"orderId": "x", "status": "handling"})
    make_fulfillment(order, 0)
    content = admin_client.get(order_page(order)).content.decode()

    where = {
        name: content.index(marker)
        for name, marker in {
            "invoice button": 'id="add-invoice"',
            "customer": ">Customer</h2>",
            "items": 'id="items-group"',
            "delivery": ">Delivery</h2>",
            "address": ">Shipping address</h2>",
            "status": ">Status</h2>",
            "payments": 'id="payments-group"',
            "integration": ">Integration</h2>",
            "dates": ">Dates</h2>",
            "json": ">VTEX order JSON</h2>",
            "timeline": 'id="order-timeline"',
        }.items()
    }
    assert sorted(where, key=where.get) == list(where)
    # the internals are folded (a closed <details>), attempts and group among them
    internals = content[content.index('class="module aligned collapse order-internals"') :]
    assert internals.lstrip().startswith('class="module aligned collapse order-internals"')
    assert "<details><summary>" in internals[:400]
    assert "field-order_group" in internals and "field-start_handling" in internals


# ---- printing ---------------------------------------------------------------------------------------------


def test_the_picking_list_prints_the_selected_orders_items_delivery_and_address(client, django_user_model):
    viewer = django_user_model.objects.create_user("picker", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    first = make_acknowledged_order(created_at_vtex=day(2), receiver_name="Ana Lima", complement="apto 12")
    make_fulfillment(first, 0, carrier="Correios", sla="Sedex")
    second = make_order(created_at_vtex=day(1), delivery_channel="pickup-in-point", pickup_point_name="Loja Centro")
    make_item(second, sku_id="777", ean="7890000000777", name="Caneca", quantity=4)
    make_item(second, sku_id="778", name="Removida", quantity=1, quantity_after_changes=0)
    left_out = make_acknowledged_order()

    response = client.post(changelist(), {"action": "print_picking_list", "_selected_action": [first.pk, second.pk]})

    assert response.status_code == 200
    content = response.content.decode()
    assert "@media print" in content
    # oldest first: the order that waited longest is picked first
    assert content.index(f'id="picking-{second.order_id}"') < content.index(f'id="picking-{first.order_id}"')
    assert left_out.order_id not in content
    block = content[content.index(f'id="picking-{first.order_id}"') :]
    block = block[: block.index("</section>")]
    assert "Correios · Sedex" in block
    assert "Ana Lima" in block and "Avenida Paulista, 1000 – apto 12" in block and "São Paulo/SP" in block
    for sku, ean in (("3021", "7891234567895"), ("4410", "7890000000017"), ("5120", "7890000000024")):
        assert f'<td class="code">{sku}' in block and f'<td class="code">{ean}</td>' in block
    assert re.findall(r'<td class="qty">(\d+)</td>', block) == ["2", "1", "3"]
    pickup = content[content.index(f'id="picking-{second.order_id}"') :]
    pickup = pickup[: pickup.index("</section>")]
    assert "Loja Centro" in pickup and "Caneca" in pickup and "7890000000777" in pickup
    assert "Removida" not in pickup  # removed at VTEX: nothing to pick
