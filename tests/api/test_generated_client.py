"""Issue 19's acceptance for an ERP team: a client generated from the served /api/schema/ with
openapi-python-client (a dev dependency; it runs offline in about a second) runs the ERP journey
against the live test server with Bearer auth, following next_cursor: list, receipt (ack), detail,
invoice, tracking, events and delivery, cancellation, errors parsed as the schema's Error, and the
next poll from resume_cursor. Each effect reaches the sandbox store once."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import timedelta
from http import HTTPStatus

import pytest
import requests
from django.utils import timezone
from rest_framework.authtoken.models import Token

from integration.infra.vtex_client import vtex_client
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send_due
from tests.api.conftest import ALL_API_PERMISSIONS, user_with

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PACKAGE = "erp_bridge_generated_client"


@pytest.fixture
def generated(live_server, tmp_path, settings):
    """The client package generated from the live server's schema, imported."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost", "127.0.0.1"]
    settings.SECURE_SSL_REDIRECT = False
    settings.API_THROTTLE_RATE = "100000/min"
    schema = requests.get(f"{live_server.url}/api/schema/", timeout=30)
    assert schema.status_code == 200
    (tmp_path / "schema.yaml").write_bytes(schema.content)
    (tmp_path / "config.yaml").write_text("post_hooks: []\n")  # no ruff run on the generated code
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(tmp_path / "schema.yaml"),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # every operation and model understood
    sys.path.insert(0, str(tmp_path))
    try:
        yield lambda name="": importlib.import_module(f"{PACKAGE}.{name}" if name else PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_a_generated_client_runs_the_erp_journey_with_bearer_and_next_cursor(
    generated, live_server, make_sandbox, settings
):
    # given: five orders taken in from the sandbox store, waiting for the ERP's receipt
    server = make_sandbox(orders=5)
    settings.VTEX_START_HANDLING = "on_erp_ack"
    intake_run(source="list")
    key = Token.objects.create(user=user_with(*ALL_API_PERMISSIONS, username="erp")).key
    client_module = generated()
    api = client_module.AuthenticatedClient(base_url=live_server.url, token=key)  # prefix "Bearer"
    assert api.prefix == "Bearer"
    orders_list = generated("api.orders.orders_list")
    models = generated("models")

    # when: the ERP lists them two at a time, following next_cursor
    # (no filter: the resume cursor carries the walk's filters, and a poll for changes wants every order)
    page = orders_list.sync(client=api, page_size=2)
    listed = [order.order_id for order in page.results]
    pages = 1
    while page.next_cursor:
        page = orders_list.sync(client=api, cursor=page.next_cursor)
        listed += [order.order_id for order in page.results]
        pages += 1
    resume = page.resume_cursor

    # then: every order once, in three pages
    assert sorted(listed) == sorted(server.store.order_ids()) and len(listed) == 5
    assert pages == 3

    # when: it records its receipt of each (start-handling goes to VTEX now), reads one and invoices it
    for order_id in listed:
        ack = generated("api.orders.orders_ack").sync(order_id, client=api)
        assert isinstance(ack, models.AckResult), ack
        assert ack.vtex_status == models.VtexStatusEnum.HANDLING
    invoiced, canceled = listed[0], listed[1]
    detail = generated("api.orders.orders_retrieve").sync(invoiced, client=api)
    assert isinstance(detail, models.OrderDetail)
    lines = [
        models.NewInvoiceItemRequest(item_index=item.item_index, quantity=item.remaining_quantity)
        for item in detail.items
        if item.remaining_quantity
    ]
    new_invoice = models.NewInvoiceRequest(number="NF-7001", issued_at=timezone.now() - timedelta(hours=1), items=lines)
    created = generated("api.invoices.orders_invoices_create").sync_detailed(invoiced, client=api, body=new_invoice)
    replay = generated("api.invoices.orders_invoices_create").sync_detailed(invoiced, client=api, body=new_invoice)
    tracking = generated("api.tracking.orders_invoices_tracking").sync(
        invoiced,
        "NF-7001",
        client=api,
        body=models.TrackingInputRequest(tracking_number="BR7001", courier="Correios"),
    )
    delivered = generated("api.tracking.orders_invoices_tracking_events").sync(
        invoiced,
        "NF-7001",
        client=api,
        body=models.TrackingEventsInputRequest(
            events=[
                models.NewTrackingEventRequest(
                    date=timezone.now() - timedelta(minutes=30), description="Saiu para entrega", city="Natal"
                )
            ],
            delivered=True,
        ),
    )
    cancellation = generated("api.orders.orders_cancellation_create").sync_detailed(
        canceled, client=api, body=models.CancellationInputRequest(reason="Cliente desistiu da compra")
    )

    # then: each answer parses into the schema's models
    assert created.status_code == HTTPStatus.CREATED and isinstance(created.parsed, models.Invoice)
    assert replay.status_code == HTTPStatus.OK and replay.parsed.number == "NF-7001"
    assert tracking.tracking_number == "BR7001"
    assert delivered.delivered is True and len(delivered.tracking_events) == 1
    assert cancellation.status_code == HTTPStatus.ACCEPTED
    assert cancellation.parsed.state == models.CancellationStateEnum.PENDING

    # and: refusals parse as the schema's Error, with a code from its enum
    too_short = generated("api.orders.orders_cancellation_create").sync_detailed(
        listed[2], client=api, body=models.CancellationInputRequest(reason="no")
    )
    assert too_short.status_code == HTTPStatus.BAD_REQUEST
    assert too_short.parsed.error.code == models.ErrorCodeEnum.INVALID
    assert "reason" in too_short.parsed.error.fields.additional_properties
    stranger = client_module.AuthenticatedClient(base_url=live_server.url, token="0" * 40)
    refused = orders_list.sync_detailed(client=stranger)
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.parsed.error.code == models.ErrorCodeEnum.AUTHENTICATION_FAILED
    assert "0" * 40 not in refused.content.decode()
    token_keyword = client_module.AuthenticatedClient(base_url=live_server.url, token=key, prefix="Token")
    assert orders_list.sync_detailed(client=token_keyword).status_code == HTTPStatus.OK

    # and: the next poll from resume_cursor brings each order changed since, once
    assert {o.vtex_status for o in page.results} == {models.VtexStatusEnum.READY_FOR_HANDLING}
    again = orders_list.sync(client=api, cursor=resume, page_size=200)
    assert sorted(order.order_id for order in again.results) == sorted(listed)
    assert again.next_cursor is None

    # and: VTEX hears of each effect once
    outbox_send_due(client=vtex_client())
    effects = server.store.effects
    assert effects["start_handling"] == {order_id: 1 for order_id in listed}
    assert effects["invoice"] == {invoiced: {"NF-7001": 1}}
    assert effects["tracking"] == {invoiced: {"NF-7001": 1}}
    assert effects["cancel"] == {canceled: 1}
