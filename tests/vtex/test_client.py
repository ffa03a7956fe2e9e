"""VtexClient against a fake VTEX at the transport level (`responses`): what goes on the wire,
how every answer maps to the error hierarchy, retries, the rate budget, the call log, and that
the app token never leaks."""

from __future__ import annotations

import email.utils
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
import responses

from integration.vtex import (
    CallRecord,
    VtexBadRequest,
    VtexClient,
    VtexConfig,
    VtexConfigurationError,
    VtexConflict,
    VtexConnectionError,
    VtexError,
    VtexForbidden,
    VtexHTTPError,
    VtexInvalidResponse,
    VtexNotFound,
    VtexRateLimited,
    VtexServerError,
    VtexTimeout,
    VtexUnauthorized,
)
from integration.vtex.client import creation_date_filter, parse_retry_after
from tests.vtex import load_fixture

OMS = "https://teststore.vtexcommercestable.com.br"
PAYMENTS = "https://teststore.vtexpayments.com.br"
APP_KEY = "vtexappkey-teststore-ABCDEF"
TOKEN = "SECRET-app-token-never-logged"

ORDER_ID = "1438270519843-01"
TRANSACTION_ID = "9A4E1C27B3D84F0E8C65D1F2A7B3E490"
INVOICE_NUMBER = "NF-000123"
ORDER_PATH = f"/api/oms/pvt/orders/{ORDER_ID}"

# ---- VTEX-shaped bodies -------------------------------------------------------------------------------

INVOICE = {
    "type": "Output",
    "issuanceDate": "2024-05-15T16:40:00-03:00",
    "invoiceNumber": INVOICE_NUMBER,
    "invoiceValue": "44730",
    "invoiceKey": "35240512345678000190550010000001231000001237",
    "invoiceUrl": "https://nfe.lojacasaverde.com.br/danfe/NF-000123.pdf",
    "courier": "",
    "trackingNumber": "",
    "trackingUrl": "",
    "items": [
        {"id": "2041", "price": 7190, "quantity": 2, "description": "Camiseta Algodão Orgânico Azul M"},
        {"id": "3310", "price": 22490, "quantity": 1},
        {"id": "512", "price": 1990, "quantity": 3},
    ],
}
RECEIPT = {"date": "2024-05-15T16:40:03.1827342-03:00", "orderId": ORDER_ID, "receipt": "38e0e47da2934847b489"}
TRACKING = {
    "trackingNumber": "BR123456789BR",
    "trackingUrl": "https://rastreamento.correios.com.br/app/index.php?objeto=BR123456789BR",
    "courier": "Correios",
    "dispatchedDate": "2024-05-16T09:00:00-03:00",
}
EVENTS = {
    "isDelivered": False,
    "deliveredDate": None,
    "events": [{"city": "Cajamar", "state": "SP", "description": "Objeto postado", "date": "2024-05-16"}],
}
FEED_CONFIG = {
    "filter": {"type": "FromWorkflow", "status": ["ready-for-handling", "cancellation-requested", "canceled"]},
    "queue": {"visibilityTimeoutInSeconds": 250, "MessageRetentionPeriodInSeconds": 345600},
}
FEED_CONFIG_READ = {
    "filter": FEED_CONFIG["filter"],
    "queue": {"visibilityTimeoutInSeconds": 250, "messageRetentionPeriodInSeconds": 345600},
    "quantity": 2,
    "approximateAgeOfOldestMessageInSeconds": 41.5,
}
FEED_ITEMS = [
    {
        "eventId": "ED423DDED4C1AE580CADAC1A4D02DA3F",
        "handle": "AQEBhadjHDmx7Ytu6vZBkL+pVsD1Cr0AQ==",
        "domain": "Fulfillment",
        "state": "ready-for-handling",
        "lastState": "window-to-cancel",
        "orderId": ORDER_ID,
        "lastChange": "2024-05-14T13:35:09.0000000Z",
        "currentChange": "2024-05-14T14:03:17.2204518Z",
    }
]
HOOK_CONFIG = {
    "filter": {"type": "FromWorkflow", "status": ["ready-for-handling"]},
    "hook": {
        "url": "https://erp-bridge.lojacasaverde.com.br/api/vtex/hook",
        "headers": {"X-Erp-Bridge-Key": "hook-shared-secret"},
    },
}
ORDER_SUMMARY = {
    "orderId": ORDER_ID,
    "creationDate": "2024-05-14T13:22:41.6312345+00:00",
    "clientName": "Mariana Ferreira da Costa",
    "items": None,
    "totalValue": 44730,
    "paymentNames": "Visa, Pix",
    "status": "ready-for-handling",
    "sequence": "517304",
    "currencyCode": "BRL",
}
LIST_ANSWER = {
    "list": [ORDER_SUMMARY],
    "facets": [],
    "paging": {"total": 101, "pages": 2, "currentPage": 2, "perPage": 100},
    "stats": {"stats": {}},
}
PAYMENT_TRANSACTION = {
    "status": "Finished",
    "isActive": True,
    "transactionId": TRANSACTION_ID,
    "merchantName": "LOJACASAVERDE",
    "payments": [{"id": "5F1B0C3E9A7D4E21B6C8A04D2E9F7316", "paymentSystem": "2", "value": 30000}],
}
TRANSACTION = {
    "id": TRANSACTION_ID,
    "transactionId": TRANSACTION_ID,
    "referenceKey": "1438270519843",
    "status": "Finished",
    "value": 44730,
    "totalRefunds": 0,
    "timeoutStatus": 0,
    "fields": [{"name": "orderId", "value": "1438270519843"}],
}
PAYMENT_CARD = {
    "id": "5F1B0C3E9A7D4E21B6C8A04D2E9F7316",
    "paymentSystem": 2,
    "paymentSystemName": "Visa",
    "group": "creditCard",
    "status": "Finished",
    "value": 30000,
    "installments": 3,
    "tid": "10069930693D1F2A7B3E",
}
PAYMENT_PIX = {
    "id": "C2D7E6A1F48B4930A5E3B7C09D1F8A62",
    "paymentSystem": 125,
    "paymentSystemName": "Pix",
    "group": "instantPayment",
    "status": "Finished",
    "value": 14730,
    "installments": 1,
}


# ---- harness --------------------------------------------------------------------------------------------


class FakeBudget:
    def __init__(self) -> None:
        self.acquired = 0
        self.pauses: list[float] = []

    def acquire(self) -> None:
        self.acquired += 1

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


@dataclass
class Harness:
    client: VtexClient
    records: list[CallRecord] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    budget: FakeBudget = field(default_factory=FakeBudget)


def make_config(**overrides: Any) -> VtexConfig:
    values: dict[str, Any] = {"oms_url": OMS, "payments_url": PAYMENTS, "app_key": APP_KEY, "app_token": TOKEN}
    values.update(overrides)
    return VtexConfig(**values)


