"""VTEX's order hook: ping, secret, account, duplicates, fast answer, and processing."""

from __future__ import annotations

import json

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.models import OrmQ

from integration.models import HookNotification, Order
from integration.services.hook import HOOK_RETRY_DELAYS
from integration.services.intake import intake_run

SECRET = "hook-secret-for-tests"
HEADER = "HTTP_X_ERP_BRIDGE_SECRET"


@pytest.fixture(autouse=True)
def hook_settings(settings):
    settings.VTEX_HOOK_SECRET = SECRET
    settings.VTEX_ACCOUNT_NAME = "sandbox"
    return settings


def notification(order_id: str = "1000000000001-01", state: str = "ready-for-handling", **extra) -> dict:
    body = {
        "Domain": "Fulfillment",
        "OrderId": order_id,
        "State": state,
        "LastState": "window-to-cancel",
        "LastChange": "2026-11-28T10:00:00.0000000+00:00",
        "CurrentChange": "2026-11-28T10:00:01.0000000+00:00",
        "Origin": {"Account": "sandbox", "Key": "vtexappkey-sandbox"},
    }
    body.update(extra)
    return body


def post(client, body, **headers):
    return client.post("/vtex/hook/", data=json.dumps(body), content_type="application/json", **headers)


@pytest.mark.django_db
def test_ping_is_answered_200_and_stores_nothing(client):
    response = post(client, {"hookConfig": "ping"})
    assert response.status_code == 200 and response.json()["ping"] is True
    assert not HookNotification.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
def test_a_notification_without_the_right_secret_is_refused_and_not_stored(client, secret):
    headers = {} if secret is None else {HEADER: secret}
    response = post(client, notification(), **headers)
    assert response.status_code == 403
    assert "X-ERP-Bridge-Secret" in response.json()["error"]
    assert not HookNotification.objects.exists()


@pytest.mark.django_db
def test_a_notification_from_another_account_is_refused(client):
    response = post(client, notification(Origin={"Account": "otherstore", "Key": "k"}), **{HEADER: SECRET})
    assert response.status_code == 403 and not HookNotification.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", ["not json", json.dumps([1, 2]), json.dumps({"State": "x", "Origin": {"Account": "sandbox"}})]
)
def test_malformed_notifications_are_refused_with_a_reason(client, body):
    response = client.post("/vtex/hook/", data=body, content_type="application/json", **{HEADER: SECRET})
    assert response.status_code == 400 and response.json()["error"]
    assert not HookNotification.objects.exists()


@pytest.mark.django_db
def test_the_hook_is_off_without_a_secret(client, settings):
    settings.VTEX_HOOK_SECRET = ""
    assert post(client, notification()).status_code == 503


@pytest.mark.django_db
def test_only_post_is_accepted(client):
    assert client.get("/vtex/hook/").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_a_notification_is_stored_once_queued_and_answered_fast(client):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as outbound:  # any HTTP call fails
        first = post(client, notification(), **{HEADER: SECRET})
        again = post(client, notification(), **{HEADER: SECRET})

    assert first.status_code == 200 and again.status_code == 200
    assert again.json()["duplicate"] is True
    assert HookNotification.objects.count() == 1
    assert OrmQ.objects.count() == 1, "the work is queued, not done in the request"
    assert not outbound.calls, "VTEX gives the hook 5 s; the request does no VTEX work"


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_notifications_queues_one_task_and_the_next_burst_another(client):
    # given: five orders notified while the first task has not run yet
    for n in range(5):
        post(client, notification(f"100000000000{n}-01"), **{HEADER: SECRET})
    # then: one task takes them all (a task each crowded the outbox's sends out of the queue)
    assert HookNotification.objects.count() == 5
    assert OrmQ.objects.count() == 1
    # once they are done, the next notification queues a task again
    HookNotification.objects.update(processed_at=timezone.now())
    post(client, notification("1000000000009-01"), **{HEADER: SECRET})
    assert OrmQ.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_hook_notifications_are_processed_by_reading_the_order_back(make_sandbox, client, monkeypatch):
    monkeypatch.setattr("integration.services.hook.hook_queue_processing", lambda: None)
    server = make_sandbox(orders=2)
    ids = server.store.order_ids()
    for order_id in ids:
        post(client, notification(order_id), **{HEADER: SECRET})
        post(client, notification(order_id), **{HEADER: SECRET})  # duplicate delivery

    result = intake_run(source="hook")

    assert (result.imported, result.acknowledged, result.failed) == (2, 2, 0)
    assert server.store.effects["start_handling"] == {order_id: 1 for order_id in ids}
    assert not HookNotification.objects.filter(processed_at__isnull=True).exists()
    assert intake_run(source="hook").imported == 0


