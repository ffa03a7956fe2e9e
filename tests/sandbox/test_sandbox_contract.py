"""The sandbox's answers validated against VTEX's official OpenAPI files (../shared/vtex-openapi).

The files are reference data outside the repository: without them the test skips, unless
REQUIRE_VTEX_SPEC=1 (CI), which turns the skip into a failure. Where the spec is wrong, the
deviation is listed once, with its reason, in tests/contract_deviations.py.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from tests.contract_deviations import SPEC_DEVIATIONS, relaxed_spec

from .conftest import invoice_body

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "vtex-openapi"
OMS_HOST = "https://sandbox.vtexcommercestable.com.br"  # the hosts the spec's servers describe
PAYMENTS_HOST = "https://sandbox.vtexpayments.com.br"
ORDERS = "/api/oms/pvt/orders"


@pytest.fixture(scope="module")
def specs() -> dict[str, OpenAPI]:
    if not SPEC_DIR.is_dir():
        if os.environ.get("REQUIRE_VTEX_SPEC") == "1":
            pytest.fail(f"VTEX OpenAPI files not found at {SPEC_DIR} (REQUIRE_VTEX_SPEC=1)")
        pytest.skip(f"VTEX OpenAPI files not found at {SPEC_DIR}")
    orders = json.loads((SPEC_DIR / "VTEX - Orders API.json").read_text())
    payments = json.loads((SPEC_DIR / "VTEX - Payments Gateway API.json").read_text())
    return {
        "oms": OpenAPI.from_dict(relaxed_spec(orders)),
        # One path parameter of this file is optional, which fails spec validation (VTEX-API.md §13):
        # load it without that check; the file itself is never edited.
        "payments": OpenAPI.from_dict(relaxed_spec(payments), config=Config(spec_validator_cls=None)),
    }


def _template_matches(template: str, path: str) -> bool:
    template_parts, path_parts = template.strip("/").split("/"), path.strip("/").split("/")
    return len(template_parts) == len(path_parts) and all(
        t.startswith("{") or t == p for t, p in zip(template_parts, path_parts, strict=True)
    )


def _whole_body_deviation(method: str, path: str, part: str) -> str | None:
    for (d_method, template, d_part), reason in SPEC_DEVIATIONS.items():
        if d_method == method and d_part == part and _template_matches(template, path):
            return reason
    return None


def validate(specs: dict[str, OpenAPI], answer: requests.Response, *, body: bytes | None = None) -> None:
    """Raise unless ``answer`` (or ``body`` in its place) is what the spec says this route answers."""
    url = urlsplit(answer.request.url)
    method, path = answer.request.method, unquote(url.path)
    if _whole_body_deviation(method, path, "path") or _whole_body_deviation(
        method, path, f"response {answer.status_code}"
    ):
        return
    is_payments = path.startswith("/api/pvt/transactions")
    request = MockRequest(PAYMENTS_HOST if is_payments else OMS_HOST, method, path, args=dict(parse_qsl(url.query)))
    response = MockResponse(
        answer.content if body is None else body,
        status_code=answer.status_code,
        headers=dict(answer.headers),
        content_type=answer.headers.get("Content-Type", "application/json"),
    )
    specs["payments" if is_payments else "oms"].validate_response(request, response)


@pytest.fixture
def checked(specs):
    """``checked(answer, status=200)``: assert the status and that the spec accepts the answer."""

    def check(answer: requests.Response, expected_status: int = 200) -> requests.Response:
        assert answer.status_code == expected_status, answer.text
        try:
            validate(specs, answer)
        except Exception as error:  # openapi-core raises one class per kind of problem
            detail = getattr(error.__cause__, "schema_errors", None) or error.__cause__ or error
            pytest.fail(f"{answer.request.method} {urlsplit(answer.request.url).path}: {detail}")
        return answer

    return check


def test_every_deviation_names_a_real_route_and_field(specs):
    raw = [
        json.loads((SPEC_DIR / name).read_text())
        for name in ("VTEX - Orders API.json", "VTEX - Payments Gateway API.json")
    ]
    for method, path, part in SPEC_DEVIATIONS:
        in_spec = any(method.lower() in spec["paths"].get(path, {}) for spec in raw)
        assert in_spec != (part == "path"), (method, path, part)
    for spec in raw:
        relaxed_spec(spec)  # raises KeyError when a deviation names a field the spec does not have


def test_reads_match_the_spec(make_server, make_store, checked):
    vtex = make_server(make_store(orders=25, seed=4))
    store = vtex.server.store
    checked(vtex.get(ORDERS, params={"per_page": 100}))
    checked(vtex.get(ORDERS, params={"f_status": "ready-for-handling", "page": 2, "per_page": 5}))
    for order_id in store.order_ids():  # every order: card, Pix, boleto, gift card, split payments
        order = checked(vtex.get(f"{ORDERS}/{order_id}")).json()
        checked(vtex.get(f"{ORDERS}/{order_id}/payment-transaction"))
        transaction_id = order["paymentData"]["transactions"][0]["transactionId"]
        checked(vtex.get(f"/api/pvt/transactions/{transaction_id}"))
        payments = checked(vtex.get(f"/api/pvt/transactions/{transaction_id}/payments")).json()
        for payment in payments:  # the list holds the spec's single-payment objects
            single = checked(vtex.get(f"/api/pvt/transactions/{transaction_id}/payments/{payment['id']}"))
            assert single.json() == payment


def test_the_order_flow_matches_the_spec(make_server, checked):
    vtex = make_server()
    order_id, cancel_id = vtex.server.store.order_ids()[:2]
    assert vtex.post(f"{ORDERS}/{order_id}/start-handling").status_code == 204
    checked(vtex.post(f"{ORDERS}/{order_id}/start-handling"), 409)
    checked(requests.post(vtex.server.url + f"{ORDERS}/{order_id}/start-handling", timeout=5), 401)
    order = vtex.get(f"{ORDERS}/{order_id}").json()
    checked(vtex.post(f"{ORDERS}/{order_id}/invoice", json=invoice_body(order, "NF-1", items=[(0, 1)])))
    remaining = order["value"] - order["items"][0]["sellingPrice"]
    checked(vtex.post(f"{ORDERS}/{order_id}/invoice", json=invoice_body(order, "NF-2", value=str(remaining))))
    tracking = {"trackingNumber": "BR1", "trackingUrl": None, "courier": "Correios", "dispatchedDate": None}
    checked(vtex.request("PATCH", f"{ORDERS}/{order_id}/invoice/NF-1", json=tracking))
    checked(vtex.request("PATCH", f"{ORDERS}/{order_id}/invoice/NF-2", json=tracking))
    events = [{"city": "Recife", "state": "PE", "description": "Saiu para entrega", "date": "2026-11-30"}]
    checked(
        vtex.request(
            "PUT",
            f"{ORDERS}/{order_id}/invoice/NF-1/tracking",
            json={"isDelivered": False, "deliveredDate": None, "events": events},
        )
    )
    checked(
        vtex.request(
            "PUT",
            f"{ORDERS}/{order_id}/invoice/NF-2/tracking",
            json={"isDelivered": True, "deliveredDate": "2026-11-30 14:00", "events": events},
        )
    )
    invoiced = checked(vtex.get(f"{ORDERS}/{order_id}")).json()
    assert invoiced["status"] == "invoiced"
    checked(vtex.get(f"{ORDERS}/{order_id}/payment-transaction"))
    checked(vtex.post(f"{ORDERS}/{cancel_id}/cancel", json={"reason": "Cliente desistiu"}))
    checked(vtex.get(f"{ORDERS}/{cancel_id}"))
    checked(vtex.get(ORDERS, params={"f_status": "invoiced,canceled"}))


def test_feed_and_hook_match_the_spec(make_server, checked, hook_receiver):
    vtex = make_server()
    config = {
        "filter": {"type": "FromWorkflow", "status": ["ready-for-handling", "handling"]},
        "queue": {"visibilityTimeoutInSeconds": 250, "MessageRetentionPeriodInSeconds": 345600},
    }
    checked(vtex.post("/api/orders/feed/config", json=config))
    vtex.post("/_sandbox/orders", json={"count": 3})
    checked(vtex.get("/api/orders/feed/config"))
    events = checked(vtex.get("/api/orders/feed", params={"maxlot": 10})).json()
    assert len(events) == 3
    checked(vtex.post("/api/orders/feed", json={"handles": [event["handle"] for event in events]}))
    checked(vtex.request("DELETE", "/api/orders/feed/config"))
    hook = {
        "filter": {"type": "FromWorkflow", "status": ["handling"]},
        "hook": {"url": hook_receiver.url, "headers": {"key": "value"}},
    }
    checked(vtex.post("/api/orders/hook/config", json=hook))
    checked(vtex.get("/api/orders/hook/config"))
    checked(vtex.request("DELETE", "/api/orders/hook/config"))


def test_the_validation_does_catch_a_wrong_answer(make_server, specs):
    vtex = make_server()
    answer = vtex.get(f"{ORDERS}/{vtex.server.store.order_ids()[0]}")
    validate(specs, answer)
    wrong: dict[str, Any] = copy.deepcopy(answer.json())
    wrong["value"] = "123.45"  # money as a decimal string instead of integer cents
    with pytest.raises(Exception):  # noqa: B017 (openapi-core's error class is an implementation detail)
        validate(specs, answer, body=json.dumps(wrong).encode())
