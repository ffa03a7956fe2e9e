"""/metrics: closed unless a token or an allow-list is set, and an exposition that Prometheus'
parser reads, whose values are the rows planted in the database."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Failure, Success
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from integration.infra.rate_budget import BUDGET_NAME
from integration.models import FeedState, HookNotification, Order, OutboxMessage, RateBudget
from tests.factories import make_call, make_order

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = []
    settings.METRICS_WINDOW_S = 300


def scrape(client, **headers) -> dict[str, list]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    return {name: family.samples for name, family in families.items()}


def value(samples, name: str, **labels) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


# ---- access --------------------------------------------------------------------------------------------


def test_metrics_do_not_exist_without_a_token_or_an_allow_list(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW = []
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


def test_the_token_is_required_when_set(client, token):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_the_allow_list_admits_its_networks_only(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="2001:db8::7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.9.9.9").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.0.10").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="").status_code == 403


def test_with_both_set_both_must_pass(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = [ipaddress.ip_network("10.0.0.0/8")]
    good = f"Bearer {TOKEN}"
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=good).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="192.168.0.10", HTTP_AUTHORIZATION=good).status_code == 403


# ---- what it says --------------------------------------------------------------------------------------


@pytest.fixture
def planted():
    """A small installation's database: every figure below is counted from these rows."""
    now = timezone.now()
    acknowledged = make_order(vtex_status="handling", start_handling="done")
    waiting = make_order(start_handling="pending")
    Order.objects.filter(pk=waiting.pk).update(imported_at=now - timedelta(seconds=900))
    newer = make_order()
    Order.objects.filter(pk=newer.pk).update(imported_at=now - timedelta(seconds=100))
    make_order(state=Order.State.CANCELED, vtex_status="canceled")

    def outbox(kind, state, error=""):
        OutboxMessage.objects.create(
            kind=kind,
            order=acknowledged,
            payload={},
            state=state,
            last_error=error,
            next_attempt_at=now,
        )

    outbox(OutboxMessage.Kind.INVOICE, OutboxMessage.State.PENDING)
    outbox(OutboxMessage.Kind.INVOICE, OutboxMessage.State.PENDING, error="VTEX answered 503")
    outbox(OutboxMessage.Kind.INVOICE, OutboxMessage.State.FAILED, error="VTEX answered 400")
    outbox(OutboxMessage.Kind.CANCEL, OutboxMessage.State.SENDING)
    OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CANCEL).update(created_at=now - timedelta(seconds=120))

    make_call(operation="get_order", duration_ms=40, created_at=now - timedelta(seconds=10))
    make_call(operation="get_order", duration_ms=300, created_at=now - timedelta(seconds=20))
    make_call(operation="get_order", status_code=429, duration_ms=5, created_at=now - timedelta(seconds=30))
    make_call(operation="read_feed", status_code=None, error="timeout", duration_ms=30_000, created_at=now)
    make_call(operation="read_feed", status_code=200, duration_ms=80, created_at=now - timedelta(seconds=400))

    RateBudget.objects.update_or_create(name=BUDGET_NAME, defaults={"pauses": 4, "paused_until": now.timestamp() + 42})
    FeedState.objects.create(name="orders", queued=7, oldest_message_age_s=95, last_read_at=now)
    HookNotification.objects.create(order_id="1-01", state="ready-for-handling", body={})
    HookNotification.objects.create(order_id="2-01", state="ready-for-handling", body={}, processed_at=now)
    HookNotification.objects.create(order_id="3-01", state="canceled", body={}, error="VTEX answered 404")
    Success.objects.create(id=uuid.uuid4().hex, name="t", func="f", started=now, stopped=now, success=True)
    Failure.objects.create(id=uuid.uuid4().hex, name="t2", func="f", started=now, stopped=now, success=False)
    return now


