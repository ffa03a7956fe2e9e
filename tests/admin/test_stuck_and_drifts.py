"""The order list's "Stuck" filter (one choice per reason, with its count) and the drift admin with
its "Reconcile with VTEX now" button."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integration.infra.rate_budget import BUDGET_NAME
from integration.models import CancellationRequest, Drift, Invoice, Order, RateBudget, SendState
from integration.selectors import health
from integration.services.reconciliation import Finding, ReconciliationResult
from integration.vtex import VtexConnectionError
from tests.factories import make_acknowledged_order, make_invoice, make_order

pytestmark = pytest.mark.django_db

ORDERS = "admin:integration_order_changelist"
DRIFTS = "admin:integration_drift_changelist"
RECONCILE = "admin:integration_drift_reconcile"


def ago(**delta: float):
    return timezone.now() - timedelta(**delta)


def set_fields(obj, **fields) -> None:
    """Write fields the models set themselves (auto_now_add), as if time had passed."""
    type(obj).objects.filter(pk=obj.pk).update(**fields)


def listed_ids(response) -> set[str]:
    assert response.status_code == 200, response.status_code
    return {order.order_id for order in response.context["cl"].result_list}


def stuck_choices(response) -> dict[str, str]:
    spec = next(spec for spec in response.context["cl"].filter_specs if spec.parameter_name == "stuck")
    return dict(spec.lookup_choices)


def sent_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def staff_in_group(django_user_model, client, group: str, username: str):
    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


# ---- planting: one function per stuck kind, returning an order that matches it --------------------


def _ready_not_acknowledged() -> Order:
    order = make_order(start_handling="pending")
    set_fields(order, imported_at=ago(minutes=31))
    return order


def _ack_failed() -> Order:
    return make_order(start_handling="failed", start_handling_error="VTEX answered 500")


def _invoice_send_failed() -> Order:
    order = make_acknowledged_order()
    set_fields(make_invoice(order), send_state=SendState.FAILED)
    return order


def _no_tracking() -> Order:
    order = make_acknowledged_order(state=Order.State.INVOICED, vtex_status="invoiced")
    set_fields(make_invoice(order), send_state=SendState.SENT, issued_at=ago(days=4))
    return order


def _cancellation_unconfirmed() -> Order:
    order = make_acknowledged_order(state=Order.State.CANCELLATION_REQUESTED)
    request = CancellationRequest.objects.create(order=order, reason="Out of stock", state="requested")
    set_fields(request, requested_at=ago(hours=2))
    return order


def _intake_failed() -> Order:
    return make_order(intake_error="VTEX answered 503", intake_failed_at=timezone.now(), is_complete=False)


def _waiting_for_erp() -> Order:
    return make_order(start_handling="pending")


PLANT: dict[str, Callable[[], Order]] = {
    health.READY_NOT_ACKNOWLEDGED: _ready_not_acknowledged,
    health.ACK_FAILED: _ack_failed,
    health.INVOICE_SEND_FAILED: _invoice_send_failed,
    health.NO_TRACKING: _no_tracking,
    health.CANCELLATION_UNCONFIRMED: _cancellation_unconfirmed,
    health.INTAKE_FAILED: _intake_failed,
    health.WAITING_FOR_ERP: _waiting_for_erp,
}


def _near_misses() -> list[Order]:
    """Orders that each miss one condition of some kind, and so must be in none of the choices."""
    misses = []
    # ready but imported a few minutes ago; ready and acknowledged long ago; old but handling
    fresh = make_order(start_handling="pending")
    misses.append(fresh)
    done = make_order(start_handling="done", vtex_status="ready-for-handling")
    set_fields(done, imported_at=ago(hours=2))
    handling = make_acknowledged_order()
    set_fields(handling, imported_at=ago(hours=2))
    misses += [done, handling]
    # invoices: sent recently; sent long ago with tracking; delivered; still waiting to be sent
    for invoice_fields in (
        {"send_state": SendState.SENT, "issued_at": ago(days=1)},
        {"send_state": SendState.SENT, "issued_at": ago(days=5), "tracking_number": "BR123"},
        {"send_state": SendState.SENT, "issued_at": ago(days=5), "delivered_at": ago(days=1)},
        {"send_state": SendState.PENDING, "issued_at": ago(days=5)},
    ):
        order = make_acknowledged_order(state=Order.State.INVOICED)
        set_fields(make_invoice(order), **invoice_fields)
        misses.append(order)
    # a return (input invoice) sent long ago without tracking is no parcel to track
    returned = make_acknowledged_order(state=Order.State.INVOICED)
    make_invoice(returned)
    set_fields(returned.invoices.get(), send_state=SendState.SENT, tracking_number="BR1", issued_at=ago(days=9))
    set_fields(make_invoice(returned, kind=Invoice.Kind.INPUT), send_state=SendState.SENT, issued_at=ago(days=5))
    misses.append(returned)
    # cancellations: requested 10 minutes ago; confirmed; refused
    for state, requested in (("requested", ago(minutes=10)), ("confirmed", ago(hours=3)), ("failed", ago(hours=3))):
        order = make_acknowledged_order()
        set_fields(CancellationRequest.objects.create(order=order, reason="x", state=state), requested_at=requested)
        misses.append(order)
    return misses


# ---- the Stuck filter -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [key for key in PLANT if key != health.WAITING_FOR_ERP])
def test_stuck_filter_selects_exactly_the_planted_orders_with_their_count(admin_client, key):
    # given
    planted = {PLANT[key]().order_id, PLANT[key]().order_id}
    _near_misses()
    others = {PLANT[other]().order_id for other in PLANT if other not in (key, health.WAITING_FOR_ERP)}

    # when
    response = admin_client.get(reverse(ORDERS), {"stuck": key})

    # then
    listed = listed_ids(response)
    # Some planted orders of other kinds may match this kind too (a failed ack is also not
    # acknowledged); the planted ones must be there and no near miss may be.
    assert planted <= listed
    expected = planted | {order_id for order_id in others if order_id in listed}
    assert listed == expected
    assert listed == set(health.orders_stuck(key=key).values_list("order_id", flat=True))
    assert stuck_choices(response)[key].endswith(f"({len(listed)})")
    assert health.stuck_summary().by_key()[key] == len(listed)


def test_stuck_kinds_do_not_overlap_where_they_should_not(admin_client):
    # given: one order of each kind
    planted = {key: PLANT[key]().order_id for key in PLANT if key != health.WAITING_FOR_ERP}
    _near_misses()

    # when
    selected = {key: listed_ids(admin_client.get(reverse(ORDERS), {"stuck": key})) for key in planted}

    # then: each kind has exactly its own order (they were all imported just now, so the failed
    # start-handling and the failed intake are not yet "ready, not acknowledged" too)
    assert selected == {key: {order_id} for key, order_id in planted.items()}
    # the total counts each order once
    assert health.stuck_summary().total == len(planted)


def test_stuck_ready_threshold_comes_from_settings(admin_client, settings):
    # given
    order = make_order(start_handling="pending")
    set_fields(order, imported_at=ago(minutes=10))
    settings.STUCK_READY_MINUTES = 5

    # when
    response = admin_client.get(reverse(ORDERS), {"stuck": health.READY_NOT_ACKNOWLEDGED})

    # then
    assert listed_ids(response) == {order.order_id}
    assert stuck_choices(response)[health.READY_NOT_ACKNOWLEDGED] == "Ready at VTEX, not acknowledged after 5 min (1)"


def test_stuck_no_tracking_threshold_comes_from_settings(settings):
    order = make_acknowledged_order(state=Order.State.INVOICED)
    set_fields(make_invoice(order), send_state=SendState.SENT, issued_at=ago(days=2))
    assert not health.orders_stuck(key=health.NO_TRACKING).exists()

    settings.STUCK_NO_TRACKING_DAYS = 1

    assert list(health.orders_stuck(key=health.NO_TRACKING)) == [order]


def test_waiting_for_the_erp_is_a_choice_only_when_the_erp_acknowledges(admin_client, settings):
    # given
    waiting = {_waiting_for_erp().order_id, _waiting_for_erp().order_id}
    make_acknowledged_order()  # acknowledged already
    make_order(start_handling="pending", vtex_status="handling")
    make_order(start_handling="failed")

    # when: VTEX is told on import
    settings.VTEX_START_HANDLING = "on_import"
    on_import = admin_client.get(reverse(ORDERS))

    # then
    assert health.WAITING_FOR_ERP not in stuck_choices(on_import)
    assert listed_ids(admin_client.get(reverse(ORDERS), {"stuck": health.WAITING_FOR_ERP})) == set()

    # when: the ERP acknowledges (issue 4)
    settings.VTEX_START_HANDLING = "on_erp_ack"
    response = admin_client.get(reverse(ORDERS), {"stuck": health.WAITING_FOR_ERP})

    # then
    assert listed_ids(response) == waiting
    assert stuck_choices(response)[health.WAITING_FOR_ERP] == "Waiting for the ERP (2)"
    # a work queue, not a problem: not in the total of stuck orders
    assert health.stuck_summary().total == 1  # the failed start-handling


@pytest.mark.parametrize("key", list(PLANT))
def test_stuck_filter_has_no_n_plus_one(admin_client, settings, key):
    # given
    settings.VTEX_START_HANDLING = "on_erp_ack"
    for _ in range(3):
        PLANT[key]()
    admin_client.get(reverse(ORDERS), {"stuck": key})  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as with_3:
        assert len(listed_ids(admin_client.get(reverse(ORDERS), {"stuck": key}))) == 3

    # when
    for _ in range(17):
        PLANT[key]()
    with CaptureQueriesContext(connection) as with_20:
        assert len(listed_ids(admin_client.get(reverse(ORDERS), {"stuck": key}))) == 20

    # then
    assert len(with_20) == len(with_3), [query["sql"] for query in with_20.captured_queries]


def test_order_list_links_to_the_health_dashboard(admin_client):
    response = admin_client.get(reverse(ORDERS))
    assert f'href="{reverse("admin:integration_health")}"' in response.content.decode()


# ---- drifts --------------------------------------------------------------------------------------------


def make_drift(order: Order | None = None, **fields) -> Drift:
    values = {
        "kind": Drift.Kind.HERE_INVOICED_NOT_AT_VTEX,
        "order": order,
        "order_id_text": order.order_id if order else "999-01",
        "detail": "Invoice(s) NF-1 were sent, but VTEX does not show them.",
        "action": "Open the invoice and use “Retry now” on its send.",
        "last_seen_at": timezone.now(),
    }
    values.update(fields)
    return Drift.objects.create(**values)


def drift_ids(response) -> set[int]:
    assert response.status_code == 200, response.status_code
    return {drift.pk for drift in response.context["cl"].result_list}


def test_drift_list_shows_open_drifts_by_default_with_a_link_to_the_order(admin_client):
    # given
    order = make_acknowledged_order()
    linked = make_drift(order)
    unknown_here = make_drift(None, kind=Drift.Kind.READY_UNKNOWN_HERE, order_id_text="777-01")
    resolved = make_drift(make_acknowledged_order(), resolved_at=timezone.now())

    # when
    response = admin_client.get(reverse(DRIFTS))

    # then
    assert drift_ids(response) == {linked.pk, unknown_here.pk}
    page = response.content.decode()
    assert f'<a href="{reverse("admin:integration_order_change", args=[order.pk])}">{order.order_id}</a>' in page
    assert "777-01" in page
    assert "Open the invoice and use “Retry now” on its send." in page
    assert drift_ids(admin_client.get(reverse(DRIFTS), {"status": "resolved"})) == {resolved.pk}
    assert drift_ids(admin_client.get(reverse(DRIFTS), {"status": "all"})) == {linked.pk, unknown_here.pk, resolved.pk}


def test_drift_list_filters_by_kind_and_is_read_only(admin_client):
    # given
    value = make_drift(make_acknowledged_order(), kind=Drift.Kind.INVOICE_VALUE_DIFFERS)
    make_drift(make_acknowledged_order())

    # when
    response = admin_client.get(reverse(DRIFTS), {"kind__exact": Drift.Kind.INVOICE_VALUE_DIFFERS})

    # then
    assert drift_ids(response) == {value.pk}
    assert admin_client.get(reverse("admin:integration_drift_add")).status_code == 403
    page = admin_client.get(reverse("admin:integration_drift_change", args=[value.pk]))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]


def test_drift_list_has_no_n_plus_one(admin_client):
    for _ in range(3):
        make_drift(make_acknowledged_order())
    admin_client.get(reverse(DRIFTS))
    with CaptureQueriesContext(connection) as with_3:
        assert len(drift_ids(admin_client.get(reverse(DRIFTS)))) == 3
    for _ in range(12):
        make_drift(make_acknowledged_order())
    with CaptureQueriesContext(connection) as with_15:
        assert len(drift_ids(admin_client.get(reverse(DRIFTS)))) == 15
    assert len(with_15) == len(with_3)


def test_reconcile_button_runs_reconciliation_and_reports(client, django_user_model, vtex_settings):
    # given
    operator = staff_in_group(django_user_model, client, "Integration admin", "operator")
    order = make_acknowledged_order()
    result = ReconciliationResult(
        checked=12,
        found=[Finding(Drift.Kind.HERE_INVOICED_NOT_AT_VTEX, order.order_id, "differs", "fix it", order)],
        resolved=2,
        errors=[("555-01", "VTEX answered 503")],
    )
    page = operator.get(reverse(DRIFTS))
    assert page.status_code == 200  # the group reads drifts (retry_sends; see DriftAdmin)
    assert reverse(RECONCILE) in page.content.decode()
    assert "Reconcile with VTEX now" in page.content.decode()

    # when
    with mock.patch("integration.admin.reconciliation.reconciliation_run", return_value=result) as run:
        response = operator.post(reverse(RECONCILE))

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse(DRIFTS)
    run.assert_called_once()
    assert set(run.call_args.kwargs) == {"client"}
    assert sent_messages(response) == [
        (
            "warning",
            "Reconciliation with VTEX done: checked 12 orders, 1 drifts open, 2 resolved, 1 could not be read.",
        ),
        ("warning", "Could not read from VTEX: 555-01: VTEX answered 503."),
    ]


def test_reconcile_with_nothing_found_reports_success(admin_client, vtex_settings):
    with mock.patch(
        "integration.admin.reconciliation.reconciliation_run", return_value=ReconciliationResult(checked=4)
    ):
        response = admin_client.post(reverse(RECONCILE))
    assert sent_messages(response) == [
        (
            "success",
            "Reconciliation with VTEX done: checked 4 orders, 0 drifts open, 0 resolved, 0 could not be read.",
        )
    ]


def test_reconcile_reports_a_vtex_error(admin_client, vtex_settings):
    with mock.patch(
        "integration.admin.reconciliation.reconciliation_run",
        side_effect=VtexConnectionError("could not connect to VTEX"),
    ):
        response = admin_client.post(reverse(RECONCILE))
    assert response.status_code == 302
    [(level, text)] = sent_messages(response)
    assert level == "error"
    assert text.startswith("Reconciliation with VTEX failed: ")
    assert "could not connect to VTEX" in text


def test_reconcile_waits_while_vtex_rate_limits(admin_client, vtex_settings):
    RateBudget.objects.create(name=BUDGET_NAME, paused_until=timezone.now().timestamp() + 30)
    with mock.patch("integration.admin.reconciliation.reconciliation_run") as run:
        response = admin_client.post(reverse(RECONCILE))
    run.assert_not_called()
    [(level, text)] = sent_messages(response)
    assert level == "warning"
    assert "HTTP 429" in text


def test_reconcile_only_by_post(admin_client):
    with mock.patch("integration.admin.reconciliation.reconciliation_run") as run:
        assert admin_client.get(reverse(RECONCILE)).status_code == 405
    run.assert_not_called()


def test_back_office_may_not_reconcile(client, django_user_model):
    # given
    back_office = staff_in_group(django_user_model, client, "Back office", "clerk")

    # when
    with mock.patch("integration.admin.reconciliation.reconciliation_run") as run:
        response = back_office.post(reverse(RECONCILE))

    # then
    assert response.status_code == 403
    run.assert_not_called()


def test_drift_viewer_without_retry_sends_sees_no_button(client, django_user_model):
    user = django_user_model.objects.create_user("reader", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_drift"))
    client.force_login(user)
    make_drift(make_acknowledged_order())

    response = client.get(reverse(DRIFTS))

    assert response.status_code == 200
    assert "Reconcile with VTEX now" not in response.content.decode()
    with mock.patch("integration.admin.reconciliation.reconciliation_run") as run:
        assert client.post(reverse(RECONCILE)).status_code == 403
    run.assert_not_called()