def make_vtex(**overrides: Any) -> Harness:
    records: list[CallRecord] = []
    sleeps: list[float] = []
    budget = FakeBudget()
    client = VtexClient(make_config(**overrides), budget=budget, recorder=records.append, sleep=sleeps.append)
    return Harness(client=client, records=records, sleeps=sleeps, budget=budget)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def vtex() -> Harness:
    return make_vtex()


def vtex_error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "exception": None}}


def assert_token_absent(*things: Any) -> None:
    for thing in things:
        texts = [str(thing), repr(thing)]
        if isinstance(thing, CallRecord):
            texts += [str(getattr(thing, f.name)) for f in fields(thing)]
        if isinstance(thing, BaseException):
            texts += [str(arg) for arg in thing.args]
            texts += [str(value) for value in vars(thing).values()]
        for text in texts:
            assert TOKEN not in text, f"app token leaked in {type(thing).__name__}: {text[:200]}"


# ---- the calls of the flow --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    id: str
    method: str
    url: str  # exactly what must be requested, path quoted, query included
    invoke: Callable[[VtexClient], Any]
    operation: str
    sent_json: Any = None  # the JSON body we must send; None: no body at all
    status: int = 200
    answer: Any = None  # JSON VTEX answers; None: an empty body
    expected: Any = None  # what the client method returns
    order_id: str = ""

    @property
    def path_and_query(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def registered_url(self) -> str:
        return self.url.split("?")[0]


CALLS = [
    Call(
        "list_orders_page",
        "GET",
        f"{OMS}/api/oms/pvt/orders?f_status=ready-for-handling&page=2&per_page=100&orderBy=creationDate%2Casc",
        lambda c: c.list_orders_page(status="ready-for-handling", page=2),
        "list_orders",
        answer=LIST_ANSWER,
        expected=LIST_ANSWER,
    ),
    Call(
        "get_order",
        "GET",
        f"{OMS}{ORDER_PATH}",
        lambda c: c.get_order(ORDER_ID),
        "get_order",
        answer=load_fixture("order_ready.json"),
        expected=load_fixture("order_ready.json"),
        order_id=ORDER_ID,
    ),
    Call(
        "get_payment_transaction",
        "GET",
        f"{OMS}{ORDER_PATH}/payment-transaction",
        lambda c: c.get_payment_transaction(ORDER_ID),
        "get_payment_transaction",
        answer=PAYMENT_TRANSACTION,
        expected=PAYMENT_TRANSACTION,
        order_id=ORDER_ID,
    ),
    Call(
        "get_transaction",
        "GET",
        f"{PAYMENTS}/api/pvt/transactions/{TRANSACTION_ID}",
        lambda c: c.get_transaction(TRANSACTION_ID),
        "get_transaction",
        answer=TRANSACTION,
        expected=TRANSACTION,
    ),
    Call(
        "get_transaction_payments-list",
        "GET",
        f"{PAYMENTS}/api/pvt/transactions/{TRANSACTION_ID}/payments",
        lambda c: c.get_transaction_payments(TRANSACTION_ID),
        "get_transaction_payments",
        answer=[PAYMENT_CARD, PAYMENT_PIX],
        expected=[PAYMENT_CARD, PAYMENT_PIX],
    ),
    Call(
        "get_transaction_payments-object",
        "GET",
        f"{PAYMENTS}/api/pvt/transactions/{TRANSACTION_ID}/payments",
        lambda c: c.get_transaction_payments(TRANSACTION_ID),
        "get_transaction_payments",
        answer=PAYMENT_CARD,
        expected=[PAYMENT_CARD],
    ),
    Call(
        "start_handling",
        "POST",
        f"{OMS}{ORDER_PATH}/start-handling",
        lambda c: c.start_handling(ORDER_ID),
        "start_handling",
        status=204,
        expected=None,
        order_id=ORDER_ID,
    ),
    Call(
        "send_invoice",
        "POST",
        f"{OMS}{ORDER_PATH}/invoice",
        lambda c: c.send_invoice(ORDER_ID, INVOICE),
        "send_invoice",
        sent_json=INVOICE,
        answer=RECEIPT,
        expected=RECEIPT,
        order_id=ORDER_ID,
    ),
    Call(
        "update_invoice_tracking",
        "PATCH",
        f"{OMS}{ORDER_PATH}/invoice/{INVOICE_NUMBER}",
        lambda c: c.update_invoice_tracking(ORDER_ID, INVOICE_NUMBER, TRACKING),
        "update_invoice_tracking",
        sent_json=TRACKING,
        answer=RECEIPT,
        expected=RECEIPT,
        order_id=ORDER_ID,
    ),
    Call(
        "send_tracking_events",
        "PUT",
        f"{OMS}{ORDER_PATH}/invoice/{INVOICE_NUMBER}/tracking",
        lambda c: c.send_tracking_events(ORDER_ID, INVOICE_NUMBER, EVENTS),
        "send_tracking_events",
        sent_json=EVENTS,
        answer=RECEIPT,
        expected=RECEIPT,
        order_id=ORDER_ID,
    ),
    Call(
        "cancel_order",
        "POST",
        f"{OMS}{ORDER_PATH}/cancel",
        lambda c: c.cancel_order(ORDER_ID, reason="Cliente desistiu da compra"),
        "cancel_order",
        sent_json={"reason": "Cliente desistiu da compra"},
        answer=RECEIPT,
        expected=RECEIPT,
        order_id=ORDER_ID,
    ),
    Call(
        "get_feed_config",
        "GET",
        f"{OMS}/api/orders/feed/config",
        lambda c: c.get_feed_config(),
        "get_feed_config",
        answer=FEED_CONFIG_READ,
        expected=FEED_CONFIG_READ,
    ),
    Call(
        "save_feed_config",
        "POST",
        f"{OMS}/api/orders/feed/config",
        lambda c: c.save_feed_config(FEED_CONFIG),
        "save_feed_config",
        sent_json=FEED_CONFIG,
        expected=None,
    ),
    Call(
        "delete_feed_config",
        "DELETE",
        f"{OMS}/api/orders/feed/config",
        lambda c: c.delete_feed_config(),
        "delete_feed_config",
        expected=None,
    ),
    Call(
        "read_feed",
        "GET",
        f"{OMS}/api/orders/feed?maxlot=10",
        lambda c: c.read_feed(),
        "read_feed",
        answer=FEED_ITEMS,
        expected=FEED_ITEMS,
    ),
    Call(
        "read_feed-maxlot-3",
        "GET",
        f"{OMS}/api/orders/feed?maxlot=3",
        lambda c: c.read_feed(max_lot=3),
        "read_feed",
        answer=[],
        expected=[],
    ),
    Call(
        "commit_feed",
        "POST",
        f"{OMS}/api/orders/feed",
        lambda c: c.commit_feed([FEED_ITEMS[0]["handle"], "AQEBzz9+second=="]),
        "commit_feed",
        sent_json={"handles": [FEED_ITEMS[0]["handle"], "AQEBzz9+second=="]},
        expected=None,
    ),
    Call(
        "get_hook_config",
        "GET",
        f"{OMS}/api/orders/hook/config",
        lambda c: c.get_hook_config(),
        "get_hook_config",
        answer=HOOK_CONFIG,
        expected=HOOK_CONFIG,
    ),
    Call(
        "save_hook_config",
        "POST",
        f"{OMS}/api/orders/hook/config",
        lambda c: c.save_hook_config(HOOK_CONFIG),
        "save_hook_config",
        sent_json=HOOK_CONFIG,
        answer=HOOK_CONFIG,
        expected=None,
    ),
    Call(
        "delete_hook_config",
        "DELETE",
        f"{OMS}/api/orders/hook/config",
        lambda c: c.delete_hook_config(),
        "delete_hook_config",
        status=204,
        expected=None,
    ),
]
CALL_IDS = [call.id for call in CALLS]
# One of each operation is enough where the answer does not matter.
DISTINCT_CALLS = [call for call in CALLS if call.id not in ("get_transaction_payments-object", "read_feed-maxlot-3")]


def register(rsps: responses.RequestsMock, call: Call, **kwargs: Any) -> None:
    if "json" not in kwargs and "body" not in kwargs:
        kwargs["body"] = b"" if call.answer is None else json.dumps(call.answer)
        kwargs.setdefault("status", call.status)
        kwargs.setdefault("content_type", "application/json")
    rsps.add(call.method, call.registered_url, **kwargs)


def assert_sent(request: requests.PreparedRequest, call: Call) -> None:
    sent, expected = urlsplit(request.url), urlsplit(call.url)
    assert (sent.scheme, sent.netloc, sent.path) == (expected.scheme, expected.netloc, expected.path)
    assert parse_qs(sent.query, strict_parsing=bool(sent.query)) == parse_qs(expected.query)
    assert request.method == call.method


# ---- success: method, URL, headers, body, result, record -----------------------------------------------


@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_vtex_client_call_sends_the_documented_request(rsps, vtex, call):
    # given
    register(rsps, call)
    # when
    result = call.invoke(vtex.client)
    # then: one request, exactly as VTEX documents it
    assert len(rsps.calls) == 1
    request = rsps.calls[0].request
    assert_sent(request, call)
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"  # required by VTEX, GETs included
    assert request.headers["X-VTEX-API-AppKey"] == APP_KEY
    assert request.headers["X-VTEX-API-AppToken"] == TOKEN
    if call.sent_json is None:
        assert not request.body
    else:
        assert json.loads(request.body) == call.sent_json
    assert request.req_kwargs["timeout"] == (5.0, 30.0)
    assert result == call.expected
    assert vtex.budget.acquired == 1
    assert vtex.sleeps == []


@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
def test_vtex_client_call_hands_the_attempt_to_the_recorder(rsps, vtex, call):
    # given
    register(rsps, call)
    before = datetime.now(UTC)
    # when
    call.invoke(vtex.client)
    # then
    assert len(vtex.records) == 1
    record = vtex.records[0]
    assert record.operation == call.operation
    assert record.order_id == call.order_id
    assert record.method == call.method
    assert record.path == call.path_and_query
    assert record.status_code == call.status
    assert record.error == ""
    assert record.attempt == 1
    assert isinstance(record.duration_ms, int) and 0 <= record.duration_ms < 5000
    assert before <= record.created_at <= datetime.now(UTC)
    assert record.created_at.utcoffset() == timedelta(0)
    expected_request = "" if call.sent_json is None else json.dumps(call.sent_json, ensure_ascii=False)
    assert record.request_excerpt == expected_request
    assert record.response_excerpt == ("" if call.answer is None else json.dumps(call.answer)[:2000])


def test_send_invoice_sends_utf8_json_not_ascii_escapes(rsps, vtex):
    # given
    call = next(c for c in CALLS if c.id == "send_invoice")
    register(rsps, call)
    # when
    vtex.client.send_invoice(ORDER_ID, INVOICE)
    # then
    body = rsps.calls[0].request.body
    assert "Orgânico".encode() in body
    assert "Orgânico" in vtex.records[0].request_excerpt


def test_vtex_client_quotes_order_ids_and_invoice_numbers_in_the_path(rsps, vtex):
    # given: identifiers with characters that would change the path
    order_id, invoice_number = "MKP-7731/02", "NF 000123/1?x"
    quoted = "/api/oms/pvt/orders/MKP-7731%2F02/invoice/NF%20000123%2F1%3Fx"
    rsps.add(responses.PATCH, OMS + quoted, json=RECEIPT)
    rsps.add(responses.PUT, OMS + quoted + "/tracking", json=RECEIPT)
    rsps.add(responses.GET, OMS + "/api/oms/pvt/orders/MKP-7731%2F02", json={"orderId": order_id})
    rsps.add(responses.POST, OMS + "/api/oms/pvt/orders/MKP-7731%2F02/start-handling", status=204)
    rsps.add(responses.GET, PAYMENTS + "/api/pvt/transactions/T%2F1%23x/payments", json=[])
    # when
    vtex.client.update_invoice_tracking(order_id, invoice_number, TRACKING)
    vtex.client.send_tracking_events(order_id, invoice_number, EVENTS)
    vtex.client.get_order(order_id)
    vtex.client.start_handling(order_id)
    vtex.client.get_transaction_payments("T/1#x")
    # then
    urls = [call.request.url for call in rsps.calls]
    assert urls == [
        OMS + quoted,
        OMS + quoted + "/tracking",
        OMS + "/api/oms/pvt/orders/MKP-7731%2F02",
        OMS + "/api/oms/pvt/orders/MKP-7731%2F02/start-handling",
        PAYMENTS + "/api/pvt/transactions/T%2F1%23x/payments",
    ]
    assert [record.path for record in vtex.records][:2] == [quoted, quoted + "/tracking"]
    assert vtex.records[0].order_id == order_id


@pytest.mark.parametrize("number", [".", ".."])
def test_a_segment_of_only_dots_is_refused_before_any_call(rsps, vtex, number):
    # "/invoice/.." would be resolved to the order's own address (and answer 404 for ever)
    with pytest.raises(VtexError, match="only dots"):
        vtex.client.update_invoice_tracking(ORDER_ID, number, TRACKING)
    assert not rsps.calls


def test_list_orders_page_sends_the_creation_date_window(rsps, vtex):
    # given
    rsps.add(responses.GET, OMS + "/api/oms/pvt/orders", json=LIST_ANSWER)
    brasilia = timezone(timedelta(hours=-3))
    # when
    vtex.client.list_orders_page(
        status="handling",
        created_from=datetime(2024, 5, 1, 0, 0, tzinfo=brasilia),
        created_to=datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=brasilia),
        per_page=50,
        order_by="orderId,desc",
    )
    # then
    params = dict(parse_qsl(urlsplit(rsps.calls[0].request.url).query))
    assert params == {
        "f_status": "handling",
        "page": "1",
        "per_page": "50",
        "orderBy": "orderId,desc",
        "f_creationDate": "creationDate:[2024-05-01T03:00:00.000Z TO 2024-05-02T02:59:59.999Z]",
    }


