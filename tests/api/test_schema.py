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
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from integration.models import Order
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.tracking import invoice_set_tracking
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
    for text in ("Authorization: Token", '{"error": {"code"', "idempotency", "updated_since", "on_erp_ack", "413"):
        assert text in description, text
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    error_schema = schema["components"]["schemas"]["ErrorBody"]
    assert set(error_schema["properties"]) == {"code", "message", "fields"}
    for (method, path), op in operations.items():
        assert op["summary"] and len(op["description"]) > 80, (method, path)
        assert op["security"] == [{"tokenAuth": []}], (method, path)
        for status in ("401", "403", "429"):
            assert op["responses"][status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, (method, path, status)
        if "{order_id}" in path:
            assert "404" in op["responses"], (method, path)
        if method == "post" and not path.endswith("/ack/"):
            assert {"400", "409", "413"} <= set(op["responses"]), (method, path)
            media_type = "application/xml" if path.endswith("/invoices/nfe/") else "application/json"
            assert op["requestBody"]["content"][media_type]["examples"], (method, path)
    invoices = operations[("post", "/api/v1/orders/{order_id}/invoices/")]
    assert {"200", "201", "409"} <= set(invoices["responses"])
    assert "Idempotent" in invoices["description"]
    assert "502" in operations[("post", "/api/v1/orders/{order_id}/ack/")]["responses"]


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
# Each operation of the served schema gets up to 20 generated requests valid by the schema and 10 invalid
# ones, authenticated, mostly against seeded orders. The strategies come from schemathesis'
# Python API and run under Hypothesis directly: schemathesis' lazy pytest loader does not work with the
# pytest installed here (it sets Node._nodeid, which pytest 9 no longer has).

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


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


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
@pytest.mark.parametrize(
    ("method", "path"), sorted(OPERATIONS), ids=[f"{m.upper()} {p}" for m, p in sorted(OPERATIONS)]
)
def test_generated_requests_never_get_a_5xx_or_an_undocumented_answer(api_schema, fuzz_target, method, path, mode):
    operation = api_schema[path][method.upper()]
    turns = itertools.count()
    calls: list[int] = []

    @hypothesis_settings(
        max_examples=20 if mode == GenerationMode.POSITIVE else 10,
        deadline=timedelta(seconds=5),
        database=None,
        derandomize=True,  # the same requests on every run, so a failure can be reproduced
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as is
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        aim_at_seeded_orders(case, fuzz_target, next(turns))
        response = case.call_and_validate(headers=fuzz_target["headers"], checks=CHECKS)
        calls.append(response.status_code)

    run()

    assert calls, "no request was generated"
    assert Order.objects.count() == 5  # the API never creates or deletes orders
