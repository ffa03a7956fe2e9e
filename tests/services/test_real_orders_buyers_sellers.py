"""Real VTEX orders, as stores send them (issue 15): each fixture of tests/fixtures/vtex/ goes
through the mapping, is stored by order_sync (the one path), and is read back through the API, the
admin's order page and the CSV export, with the figures written down in the fixtures' README."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from integration.models import Drift, ItemFulfillment, Order, OrderSeller, OutboxMessage, Payment
from integration.selectors.exports import order_export_csv
from integration.selectors.health import READY_NOT_ACKNOWLEDGED, orders_stuck
from integration.services.cancellation import order_cancellation_blocker
from integration.services.intake import intake_run
from integration.services.invoicing import invoice_kinds_open, order_invoicing_blocker
from integration.services.order_sync import FetchedOrder, orders_store_from_vtex
from integration.services.orders import order_start_handling_now
from integration.services.outbox import orders_awaiting_start_handling, outbox_enqueue_start_handling
from integration.services.reconciliation import compare_order
from integration.vtex import mapping
from integration.vtex.mapping import VtexDataError, order_data_from_vtex
from tests.api.conftest import client_for, user_with

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vtex"
NBSP = "\u00a0"
OMS = "https://teststore.vtexcommercestable.com.br"

pytestmark = pytest.mark.django_db


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def store(*raws: dict[str, Any]) -> list[Order]:
    """The documents stored as intake stores them: mapped, then orders_store_from_vtex."""
    fetched = [FetchedOrder(raw=raw, data=order_data_from_vtex(raw)) for raw in raws]
    return [outcome.order for outcome in orders_store_from_vtex(fetched=fetched)]


def api_detail(order: Order) -> dict[str, Any]:
    client = client_for(user_with("view_order"))
    response = client.get(f"/api/v1/orders/{order.order_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def admin_page(admin_client, order: Order, *, language: str = "en") -> str:
    response = admin_client.get(
        reverse("admin:integration_order_change", args=[order.pk]), HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    return response.content.decode()


def admin_search(admin_client, term: str) -> str:
    response = admin_client.get(reverse("admin:integration_order_changelist"), {"q": term})
    assert response.status_code == 200
    return response.content.decode()


def csv_row(order: Order, *, language: str = "en") -> dict[str, str]:
    export = order_export_csv(queryset=Order.objects.filter(pk=order.pk), actor=None, language=language)
    text = "".join(export.chunks).lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(text), delimiter=";" if language == "pt-br" else ","))
    return dict(zip(header, row, strict=True))


# ---- 1. a company buyer ----------------------------------------------------------------------------------------


def test_a_company_buyer_is_stored_with_its_cnpj_and_state_registration_and_shown_everywhere(admin_client):
    # given: VTEX sends the CNPJ in corporateDocument, document null (VTEX-API.md §14)
    raw = load("order_company_buyer")
    assert raw["clientProfileData"]["document"] is None
    # when
    (order,) = store(raw)
    # then: stored, the CNPJ as the buyer's document, without punctuation
    order.refresh_from_db()
    assert order.customer_is_corporate is True
    assert (order.customer_document_type, order.customer_document) == ("cnpj", "11222333000181")
    assert order.customer_document_check == Order.DocumentCheck.VALID
    assert order.customer_state_inscription == "110042490114"
    assert order.customer_corporate_name == "ACME Comércio de Móveis Ltda"
    assert order.customer_trade_name == "ACME Móveis"
    assert order.customer_corporate_phone == "+551130001001"
    assert order.customer_name == "Carlos Pereira"  # the company's contact
    # the 270-character complement, whole (the old 200-character column cut it)
    assert order.complement == raw["shippingData"]["address"]["complement"] and len(order.complement) > 200
    assert (order.affiliate_id, order.marketplace_order_id) == ("GCB", "GCB-778899001")
    # the API
    customer = api_detail(order)["customer"]
    assert customer == {
        "name": "Carlos Pereira",
        "email": "compras@acmemoveis.com.br",
        "document_type": "cnpj",
        "document": "11222333000181",
        "document_check": "valid",
        "phone": "+551130001000",
        "is_corporate": True,
        "corporate_name": "ACME Comércio de Móveis Ltda",
        "trade_name": "ACME Móveis",
        "state_registration": "110042490114",
        "corporate_phone": "+551130001001",
    }
    # the admin's order page
    page = admin_page(admin_client, order)
    for shown in ("11.222.333/0001-81", "ACME Móveis", "ACME Comércio de Móveis Ltda", "110042490114", "+551130001001"):
        assert shown in page
    # the CSV export
    row = csv_row(order)
    assert row["CPF/CNPJ"] == "11.222.333/0001-81"
    assert (row["Document type"], row["Document check"]) == ("cnpj", "valid")
    assert (row["Company name"], row["Trade name"], row["State registration"]) == (
        "ACME Comércio de Móveis Ltda",
        "ACME Móveis",
        "110042490114",
    )
    assert row["Total"] == "3433.00"


@pytest.mark.parametrize(
    "term", ["11.222.333/0001-81", "11222333000181", "ACME Móveis", "Comércio de Móveis", "110.042.490.114"]
)
def test_the_order_list_search_finds_a_company_by_cnpj_name_or_state_registration(admin_client, term):
    (company,) = store(load("order_company_buyer"))
    (other,) = store(load("order_pickup"))

    page = admin_search(admin_client, term)

    assert company.order_id in page
    assert other.order_id not in page


def test_a_cnpj_with_wrong_check_digits_is_flagged_not_refused(admin_client):
    # given: the last digit is off
    raw = load("order_company_buyer")
    raw["clientProfileData"]["corporateDocument"] = "11.222.333/0001-82"
    # when
    (order,) = store(raw)
    # then: stored, flagged in the admin and the API
    order.refresh_from_db()
    assert order.customer_document == "11222333000182"
    assert order.customer_document_check == Order.DocumentCheck.INVALID
    assert api_detail(order)["customer"]["document_check"] == "invalid"
    assert "invalid check digits" in admin_page(admin_client, order)
    assert csv_row(order)["Document check"] == "invalid check digits"


@pytest.mark.parametrize(
    ("document_type", "document", "stored", "check"),
    [
        ("cpf", "390.533.447-05", "39053344705", "valid"),
        ("cpf", "390.533.447-06", "39053344706", "invalid"),
        ("cpf", "111.111.111-11", "11111111111", "invalid"),  # check digits right, a known fake
        ("cpf", "3905334470", "3905334470", "invalid"),  # a digit short
        ("cedulaCOL", "1.017.234.567", "1.017.234.567", ""),  # foreign: as sent, not checked as a CPF
        ("", "", "", ""),
    ],
)
def test_the_person_s_document_is_checked_only_when_it_is_a_cpf_or_cnpj(document_type, document, stored, check):
    raw = load("order_pickup")
    raw["clientProfileData"].update(documentType=document_type, document=document)

    fields = order_data_from_vtex(raw).fields

    assert (fields["customer_document"], fields["customer_document_check"]) == (stored, check)


# ---- 2. a purchase split between sellers -------------------------------------------------------------------


def test_an_order_fulfilled_by_another_seller_is_stored_and_never_handled_invoiced_or_canceled(admin_client):
    # given: the group's two orders; -02 is the franchise seller strbar's
    own, strbar = store(load("order_split_own"), load("order_split_strbar"))
    own.refresh_from_db()
    strbar.refresh_from_db()
    # then: sellers stored, the order's and each item's
    assert (strbar.seller_id, strbar.seller_name) == ("strbar", "Star Bar Franquia")
    assert list(OrderSeller.objects.filter(order=strbar).values_list("seller_id", "name")) == [
        ("strbar", "Star Bar Franquia")
    ]
    assert set(ItemFulfillment.objects.filter(order=strbar).values_list("seller", flat=True)) == {"strbar"}
    assert (strbar.marketplace_name, strbar.marketplace_base_url) == (
        "lojacasaverde",
        "http://oms.vtexinternal.com.br/api/oms?an=lojacasaverde",
    )
    # no start-handling, no invoice, no cancellation: each says why
    assert outbox_enqueue_start_handling(orders=[own, strbar]) != []
    assert set(OutboxMessage.objects.values_list("order__order_id", flat=True)) == {own.order_id}
    assert list(orders_awaiting_start_handling()) == []
    answer = order_start_handling_now(client=None, order=strbar)  # refused before any call to VTEX
    assert (answer.done, answer.reason) == (False, "other_seller")
    Order.objects.filter(pk=strbar.pk).update(vtex_status="handling")  # as if its seller had taken it
    strbar.refresh_from_db()
    assert "Star Bar Franquia (strbar)" in order_invoicing_blocker(strbar)
    assert invoice_kinds_open(strbar) == ()
    assert "Star Bar Franquia (strbar)" in order_cancellation_blocker(strbar)
    # the admin: the reasons instead of the buttons, and the sibling order as a link
    page = admin_page(admin_client, strbar)
    assert 'id="invoicing-blocked"' in page and 'id="cancellation-blocked"' in page
    assert 'id="add-invoice"' not in page and 'id="request-cancellation"' not in page
    assert "Retry start-handling" not in page
    assert f'href="{reverse("admin:integration_order_change", args=[own.pk])}"' in page
    # the API: seller, group, siblings
    body = api_detail(strbar)
    assert body["seller"] == {"id": "strbar", "name": "Star Bar Franquia"}
    assert body["fulfilled_by_other_seller"] is True
    assert body["order_group"] == "1480990507181"
    assert body["sibling_order_ids"] == ["1480990507181-01"]
    assert body["marketplace"] == {
        "name": "lojacasaverde",
        "base_url": "http://oms.vtexinternal.com.br/api/oms?an=lojacasaverde",
        "affiliate_id": "",
        "order_id": "",
    }
    assert [item["delivery"]["seller"] for item in body["items"]] == ["strbar", "strbar"]
    assert api_detail(own)["fulfilled_by_other_seller"] is False
    assert api_detail(own)["sibling_order_ids"] == ["1480990507181-02"]


def test_which_sellers_are_this_account_is_a_setting(settings):
    (strbar,) = store(load("order_split_strbar"))
    Order.objects.filter(pk=strbar.pk).update(vtex_status="handling")
    strbar.refresh_from_db()
    assert order_invoicing_blocker(strbar)

    settings.VTEX_OWN_SELLER_IDS = frozenset({"1", "strbar"})  # this account is strbar too

    assert order_invoicing_blocker(strbar) == ""
    assert order_cancellation_blocker(strbar) == ""


# Intake's worker threads use the shared rate budget's row: their own connections, as in production.
@pytest.mark.django_db(transaction=True)
def test_intake_stores_both_orders_of_the_group_and_acknowledges_only_its_own(vtex_settings, no_task_queue):
    # given: VTEX lists the group's two orders ready for handling
    own, strbar = load("order_split_own"), load("order_split_strbar")
    summaries = [
        {"orderId": raw["orderId"], "status": "ready-for-handling", "sequence": raw["sequence"]}
        for raw in (own, strbar)
    ]
    listing = {"list": summaries, "paging": {"total": 2, "pages": 1, "currentPage": 1, "perPage": 100}}
    with responses.RequestsMock(assert_all_requests_are_fired=True) as vtex:
        vtex.add(responses.GET, f"{OMS}/api/oms/pvt/orders", json=listing)
        vtex.add(responses.GET, f"{OMS}/api/oms/pvt/orders/{own['orderId']}", json=own)
        vtex.add(responses.GET, f"{OMS}/api/oms/pvt/orders/{strbar['orderId']}", json=strbar)
        vtex.add(responses.POST, f"{OMS}/api/oms/pvt/orders/{own['orderId']}/start-handling", status=204)
        # when
        result = intake_run(source="list")
        # then: both stored; start-handling sent for the account's order only
        started = [call.request.url for call in vtex.calls if call.request.method == "POST"]
    assert result.imported == 2 and not result.failed
    assert started == [f"{OMS}/api/oms/pvt/orders/{own['orderId']}/start-handling"]
    assert not OutboxMessage.objects.filter(order__order_id=strbar["orderId"]).exists()


# ---- 3. the payments of an order group ------------------------------------------------------------------------


def test_each_order_of_a_group_shows_its_share_of_the_group_s_payment(admin_client):
    # given: both orders show the group's 22745 (card 20000 + gift card 2745)
    own, strbar = store(load("order_split_own"), load("order_split_strbar"))
    # then: the shares add up to each order's total; VTEX's figure kept beside, as the group's
    assert list(Payment.objects.filter(order=strbar).values_list("value_cents", "order_share_cents")) == [
        (20000, 4799),  # 5458 × 20000 / 22745, rounded down
        (2745, 659),  # the remainder: 5458 − 4799
    ]
    assert list(Payment.objects.filter(order=own).values_list("order_share_cents", flat=True)) == [15200, 2087]
    payments = api_detail(strbar)["payments"]
    assert [(p["order_share_cents"], p["value_cents"]) for p in payments] == [(4799, 20000), (659, 2745)]
    assert sum(p["order_share_cents"] for p in payments) == strbar.total_cents == 5458
    page = admin_page(admin_client, strbar)
    assert "transaction value (whole order group)" in page.lower()
    assert "R$47.99" in page and "R$200.00" in page and "R$6.59" in page and "R$27.45" in page


# ---- 4. pickup in point, delivery per item, nothing cut short -----------------------------------------------------


def test_a_pickup_order_shows_where_it_is_picked_up_instead_of_a_shipping_address(admin_client):
    (order,) = store(load("order_pickup"))
    order.refresh_from_db()

    assert (order.delivery_channel, order.address_type) == ("pickup-in-point", "pickup")
    assert (order.pickup_point_id, order.pickup_point_name) == ("1_botafogo", "Loja Botafogo")
    assert order.pickup_point_address == "Praia de Botafogo, 300, Loja 112 - Botafogo - Rio de Janeiro/RJ - 22250-040"
    assert order.customer_document == "39053344705"  # sent as 390.533.447-05
    # the admin
    page = admin_page(admin_client, order)
    assert "Pickup at Loja Botafogo" in page
    assert "Shipping address</h2>" not in page
    assert "Retirada em loja (1_botafogo)" in page  # the delivery per item
    portuguese = admin_page(admin_client, order, language="pt-br")
    assert "Retirada em Loja Botafogo" in portuguese
    # the API
    body = api_detail(order)
    assert body["delivery"] == {
        "channel": "pickup-in-point",
        "address_type": "pickup",
        "pickup_point": {
            "id": "1_botafogo",
            "name": "Loja Botafogo",
            "address": "Praia de Botafogo, 300, Loja 112 - Botafogo - Rio de Janeiro/RJ - 22250-040",
        },
    }
    delivery = body["items"][1]["delivery"]
    assert (delivery["sla"], delivery["carrier"], delivery["delivery_channel"], delivery["pickup_point_id"]) == (
        "Retirada em loja (1_botafogo)",
        "Loja Botafogo",
        "pickup-in-point",
        "1_botafogo",
    )
    assert delivery["shipping_estimate"] == "2bd"
    assert delivery["shipping_estimate_date"].startswith("2024-05-22T")


def test_a_home_delivery_keeps_its_address_and_each_item_its_sla_carrier_and_window(admin_client):
    (order,) = store(load("order_company_buyer"))

    page = admin_page(admin_client, order)
    assert "Shipping address</h2>" in page and "Pickup at" not in page
    assert "Transportadora Boa Viagem" in page and "Agendada" in page
    body = api_detail(order)
    assert body["delivery"] == {"channel": "delivery", "address_type": "commercial", "pickup_point": None}
    scheduled = body["items"][1]["delivery"]
    assert (scheduled["sla"], scheduled["carrier"]) == ("Agendada", "Transportadora Boa Viagem")
    window = ItemFulfillment.objects.get(order=order, item_index=1)
    assert (window.delivery_window_start, window.delivery_window_end) == (
        datetime(2024, 5, 27, 12, 0, tzinfo=UTC),
        datetime(2024, 5, 27, 15, 0, tzinfo=UTC),
    )
    assert (
        scheduled["delivery_window_start"] is not None and body["items"][0]["delivery"]["delivery_window_start"] is None
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("shippingData", "address", "complement"), "shippingData.address.complement"),
        (("shippingData", "address", "street"), "shippingData.address.street"),
        (("clientProfileData", "corporateName"), "clientProfileData.corporateName"),
        (("clientProfileData", "stateInscription"), "clientProfileData.stateInscription"),
    ],
)
def test_a_value_too_long_for_its_column_fails_the_order_naming_the_field(path, field):
    raw = load("order_company_buyer")
    *parents, key = path
    target = raw
    for name in parents:
        target = target[name]
    target[key] = "x" * 501

    with pytest.raises(VtexDataError) as caught:
        order_data_from_vtex(raw)

    assert caught.value.field == field
    assert "501 characters" in str(caught.value)


def test_mapping_limits_are_the_columns_sizes():
    for name, limit in mapping.ORDER_TEXT_LIMITS.items():
        assert Order._meta.get_field(name).max_length == limit, name
    for name, limit in mapping.SELLER_TEXT_LIMITS.items():
        assert OrderSeller._meta.get_field(name).max_length == limit, name
    for name, limit in mapping.FULFILLMENT_TEXT_LIMITS.items():
        assert ItemFulfillment._meta.get_field(name).max_length == limit, name


# ---- 5. any currency -----------------------------------------------------------------------------------------


def test_a_cop_order_is_shown_with_the_store_s_decimal_digits(admin_client):
    # given: a Colombian store; VTEX still sends cents, and CurrencyDecimalDigits 0
    (order,) = store(load("order_cop"))
    order.refresh_from_db()
    # then
    assert (order.currency_code, order.currency_decimal_digits, order.total_cents) == ("COP", 0, 11_632_000)
    assert (order.state_code, order.city, order.number, order.country) == ("Antioquia", "Medellín", "", "COL")
    assert (order.customer_document_type, order.customer_document, order.customer_document_check) == (
        "cedulaCOL",
        "1017234567",
        "",
    )
    english = admin_page(admin_client, order)
    assert f"COP{NBSP}116,320" in english  # the total
    assert f"COP{NBSP}53,910" in english  # an item's selling price
    assert f"COP{NBSP}116,320.00" not in english
    portuguese = admin_page(admin_client, order, language="pt-br")
    assert f"COP{NBSP}116.320" in portuguese
    totals = api_detail(order)["totals"]
    assert (totals["currency"], totals["currency_decimal_digits"], totals["total_cents"]) == ("COP", 0, 11_632_000)
    assert csv_row(order)["Total"] == "116320"
    assert csv_row(order, language="pt-br")["Total"] == "116320"


def test_an_order_another_seller_fulfils_is_never_stuck_waiting_for_start_handling():
    own, strbar = store(load("order_split_own"), load("order_split_strbar"))
    Order.objects.update(imported_at=timezone.now() - timedelta(days=1))  # both long ready at VTEX

    stuck = set(orders_stuck(key=READY_NOT_ACKNOWLEDGED).values_list("order_id", flat=True))

    assert stuck == {own.order_id}


def test_the_api_refuses_an_invoice_or_a_cancellation_of_an_order_another_seller_fulfils():
    (strbar,) = store(load("order_split_strbar"))
    Order.objects.filter(pk=strbar.pk).update(vtex_status="handling")
    client = client_for(user_with("view_order", "enter_invoices", "request_cancellation"))
    base = f"/api/v1/orders/{strbar.order_id}"

    invoice = client.post(
        f"{base}/invoices/",
        {"number": "NF-1", "issued_at": "2024-05-21T10:00:00-03:00", "items": [{"item_index": 0, "quantity": 2}]},
        format="json",
    )
    cancellation = client.post(f"{base}/cancellation/", {"reason": "Cliente desistiu"}, format="json")

    assert (invoice.status_code, invoice.json()["error"]["code"]) == (409, "not_allowed")
    assert "strbar" in invoice.json()["error"]["message"]
    assert (cancellation.status_code, cancellation.json()["error"]["code"]) == (409, "not_allowed")
    assert not OutboxMessage.objects.exists()


def test_reconciliation_sees_no_drift_in_the_invoices_another_seller_sent():
    raw = load("order_split_strbar")
    (strbar,) = store(raw)
    raw["packageAttachment"]["packages"] = [{"invoiceNumber": "SB-1", "invoiceValue": 5458, "type": "Output"}]
    (own,) = store(load("order_split_own"))

    assert compare_order(strbar, raw) == []
    assert [
        finding.kind
        for finding in compare_order(
            own, dict(load("order_split_own"), **{"packageAttachment": raw["packageAttachment"]})
        )
    ] == [Drift.Kind.VTEX_INVOICED_NOT_HERE]
