"""/healthz and /readyz: no login, no host check, and each readiness check failing on its own
gives 503 with the check named and the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Success
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from integration.models import OutboxMessage
from integration.ops import health
from tests.factories import make_call, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh(settings):
    settings.VTEX_INTAKE = "feed"
    settings.READY_INTAKE_MAX_AGE_S = 600
    settings.READY_OUTBOX_MAX = 3
    settings.READY_CLUSTER_MAX_AGE_S = 300
    health.forget_migrations_applied()
    yield
    health.forget_migrations_applied()


def finished_task(at: datetime) -> None:
    Success.objects.create(
        id=uuid.uuid4().hex, name="push", func="integration.tasks.push_pending", started=at, stopped=at, success=True
    )


def feed_read(at: datetime, status_code: int = 200) -> None:
    make_call(operation="read_feed", method="GET", path="/api/orders/feed", status_code=status_code, created_at=at)


@pytest.fixture
def healthy():
    """Everything a ready installation shows: a task finished a minute ago, a feed read 30 s ago."""
    now = timezone.now()
    finished_task(now - timedelta(seconds=60))
    feed_read(now - timedelta(seconds=30))
    return now


def ready(client, query: str = ""):
    response = client.get("/readyz" + query)
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


# ---- /healthz ------------------------------------------------------------------------------------------


def test_healthz_answers_ok_without_login_and_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_probes_by_address_over_http_are_answered_in_production(client, settings, healthy):
    """A load balancer calls with its own Host and over plain HTTP: no 400, no redirect to HTTPS."""
    settings.ALLOWED_HOSTS = ["erp.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/healthz", "/readyz"):
        response = client.get(path, HTTP_HOST="10.0.3.7:8000")
        assert response.status_code == 200, (path, response.status_code)
    # Everything else still follows the rules.
    assert client.get("/admin/", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_the_endpoints_take_get_and_head_only(client):
    assert client.post("/healthz").status_code == 405
    head = client.head("/healthz")
    assert head.status_code == 200 and head.content == b""


# ---- /readyz ------------------------------------------------------------------------------------------


def test_readyz_is_200_when_every_check_passes(client, healthy):
    status, body = ready(client)
    assert status == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert list(body["checks"]) == ["database", "migrations", "qcluster", "intake", "outbox"]
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["intake"]["last_success_age_s"] in range(25, 60)


def test_database_unreachable(client, healthy, monkeypatch):
    def refuse(*args, **kwargs):
        raise connections["default"].Database.OperationalError(
            'connection to server at "db.internal" failed: password authentication failed for user "erp"'
        )

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    status, body = ready(client)
    assert status == 503
    assert body["failing"][0] == "database"
    assert body["checks"]["database"]["detail"] == "the database is unreachable (OperationalError)"
    # The other checks are not run against a database that is not there, and say so.
    assert body["checks"]["outbox"]["detail"] == "not checked: the database is unreachable"
    # Host and user names from the driver's message stay in the log.
    assert "db.internal" not in str(body) and "erp" not in str(body["checks"]["database"])


def test_migrations_not_applied(client, healthy):
    # The app's newest migration not applied yet: new code deployed before `migrate`.
    (newest,) = [name for app, name in MigrationLoader(None).graph.leaf_nodes() if app == "integration"]
    MigrationRecorder.Migration.objects.filter(app="integration", name=newest).delete()
    status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["migrations"]
    assert f"1 not applied: integration.{newest}" in body["checks"]["migrations"]["detail"]
    assert body["checks"]["migrations"]["unapplied"] == 1


def test_a_positive_migrations_answer_is_kept_by_the_process(client, healthy, django_assert_num_queries):
    assert health.check_migrations(timezone.now()).ok
    with django_assert_num_queries(0):
        assert health.check_migrations(timezone.now()).ok


def test_no_cluster_seen(client):
    now = timezone.now()
    feed_read(now - timedelta(seconds=30))
    finished_task(now - timedelta(seconds=301))
    status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["qcluster"]
    assert body["checks"]["qcluster"]["detail"].startswith("no cluster seen within 300 s: the last task finished 30")


def test_no_task_ever_and_no_heartbeat(client):
    feed_read(timezone.now())
    status, body = ready(client)
    assert body["checks"]["qcluster"]["detail"] == "no cluster seen within 300 s: no task has ever finished"
    assert body["failing"] == ["qcluster"]


def test_a_heartbeat_in_the_shared_cache_counts_for_a_cluster(client, settings):
    """django-q2's Stat, as a running cluster saves it (here in the test's local cache)."""
    feed_read(timezone.now())
    beat = Status(pid=4321, cluster_id="c0ffee")
    beat.host = "worker-2"
    beat.status = "Idle"
    broker = get_broker()
    broker.set_stat(Stat.get_key("c0ffee"), SignedPackage.dumps(beat, True), 3)
    try:
        status, body = ready(client)
        assert status == 200, body
        assert body["checks"]["qcluster"]["detail"] == "1 cluster(s) reporting (worker-2)"
    finally:
        broker.cache.delete(Stat.get_key("c0ffee"))


def test_intake_too_old(client):
    now = timezone.now()
    finished_task(now)
    feed_read(now - timedelta(seconds=601))
    feed_read(now - timedelta(seconds=30), status_code=503)  # a failed read is no success
    status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["intake"]
    assert "the last successful feed read was 60" in body["checks"]["intake"]["detail"]
    assert body["checks"]["intake"]["max_age_s"] == 600


def test_intake_never_read_and_the_source_followed(client, settings):
    now = timezone.now()
    finished_task(now)
    feed_read(now)  # the feed was read, but the intake is set to List orders
    settings.VTEX_INTAKE = "list"
    status, body = ready(client)
    assert body["failing"] == ["intake"]
    assert body["checks"]["intake"]["detail"] == "no successful list read from VTEX yet"
    make_call(operation="list_orders", path="/api/oms/pvt/orders", created_at=now)
    assert ready(client)[0] == 200


def test_outbox_backlog_above_the_limit(client, healthy):
    order = make_order()

    def row(state):
        OutboxMessage.objects.create(
            kind=OutboxMessage.Kind.INVOICE, order=order, payload={}, state=state, next_attempt_at=timezone.now()
        )

    for state in ("pending", "pending", "failed", "sent"):
        row(state)
    assert ready(client)[0] == 200  # 3 owed: at the limit
    row("sending")
    status, body = ready(client)
    assert status == 503
    assert body["failing"] == ["outbox"]
    outbox = body["checks"]["outbox"]
    assert outbox["detail"] == "4 sends owed to VTEX (pending 2, sending 1, failed 1), above 3"
    assert (outbox["backlog"], outbox["pending"], outbox["sending"], outbox["failed"]) == (4, 2, 1, 1)


def test_a_check_that_raises_fails_alone_and_names_the_error(client, healthy, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(health, "last_successful_read", lambda source: broken())
    status, body = ready(client)
    assert status == 503 and body["failing"] == ["intake"]
    assert body["checks"]["intake"]["detail"] == "the check raised RuntimeError (see the log)"


def test_checks_can_be_chosen(client):
    """A load balancer gates on what the web process needs; the intake may be down meanwhile."""
    status, body = ready(client, "?checks=database,migrations")
    assert status == 200, body
    assert list(body["checks"]) == ["database", "migrations"]
    response = client.get("/readyz?checks=database,disk")
    assert response.status_code == 400
    assert response.json()["error"] == "unknown checks: disk"


def test_thresholds_are_read_against_an_explicit_clock(settings):
    """readiness(now=...) is the same verdict for any clock: the limit itself passes, a second more fails."""
    at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    finished_task(at)
    feed_read(at)
    limit = timedelta(seconds=settings.READY_INTAKE_MAX_AGE_S)

    def verdicts(now):
        return {result.name: result.ok for result in health.readiness(names=["qcluster", "intake"], now=now)}

    assert verdicts(at + timedelta(seconds=300)) == {"qcluster": True, "intake": True}
    assert verdicts(at + timedelta(seconds=301)) == {"qcluster": False, "intake": True}
    assert verdicts(at + limit + timedelta(seconds=1)) == {"qcluster": False, "intake": False}


def test_the_answer_carries_no_secret(client, vtex_settings, settings, healthy):
    settings.VTEX_HOOK_SECRET = "hook-secret-value-123"
    settings.METRICS_TOKEN = "metrics-token-value-456"
    body = client.get("/readyz").content.decode()
    for secret in (
        vtex_settings.VTEX_APP_TOKEN,
        vtex_settings.VTEX_APP_KEY,
        "hook-secret-value-123",
        "metrics-token-value-456",
        settings.SECRET_KEY,
    ):
        assert secret not in body
