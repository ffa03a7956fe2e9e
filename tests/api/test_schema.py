"""The OpenAPI schema (/api/schema/), the docs (/api/docs/, assets served locally) and a schemathesis
run of every operation against the schema: no 5xx, and every answer as documented."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import schemathesis
import yaml
from django.contrib.staticfiles import finders
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from integration.api.errors import flatten_errors
from integration.api.serializers import ERROR_CODES
from integration.models import Order
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.tracking import invoice_set_tracking
from integration.vtex.statuses import VtexStatus
from tests.api.conftest import acknowledged_order, client_for, user_with
from tests.factories import make_order

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("get", "/api/v1/orders/"),
    ("get", "/api/v1/orders/{order_id}/"),
    ("post", "/api/v1/orders/{order_id}/ack/"),
    ("post", "/api/v1/orders/{order_id}/invoices/"),
    ("post", "/api/v1/orders/{order_id}/invoices/nfe/"),
    ("post", "/api/v1/orders/{order_id}/invoices/{number}/tracking/"),
    ("post", "/api/v1/orders/{order_id}/invoices/{number}/tracking-events/"),
    ("post", "/api/v1/orders/{order_id}/cancellation/"),
}


def served_schema(client) -> dict:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_valid_openapi_3_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert yaml.safe_load((tmp_path / "schema.yaml").read_text())["openapi"].startswith("3.")


def test_the_schema_is_public_and_describes_every_operation_for_a_client_team(client):
    schema = served_schema(client)

    operations = {(method, path): op for path, item in schema["paths"].items() for method, op in item.items()}
    assert set(operations) == OPERATIONS
    description = schema["info"]["description"]
    for text in ("Authorization: Bearer", "Authorization: Token", '{"error": {"code"', "idempotency", "resume_cursor"):
        assert text in description, text
    assert schema["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert schema["components"]["securitySchemes"]["tokenAuth"]["in"] == "header"
    error_schema = schema["components"]["schemas"]["ErrorBody"]
    assert set(error_schema["properties"]) == {"code", "message", "fields"}
    for (method, path), op in operations.items():
        assert op["summary"] and len(op["description"]) > 80, (method, path)
        assert op["security"] == [{"bearerAuth": []}, {"tokenAuth": []}], (method, path)  # either one
        for status in ("401", "403", "429", "default"):
            assert op["responses"][status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, (method, path, status)
        assert op["responses"]["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}, (method, path)
        if "{order_id}" in path:
            assert "404" in op["responses"], (method, path)
        if method == "post" and not path.endswith("/ack/"):
            assert {"400", "409", "413"} <= set(op["responses"]), (method, path)
            media_type = "application/xml" if path.endswith("/invoices/nfe/") else "application/json"
            assert op["requestBody"]["required"] is True, (method, path)
            assert op["requestBody"]["content"][media_type]["examples"], (method, path)
    invoices = operations[("post", "/api/v1/orders/{order_id}/invoices/")]
    assert {"200", "201", "409"} <= set(invoices["responses"])
    assert "Idempotent" in invoices["description"]
    assert "502" in operations[("post", "/api/v1/orders/{order_id}/ack/")]["responses"]


def test_the_schema_states_the_rules_the_server_enforces(client):
    schema = served_schema(client)
    components = schema["components"]["schemas"]
    listing = schema["paths"]["/api/v1/orders/"]["get"]
    parameters = {parameter["name"]: parameter["schema"] for parameter in listing["parameters"]}

    assert components["ErrorCodeEnum"]["enum"] == list(ERROR_CODES)
    assert "not_acceptable" in components["ErrorCodeEnum"]["enum"]
    assert components["VtexStatusEnum"]["enum"] == [status.value for status in VtexStatus]
    assert parameters["status"]["enum"] == [status.value for status in VtexStatus]
    assert (parameters["page_size"]["minimum"], parameters["page_size"]["maximum"]) == (1, 200)
    reason = components["CancellationInputRequest"]["properties"]["reason"]
    assert (reason["minLength"], reason["maxLength"]) == (5, 500)
    assert components["NewInvoiceRequest"]["properties"]["items"]["minItems"] == 1
    assert components["TrackingEventsInputRequest"]["properties"]["events"]["maxItems"] == 100
    delivered_at_alone, nothing_to_do = components["TrackingEventsInputRequest"]["not"]["anyOf"]
    assert delivered_at_alone["required"] == ["delivered_at"]  # delivered_at only with delivered
    assert delivered_at_alone["not"]["properties"]["delivered"]["enum"] == [True]
    assert nothing_to_do["not"] == delivered_at_alone["not"]
    page = components["OrderPage"]["properties"]
    assert {"next", "next_cursor", "previous_cursor", "resume_cursor"} <= set(page)
    summary = components["OrderSummary"]["properties"]["vtex_status"]
    assert {"$ref": "#/components/schemas/VtexStatusEnum"} in summary["oneOf"]


def test_every_error_example_of_the_schema_is_a_sentence_that_stands_alone(client):
    schema = served_schema(client)

    messages = [
        example["value"]["error"]["message"]
        for item in schema["paths"].values()
        for op in item.values()
        for response in op["responses"].values()
        for example in response.get("content", {}).get("application/json", {}).get("examples", {}).values()
        if "error" in example["value"]
    ]
    assert len(messages) > 20
    for message in messages:
        assert message.endswith(".") and ".." not in message and "below" not in message, message


def test_the_docs_pages_use_assets_served_here_not_a_cdn(client):
    response = client.get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "cdn" not in html.lower() and "https://" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/api/schema/" in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")


# ---- schemathesis ---------------------------------------------------------------------------------------------
#
# Each operation of the served schema gets generated requests valid by the schema and invalid ones,
# authenticated, mostly against seeded orders. Besides "no 5xx and every answer as documented", the
# schema and the server must agree in both directions:
# - a request the schema allows is never refused by the input's validation (a 400 from a serializer),
#   except for the rules OpenAPI 3.0 cannot state, listed in BEYOND_THE_SCHEMA. A rule about the data
#   (the services' 400 and 409: more units than are left, an issue date in the future, an order in a
#   state that takes no invoice) and a 404 for an unknown order are answers, not refusals of the shape;
# - a request the schema forbids is refused (schemathesis' negative_data_rejection, which knows
#   when a mutation becomes valid again once serialized into a query string).
# The strategies come from schemathesis' Python API and run under Hypothesis directly: schemathesis'
# lazy pytest loader does not work with the pytest installed here (it sets Node._nodeid, which pytest
# 9 no longer has).

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

#: Input rules the schema cannot state (OpenAPI 3.0), with the field names they refuse:
BEYOND_THE_SCHEMA = {
    # the cursor is opaque: the schema says "a string", only the server knows which strings it made
    "cursor": "opaque cursor",
    # uniqueness of one property among the objects of a list (uniqueItems compares whole objects)
    "item_index": "an item given twice in one invoice",
}


@pytest.fixture
def api_schema(settings):
    # The WSGI test client sends Host: localhost and plain http; make both acceptable whatever DEBUG is.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    settings.SECURE_SSL_REDIRECT = False
    settings.API_THROTTLE_RATE = "100000/min"
    # As Django's own test client does: the end of a request must not close the connection that
    # holds the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def refusals(monkeypatch) -> list[Exception]:
    """Every exception a view turned into an error answer, to tell the input's validation (a serializer's
    ValidationError) from a rule of the services."""
    caught: list[Exception] = []
    original = APIView.get_exception_handler

    def spying(view):
        handler = original(view)

        def handle(exc, context):
            caught.append(exc)
            return handler(exc, context)

        return handle

    monkeypatch.setattr(APIView, "get_exception_handler", spying)
    return caught


@pytest.fixture
def fuzz_target(db):
    """Seeded orders for the generated requests, and a token with every API permission."""
    orders = [acknowledged_order() for _ in range(3)]
    invoiced = acknowledged_order()
    invoice = invoice_create(
        order=invoiced,
        data=InvoiceInput(number="NF-1", issued_at=timezone.now() - timedelta(days=1), lines=[(0, 1)]),
    )
    invoice_set_tracking(invoice=invoice, tracking_number="AA1BR")
    orders += [invoiced, make_order()]  # and one waiting for its acknowledgement
    client = client_for(user_with("view_order", "change_order", "enter_invoices", "request_cancellation"))
    return {
        "headers": {"Authorization": client._credentials["HTTP_AUTHORIZATION"]},
        "order_ids": [order.order_id for order in orders],
        "invoiced": invoiced.order_id,
    }


def aim_at_seeded_orders(case, target, turn: int) -> None:
    """Most requests go to seeded orders, so the business rules answer; every fifth keeps the
    generated path, which exercises the 404s."""
    path_parameters = case.path_parameters or {}
    if not turn % 5 or "order_id" not in path_parameters:
        return
    if "number" in path_parameters:
        path_parameters.update(order_id=target["invoiced"], number="NF-1")
    else:
        path_parameters["order_id"] = target["order_ids"][turn % len(target["order_ids"])]


def refused_by_validation(caught: list[Exception]) -> dict[str, list[str]]:
    """The fields the input's validation refused (not the services' rules), less those of BEYOND_THE_SCHEMA."""
    fields: dict[str, list[str]] = {}
    for exc in caught:
        if isinstance(exc, ValidationError):
            for name, problems in flatten_errors(exc.detail).items():
                if name.rsplit(".", 1)[-1] not in BEYOND_THE_SCHEMA:
                    fields[name] = problems
    return fields


def messages_are_sentences(response) -> None:
    """An error's message is a sentence that stands alone: no "below" with nothing below, no ".."."""
    if response.status_code < 400:
        return
    message = response.json()["error"]["message"]
    assert message.endswith((".", "?")) and ".." not in message and "below" not in message, message


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
@pytest.mark.parametrize(
    ("method", "path"), sorted(OPERATIONS), ids=[f"{m.upper()} {p}" for m, p in sorted(OPERATIONS)]
)
def test_generated_requests_get_what_the_schema_promises(api_schema, fuzz_target, refusals, method, path, mode):
    operation = api_schema[path][method.upper()]
    turns = itertools.count()
    calls: list[int] = []
    negative = mode == GenerationMode.NEGATIVE

    @hypothesis_settings(
        max_examples=40 if not negative else 30,
        deadline=timedelta(seconds=5),
        database=None,
        derandomize=True,  # the same requests on every run, so a failure can be reproduced
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as is
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        aim_at_seeded_orders(case, fuzz_target, next(turns))
        refusals.clear()
        checks = [*CHECKS, negative_data_rejection] if negative else CHECKS
        response = case.call_and_validate(headers=fuzz_target["headers"], checks=checks)
        calls.append(response.status_code)
        messages_are_sentences(response)
        if not negative:
            assert response.status_code not in (401, 403, 413, 415), response.text
            assert not refused_by_validation(refusals), (
                case.method,
                case.path_parameters,
                case.query,
                case.body,
                response.json(),
            )

    run()

    assert calls, "no request was generated"
    assert Order.objects.count() == 5  # the API never creates or deletes orders