def test_the_creation_date_filter_is_percent_encoded_with_a_space_not_a_plus(rsps, vtex):
    """VTEX's spec (List orders, f_creationDate): "creationDate:[2022-01-01T02:00:00.000Z TO
    2022-01-02T01:59:59.999Z]", a query parameter of OpenAPI "form" style: percent-encoded, the
    spaces around TO as %20. Form-encoding's "+" is not a space to every server."""
    # given: one page of orders in the window
    one_page = {**LIST_ANSWER, "paging": {"total": 1, "pages": 1, "currentPage": 1, "perPage": 100}}
    rsps.add(responses.GET, OMS + "/api/oms/pvt/orders", json=one_page)
    brasilia = timezone(timedelta(hours=-3))
    # when
    pages = list(
        vtex.client.iter_order_pages(
            status="ready-for-handling",
            created_from=datetime(2024, 5, 1, 0, 0, tzinfo=brasilia),
            created_to=datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=brasilia),
        )
    )
    # then: the query string exactly as sent
    assert pages == [one_page["list"]]
    assert urlsplit(rsps.calls[0].request.url).query == (
        "f_status=ready-for-handling&page=1&per_page=100&orderBy=creationDate%2Casc"
        "&f_creationDate=creationDate%3A%5B2024-05-01T03%3A00%3A00.000Z%20TO%202024-05-02T02%3A59%3A59.999Z%5D"
    )
    assert "+" not in rsps.calls[0].request.url


