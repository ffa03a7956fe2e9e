"""The real order shapes (``shapes="mixed"``, ``currency="COP"``) checked against VTEX's OpenAPI
files, like test_sandbox_contract.py checks the default orders. (Get orders by order group answers
a list of Get order documents: test_shapes.py checks it equals them.)

Real documents differ from the spec's schema in a few more fields than the default orders do;
``SHAPE_DEVIATIONS`` lists them, each with its reason, on top of tests/contract_deviations.py.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from openapi_core import Config, OpenAPI

from tests.contract_deviations import SPEC_DEVIATIONS, relaxed_spec
from vtex_sandbox import SandboxStore

from .conftest import APP_KEY, APP_TOKEN
from .test_sandbox_contract import validate

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "vtex-openapi"
GET_ORDER = ("GET", "/api/oms/pvt/orders/{orderId}")
_NO_NUMBER = (
    "Typed as a non-null string; Colombian addresses carry the number in the street ('Carrera 43A # 7-50') "
    "and real documents of such stores have number null (VTEX-API.md §14)."
)
SHAPE_DEVIATIONS: dict[tuple[str, str, str], str] = {
    (*GET_ORDER, "response 200: items[].unitMultiplier"): (
        "Typed as an integer, but the spec's own examples write 1.0 and items sold by weight have 0.35, 0.5... "
        "(VTEX-API.md §14: .NET decimals such as 1.0000)."
    ),
    (*GET_ORDER, "response 200: changesAttachment.changesData[].itemsRemoved[].unitMultiplier"): (
        "Typed as a string (the example shows null); the sandbox writes the removed item's multiplier as the "
        "number items[].unitMultiplier holds."
    ),
    (*GET_ORDER, "response 200: totals[].id"): (
        "The enum lists Items, Discounts, Shipping and Tax; the spec's own changed-order example, and real changed "
        "orders, add {'id': 'Change', 'value': -N} (VTEX-API.md §2, §14)."
    ),
    (*GET_ORDER, "response 200: clientProfileData.document"): (
        "Typed as a non-null string; a company buyer's document is null, its CNPJ in corporateDocument "
        "(VTEX-API.md §14)."
    ),
    (*GET_ORDER, "response 200: shippingData.logisticsInfo[].pickupStoreInfo.address"): (
        "Typed as a string; a pickup point's address is an object, as the same schema's "
        "slas[].pickupStoreInfo.address and the spec's pickup examples have it."
    ),
    (*GET_ORDER, "response 200: items[].components[]"): (
        "Typed as strings; a kit's components are item objects (id, quantity, price, ...)."
    ),
    (*GET_ORDER, "response 200: items[].attachments[]"): (
        "Typed as strings; attachments are objects {name, content} (VTEX's assembly options)."
    ),
    (*GET_ORDER, "response 200: shippingData.address.number"): _NO_NUMBER,
    (*GET_ORDER, "response 200: shippingData.selectedAddresses[].number"): _NO_NUMBER,
    (*GET_ORDER, "response 200: paymentData.transactions[].payments[].billingAddress.number"): _NO_NUMBER,
    ("GET", "/api/oms/pvt/orders", "response 200: stats.stats.totalValue.Facets.currencyCode"): (
        "The schema, copied from a Brazilian example, requires a 'BRL' key; a store in another currency has "
        "its own code there."
    ),
    ("GET", "/api/oms/pvt/orders", "response 200: stats.stats.totalItems.Facets.currencyCode"): (
        "As totalValue.Facets.currencyCode."
    ),
}


@pytest.fixture(scope="module")
def shape_specs() -> dict[str, OpenAPI]:
    if not SPEC_DIR.is_dir():
        if os.environ.get("REQUIRE_VTEX_SPEC") == "1":
            pytest.fail(f"VTEX OpenAPI files not found at {SPEC_DIR} (REQUIRE_VTEX_SPEC=1)")
        pytest.skip(f"VTEX OpenAPI files not found at {SPEC_DIR}")
    deviations = {**SPEC_DEVIATIONS, **SHAPE_DEVIATIONS}
    orders = json.loads((SPEC_DIR / "VTEX - Orders API.json").read_text())
    payments = json.loads((SPEC_DIR / "VTEX - Payments Gateway API.json").read_text())
    return {
        "oms": OpenAPI.from_dict(relaxed_spec(orders, deviations)),
        "payments": OpenAPI.from_dict(relaxed_spec(payments, deviations), config=Config(spec_validator_cls=None)),
    }


def problems(shape_specs, answer) -> list[str]:
    try:
        validate(shape_specs, answer)
    except Exception as error:  # openapi-core raises one class per kind of problem
        details = getattr(error.__cause__, "schema_errors", None) or [error.__cause__ or error]
        route = f"{answer.request.method} {urlsplit(answer.request.url).path}"
        return [_describe(route, detail) for detail in details]
    return []


def _describe(route: str, detail) -> str:
    """One line per kind of problem: the field (indices dropped) and the message."""
    where = ".".join("[]" if isinstance(step, int) else str(step) for step in getattr(detail, "absolute_path", []))
    message = getattr(detail, "message", str(detail))
    return f"{route.split('/')[-1] if route.count('/') > 5 else route}: {where}: {message[:120]}"


@pytest.mark.parametrize("currency", ["BRL", "COP"])
def test_mixed_orders_match_the_spec(make_server, shape_specs, currency):
    store = SandboxStore(orders=60, seed=4, shapes="mixed", currency=currency, app_key=APP_KEY, app_token=APP_TOKEN)
    vtex = make_server(store)
    found = []
    for order_id in store.order_ids():
        answer = vtex.get(f"/api/oms/pvt/orders/{order_id}")
        found += problems(shape_specs, answer)
        found += problems(shape_specs, vtex.get(f"/api/oms/pvt/orders/{order_id}/payment-transaction"))
        transaction_id = answer.json()["paymentData"]["transactions"][0]["transactionId"]
        found += problems(shape_specs, vtex.get(f"/api/pvt/transactions/{transaction_id}"))
        found += problems(shape_specs, vtex.get(f"/api/pvt/transactions/{transaction_id}/payments"))
    found += problems(shape_specs, vtex.get("/api/oms/pvt/orders", params={"per_page": 100}))
    found = [re.sub(r"^\S*: ", "", problem) for problem in found]
    assert not found, "\n".join(dict.fromkeys(found))


def test_every_shape_deviation_names_a_real_field():
    if not SPEC_DIR.is_dir():
        pytest.skip(f"VTEX OpenAPI files not found at {SPEC_DIR}")
    spec = json.loads((SPEC_DIR / "VTEX - Orders API.json").read_text())
    for key in SHAPE_DEVIATIONS:
        relaxed_spec(spec, {key: SHAPE_DEVIATIONS[key]})  # KeyError when the field is not in the spec
        assert key not in SPEC_DEVIATIONS
