"""The order admin through the Django test client: list, search, filters, the order page, staff
edits, the two VTEX actions (list and buttons), and who may do what."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import responses
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from integration.admin.money import format_cents
from integration.infra.rate_budget import BUDGET_NAME
from integration.models import Order, OrderEvent, RateBudget, VtexCall
from integration.selectors.start_handling import StartHandlingState, order_start_handling
from tests.factories import make_call, make_event, make_item, make_order, make_payment, vtex_order_json

pytestmark = pytest.mark.django_db

OMS = "https://teststore.vtexcommercestable.com.br"
CHANGELIST = "admin:integration_order_changelist"


def changelist_url(query: str = "") -> str:
    return reverse(CHANGELIST) + (f"?{query}" if query else "")


def change_url(order: Order) -> str:
    return reverse("admin:integration_order_change", args=[order.pk])


def listed_ids(response) -> set[str]:
    assert response.status_code == 200, response.status_code
    return {order.order_id for order in response.context["cl"].result_list}


def sent_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def order_form_data(client, order: Order, **changes: str) -> dict[str, object]:
    """What the browser would post for the order page: the form's values plus the inlines'
    management data, with `changes` applied on top (they may name any field, editable or not)."""
    response = client.get(change_url(order))
    assert response.status_code == 200
    form = response.context["adminform"].form
    data: dict[str, object] = {name: form.initial.get(name) or "" for name in form.fields}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for index, inline_form in enumerate(formset.forms):
            data[f"{formset.prefix}-{index}-id"] = inline_form.instance.pk
            data[f"{formset.prefix}-{index}-order"] = order.pk
    data.update(changes)
    return data


@pytest.fixture
def viewer_client(client, django_user_model):
    """Staff who may look at orders and the logs but change nothing."""
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "view_orderevent", "view_vtexcall"])
    )
    client.force_login(user)
    return client


@pytest.fixture
def vtex(vtex_settings):
    """A fake VTEX; every registered answer must be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def no_vtex(vtex_settings):
    """A fake VTEX with no answer at all: a test using it asserts nothing was sent."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# ---- money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (123_456, "BRL", "R$\u00a01.234,56"),
        (0, "BRL", "R$\u00a00,00"),
        (5, "BRL", "R$\u00a00,05"),
        (100_000_000_00, "BRL", "R$\u00a0100.000.000,00"),
        (-150, "BRL", "-R$\u00a01,50"),
        (1_999, "USD", "US$\u00a019,99"),
        (1_999, "ARS", "ARS\u00a019,99"),
        (None, "BRL", ""),
    ],
)
def test_format_cents_shows_brazilian_money(cents, currency, shown):
    # The English shapes, and the language switch itself: tests/i18n/test_formats.py.
    with translation.override("pt-br"):
        assert format_cents(cents, currency) == shown


def test_money_template_filter():
    with translation.override("pt-br"):
        rendered = Template("{% load erp_admin %}{{ total|money }} {{ fee|money:'USD' }}").render(
            Context({"total": 123_456, "fee": 250})
        )

    assert rendered == "R$\u00a01.234,56 US$\u00a02,50"


# ---- the list --------------------------------------------------------------------------------------


def test_order_list_shows_the_columns(admin_client):
    # given
    order = make_order(
        sequence="5021", total_cents=123_456, customer_name="Maria Souza", vtex_status="ready-for-handling"
    )

    # when
    response = admin_client.get(changelist_url())

    # then
    content = response.content.decode()
    assert listed_ids(response) == {order.order_id}
    for text in (
        "5021-01",
        "Maria Souza",
        "R$1,234.56",
        "handling",
        "Received (VTEX not yet told)",
        "Not sent yet",
    ):
        assert text in content


def test_admin_site_has_the_erp_bridge_header(admin_client):
    content = admin_client.get(reverse("admin:index")).content.decode()

    assert "erp-bridge" in content
    assert "VTEX orders back office" in content


@pytest.fixture
def two_customers():
    maria = make_order(
        sequence="5021",
        customer_name="Maria Souza",
        customer_email="maria.souza@example.com",
        customer_document="12345678909",
    )
    joao = make_order(
        sequence="7788",
        customer_name="João Lima",
        customer_email="joao@lima.dev",
        customer_document="98765432100",
    )
    return maria, joao


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("5021-01", "maria"),
        ("7788", "joao"),
        ("seq7788", "joao"),
        ("SEQ 5021", "maria"),
        ("Souza", "maria"),
        ("joão lima", "joao"),
        ("joao@lima.dev", "joao"),
        ("12345678909", "maria"),
        ("123.456.789-09", "maria"),
        ("987.654.321-00", "joao"),
    ],
)
def test_order_search_finds_the_right_order(admin_client, two_customers, term, expected):
    maria, joao = two_customers
    wanted = {"maria": maria, "joao": joao}[expected]

    response = admin_client.get(changelist_url(), {"q": term})

    assert listed_ids(response) == {wanted.order_id}


def test_order_search_with_no_match_lists_nothing(admin_client, two_customers):
    assert listed_ids(admin_client.get(changelist_url(), {"q": "nobody@example.com"})) == set()
    assert listed_ids(admin_client.get(changelist_url(), {"q": "seq9999"})) == set()


@pytest.fixture
def mixed_orders():
    return {
        "new": make_order(created_at_vtex=datetime(2024, 5, 2, 15, 0, tzinfo=UTC)),
        "handling": make_order(
            vtex_status="handling",
            state=Order.State.HANDLING,
            start_handling="done",
            created_at_vtex=datetime(2024, 6, 10, 15, 0, tzinfo=UTC),
        ),
        "ack_failed": make_order(
            start_handling="failed",
            start_handling_error="POST /start-handling: HTTP 500 boom",
            created_at_vtex=datetime(2024, 6, 11, 15, 0, tzinfo=UTC),
        ),
        "intake_failed": make_order(
            intake_error="VTEX sent a malformed order: items: the order has no items",
            is_complete=False,
            created_at_vtex=datetime(2023, 12, 31, 15, 0, tzinfo=UTC),
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("vtex_status=handling", {"handling"}),
        ("vtex_status=ready-for-handling", {"new", "ack_failed", "intake_failed"}),
        ("state__exact=handling", {"handling"}),
        ("state__exact=received", {"new", "ack_failed", "intake_failed"}),
        ("start_handling=failed", {"ack_failed"}),
        ("start_handling=done", {"handling"}),
        ("start_handling=not_done", {"new", "ack_failed", "intake_failed"}),
        ("attention=yes", {"ack_failed", "intake_failed"}),
        ("attention=no", {"new", "handling"}),
        ("created_at_vtex__year=2024&created_at_vtex__month=6", {"handling", "ack_failed"}),
        ("created_at_vtex__year=2023", {"intake_failed"}),
        # the date filter's own links carry the store's offset
        ("created_at_vtex__gte=2024-05-01+00:00:00-03:00&created_at_vtex__lt=2024-06-01+00:00:00-03:00", {"new"}),
        ("", {"new", "handling", "ack_failed", "intake_failed"}),
    ],
)
def test_order_list_filters_narrow_the_list(admin_client, mixed_orders, query, expected):
    response = admin_client.get(changelist_url(query))

    assert listed_ids(response) == {mixed_orders[name].order_id for name in expected}


def _order_with_everything() -> Order:
    order = make_order()
    make_item(order)
    make_item(order, name="Boné preto")
    make_payment(order)
    make_event(order)
    make_call(order.order_id)
    return order


def test_order_list_query_count_does_not_grow_with_the_orders(admin_client):
    # given: a first request warms caches (session, content types)
    for _ in range(3):
        _order_with_everything()
    admin_client.get(changelist_url())
    with CaptureQueriesContext(connection) as with_3:
        assert len(listed_ids(admin_client.get(changelist_url()))) == 3

    # when
    for _ in range(27):
        _order_with_everything()
    with CaptureQueriesContext(connection) as with_30:
        assert len(listed_ids(admin_client.get(changelist_url()))) == 30

    # then
    assert len(with_30) == len(with_3), [query["sql"] for query in with_30.captured_queries]


# ---- the order page ---------------------------------------------------------------------------------


def test_order_page_shows_items_payments_json_and_timeline(admin_client):
    # given
    order = make_order(
        total_cents=123_456,
        raw={"orderId": "x", "customerNote": "<script>alert(1)</script>", "value": 123456},
    )
    make_item(
        order,
        sku_id="3021",
        ref_id="CAM-AZ-M",
        ean="7891234567895",
        name="Camiseta azul M",
        quantity=2,
        unit_price_cents=5_000,
        selling_price_cents=4_500,
    )
    make_payment(order, payment_system_name="Pix", value_cents=123_456, tid="TID-PIX-1")
    make_event(order, kind=OrderEvent.Kind.IMPORTED, message="Imported from VTEX in status ready-for-handling.")
    make_call(
        order.order_id,
        operation="start_handling",
        method="POST",
        path=f"/api/oms/pvt/orders/{order.order_id}/start-handling",
        status_code=500,
        response_excerpt='{"error": {"message": "Erro interno"}}',
    )
    make_call("another-order-01", path="/api/oms/pvt/orders/another-order-01")

    # when
    response = admin_client.get(change_url(order))

    # then
    assert response.status_code == 200
    content = response.content.decode()
    # items and payments
    for text in ("Camiseta azul M", "CAM-AZ-M", "7891234567895", "R$50.00", "R$45.00", "R$90.00"):
        assert text in content
    assert "Pix" in content and "TID-PIX-1" in content
    # totals in R$
    assert "R$1,234.56" in content
    # the raw JSON, folded and escaped
    assert '<details class="raw-json">' in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)" not in content
    # the timeline: the event and this order's call, not another order's
    assert "Imported from VTEX in status ready-for-handling." in content
    assert f"POST /api/oms/pvt/orders/{order.order_id}/start-handling" in content
    assert "HTTP 500" in content
    assert "Erro interno" in content
    assert "another-order-01" not in content


def test_order_page_timeline_is_newest_first(admin_client):
    order = make_order()
    make_event(order, message="first thing")
    make_call(order.order_id, operation="get_order", created_at=datetime(2100, 1, 1, tzinfo=UTC))
    make_call(order.order_id, operation="old_call", created_at=datetime(2000, 1, 1, tzinfo=UTC))

    timeline = admin_client.get(change_url(order)).context["timeline"]

    assert [entry.what for entry in timeline.entries] == [
        "get_order",
        "Imported: first thing",
        "old_call",
    ]


def test_order_page_shows_intake_and_ack_errors(admin_client):
    order = make_order(
        intake_error="VTEX sent a malformed order: totals: add up to 1 cents",
        start_handling_error="HTTP 500 Erro interno",
        start_handling="failed",
        start_handling_attempts=3,
    )

    content = admin_client.get(change_url(order)).content.decode()

    assert 'id="intake-error"' in content and "totals: add up to 1 cents" in content
    assert 'id="ack-error"' in content and "HTTP 500 Erro interno" in content
    assert "3 attempts" in content


def test_staff_edit_of_the_address_goes_through_the_service(admin_client, admin_user):
    # given
    order = make_order(street="Avenida Paulista", number="1000")

    # when
    response = admin_client.post(
        change_url(order), order_form_data(admin_client, order, street="Rua Augusta", number="250")
    )

    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    order.refresh_from_db()
    assert (order.street, order.number) == ("Rua Augusta", "250")
    assert order.shipping_address_edited is True
    event = order.events.get(kind=OrderEvent.Kind.EDITED)
    assert event.actor == admin_user
    assert event.data == {
        "street": {"from": "Avenida Paulista", "to": "Rua Augusta"},
        "number": {"from": "1000", "to": "250"},
    }
    # and the timeline shows who did it
    content = admin_client.get(change_url(order)).content.decode()
    assert "Edited by staff: Changed street, number." in content


def test_staff_edit_of_notes_does_not_mark_the_address_edited(admin_client):
    order = make_order()

    admin_client.post(change_url(order), order_form_data(admin_client, order, notes="Cliente pediu nota fiscal."))

    order.refresh_from_db()
    assert order.notes == "Cliente pediu nota fiscal."
    assert order.shipping_address_edited is False
    assert order.events.filter(kind=OrderEvent.Kind.EDITED).count() == 1


def test_saving_without_changes_records_nothing(admin_client):
    order = make_order()

    response = admin_client.post(change_url(order), order_form_data(admin_client, order))

    assert response.status_code == 302
    assert not order.events.filter(kind=OrderEvent.Kind.EDITED).exists()


def test_crafted_post_cannot_change_read_only_fields(admin_client):
    # given
    order = make_order(total_cents=14_490, vtex_status="ready-for-handling", customer_name="Maria Souza")
    item = make_item(order, quantity=1)

    # when: the POST names VTEX's fields and an item's quantity next to a real edit
    data = order_form_data(
        admin_client,
        order,
        city="Campinas",
        order_id="HACKED-01",
        total_cents="1",
        vtex_status="invoiced",
        state="delivered",
        start_handling="done",
        customer_name="Someone else",
        raw='{"orderId": "HACKED-01"}',
        shipping_address_edited="",
        **{"items-0-quantity": "99"},
    )
    response = admin_client.post(change_url(order), data)

    # then: only the editable field changed
    assert response.status_code == 302
    order.refresh_from_db()
    item.refresh_from_db()
    assert order.city == "Campinas"
    assert (order.order_id, order.total_cents, order.vtex_status, order.state) == (
        order.order_id,
        14_490,
        "ready-for-handling",
        Order.State.RECEIVED,
    )
    assert not order.outbox_messages.exists()
    assert order.order_id != "HACKED-01"
    assert order.customer_name == "Maria Souza"
    assert order.raw["orderId"] != "HACKED-01"
    assert order.shipping_address_edited is True
    assert item.quantity == 1


def test_orders_cannot_be_added_or_deleted(admin_client):
    order = make_order()

    assert admin_client.get(reverse("admin:integration_order_add")).status_code == 403
    delete_url = reverse("admin:integration_order_delete", args=[order.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()
    actions = admin_client.get(changelist_url()).context["action_form"].fields["action"].choices
    assert "delete_selected" not in [name for name, _ in actions]


# ---- actions ---------------------------------------------------------------------------------------


def run_action(client, action: str, *orders: Order):
    return client.post(changelist_url(), {"action": action, "_selected_action": [order.pk for order in orders]})


def test_refresh_action_reports_each_order(admin_client, vtex):
    # given
    good = make_order(customer_name="Old Name")
    missing = make_order()
    vtex.get(
        f"{OMS}/api/oms/pvt/orders/{good.order_id}",
        json=vtex_order_json(order_id=good.order_id, status="handling", first_name="Ana", last_name="Costa"),
    )
    vtex.get(
        f"{OMS}/api/oms/pvt/orders/{missing.order_id}",
        status=404,
        json={"error": {"code": "OMS007", "message": "Pedido não encontrado"}},
    )

    # when
    response = run_action(admin_client, "refresh_from_vtex", good, missing)

    # then
    assert response.status_code == 302
    reports = sent_messages(response)
    assert ("success", f"{good.order_id}: refreshed from VTEX, status Handling shipping (handling).") in reports
    [(level, text)] = [report for report in reports if report[1].startswith(missing.order_id)]
    assert level == "warning"
    assert "Pedido não encontrado" in text and "404" in text
    good.refresh_from_db()
    assert (good.vtex_status, good.customer_name, good.items.count()) == ("handling", "Ana Costa", 2)
    assert VtexCall.objects.filter(order_id=missing.order_id, status_code=404).exists()


def test_refresh_action_reports_a_malformed_order(admin_client, vtex):
    order = make_order()
    broken = vtex_order_json(order_id=order.order_id)
    broken["value"] += 1  # totals no longer add up
    vtex.get(f"{OMS}/api/oms/pvt/orders/{order.order_id}", json=broken)

    reports = sent_messages(run_action(admin_client, "refresh_from_vtex", order))

    [(level, text)] = reports
    assert level == "warning"
    assert "malformed order" in text and "totals" in text


def test_start_handling_action_reports_each_order(admin_client, admin_user, vtex):
    # given
    accepted = make_order()
    refused = make_order()
    vtex.post(f"{OMS}/api/oms/pvt/orders/{accepted.order_id}/start-handling", status=204)
    vtex.post(
        f"{OMS}/api/oms/pvt/orders/{refused.order_id}/start-handling",
        status=500,
        json={"error": {"code": "1", "message": "Erro interno do OMS"}},
    )

    # when
    response = run_action(admin_client, "retry_start_handling", accepted, refused)

    # then
    reports = sent_messages(response)
    assert ("success", f"{accepted.order_id}: start-handling done. VTEX accepted start-handling.") in reports
    [(level, text)] = [report for report in reports if report[1].startswith(refused.order_id)]
    assert level == "warning"
    assert "Erro interno do OMS" in text
    accepted.refresh_from_db()
    refused.refresh_from_db()
    assert order_start_handling(accepted).state == StartHandlingState.DONE
    assert order_start_handling(refused).state == StartHandlingState.FAILED
    assert "Erro interno do OMS" in order_start_handling(refused).error
    assert accepted.events.get(kind=OrderEvent.Kind.SEND_RETRY).actor == admin_user  # who asked
    assert accepted.events.filter(kind=OrderEvent.Kind.ACKNOWLEDGED).count() == 1


def test_start_handling_action_on_an_acknowledged_order_sends_nothing(admin_client, no_vtex):
    order = make_order(start_handling="done", vtex_status="handling")

    reports = sent_messages(run_action(admin_client, "retry_start_handling", order))

    assert reports == [("success", f"{order.order_id}: start-handling done. Already acknowledged.")]
    assert len(no_vtex.calls) == 0


def test_actions_refuse_too_many_orders(admin_client, no_vtex, monkeypatch):
    monkeypatch.setattr("integration.admin.actions.MAX_ORDERS_PER_ACTION", 2)
    orders = [make_order() for _ in range(3)]

    reports = sent_messages(run_action(admin_client, "refresh_from_vtex", *orders))

    assert [level for level, _ in reports] == ["warning"]
    assert "at most 2 orders" in reports[0][1]
    assert len(no_vtex.calls) == 0


def test_actions_wait_for_no_rate_limit_pause(admin_client, no_vtex):
    # given: a 429 paused every process for another minute
    RateBudget.objects.update_or_create(name=BUDGET_NAME, defaults={"paused_until": time.time() + 60})
    order = make_order()

    # when / then: staff are told to come back instead of the request waiting out the pause
    [(level, text)] = sent_messages(run_action(admin_client, "retry_start_handling", order))
    assert level == "warning" and "HTTP 429" in text
    admin_client.get(changelist_url())  # shows (and so consumes) that message

    [(level, text)] = sent_messages(admin_client.post(reverse("admin:integration_order_refresh", args=[order.pk])))
    assert level == "warning" and "HTTP 429" in text
    assert len(no_vtex.calls) == 0
    order.refresh_from_db()
    assert order_start_handling(order).state == StartHandlingState.PENDING


# ---- buttons on the order page ------------------------------------------------------------------------


def test_refresh_button_refreshes_and_returns_to_the_order(admin_client, vtex):
    order = make_order()
    vtex.get(f"{OMS}/api/oms/pvt/orders/{order.order_id}", json=vtex_order_json(order_id=order.order_id))

    response = admin_client.post(reverse("admin:integration_order_refresh", args=[order.pk]))

    assert response.status_code == 302
    assert response["Location"] == change_url(order)
    assert sent_messages(response)[0][0] == "success"
    order.refresh_from_db()
    assert order.items.count() == 2


def test_start_handling_button_acknowledges(admin_client, vtex):
    order = make_order()
    vtex.post(f"{OMS}/api/oms/pvt/orders/{order.order_id}/start-handling", status=204)

    response = admin_client.post(reverse("admin:integration_order_acknowledge", args=[order.pk]))

    assert response.status_code == 302
    assert response["Location"] == change_url(order)
    order.refresh_from_db()
    assert order_start_handling(order).state == StartHandlingState.DONE


def test_buttons_are_on_the_order_page(admin_client):
    order = make_order()

    content = admin_client.get(change_url(order)).content.decode()

    assert reverse("admin:integration_order_refresh", args=[order.pk]) in content
    assert reverse("admin:integration_order_acknowledge", args=[order.pk]) in content


@pytest.mark.parametrize("name", ["admin:integration_order_refresh", "admin:integration_order_acknowledge"])
def test_buttons_refuse_get(admin_client, no_vtex, name):
    order = make_order()

    assert admin_client.get(reverse(name, args=[order.pk])).status_code == 405
    assert len(no_vtex.calls) == 0


def test_buttons_require_the_csrf_token(client, admin_user, no_vtex):
    order = make_order()
    client.handler.enforce_csrf_checks = True
    client.force_login(admin_user)

    response = client.post(reverse("admin:integration_order_refresh", args=[order.pk]))

    assert response.status_code == 403
    assert len(no_vtex.calls) == 0


def test_button_on_a_missing_order_redirects_with_a_message(admin_client, no_vtex):
    response = admin_client.post(reverse("admin:integration_order_refresh", args=[999_999]))

    assert response.status_code == 302
    assert sent_messages(response)[0][0] == "warning"


# ---- permissions --------------------------------------------------------------------------------------


def test_view_only_staff_can_look_but_not_act(viewer_client, no_vtex):
    # given
    order = make_order()
    make_call(order.order_id)

    # then: the list and the page render, read-only, without actions or buttons
    listing = viewer_client.get(changelist_url())
    assert listing.status_code == 200
    assert b"refresh_from_vtex" not in listing.content
    page = viewer_client.get(change_url(order))
    assert page.status_code == 200
    assert b"Refresh from VTEX" not in page.content
    assert page.context["adminform"].form.fields == {}

    # when: they post the action and the buttons anyway
    run_action(viewer_client, "refresh_from_vtex", order)
    run_action(viewer_client, "retry_start_handling", order)
    refresh = viewer_client.post(reverse("admin:integration_order_refresh", args=[order.pk]))
    acknowledge = viewer_client.post(reverse("admin:integration_order_acknowledge", args=[order.pk]))
    edit = viewer_client.post(change_url(order), {"street": "Rua Augusta"})

    # then: nothing reached VTEX and nothing changed
    assert (refresh.status_code, acknowledge.status_code, edit.status_code) == (403, 403, 403)
    assert len(no_vtex.calls) == 0
    order.refresh_from_db()
    assert order_start_handling(order).state == StartHandlingState.PENDING
    assert order.street == "Avenida Paulista"


# ---- the logs ------------------------------------------------------------------------------------------


def test_call_log_and_events_are_read_only_and_link_to_the_order(admin_client):
    order = make_order()
    call = make_call(order.order_id)
    event = make_event(order)

    calls = admin_client.get(reverse("admin:integration_vtexcall_changelist"))
    events = admin_client.get(reverse("admin:integration_orderevent_changelist"))

    assert calls.status_code == events.status_code == 200
    assert change_url(order) in calls.content.decode()
    assert change_url(order) in events.content.decode()
    for name, row in (("vtexcall", call), ("orderevent", event)):
        page = admin_client.get(reverse(f"admin:integration_{name}_change", args=[row.pk]))
        assert page.status_code == 200
        assert page.context["adminform"].form.fields == {}
        assert admin_client.get(reverse(f"admin:integration_{name}_add")).status_code == 403
        assert admin_client.post(reverse(f"admin:integration_{name}_delete", args=[row.pk])).status_code == 403


def test_call_log_filtered_by_order(admin_client):
    order = make_order()
    mine = make_call(order.order_id)
    make_call("other-01")

    response = admin_client.get(reverse("admin:integration_vtexcall_changelist"), {"order_id__exact": order.order_id})

    assert [call.pk for call in response.context["cl"].result_list] == [mine.pk]


def test_leases_and_rate_budget_pages_render(admin_client):
    for name in ("lease", "ratebudget"):
        assert admin_client.get(reverse(f"admin:integration_{name}_changelist")).status_code == 200


def test_the_app_token_never_appears_in_the_admin(admin_client, vtex, vtex_settings):
    # given: a refresh made VTEX calls (logged with their excerpts)
    order = make_order()
    vtex.get(f"{OMS}/api/oms/pvt/orders/{order.order_id}", json=vtex_order_json(order_id=order.order_id))
    run_action(admin_client, "refresh_from_vtex", order)
    call = VtexCall.objects.get(order_id=order.order_id)

    # then
    token = vtex_settings.VTEX_APP_TOKEN.encode()
    for url in (
        changelist_url(),
        change_url(order),
        reverse("admin:integration_vtexcall_changelist"),
        reverse("admin:integration_vtexcall_change", args=[call.pk]),
    ):
        assert token not in admin_client.get(url).content