def test_cancel_order_without_a_receipt_returns_an_empty_dict(rsps, vtex):
    # given: "receipt may be null"; VTEX may also answer with no body
    rsps.add(responses.POST, f"{OMS}{ORDER_PATH}/cancel", body=b"", status=200)
    # when / then
    assert vtex.client.cancel_order(ORDER_ID, reason="Sem estoque") == {}


def test_read_feed_with_an_empty_answer_returns_an_empty_list(rsps, vtex):
    rsps.add(responses.GET, f"{OMS}/api/orders/feed", body=b"", status=200)
    assert vtex.client.read_feed(max_lot=1) == []
    assert parse_qs(urlsplit(rsps.calls[0].request.url).query) == {"maxlot": ["1"]}


def test_read_feed_refuses_an_answer_that_is_not_a_list(rsps, vtex):
    rsps.add(responses.GET, f"{OMS}/api/orders/feed", json={"handle": "AQEB..."})
    with pytest.raises(VtexInvalidResponse):
        vtex.client.read_feed()
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("max_lot", [0, -1, 11, 100])
def test_read_feed_refuses_a_max_lot_outside_1_to_10_without_calling_vtex(rsps, vtex, max_lot):
    with pytest.raises(ValueError, match="max_lot"):
        vtex.client.read_feed(max_lot=max_lot)
    assert len(rsps.calls) == 0
    assert vtex.records == []
    assert vtex.budget.acquired == 0


@pytest.mark.parametrize(
    ("url", "answer", "invoke"),
    [
        pytest.param(f"{OMS}/api/oms/pvt/orders", {"orders": []}, lambda c: c.list_orders_page(status="x"), id="list"),
        pytest.param(f"{OMS}/api/oms/pvt/orders", {"list": None}, lambda c: c.list_orders_page(status="x"), id="list2"),
        pytest.param(f"{OMS}{ORDER_PATH}", {"id": ORDER_ID}, lambda c: c.get_order(ORDER_ID), id="order-no-id"),
        pytest.param(f"{OMS}{ORDER_PATH}", [{"orderId": ORDER_ID}], lambda c: c.get_order(ORDER_ID), id="order-list"),
        pytest.param(
            f"{PAYMENTS}/api/pvt/transactions/{TRANSACTION_ID}/payments",
            "Finished",
            lambda c: c.get_transaction_payments(TRANSACTION_ID),
            id="payments-string",
        ),
    ],
)
def test_vtex_client_rejects_a_well_formed_json_of_the_wrong_shape(rsps, vtex, url, answer, invoke):
    rsps.add(responses.GET, url, json=answer)
    with pytest.raises(VtexInvalidResponse):
        invoke(vtex.client)
    assert len(rsps.calls) == 1  # not worth retrying


# ---- error statuses -----------------------------------------------------------------------------------------

HTTP_ERRORS = [
    (400, VtexBadRequest, "", "Invalid request body"),
    (401, VtexUnauthorized, "1", "Unauthorized access"),
    (403, VtexForbidden, "", "User does not have permission"),
    (404, VtexNotFound, "OMS002", "Order not found"),
    (409, VtexConflict, "OMS003", "Order status should be ready-for-handling to perform this action"),
    (500, VtexServerError, "", "Internal server error"),
    (503, VtexServerError, "", "Service unavailable"),
]


@pytest.mark.parametrize(
    ("status", "error_class", "code", "message"), HTTP_ERRORS, ids=[str(e[0]) for e in HTTP_ERRORS]
)
@pytest.mark.parametrize("call", DISTINCT_CALLS, ids=[call.id for call in DISTINCT_CALLS])
def test_vtex_client_call_maps_an_error_status_to_its_class(rsps, vtex, call, status, error_class, code, message):
    # given
    register(rsps, call, status=status, json=vtex_error_body(code, message))
    # when
    with pytest.raises(error_class) as caught:
        call.invoke(vtex.client)
    # then
    error = caught.value
    assert isinstance(error, VtexHTTPError)
    assert error.status == status
    assert error.code == code
    assert error.message == message
    assert error.method == call.method
    assert error.path == call.path_and_query
    assert (
        str(error) == f"{call.method} {call.path_and_query}: HTTP {status} " + (f"[{code}] " if code else "") + message
    )
    assert error.outcome_unknown is False  # VTEX answered: we know what happened
    assert error.transient is (status >= 500)
    # GETs are retried on a transient error, writes never
    expected_attempts = 4 if (call.method == "GET" and error.transient) else 1
    assert len(rsps.calls) == expected_attempts
    assert [record.attempt for record in vtex.records] == list(range(1, expected_attempts + 1))
    assert all(record.status_code == status for record in vtex.records)
    assert all(record.error == error_class.__name__ for record in vtex.records)
    assert len(vtex.sleeps) == expected_attempts - 1
    assert vtex.budget.acquired == expected_attempts
    assert vtex.budget.pauses == []