def test_the_exposition_parses_and_matches_the_rows(client, token, planted):
    samples = [sample for family in scrape(client).values() for sample in family]

    def v(name, **labels):
        return value(samples, name, **labels)

    assert v("erp_bridge_orders_imported_total") == 4
    assert v("erp_bridge_orders_acknowledged_total") == 1
    assert v("erp_bridge_orders", state="canceled") == 1
    assert v("erp_bridge_orders", state="received") == 3
    # The oldest ready order not acknowledged came in 900 s ago.
    assert 899 <= v("erp_bridge_intake_lag_seconds") <= 960
    assert v("erp_bridge_feed_lag_seconds") == 95
    assert v("erp_bridge_feed_queued_messages") == 7
    assert v("erp_bridge_intake_last_success_timestamp_seconds", source="feed") == pytest.approx(
        (planted - timedelta(seconds=400)).timestamp()
    )
    assert v("erp_bridge_intake_last_success_timestamp_seconds", source="hook") == pytest.approx(planted.timestamp())
    assert not [s for s in samples if s.name.startswith("erp_bridge_intake_last") and s.labels["source"] == "list"]

    # VTEX calls in the last 300 s: the 400-s-old feed read is out of the window.
    assert v("erp_bridge_vtex_calls_recent", operation="get_order", status="200") == 2
    assert v("erp_bridge_vtex_calls_recent", operation="get_order", status="429") == 1
    assert v("erp_bridge_vtex_calls_recent", operation="read_feed", status="none") == 1
    assert not [s for s in samples if s.labels.get("operation") == "read_feed" and s.labels.get("status") == "200"]
    assert v("erp_bridge_vtex_call_duration_seconds_bucket", operation="get_order", le="0.05") == 2
    assert v("erp_bridge_vtex_call_duration_seconds_bucket", operation="get_order", le="0.25") == 2
    assert v("erp_bridge_vtex_call_duration_seconds_bucket", operation="get_order", le="0.5") == 3
    assert v("erp_bridge_vtex_call_duration_seconds_bucket", operation="get_order", le="+Inf") == 3
    assert v("erp_bridge_vtex_call_duration_seconds_bucket", operation="read_feed", le="10.0") == 0
    assert v("erp_bridge_vtex_call_duration_seconds_gsum", operation="get_order") == pytest.approx(0.345)
    assert v("erp_bridge_vtex_call_duration_seconds_gcount", operation="get_order") == 3

    assert v("erp_bridge_vtex_rate_limit_pauses_total", budget=BUDGET_NAME) == 4
    assert 40 <= v("erp_bridge_vtex_rate_limit_paused_seconds", budget=BUDGET_NAME) <= 42

    assert v("erp_bridge_outbox_messages", kind="invoice", state="pending") == 2
    assert v("erp_bridge_outbox_messages", kind="invoice", state="failed") == 1
    assert v("erp_bridge_outbox_messages", kind="cancel", state="sending") == 1
    assert v("erp_bridge_outbox_messages", kind="tracking", state="pending") == 0
    # start-handling: one pending (the waiting order's), the sent one is history.
    assert v("erp_bridge_outbox_messages", kind="start_handling", state="pending") == 1
    assert v("erp_bridge_outbox_retrying", kind="invoice") == 1
    assert 119 <= v("erp_bridge_outbox_oldest_age_seconds", kind="cancel") <= 180

    assert v("erp_bridge_hook_notifications", state="pending") == 2
    assert v("erp_bridge_hook_notifications", state="processed") == 1
    assert v("erp_bridge_hook_notifications", state="error") == 1

    assert v("erp_bridge_qcluster_last_task_timestamp_seconds") == pytest.approx(planted.timestamp())
    assert v("erp_bridge_qcluster_failed_tasks_recent") == 1
    assert v("erp_bridge_qcluster_queued_tasks") == 0
    assert v("erp_bridge_orders_stuck", kind="ready_not_acknowledged") == 0


def test_an_empty_database_is_all_zeros_not_an_error(client, token):
    families = scrape(client)
    samples = [sample for family in families.values() for sample in family]
    assert value(samples, "erp_bridge_orders_imported_total") == 0
    assert value(samples, "erp_bridge_intake_lag_seconds") == 0
    assert "erp_bridge_feed_lag_seconds" not in families  # VTEX has not said yet


def test_openmetrics_is_offered_to_who_asks(client, token, planted):
    response = client.get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0"
    )
    assert response["Content-Type"].startswith("application/openmetrics-text")
    families = {family.name: family for family in openmetrics_families(response.content.decode())}
    assert families["erp_bridge_vtex_call_duration_seconds"].type == "gaugehistogram"
    assert families["erp_bridge_orders_imported"].type == "counter"
