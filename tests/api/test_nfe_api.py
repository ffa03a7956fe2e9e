"""POST /api/v1/orders/{order_id}/invoices/nfe/: the invoice from the NF-e XML (issue 18)."""

from __future__ import annotations

import pytest
import responses

from integration.infra.vtex_client import vtex_client
from integration.models import Invoice, Order, OutboxMessage
from integration.services.outbox import outbox_send_due
from tests.api.conftest import assert_error
from tests.factories import make_acknowledged_order, make_nfe_xml

pytestmark = pytest.mark.django_db

OMS = "https://teststore.vtexcommercestable.com.br"


@pytest.fixture
def order(db) -> Order:
    """Items with their own EAN and ref id (the ERP's NF-e names them so)."""
    return make_acknowledged_order()


def url(order: Order) -> str:
    return f"/api/v1/orders/{order.order_id}/invoices/nfe/"


def post_xml(api, order: Order, xml: bytes, content_type: str = "application/xml"):
    return api.post(url(order), xml, content_type=content_type)


def drain_sends(order: Order) -> list:
    """Run the outbox as push_pending does, with VTEX mocked at the transport: the calls made."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{OMS}/api/oms/pvt/orders/{order.order_id}/invoice", json={"receipt": "R-1"})
        outbox_send_due(client=vtex_client())
        return [call.request.url for call in mock.calls if call.request.method == "POST"]


@pytest.mark.django_db(transaction=True)
def test_the_nfe_makes_an_invoice_201_and_the_same_xml_again_200(api, order, vtex_settings):
    xml = make_nfe_xml(order, number=5501)

    created = post_xml(api, order, xml)
    again = post_xml(api, order, xml, content_type="text/xml")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"] == "5501" and body["type"] == "output" and body["value_cents"] == 17_490
    assert body["created_via"] == "api"
    assert [(i["item_index"], i["quantity"]) for i in body["items"]] == [(0, 2), (1, 1), (2, 3)]
    assert again.status_code == 200 and again.json() == body
    assert Invoice.objects.count() == 1
    assert len(drain_sends(order)) == 1
    assert OutboxMessage.objects.get(kind=OutboxMessage.Kind.INVOICE).state == OutboxMessage.State.SENT


def test_the_invoice_json_is_the_one_of_the_other_invoice_endpoints(api, order):
    body = post_xml(api, order, make_nfe_xml(order)).json()
    detail = api.get(f"/api/v1/orders/{order.order_id}/").json()
    assert detail["invoices"] == [body]


def _altered(order):
    return make_nfe_xml(order).replace(b"<qCom>2.0000", b"<qCom>1.0000", 1)


def _other_buyer(order):
    return make_nfe_xml(make_acknowledged_order(customer_document="52998224725"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("build", "status", "code", "field"),
    [
        (lambda order: b"", 400, "nfe_malformed", "xml"),
        (lambda order: b"<nota/>", 400, "nfe_not_nfe", "xml"),
        (_altered, 400, "nfe_altered", "xml"),
        (lambda order: make_nfe_xml(order, protocol_status=110), 400, "nfe_not_authorized", "xml"),
        (lambda order: make_nfe_xml(order, environment=2), 400, "nfe_homologation", "xml"),
        (_other_buyer, 400, "nfe_recipient", "dest"),
        (lambda order: make_nfe_xml(order, value_cents=17_000), 400, "invalid", "value"),
        (lambda order: make_nfe_xml(order, quantities={0: 3}, value_cents=15_000), 400, "invalid", "items[0]"),
    ],
    ids=["empty", "not-nfe", "altered", "not-authorized", "homologation", "recipient", "value", "quantity"],
)
def test_each_refusal_is_a_4xx_with_the_error_shape_and_no_vtex_call(
    api, order, vtex_settings, build, status, code, field
):
    response = post_xml(api, order, build(order))

    assert_error(response, status, code)
    assert field in response.json()["error"]["fields"]
    assert not Invoice.objects.exists()
    assert drain_sends(order) == []


def test_the_key_of_another_orders_invoice_is_refused_409(api, order, vtex_settings):
    xml = make_nfe_xml(order)
    post_xml(api, order, xml)
    other = make_acknowledged_order()

    response = post_xml(api, other, xml)

    assert_error(response, 409, "nfe_key_used", {"xml": "another order"})
    assert not other.invoices.exists()


def test_an_external_entity_reads_no_file(api, order, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:SECRET-LINE")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE NFe [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<NFe xmlns="http://www.portalfiscal.inf.br/nfe"><infNFe>&x;</infNFe></NFe>'
    ).encode()
    in_attribute = xml.replace(b"<infNFe>&x;", b'<infNFe Id="&x;">')

    for body, code in ((xml, "nfe_doctype"), (in_attribute, "nfe_malformed")):
        response = post_xml(api, order, body)
        assert_error(response, 400, code)
        assert b"SECRET-LINE" not in response.content
    assert not Invoice.objects.exists()


def test_json_is_not_taken_415(api, order):
    response = api.post(url(order), {"xml": "<NFe/>"}, format="json")
    assert_error(response, 415, "unsupported_media_type")


def test_a_body_over_the_limit_is_413(api, order):
    response = post_xml(api, order, b"<a>" + b" " * (2 * 1024 * 1024) + b"</a>")
    assert response.status_code == 413


def test_the_endpoint_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/orders/{order_id}/invoices/nfe/"]["post"]
    assert "application/xml" in operation["requestBody"]["content"]
    assert {"201", "200", "400", "409"} <= set(operation["responses"])