def test_start_handling_conflict_keeps_vtex_code_oms003(rsps, vtex):
    # given: start-handling retried after a lost 204 (VTEX-API.md §3)
    rsps.add(
        responses.POST,
        f"{OMS}{ORDER_PATH}/start-handling",
        status=409,
        json=vtex_error_body("OMS003", "Order status should be ready-for-handling to perform this action"),
    )
    # when
    with pytest.raises(VtexConflict) as caught:
        vtex.client.start_handling(ORDER_ID)
    # then
    assert caught.value.code == "OMS003"
    assert caught.value.status == 409
    assert "[OMS003]" in str(caught.value)
    assert isinstance(caught.value, VtexError)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        pytest.param("<html><body>Bad Gateway</body></html>", "text/html", "<html><body>Bad Gateway</body></html>"),
        pytest.param('{"Message": "An error has occurred."}', "application/json", "An error has occurred."),
        pytest.param('{"error": "Order not found"}', "application/json", "Order not found"),
        pytest.param("", "text/plain", "Not Found"),
    ],
)
def test_vtex_client_tolerates_error_bodies_of_any_shape(rsps, vtex, body, content_type, message):
    rsps.add(responses.POST, f"{OMS}{ORDER_PATH}/cancel", status=404, body=body, content_type=content_type)
    with pytest.raises(VtexNotFound) as caught:
        vtex.client.cancel_order(ORDER_ID, reason="x")
    assert caught.value.message == message
    assert caught.value.code == ""


@pytest.mark.parametrize("status", [301, 302, 307])
def test_vtex_client_never_follows_a_redirect(rsps, vtex, status):
    # given: a redirect to a host that would get our credentials
    rsps.add(responses.GET, f"{OMS}{ORDER_PATH}", status=status, headers={"Location": "https://evil.example/steal"})
    # when
    with pytest.raises(VtexHTTPError) as caught:
        vtex.client.get_order(ORDER_ID)
    # then: an error, not followed (responses would fail loudly on the unregistered location)
    assert caught.value.status == status
    assert len(rsps.calls) == 1
    assert vtex.sleeps == []


def test_post_redirect_is_an_error_too(rsps, vtex):
    rsps.add(responses.POST, f"{OMS}{ORDER_PATH}/invoice", status=302, headers={"Location": f"{OMS}/login"})
    with pytest.raises(VtexHTTPError) as caught:
        vtex.client.send_invoice(ORDER_ID, INVOICE)
    assert caught.value.status == 302
    assert len(rsps.calls) == 1


def test_invalid_json_on_200_is_an_invalid_response_and_not_retried(rsps, vtex):
    # given
    rsps.add(responses.GET, f"{OMS}{ORDER_PATH}", status=200, body="<html>Loja em manutenção</html>")
    # when
    with pytest.raises(VtexInvalidResponse) as caught:
        vtex.client.get_order(ORDER_ID)
    # then
    assert caught.value.status == 200
    assert "manutenção" in caught.value.body
    assert len(rsps.calls) == 1
    assert vtex.records[0].status_code == 200
    assert vtex.records[0].error == "VtexInvalidResponse"
    assert vtex.records[0].response_excerpt == "<html>Loja em manutenção</html>"


# ---- no answer: timeouts and connection errors --------------------------------------------------------------