@pytest.mark.django_db(transaction=True)
def test_every_list_cycle_also_takes_pending_hook_notifications(make_sandbox, client, monkeypatch):
    monkeypatch.setattr("integration.services.hook.hook_queue_processing", lambda: None)
    server = make_sandbox(orders=1)
    order_id = server.store.order_ids()[0]
    intake_run()
    server.store.set_status(order_id, "canceled")
    post(client, notification(order_id, state="canceled"), **{HEADER: SECRET})

    intake_run(source="list")

    assert Order.objects.get(order_id=order_id).state == Order.State.CANCELED
    assert HookNotification.objects.get().processed_at is not None


@pytest.mark.django_db(transaction=True)
def test_vtex_hook_config_registers_the_hook_after_vtex_pings_it(make_sandbox, live_server, settings, capsys):
    server = make_sandbox(orders=0)
    url = f"{live_server.url}/vtex/hook/"

    call_command("vtex_hook_config", "--url", url, "--allow-http")

    config = server.store.hook_config()
    assert config["hook"]["url"] == url
    assert config["hook"]["headers"] == {"X-ERP-Bridge-Secret": SECRET}
    assert "Hook registered" in capsys.readouterr().out


@pytest.mark.django_db
def test_vtex_hook_config_wants_https_and_a_secret(settings):
    with pytest.raises(CommandError, match="https"):
        call_command("vtex_hook_config", "--url", "http://example.com/vtex/hook/")
    settings.VTEX_HOOK_SECRET = ""
    with pytest.raises(CommandError, match="VTEX_HOOK_SECRET"):
        call_command("vtex_hook_config", "--url", "https://example.com/vtex/hook/")


@pytest.mark.django_db(transaction=True)
def test_a_notification_for_an_order_vtex_does_not_have_is_retried_with_backoff_then_given_up(
    make_sandbox, client, monkeypatch
):
    # given a notification naming an order the store does not have (VTEX answers 404)
    monkeypatch.setattr("integration.services.hook.hook_queue_processing", lambda: None)
    make_sandbox(orders=0)
    post(client, notification("9999999999999-01"), **{HEADER: SECRET})

    # when a cycle takes it: it fails, with the reason on the notification and no order made up
    first = intake_run(source="hook")
    stored = HookNotification.objects.get()
    assert first.failed == 1 and stored.attempts == 1 and "404" in stored.error
    assert stored.next_attempt_at is not None and stored.gave_up_at is None
    assert not Order.objects.exists()

    # and the cycles before its next attempt leave it alone (pull_orders no longer fails every run)
    assert intake_run(source="hook").failed == 0

    # then each due attempt fails again, until the last gives up, visibly
    for _ in range(len(HOOK_RETRY_DELAYS)):
        HookNotification.objects.update(next_attempt_at=timezone.now())  # its backoff waited out
        assert intake_run(source="hook").failed == 1
    stored.refresh_from_db()
    assert stored.gave_up_at is not None and stored.attempts == len(HOOK_RETRY_DELAYS) + 1
    assert stored.processed_at is None and "404" in stored.error
    assert intake_run(source="hook").failed == 0