TRANSPORT_ERRORS = [
    (requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"), VtexTimeout),
    (requests.exceptions.ConnectTimeout("Connection to host timed out"), VtexTimeout),
    (requests.exceptions.ConnectionError("Connection refused"), VtexConnectionError),
]


@pytest.mark.parametrize(("exc", "error_class"), TRANSPORT_ERRORS, ids=["read-timeout", "connect-timeout", "refused"])
@pytest.mark.parametrize("call", DISTINCT_CALLS, ids=[call.id for call in DISTINCT_CALLS])
def test_vtex_client_call_maps_no_answer_to_an_outcome_unknown_error(rsps, vtex, call, exc, error_class):
    # given
    register(rsps, call, body=exc)
    # when
    with pytest.raises(error_class) as caught:
        call.invoke(vtex.client)
    # then
    error = caught.value
    assert error.outcome_unknown is True
    assert error.transient is True
    assert error.status is None
    # not chained: the requests exception's frames hold the headers with the app token
    assert error.__cause__ is None and error.__suppress_context__
    assert error.method == call.method and error.path == call.path_and_query
    # GETs are retried; a write is sent exactly once, whatever happened
    expected_attempts = 4 if call.method == "GET" else 1
    assert len(rsps.calls) == expected_attempts
    assert len(vtex.records) == expected_attempts
    for attempt, record in enumerate(vtex.records, start=1):
        assert record.attempt == attempt
        assert record.status_code is None
        assert record.error == error_class.__name__
        assert record.response_excerpt == str(error)


# ---- retries and backoff ----------------------------------------------------------------------------------


def test_get_is_retried_with_growing_backoff_then_succeeds(rsps, vtex):
    # given: two 503s, then the order
    url = f"{OMS}{ORDER_PATH}"
    rsps.add(responses.GET, url, status=503, json=vtex_error_body("", "Service unavailable"))
    rsps.add(responses.GET, url, body=requests.exceptions.ReadTimeout("Read timed out."))
    rsps.add(responses.GET, url, json=load_fixture("order_ready.json"))
    # when
    order = vtex.client.get_order(ORDER_ID)
    # then
    assert order["orderId"] == ORDER_ID
    assert len(rsps.calls) == 3
    assert [(r.attempt, r.status_code, r.error) for r in vtex.records] == [
        (1, 503, "VtexServerError"),
        (2, None, "VtexTimeout"),
        (3, 200, ""),
    ]
    # backoff_base 0.5: waits in [0.25, 0.5] then [0.5, 1.0] (half fixed, half jitter)
    assert len(vtex.sleeps) == 2
    assert 0.25 <= vtex.sleeps[0] <= 0.5
    assert 0.5 <= vtex.sleeps[1] <= 1.0
    assert vtex.budget.acquired == 3


def test_get_gives_up_after_get_attempts_with_capped_backoff(rsps):
    # given
    vtex = make_vtex(get_attempts=6, backoff_base=1.0, backoff_cap=3.0)
    rsps.add(responses.GET, f"{OMS}/api/orders/feed", status=500, json=vtex_error_body("", "boom"))
    # when
    with pytest.raises(VtexServerError):
        vtex.client.read_feed()
    # then
    assert len(rsps.calls) == 6
    assert len(vtex.sleeps) == 5
    ceilings = [1.0, 2.0, 3.0, 3.0, 3.0]  # base·2^(n-1), capped
    for wait, ceiling in zip(vtex.sleeps, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_get_attempts_1_means_no_retry(rsps):
    vtex = make_vtex(get_attempts=1)
    rsps.add(responses.GET, f"{OMS}{ORDER_PATH}", status=503)
    with pytest.raises(VtexServerError):
        vtex.client.get_order(ORDER_ID)
    assert len(rsps.calls) == 1
    assert vtex.sleeps == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_get_is_not_retried_on_a_client_error(rsps, vtex, status):
    rsps.add(responses.GET, f"{OMS}{ORDER_PATH}", status=status, json=vtex_error_body("", "no"))
    with pytest.raises(VtexHTTPError):
        vtex.client.get_order(ORDER_ID)
    assert len(rsps.calls) == 1
    assert vtex.sleeps == []


@pytest.mark.parametrize("failure", ["503", "timeout", "connection", "429"])
@pytest.mark.parametrize("call", [c for c in DISTINCT_CALLS if c.method != "GET"], ids=lambda c: c.id)
def test_write_is_sent_exactly_once_whatever_happens(rsps, vtex, call, failure):
    # given
    if failure == "503":
        register(rsps, call, status=503, json=vtex_error_body("", "Service unavailable"))
    elif failure == "timeout":
        register(rsps, call, body=requests.exceptions.ReadTimeout("Read timed out."))
    elif failure == "connection":
        register(rsps, call, body=requests.exceptions.ConnectionError("Connection reset by peer"))
    else:
        register(rsps, call, status=429, headers={"Retry-After": "1"}, json=vtex_error_body("", "Too many"))
    # when
    with pytest.raises(VtexError):
        call.invoke(vtex.client)
    # then
    assert len(rsps.calls) == 1
    assert len(vtex.records) == 1
    assert vtex.sleeps == []


# ---- 429 and the rate budget ------------------------------------------------------------------------------


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def test_429_on_a_get_pauses_the_budget_for_retry_after_and_retries(rsps, vtex):
    # given
    url = f"{OMS}{ORDER_PATH}"
    rsps.add(responses.GET, url, status=429, headers={"Retry-After": "7"}, json=vtex_error_body("", "Too many"))
    rsps.add(responses.GET, url, json={"orderId": ORDER_ID})
    # when
    vtex.client.get_order(ORDER_ID)
    # then: the budget does the waiting (for every process), the client does not sleep too
    assert vtex.budget.pauses == [7.0]
    assert vtex.sleeps == []
    assert len(rsps.calls) == 2
    assert vtex.budget.acquired == 2
    assert [(r.attempt, r.status_code, r.error) for r in vtex.records] == [
        (1, 429, "VtexRateLimited"),
        (2, 200, ""),
    ]


@pytest.mark.parametrize(
    ("retry_after", "pause", "raised_retry_after"),
    [
        pytest.param("30", 30.0, 30.0, id="seconds"),
        pytest.param("2.5", 2.5, 2.5, id="fractional"),
        pytest.param("300", 120.0, 300.0, id="capped-by-max_retry_after"),
        pytest.param(None, 60.0, None, id="absent-60s"),
        pytest.param("soon", 60.0, None, id="unreadable-60s"),
        pytest.param("0", 0.0, 0.0, id="zero"),
    ],
)
def test_429_pauses_the_budget(rsps, vtex, retry_after, pause, raised_retry_after):
    # given: a write (not retried), so exactly one 429 and one pause
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    rsps.add(
        responses.POST, f"{OMS}{ORDER_PATH}/start-handling", status=429, headers=headers, json=vtex_error_body("", "")
    )
    # when
    with pytest.raises(VtexRateLimited) as caught:
        vtex.client.start_handling(ORDER_ID)
    # then
    assert vtex.budget.pauses == [pause]
    assert caught.value.retry_after == raised_retry_after
    assert caught.value.status == 429
    assert caught.value.transient is True
    assert vtex.sleeps == []


def test_429_with_an_http_date_pauses_until_that_date(rsps, vtex):
    rsps.add(responses.POST, f"{OMS}{ORDER_PATH}/cancel", status=429, headers={"Retry-After": _http_date(45)}, body="")
    with pytest.raises(VtexRateLimited) as caught:
        vtex.client.cancel_order(ORDER_ID, reason="x")
    assert len(vtex.budget.pauses) == 1
    assert 42.0 <= vtex.budget.pauses[0] <= 45.0  # HTTP dates have whole seconds
    assert caught.value.retry_after == pytest.approx(vtex.budget.pauses[0], abs=1.0)


def test_429_respects_configured_max_and_default_retry_after(rsps):
    vtex = make_vtex(max_retry_after=10.0, default_retry_after=25.0)
    url = f"{OMS}/api/orders/feed"
    rsps.add(responses.POST, url, status=429, headers={"Retry-After": _http_date(3600)}, body="")
    rsps.add(responses.POST, url, status=429, body="")
    for _ in range(2):
        with pytest.raises(VtexRateLimited):
            vtex.client.commit_feed(["h"])
    assert vtex.budget.pauses == [10.0, 25.0]


def test_429_on_every_get_attempt_pauses_each_time_then_raises(rsps, vtex):
    rsps.add(responses.GET, f"{OMS}/api/orders/feed", status=429, headers={"Retry-After": "5"}, body="")
    with pytest.raises(VtexRateLimited):
        vtex.client.read_feed()
    assert len(rsps.calls) == 4
    assert vtex.budget.pauses == [5.0] * 4
    assert vtex.sleeps == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3.5 ", 3.5),
        ("-5", 0.0),
        ("", None),
        (None, None),
        ("tomorrow", None),
        ("Wed, 15 May 2024 12:01:30 GMT", 90.0),
        ("Wed, 15 May 2024 12:01:30", 90.0),  # no zone: read as UTC
        ("Wed, 15 May 2024 11:59:00 GMT", 0.0),  # in the past
    ],
)
def test_parse_retry_after_reads_seconds_and_http_dates(value, expected):
    now = datetime(2024, 5, 15, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after(value, now=now) == expected


def test_creation_date_filter_is_utc_with_milliseconds():
    brasilia = timezone(timedelta(hours=-3))
    start = datetime(2024, 5, 14, 21, 30, 0, 123999, tzinfo=brasilia)
    end = datetime(2024, 5, 15, 0, 0, 1, 5000, tzinfo=UTC)
    assert creation_date_filter(start, end) == "creationDate:[2024-05-15T00:30:00.123Z TO 2024-05-15T00:00:01.005Z]"


# ---- configuration ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "invoke", "names"),
    [
        pytest.param({"oms_url": ""}, lambda c: c.get_order(ORDER_ID), ["VTEX_ACCOUNT_NAME", "VTEX_OMS_URL"], id="oms"),
        pytest.param(
            {"payments_url": ""},
            lambda c: c.get_transaction(TRANSACTION_ID),
            ["VTEX_ACCOUNT_NAME", "VTEX_PAYMENTS_URL"],
            id="payments",
        ),
        pytest.param({"app_key": ""}, lambda c: c.start_handling(ORDER_ID), ["VTEX_APP_KEY"], id="key"),
        pytest.param({"app_token": ""}, lambda c: c.read_feed(), ["VTEX_APP_TOKEN"], id="token"),
    ],
)
def test_missing_configuration_raises_naming_the_variables(rsps, overrides, invoke, names):
    # given
    vtex = make_vtex(**overrides)
    # when
    with pytest.raises(VtexConfigurationError) as caught:
        invoke(vtex.client)
    # then: nothing sent, nothing drawn from the budget, nothing recorded
    for name in names:
        assert name in str(caught.value)
    assert len(rsps.calls) == 0
    assert vtex.budget.acquired == 0
    assert vtex.records == []
    assert caught.value.transient is False


def test_payments_url_missing_does_not_block_oms_calls(rsps):
    vtex = make_vtex(payments_url="")
    rsps.add(responses.GET, f"{OMS}{ORDER_PATH}", json={"orderId": ORDER_ID})
    assert vtex.client.get_order(ORDER_ID) == {"orderId": ORDER_ID}


# ---- the recorder ----------------------------------------------------------------------------------------


def test_recorder_gets_long_bodies_cut_to_an_excerpt(rsps, vtex):
    # given
    big = {"orderId": ORDER_ID, "padding": "x" * 5000}
    rsps.add(responses.GET, f"{OMS}{ORDER_PATH}", json=big)
    # when
    vtex.client.get_order(ORDER_ID)
    # then
    excerpt = vtex.records[0].response_excerpt
    assert len(excerpt) == 2000
    assert json.dumps(big).startswith(excerpt)


def test_a_broken_recorder_does_not_turn_a_good_answer_into_a_failure(rsps, caplog):
    # given
    def broken(record: CallRecord) -> None:
        raise RuntimeError("database is locked")

    client = VtexClient(make_config(), recorder=broken, sleep=lambda s: None)
    rsps.add(responses.GET, f"{OMS}{ORDER_PATH}", json={"orderId": ORDER_ID})
    # when
    with caplog.at_level(logging.ERROR, logger="integration.vtex.client"):
        order = client.get_order(ORDER_ID)
    # then
    assert order == {"orderId": ORDER_ID}
    assert "could not record VTEX call" in caplog.text


def test_every_attempt_of_a_retried_get_is_recorded_with_its_own_excerpt(rsps, vtex):
    url = f"{OMS}/api/oms/pvt/orders"
    rsps.add(responses.GET, url, status=500, body="Erro interno")
    rsps.add(responses.GET, url, json=LIST_ANSWER)
    vtex.client.list_orders_page(status="ready-for-handling")
    assert [r.response_excerpt for r in vtex.records] == ["Erro interno", json.dumps(LIST_ANSWER)]
    assert all(r.operation == "list_orders" for r in vtex.records)
    assert all(r.path.startswith("/api/oms/pvt/orders?f_status=ready-for-handling&page=1") for r in vtex.records)


# ---- the app token never leaks -----------------------------------------------------------------------------


def test_config_repr_hides_the_token():
    config = make_config()
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config)
    assert APP_KEY in repr(config)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error_class"),
    [
        pytest.param(
            401,
            json.dumps(vtex_error_body("1", f"Invalid token {TOKEN}")),
            "application/json",
            VtexUnauthorized,
            id="401-json-message",
        ),
        pytest.param(403, f"Forbidden for appToken={TOKEN}", "text/plain", VtexForbidden, id="403-text"),
        pytest.param(
            400,
            json.dumps({"error": {"code": TOKEN, "message": "bad"}}),
            "application/json",
            VtexBadRequest,
            id="400-code",
        ),
        pytest.param(
            429, json.dumps({"Message": f"rate limited: {TOKEN}"}), "application/json", VtexRateLimited, id="429"
        ),
        pytest.param(
            500, f"<html><pre>X-VTEX-API-AppToken: {TOKEN}</pre></html>", "text/html", VtexServerError, id="500-html"
        ),
        pytest.param(200, f"not json {TOKEN}", "text/plain", VtexInvalidResponse, id="200-invalid-json"),
    ],
)
def test_app_token_echoed_by_vtex_never_reaches_errors_records_or_logs(
    rsps, vtex, caplog, status, body, content_type, error_class
):
    # given: VTEX echoes our token back
    rsps.add(responses.GET, f"{OMS}/api/orders/feed/config", status=status, body=body, content_type=content_type)
    # when
    with caplog.at_level(logging.DEBUG), pytest.raises(error_class) as caught:
        vtex.client.get_feed_config()
    # then
    assert_token_absent(caught.value, *vtex.records)
    assert TOKEN not in caplog.text
    assert "[redacted]" in vtex.records[0].response_excerpt


def test_app_token_echoed_in_a_good_answer_is_redacted_from_the_record(rsps, vtex):
    echo = {"filter": {}, "hook": {"url": "https://x", "headers": {"X-VTEX-API-AppToken": TOKEN}}}
    rsps.add(responses.GET, f"{OMS}/api/orders/hook/config", json=echo)
    vtex.client.get_hook_config()
    assert_token_absent(*vtex.records)
    assert '"X-VTEX-API-AppToken": "[redacted]"' in vtex.records[0].response_excerpt


def test_app_token_in_a_request_body_is_redacted_from_the_record(rsps, vtex):
    config = {
        "filter": {"type": "FromWorkflow", "status": ["invoiced"]},
        "hook": {"url": "https://erp.example/hook", "headers": {"key": TOKEN}},
    }
    rsps.add(responses.POST, f"{OMS}/api/orders/hook/config", status=400, body=f"ping failed, headers key={TOKEN}")
    with pytest.raises(VtexBadRequest) as caught:
        vtex.client.save_hook_config(config)
    assert json.loads(rsps.calls[0].request.body) == config  # the wire gets what the caller asked for
    assert_token_absent(caught.value, *vtex.records)


def test_app_token_never_in_transport_errors(rsps, vtex):
    rsps.add(responses.POST, f"{OMS}{ORDER_PATH}/invoice", body=requests.exceptions.ConnectionError("reset"))
    with pytest.raises(VtexConnectionError) as caught:
        vtex.client.send_invoice(ORDER_ID, INVOICE)
    assert_token_absent(caught.value, *vtex.records)


# ---- iter_order_pages ----------------------------------------------------------------------------------------

WINDOW = re.compile(
    r"creationDate:\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) TO (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\]"
)
VTEX_MAX_PAGE = 30


def _parse_z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _window(params: dict[str, str]) -> tuple[datetime, datetime] | None:
    if "f_creationDate" not in params:
        return None
    match = WINDOW.fullmatch(params["f_creationDate"])
    assert match, f"bad f_creationDate syntax: {params['f_creationDate']!r}"
    return _parse_z(match[1]), _parse_z(match[2])


class FakeListOrders:
    """List orders over a fixed set of orders: filters by f_status and f_creationDate (both ends
    inclusive, millisecond precision), sorts by creationDate, pages, and refuses pages past 30."""

    def __init__(self, created: list[datetime], *, status: str = "ready-for-handling") -> None:
        self.orders = [
            {
                "orderId": f"{1400000000000 + n}-01",
                "creationDate": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "status": status,
                "totalValue": 1000 + n,
                "items": None,
                "_created": moment,
            }
            for n, moment in enumerate(sorted(created))
        ]
        self.requests: list[dict[str, str]] = []

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        params = dict(parse_qsl(urlsplit(request.url).query))
        self.requests.append(params)
        page, per_page = int(params["page"]), int(params["per_page"])
        if page > VTEX_MAX_PAGE:
            return 400, {}, json.dumps(vtex_error_body("", "page is restricted to the limit of 30 pages"))
        window = _window(params)
        matching = [
            order
            for order in self.orders
            if order["status"] == params["f_status"] and (window is None or window[0] <= order["_created"] <= window[1])
        ]
        chunk = [{k: v for k, v in order.items() if k != "_created"} for order in matching][
            (page - 1) * per_page : page * per_page
        ]
        answer = {
            "list": chunk,
            "facets": [],
            "paging": {
                "total": len(matching),
                "pages": math.ceil(len(matching) / per_page),
                "currentPage": page,
                "perPage": per_page,
            },
        }
        return 200, {}, json.dumps(answer)

    def total_in(self, window: tuple[datetime, datetime]) -> int:
        return sum(1 for order in self.orders if window[0] <= order["_created"] <= window[1])


def _serve(rsps: responses.RequestsMock, fake: FakeListOrders) -> None:
    rsps.add_callback(responses.GET, f"{OMS}/api/oms/pvt/orders", callback=fake, content_type="application/json")


def _ids(pages: list[list[dict[str, Any]]]) -> list[str]:
    return [order["orderId"] for page in pages for order in page]


T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_iter_order_pages_yields_the_last_page_first(rsps, vtex):
    # given: 250 orders, 3 pages of 100
    fake = FakeListOrders([T0 + timedelta(seconds=n) for n in range(250)])
    _serve(rsps, fake)
    # when
    pages = list(vtex.client.iter_order_pages(status="ready-for-handling"))
    # then: page 1 is read to learn the count, then 3, 2, and page 1 is yielded last
    assert [params["page"] for params in fake.requests] == ["1", "3", "2"]
    assert all("f_creationDate" not in params for params in fake.requests)
    assert [len(page) for page in pages] == [50, 100, 100]
    assert pages[0][0]["orderId"] == fake.orders[200]["orderId"]
    assert pages[2][0]["orderId"] == fake.orders[0]["orderId"]
    assert sorted(_ids(pages)) == sorted(order["orderId"] for order in fake.orders)


def test_iter_order_pages_with_one_page_or_none(rsps, vtex):
    fake = FakeListOrders([T0 + timedelta(seconds=n) for n in range(7)])
    _serve(rsps, fake)
    assert [len(page) for page in vtex.client.iter_order_pages(status="ready-for-handling")] == [7]
    assert [len(page) for page in vtex.client.iter_order_pages(status="invoiced")] == [0]
    assert len(fake.requests) == 2


def test_iter_order_pages_keeps_the_caller_window_on_every_page(rsps, vtex):
    # given
    fake = FakeListOrders([T0 + timedelta(minutes=n) for n in range(150)])
    _serve(rsps, fake)
    # when
    pages = list(
        vtex.client.iter_order_pages(
            status="ready-for-handling", created_from=T0, created_to=T0 + timedelta(minutes=119)
        )
    )
    # then: the window cut the last 30 orders off, on every request
    assert len(_ids(pages)) == 120
    windows = {params["f_creationDate"] for params in fake.requests}
    assert windows == {"creationDate:[2024-05-01T12:00:00.000Z TO 2024-05-01T13:59:00.000Z]"}


def test_iter_order_pages_reads_30_pages_without_splitting(rsps, vtex):
    fake = FakeListOrders([T0 + timedelta(seconds=n) for n in range(3000)])
    _serve(rsps, fake)
    pages = list(vtex.client.iter_order_pages(status="ready-for-handling"))
    assert len(pages) == 30
    assert [params["page"] for params in fake.requests] == ["1", *(str(p) for p in range(30, 1, -1))]
    assert len(set(_ids(pages))) == 3000


def _check_windows(fake: FakeListOrders, start: datetime, end: datetime) -> None:
    """Every window read page by page fits 30 pages, was read last page first, and the windows
    tile [start, end] without gap or overlap (1 ms apart)."""
    requests_by_window: dict[tuple[datetime, datetime], list[int]] = {}
    for params in fake.requests:
        window = _window(params)
        if window is not None:
            requests_by_window.setdefault(window, []).append(int(params["page"]))
    leaves = []
    for window, pages in requests_by_window.items():
        total_pages = math.ceil(fake.total_in(window) / 100)
        if total_pages > VTEX_MAX_PAGE:
            assert pages == [1], f"window {window} has {total_pages} pages and should have been split"
        else:
            leaves.append(window)
            assert pages == [1, *range(total_pages, 1, -1)], f"window {window} not read last page first"
    leaves.sort()
    assert leaves[0][0] == start
    assert leaves[-1][1] == end
    for before, after in zip(leaves, leaves[1:], strict=False):
        assert after[0] == before[1] + timedelta(milliseconds=1), f"gap or overlap between {before} and {after}"


def test_iter_order_pages_splits_45_pages_into_windows_of_at_most_30(rsps, vtex):
    # given: 4500 orders (45 pages): 4000 one millisecond apart, so that any gap or overlap between
    # windows loses or repeats an order, then 500 one second apart
    dense = [T0 + timedelta(milliseconds=n) for n in range(4000)]
    sparse = [T0 + timedelta(seconds=4 + n) for n in range(500)]
    fake = FakeListOrders(dense + sparse)
    _serve(rsps, fake)
    end = sparse[-1]
    # when
    pages = list(vtex.client.iter_order_pages(status="ready-for-handling", created_from=T0, created_to=end))
    # then
    first = fake.requests[0]
    assert first["f_creationDate"] == "creationDate:[2024-05-01T12:00:00.000Z TO 2024-05-01T12:08:23.000Z]"
    assert all(WINDOW.fullmatch(params["f_creationDate"]) for params in fake.requests)
    ids = _ids(pages)
    assert len(ids) == 4500
    assert len(set(ids)) == 4500, "an order was yielded twice"
    assert set(ids) == {order["orderId"] for order in fake.orders}, "an order was lost"
    assert all(0 < len(page) <= 100 for page in pages)
    assert max(int(params["page"]) for params in fake.requests) <= VTEX_MAX_PAGE
    _check_windows(fake, T0, end)


def test_iter_order_pages_without_a_window_splits_the_last_two_years(rsps, vtex):
    # given: 3200 recent orders, no window from the caller
    now = datetime.now(UTC).replace(microsecond=0)
    created = [now - timedelta(hours=1) + timedelta(milliseconds=n) for n in range(3200)]
    fake = FakeListOrders(created)
    _serve(rsps, fake)
    # when
    ids = _ids(list(vtex.client.iter_order_pages(status="ready-for-handling")))
    # then
    assert sorted(ids) == sorted(order["orderId"] for order in fake.orders)
    assert len(ids) == len(set(ids))
    windows = [window for window in map(_window, fake.requests) if window is not None]
    start, end = min(w[0] for w in windows), max(w[1] for w in windows)
    assert end >= now  # the range reaches the present...
    assert end - start >= timedelta(days=729)  # ...and goes back about two years (VTEX's horizon)
    _check_windows(fake, start, end)


def test_iter_order_pages_gives_up_when_one_second_holds_more_than_30_pages(rsps, vtex):
    fake = FakeListOrders([T0 + timedelta(microseconds=250 * n) for n in range(3100)])
    _serve(rsps, fake)
    with pytest.raises(VtexError, match="use the feed"):
        list(
            vtex.client.iter_order_pages(
                status="ready-for-handling", created_from=T0, created_to=T0 + timedelta(milliseconds=900)
            )
        )
    assert len(fake.requests) == 1
