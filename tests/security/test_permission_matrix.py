"""Who may open which admin page, run which admin action and call which API endpoint.

Four roles: anonymous, staff without any permission, "Back office" and "Integration admin" (the
groups of migrations 0003 and 0007). Every admin URL pattern, every admin action and every API
endpoint has a row in the tables below; the coverage tests enumerate the URL configuration and the
registered ModelAdmins, so a page, action or endpoint added later without a row fails the run.

Outcomes: LOGIN (the admin's redirect to its login page), 401/403/404/405, OK (200), REDIRECT
(302 elsewhere than the login page), DONE (a POST that was carried out: its effect is checked) and,
for actions, NOT_OFFERED (the changelist is visible but the action is not among its choices: Django
answers "No action selected." and runs nothing). Whenever a POST is refused, and for every GET,
the database must be exactly as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.api import urls as api_urls
from integration.models import (
    CancellationRequest,
    Drift,
    HookNotification,
    Invoice,
    Lease,
    Order,
    OrderEvent,
    OutboxMessage,
    RateBudget,
    TrackingEvent,
    VtexCall,
)
from integration.services.bulk_entry import BulkKind, Sheet, SheetRow, access_key_check_digit, sheet_sign
from integration.services.reconciliation import ReconciliationResult
from integration.services.tracking import invoice_set_tracking
from tests.factories import (
    make_acknowledged_order,
    make_call,
    make_event,
    make_invoice,
    make_item,
    make_nfe_xml,
    make_order,
)
from tests.security.conftest import ANONYMOUS, BACK_OFFICE, INTEGRATION_ADMIN, ROLES, STAFF, ensure_staff_groups
from tests.security.helpers import local_input, messages_of, snapshot

pytestmark = pytest.mark.django_db

LOGIN = "login"
OK = 200
REDIRECT = 302
DONE = "done"
NOT_OFFERED = "not offered"
UNAUTHORIZED = 401
DENIED = 403
NOT_FOUND = 404
NOT_ALLOWED = 405
RAN = "ran"

Outcomes = tuple[Any, Any, Any, Any]  # anonymous, staff, Back office, Integration admin


# ---- the world every row works on ----------------------------------------------------------------------------


@dataclass
class World:
    superuser: User
    other_user: User
    order: Order  # acknowledged, partly invoiced: takes invoices and edits
    pending_order: Order  # start-handling not done yet: the retry button works on it
    cancellable_order: Order  # no invoice: can be canceled
    canceled_order: Order  # has a cancellation request
    invoice: Invoice  # of `order`, with a tracking number
    failed_send: OutboxMessage  # the invoice's send, refused by VTEX
    cancellation: CancellationRequest
    drift: Drift
    call: VtexCall
    event: OrderEvent
    lease: Lease
    notification: HookNotification
    budget: RateBudget
    schedule: Schedule
    success: Task
    failure: Task
    ormq: OrmQ
    #: django-axes' records of a locked-out login (only a superuser sees or deletes them).
    attempt: AccessAttempt
    access: AccessLog
    access_failure: AccessFailureLog
    token: Token
    group: Group
    users: dict[str, User] = field(default_factory=dict)
    #: The messages of the last response.
    messages: list[str] = field(default_factory=list)
    #: The reconcile button's runs (see the `world` fixture).
    reconciliations: list[Any] = field(default_factory=list)

    def object_pk(self, label: str) -> Any:
        """The primary key the admin's change page takes for a model of the registry."""
        return {
            "auth.group": self.group.pk,
            "auth.user": self.other_user.pk,
            "django_q.schedule": self.schedule.pk,
            "django_q.success": self.success.pk,
            "django_q.failure": self.failure.pk,
            "django_q.ormq": self.ormq.pk,
            "axes.accessattempt": self.attempt.pk,
            "axes.accesslog": self.access.pk,
            "axes.accessfailurelog": self.access_failure.pk,
            "authtoken.tokenproxy": self.token.user_id,  # DRF's token admin maps user ids
            "integration.invoice": self.invoice.pk,
            "integration.cancellationrequest": self.cancellation.pk,
            "integration.outboxmessage": self.failed_send.pk,
            "integration.order": self.order.pk,
            "integration.drift": self.drift.pk,
            "integration.vtexcall": self.call.pk,
            "integration.orderevent": self.event.pk,
            "integration.lease": self.lease.pk,
            "integration.hooknotification": self.notification.pk,
            "integration.ratebudget": self.budget.pk,
        }[label]


def build_world(groups: dict[str, Group]) -> World:
    now = timezone.now()
    superuser = User.objects.create_superuser("root", password=None)
    other_user = User.objects.create_user("someone-else", is_staff=True)
    order = make_acknowledged_order()
    invoice = make_invoice(order, quantities={0: 1})
    invoice_set_tracking(invoice=invoice, tracking_number="BR000000001", courier="Correios")
    invoice.refresh_from_db()
    failed_send = OutboxMessage.objects.get(invoice=invoice, kind=OutboxMessage.Kind.INVOICE)
    OutboxMessage.objects.filter(pk=failed_send.pk).update(
        state=OutboxMessage.State.FAILED, attempts=15, last_status_code=400, last_error="invoiceValue inválido"
    )
    failed_send.refresh_from_db()
    pending_order = make_order()
    make_item(pending_order)
    canceled_order = make_acknowledged_order()
    users = {
        STAFF: User.objects.create_user("staff-no-perms", is_staff=True),
        BACK_OFFICE: User.objects.create_user("back-office", is_staff=True),
        INTEGRATION_ADMIN: User.objects.create_user("integration-admin", is_staff=True),
    }
    users[BACK_OFFICE].groups.add(groups[BACK_OFFICE])
    users[INTEGRATION_ADMIN].groups.add(groups[INTEGRATION_ADMIN])
    return World(
        superuser=superuser,
        other_user=other_user,
        order=order,
        pending_order=pending_order,
        cancellable_order=make_acknowledged_order(),
        canceled_order=canceled_order,
        invoice=invoice,
        failed_send=failed_send,
        cancellation=CancellationRequest.objects.create(order=canceled_order, reason="Cliente desistiu"),
        drift=Drift.objects.create(
            kind=Drift.Kind.values[0],
            order=order,
            order_id_text=order.order_id,
            detail="VTEX says invoiced",
            action="Look at the order",
            last_seen_at=now,
        ),
        call=make_call(order.order_id),
        event=make_event(order),
        notification=HookNotification.objects.create(order_id=order.order_id, state="canceled", body={}),
        lease=Lease.objects.create(
            name="matrix", holder="test", acquired_at=now, expires_at=now + timedelta(minutes=1)
        ),
        budget=RateBudget.objects.get_or_create(name="matrix")[0],
        schedule=Schedule.objects.create(name="matrix schedule", func="math.floor", args="1.5"),
        success=Task.objects.create(
            id=uuid.uuid4().hex,
            name="matrix-success",
            func="math.floor",
            args=(1.5,),
            started=now,
            stopped=now,
            success=True,
        ),
        failure=Task.objects.create(
            id=uuid.uuid4().hex,
            name="matrix-failure",
            func="math.floor",
            args=(1.5,),
            started=now,
            stopped=now,
            success=False,
        ),
        ormq=OrmQ.objects.create(key="matrix", payload="not a real task", lock=now),
        attempt=AccessAttempt.objects.create(
            username="matrix", ip_address="203.0.113.7", user_agent="test", failures_since_start=5
        ),
        access=AccessLog.objects.create(username="matrix", ip_address="203.0.113.7", user_agent="test"),
        access_failure=AccessFailureLog.objects.create(
            username="matrix", ip_address="203.0.113.7", user_agent="test", locked_out=True
        ),
        token=Token.objects.create(user=other_user),
        group=groups[BACK_OFFICE],
        users=users,
    )


@pytest.fixture(scope="module")
def _world_rows(django_db_setup, django_db_blocker):
    """The world, built once for the module inside a transaction; each test runs in a savepoint of
    it (pytest-django's `db`), so whatever a test does is undone before the next one."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world(ensure_staff_groups())
        transaction.set_rollback(True)


@pytest.fixture
def world(_world_rows: World, db, fake_vtex, monkeypatch) -> World:
    """The module's world with every row read again (a previous test may have changed the objects
    in memory; its database changes are already rolled back).

    The reconcile button's service is replaced by a recorder: the real one reads orders from VTEX
    in worker threads, whose own connections cannot write while this test's transaction is open.
    """
    world = _world_rows
    world.users = {role: world.users[role] for role in (STAFF, BACK_OFFICE, INTEGRATION_ADMIN)}
    for value in [*vars(world).values(), *world.users.values()]:
        if isinstance(value, Model):
            value.refresh_from_db()
    world.messages = []
    world.reconciliations = []

    def reconciliation_run(*, client, days=None) -> ReconciliationResult:
        world.reconciliations.append(client)
        return ReconciliationResult()

    monkeypatch.setattr("integration.admin.reconciliation.reconciliation_run", reconciliation_run)
    return world


def admin_client_for(world: World, role: str, **options: Any) -> Client:
    client = Client(**options)
    if role != ANONYMOUS:
        client.force_login(world.users[role])
    return client


# ---- the admin pages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    key: str  # the URL name (or pattern), with [variant] when one name has several rows
    method: str
    outcomes: Outcomes
    url: Callable[[World], str]
    data: Callable[[World], dict[str, Any]] | None = None
    #: For DONE: True once the POST's effect is in the database.
    effect: Callable[[World], bool] | None = None

    @property
    def name(self) -> str:
        return self.key.split("[")[0]


def _url(name: str, *args: Callable[[World], Any], **kwargs: Any) -> Callable[[World], str]:
    return lambda world: reverse(f"admin:{name}", args=[arg(world) for arg in args], kwargs=kwargs or None)


#: Fields of the order a crafted POST of its page tries to write besides the notes; none is editable.
CRAFTED_ORDER_FIELDS = {
    "vtex_status": "invoiced",
    "state": "delivered",
    "intake_error": "forged",
    "total_cents": "1",
    "customer_email": "attacker@example.com",
    "is_complete": "",
    "raw": "{}",
}


def _order_form_data(world: World) -> dict[str, Any]:
    """The order page's form as a browser posts it (read by the superuser), with the notes changed
    and, crafted on top, fields the page only shows."""
    client = Client()
    client.force_login(world.superuser)
    page = client.get(reverse("admin:integration_order_change", args=[world.order.pk]))
    form = page.context["adminform"].form
    data: dict[str, Any] = {name: form.initial.get(name) or "" for name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for index, inline_form in enumerate(formset.forms):
            data[f"{formset.prefix}-{index}-id"] = inline_form.instance.pk
            data[f"{formset.prefix}-{index}-order"] = world.order.pk
    data["notes"] = "changed through the permission matrix"
    return {**data, **CRAFTED_ORDER_FIELDS}


def _order_edited(world: World) -> bool:
    """The notes changed, and nothing the page only shows."""
    before = {name: getattr(world.order, name) for name in CRAFTED_ORDER_FIELDS}
    order = _fresh(world.order)
    return order.notes == "changed through the permission matrix" and before == {
        name: getattr(order, name) for name in CRAFTED_ORDER_FIELDS
    }


def _generic_change_data(world: World) -> dict[str, Any]:
    """Anything: a refused change is refused before its form is read."""
    return {"name": "renamed", "notes": "renamed", "reason": "renamed", "is_superuser": "on", "_save": "Save"}


def _import_tracking_data(world: World) -> dict[str, Any]:
    """The confirmation of a previewed one-row sheet: a new tracking code for world.invoice."""
    values = {"order": world.order.order_id, "invoice_number": world.invoice.number, "tracking_number": "BR-IMPORTED"}
    sheet = Sheet(kind=BulkKind.TRACKING, columns=tuple(values), ignored=(), rows=(SheetRow(line=2, values=values),))
    return {"sheet": sheet_sign(sheet), "_confirm": "1"}


def _import_invoices_data(world: World) -> dict[str, Any]:
    """The confirmation of a previewed one-row sheet: NF 4242, the rest of world.order."""
    issued = timezone.localtime(timezone.now() - timedelta(hours=1))
    first = f"35{issued:%y%m}12345678000190550010000042421{4242:08d}"
    values = {
        "order": world.order.order_id,
        "access_key": first + str(access_key_check_digit(first)),
        "issued_at": issued.strftime("%d/%m/%Y %H:%M"),
    }
    sheet = Sheet(kind=BulkKind.INVOICES, columns=tuple(values), ignored=(), rows=(SheetRow(line=2, values=values),))
    return {"sheet": sheet_sign(sheet), "_confirm": "1"}


def _invoice_data(world: World) -> dict[str, Any]:
    return {
        "number": "NF-MATRIX",
        "kind": Invoice.Kind.OUTPUT,
        "issued_at": local_input(timezone.now() - timedelta(hours=1)),
        "access_key": "",
        "url": "",
        "embedded_xml": "",
        "courier": "",
        "tracking_number": "",
        "tracking_url": "",
        "value": "",
        "item_0": "0",
        "item_1": "1",
        "item_2": "0",
        "_save": "1",
    }


def _events_data(world: World) -> dict[str, Any]:
    return {
        "events-TOTAL_FORMS": "1",
        "events-INITIAL_FORMS": "0",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
        "events-0-occurred_at": local_input(timezone.now() - timedelta(minutes=30)),
        "events-0-city": "São Paulo",
        "events-0-state": "SP",
        "events-0-description": "Saiu para entrega",
    }


def _called_vtex(operation: str, order: Callable[[World], Order]) -> Callable[[World], bool]:
    return lambda world: VtexCall.objects.filter(operation=operation, order_id=order(world).order_id).exists()


def _order(world: World) -> Order:
    return world.order


def _pending(world: World) -> Order:
    return world.pending_order


def _invoice_pk(world: World) -> int:
    return world.invoice.pk


def _fresh(instance):
    instance.refresh_from_db()
    return instance


NOBODY = (LOGIN, DENIED, DENIED, DENIED)
#: The pages of every registered model: view (changelist, change page, history) and change (POST to
#: the change page), per role. Adding and deleting are refused to every role everywhere.
MODEL_ACCESS: dict[str, tuple[Outcomes, Outcomes]] = {
    #  model                          changelist / change page / history   POST to the change page
    "auth.group": ((LOGIN, DENIED, DENIED, DENIED), (LOGIN, DENIED, DENIED, DENIED)),
    "auth.user": ((LOGIN, DENIED, DENIED, DENIED), (LOGIN, DENIED, DENIED, DENIED)),
    "authtoken.tokenproxy": ((LOGIN, DENIED, DENIED, DENIED), (LOGIN, DENIED, DENIED, DENIED)),
    "django_q.schedule": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "django_q.success": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "django_q.failure": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "django_q.ormq": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
    # Locked-out logins: a superuser's business (no group has these permissions).
    "axes.accessattempt": (NOBODY, NOBODY),
    "axes.accesslog": (NOBODY, NOBODY),
    "axes.accessfailurelog": (NOBODY, NOBODY),
    "integration.order": ((LOGIN, DENIED, OK, OK), (LOGIN, DENIED, DONE, DONE)),
    "integration.invoice": ((LOGIN, DENIED, OK, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "integration.cancellationrequest": ((LOGIN, DENIED, OK, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "integration.orderevent": ((LOGIN, DENIED, OK, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "integration.outboxmessage": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "integration.drift": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "integration.vtexcall": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "integration.lease": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "integration.hooknotification": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
    "integration.ratebudget": ((LOGIN, DENIED, DENIED, OK), (LOGIN, DENIED, DENIED, DENIED)),
}
#: What a successful change POST does, per model (only the order page takes edits).
CHANGE_EFFECTS: dict[str, Callable[[World], bool]] = {
    "integration.order": _order_edited,
}
CHANGE_DATA: dict[str, Callable[[World], dict[str, Any]]] = {"integration.order": _order_form_data}


def _model_pages() -> list[Page]:
    pages = []
    for label, (view, change) in MODEL_ACCESS.items():
        app_label, model_name = label.split(".")
        prefix = f"{app_label}_{model_name}"

        def pk(world: World, label: str = label) -> Any:
            return world.object_pk(label)

        def redirect_url(world: World, prefix: str = prefix, pk=pk) -> str:
            return reverse(f"admin:{prefix}_changelist") + f"{pk(world)}/"

        pages += [
            Page(f"{prefix}_changelist", "GET", view, _url(f"{prefix}_changelist")),
            Page(f"{prefix}_change", "GET", view, _url(f"{prefix}_change", pk)),
            Page(f"{prefix}_history", "GET", view, _url(f"{prefix}_history", pk)),
            Page(
                f"{prefix}_change",
                "POST",
                change,
                _url(f"{prefix}_change", pk),
                data=CHANGE_DATA.get(label, _generic_change_data),
                effect=CHANGE_EFFECTS.get(label),
            ),
            Page(f"{prefix}_add", "GET", NOBODY, _url(f"{prefix}_add")),
            Page(f"{prefix}_add", "POST", NOBODY, _url(f"{prefix}_add"), data=_generic_change_data),
            Page(f"{prefix}_delete", "GET", NOBODY, _url(f"{prefix}_delete", pk)),
            Page(f"{prefix}_delete", "POST", NOBODY, _url(f"{prefix}_delete", pk), data=lambda world: {"post": "yes"}),
            # The bare "<object_id>/" address redirects to the change page (which then decides).
            Page(
                f"{app_label}/{model_name}/<path:object_id>/",
                "GET",
                (LOGIN, REDIRECT, REDIRECT, REDIRECT),
                redirect_url,
            ),
        ]
    return pages


_other_user = _url("auth_user_password_change", lambda world: world.other_user.pk)

CUSTOM_PAGES = [
    # The admin site's own pages.
    Page("index", "GET", (LOGIN, OK, OK, OK), _url("index")),
    Page("login", "GET", (OK, REDIRECT, REDIRECT, REDIRECT), _url("login")),
    Page("logout", "GET", (REDIRECT, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED), _url("logout")),
    Page("password_change", "GET", (LOGIN, OK, OK, OK), _url("password_change")),
    Page("password_change_done", "GET", (LOGIN, OK, OK, OK), _url("password_change_done")),
    # Without its parameters the autocomplete refuses everyone (it serves only autocomplete_fields).
    Page("autocomplete", "GET", (LOGIN, DENIED, DENIED, DENIED), _url("autocomplete")),
    Page("jsi18n", "GET", (LOGIN, OK, OK, OK), _url("jsi18n")),
    # No registered model has get_absolute_url: nothing to redirect to.
    Page(
        "view_on_site",
        "GET",
        (LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND),
        lambda world: reverse("admin:view_on_site", args=[ContentType.objects.get_for_model(Order).pk, world.order.pk]),
    ),
    Page("app_list[integration]", "GET", (LOGIN, NOT_FOUND, OK, OK), _url("app_list", app_label="integration")),
    Page("app_list[django_q]", "GET", (LOGIN, NOT_FOUND, NOT_FOUND, OK), _url("app_list", app_label="django_q")),
    Page("app_list[axes]", "GET", (LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND), _url("app_list", app_label="axes")),
    Page("app_list[auth]", "GET", (LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND), _url("app_list", app_label="auth")),
    Page(
        "app_list[authtoken]", "GET", (LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND), _url("app_list", app_label="authtoken")
    ),
    Page("(?P<url>.*)$", "GET", (LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND), lambda world: "/admin/no-such-page/"),
    # Django's user admin: another user's password.
    Page("auth_user_password_change", "GET", NOBODY, _other_user),
    Page(
        "auth_user_password_change",
        "POST",
        NOBODY,
        _other_user,
        data=lambda world: {"password1": "n3w-Passw0rd!x", "password2": "n3w-Passw0rd!x", "usable_password": "true"},
    ),
    # The health dashboard.
    Page("integration_health", "GET", (LOGIN, DENIED, OK, OK), _url("integration_health")),
    # The lists' "Export list to CSV" (a download: read-only, like the list itself).
    Page("integration_order_export_csv", "GET", (LOGIN, DENIED, OK, OK), _url("integration_order_export_csv")),
    Page("integration_invoice_export_csv", "GET", (LOGIN, DENIED, OK, OK), _url("integration_invoice_export_csv")),
    # The order page's buttons (POST only).
    Page(
        "integration_order_refresh",
        "GET",
        (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        _url("integration_order_refresh", lambda world: world.order.pk),
    ),
    Page(
        "integration_order_refresh",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_order_refresh", lambda world: world.order.pk),
        data=lambda world: {},
        effect=_called_vtex("get_order", _order),
    ),
    Page(
        "integration_order_acknowledge",
        "GET",
        (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        _url("integration_order_acknowledge", lambda world: world.pending_order.pk),
    ),
    Page(
        "integration_order_acknowledge",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_order_acknowledge", lambda world: world.pending_order.pk),
        data=lambda world: {},
        effect=_called_vtex("start_handling", _pending),
    ),
    Page(
        "integration_order_add_invoice",
        "GET",
        (LOGIN, DENIED, OK, OK),
        _url("integration_order_add_invoice", lambda world: world.order.pk),
    ),
    Page(
        "integration_order_add_invoice",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_order_add_invoice", lambda world: world.order.pk),
        data=_invoice_data,
        effect=lambda world: Invoice.objects.filter(order=world.order, number="NF-MATRIX").exists(),
    ),
    Page(
        "integration_order_import_nfe",
        "GET",
        (LOGIN, DENIED, OK, OK),
        _url("integration_order_import_nfe", lambda world: world.order.pk),
    ),
    Page(
        "integration_order_import_nfe",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_order_import_nfe", lambda world: world.order.pk),
        data=lambda world: {
            "xml": SimpleUploadedFile(
                "nfe.xml", make_nfe_xml(world.order, number=778, quantities={1: 1}, value_cents=2_990)
            )
        },
        effect=lambda world: Invoice.objects.filter(order=world.order, number="778").exists(),
    ),
    # The invoice list's bulk import: a POST without files changes nothing (the import itself:
    # tests/admin/test_nfe_admin.py).
    Page("integration_invoice_import_nfe", "GET", (LOGIN, DENIED, OK, OK), _url("integration_invoice_import_nfe")),
    Page(
        "integration_invoice_import_nfe",
        "POST",
        (LOGIN, DENIED, OK, OK),
        _url("integration_invoice_import_nfe"),
        data=lambda world: {},
    ),
    # The world's invoice was entered by hand: no DANFE (back to its page) and no XML.
    Page(
        "integration_invoice_danfe",
        "GET",
        (LOGIN, DENIED, REDIRECT, REDIRECT),
        _url("integration_invoice_danfe", _invoice_pk),
    ),
    Page(
        "integration_invoice_danfe",
        "POST",
        (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        _url("integration_invoice_danfe", _invoice_pk),
        data=lambda world: {},
    ),
    Page(
        "integration_invoice_nfe_xml",
        "GET",
        (LOGIN, DENIED, NOT_FOUND, NOT_FOUND),
        _url("integration_invoice_nfe_xml", _invoice_pk),
    ),
    Page(
        "integration_order_request_cancellation",
        "GET",
        (LOGIN, DENIED, OK, OK),
        _url("integration_order_request_cancellation", lambda world: world.cancellable_order.pk),
    ),
    Page(
        "integration_order_request_cancellation",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_order_request_cancellation", lambda world: world.cancellable_order.pk),
        data=lambda world: {"confirm": "1", "reason": "Cliente desistiu da compra"},
        effect=lambda world: CancellationRequest.objects.filter(order=world.cancellable_order).exists(),
    ),
    # The invoice page's forms and its Retry button (POST only).
    Page(
        "integration_invoice_tracking",
        "GET",
        (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        _url("integration_invoice_tracking", _invoice_pk),
    ),
    Page(
        "integration_invoice_tracking",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_invoice_tracking", _invoice_pk),
        data=lambda world: {"tracking_number": "BR999999999", "courier": "Correios"},
        effect=lambda world: _fresh(world.invoice).tracking_number == "BR999999999",
    ),
    Page(
        "integration_invoice_tracking_events",
        "GET",
        (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        _url("integration_invoice_tracking_events", _invoice_pk),
    ),
    Page(
        "integration_invoice_tracking_events",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_invoice_tracking_events", _invoice_pk),
        data=_events_data,
        effect=lambda world: TrackingEvent.objects.filter(invoice=world.invoice).exists(),
    ),
    Page(
        "integration_invoice_delivered",
        "GET",
        (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        _url("integration_invoice_delivered", _invoice_pk),
    ),
    Page(
        "integration_invoice_delivered",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_invoice_delivered", _invoice_pk),
        data=lambda world: {"delivered_at": local_input(timezone.now())},
        effect=lambda world: _fresh(world.invoice).delivered_at is not None,
    ),
    Page(
        "integration_invoice_retry",
        "GET",
        (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        _url("integration_invoice_retry", _invoice_pk, lambda world: world.failed_send.pk),
    ),
    Page(
        "integration_invoice_retry",
        "POST",
        (LOGIN, DENIED, DENIED, DONE),
        _url("integration_invoice_retry", _invoice_pk, lambda world: world.failed_send.pk),
        data=lambda world: {},
        effect=lambda world: _fresh(world.failed_send).state == OutboxMessage.State.PENDING,
    ),
    # The bulk imports (a GET shows the upload form; the POST here is the preview's confirmation).
    Page(
        "integration_invoice_import_tracking",
        "GET",
        (LOGIN, DENIED, OK, OK),
        _url("integration_invoice_import_tracking"),
    ),
    Page(
        "integration_invoice_import_tracking",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_invoice_import_tracking"),
        data=_import_tracking_data,
        effect=lambda world: _fresh(world.invoice).tracking_number == "BR-IMPORTED",
    ),
    Page(
        "integration_order_import_invoices", "GET", (LOGIN, DENIED, OK, OK), _url("integration_order_import_invoices")
    ),
    Page(
        "integration_order_import_invoices",
        "POST",
        (LOGIN, DENIED, DONE, DONE),
        _url("integration_order_import_invoices"),
        data=_import_invoices_data,
        effect=lambda world: Invoice.objects.filter(order=world.order, number="4242").exists(),
    ),
    # The drift list's "Reconcile with VTEX now" (POST only).
    Page(
        "integration_drift_reconcile",
        "GET",
        (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        _url("integration_drift_reconcile"),
    ),
    Page(
        "integration_drift_reconcile",
        "POST",
        (LOGIN, DENIED, DENIED, DONE),
        _url("integration_drift_reconcile"),
        data=lambda world: {},
        effect=lambda world: len(world.reconciliations) == 1,
    ),
]

ADMIN_PAGES = _model_pages() + CUSTOM_PAGES


def _admin_page_params():
    for page in ADMIN_PAGES:
        for role, outcome in zip(ROLES, page.outcomes, strict=True):
            yield pytest.param(page, role, outcome, id=f"{page.key}-{page.method}-{role}")


def assert_login_redirect(response) -> None:
    assert response.status_code == 302, (response.status_code, response.content[:300])
    assert response["Location"].startswith(reverse("admin:login")), response["Location"]


@pytest.mark.parametrize(("page", "role", "outcome"), list(_admin_page_params()))
def test_admin_page(world, page: Page, role: str, outcome, fake_vtex):
    client = admin_client_for(world, role)
    url = page.url(world)
    data = page.data(world) if page.data else {}
    before = snapshot()

    if page.method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data)
    world.messages = messages_of(response)

    if outcome == LOGIN:
        assert_login_redirect(response)
    elif outcome == DONE:
        assert response.status_code == 302, (response.status_code, world.messages, response.content[:2000])
        assert not response["Location"].startswith(reverse("admin:login"))
        assert page.effect(world), ("the POST was answered but did nothing", world.messages)
    elif outcome == REDIRECT:
        assert response.status_code == 302, response.status_code
        assert not response["Location"].startswith(reverse("admin:login")), response["Location"]
    else:
        assert response.status_code == outcome, (response.status_code, response.content[:500])

    if outcome != DONE:
        assert snapshot() == before, "a refused or read-only request changed the database"
        assert not fake_vtex.calls, "a refused or read-only request called VTEX"


# ---- the admin actions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    model: str
    name: str
    outcomes: Outcomes
    selected: Callable[[World], list[Any]]
    data: dict[str, str] = field(default_factory=dict)
    effect: Callable[[World], bool] | None = None
    #: For an action that answers with a file instead of changing anything: True when the file
    #: (its bytes) is the one expected.
    download: Callable[[World, bytes], bool] | None = None
    #: For an action that answers with a page to read or print (changing nothing): True when the
    #: page (its text) is the one expected.
    page: Callable[[World, str], bool] | None = None


def _selected(label: str) -> Callable[[World], list[Any]]:
    return lambda world: [world.object_pk(label)]


ACTIONS = [
    Action(
        "integration.order",
        "refresh_from_vtex",
        (LOGIN, DENIED, RAN, RAN),
        lambda world: [world.order.pk],
        effect=_called_vtex("get_order", _order),
    ),
    Action(
        "integration.order",
        "retry_start_handling",
        (LOGIN, DENIED, RAN, RAN),
        lambda world: [world.pending_order.pk],
        effect=_called_vtex("start_handling", _pending),
    ),
    Action(
        "integration.order",
        "request_cancellation",
        (LOGIN, DENIED, RAN, RAN),
        lambda world: [world.cancellable_order.pk],
        data={"confirm": "1", "reason": "Cliente desistiu da compra"},
        effect=lambda world: CancellationRequest.objects.filter(order=world.cancellable_order).exists(),
    ),
    Action(
        "integration.order",
        "export_csv",
        (LOGIN, DENIED, RAN, RAN),
        lambda world: [world.order.pk],
        download=lambda world, content: world.order.order_id in content.decode("utf-8-sig"),
    ),
    Action(
        "integration.order",
        "print_picking_list",
        (LOGIN, DENIED, RAN, RAN),
        lambda world: [world.order.pk],
        page=lambda world, content: f'id="picking-{world.order.order_id}"' in content,
    ),
    Action(
        "integration.invoice",
        "export_csv",
        (LOGIN, DENIED, RAN, RAN),
        _selected("integration.invoice"),
        download=lambda world, content: world.invoice.number in content.decode("utf-8-sig"),
    ),
    Action(
        "integration.outboxmessage",
        "retry_now",
        (LOGIN, DENIED, DENIED, RAN),
        _selected("integration.outboxmessage"),
        effect=lambda world: _fresh(world.failed_send).state == OutboxMessage.State.PENDING,
    ),
    Action("axes.accessattempt", "cleanup_expired_attempts", NOBODY, _selected("axes.accessattempt")),
    Action(
        "django_q.success",
        "resubmit_task",
        (LOGIN, DENIED, DENIED, NOT_OFFERED),
        _selected("django_q.success"),
    ),
    Action(
        "django_q.failure",
        "resubmit_task",
        (LOGIN, DENIED, DENIED, NOT_OFFERED),
        _selected("django_q.failure"),
    ),
]
#: Django's site-wide action, on the models whose admin lets anyone delete (the integration's admins
#: never do, and DRF's token admin has no actions). Every role is refused it: no group may delete.
DELETE_SELECTED_MODELS = (
    "auth.group",
    "auth.user",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "django_q.schedule",
    "django_q.success",
    "django_q.failure",
    "django_q.ormq",
)
ACTIONS += [
    Action(
        label,
        "delete_selected",
        tuple(NOT_OFFERED if outcome == OK else outcome for outcome in MODEL_ACCESS[label][0]),
        _selected(label),
        data={"post": "yes"},
    )
    for label in DELETE_SELECTED_MODELS
]

#: (model, action, role) → why the row is known to fail.
KNOWN_HOLES: dict[tuple[str, str, str], str] = {}


def _action_params():
    for action in ACTIONS:
        for role, outcome in zip(ROLES, action.outcomes, strict=True):
            marks = []
            hole = KNOWN_HOLES.get((action.model, action.name, role))
            if hole:
                marks.append(pytest.mark.xfail(strict=True, reason=hole))
            yield pytest.param(action, role, outcome, id=f"{action.model}-{action.name}-{role}", marks=marks)


def changelist_url(label: str) -> str:
    return reverse(f"admin:{label.replace('.', '_')}_changelist")


def offered_actions(client: Client, label: str) -> set[str]:
    """The actions the changelist offers this user (none at all: no action form)."""
    response = client.get(changelist_url(label))
    assert response.status_code == 200
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


@pytest.mark.parametrize(("action", "role", "outcome"), list(_action_params()))
def test_admin_action(world, action: Action, role: str, outcome, fake_vtex):
    client = admin_client_for(world, role)
    before = snapshot()

    response = client.post(
        changelist_url(action.model),
        {"action": action.name, "_selected_action": action.selected(world), "index": "0", **action.data},
    )

    if outcome == LOGIN:
        assert_login_redirect(response)
    elif outcome == DENIED:
        assert response.status_code == 403, response.status_code
    elif outcome == NOT_OFFERED:
        # With other actions on offer Django says "No action selected."; with none it shows the list.
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302:
            assert messages_of(response) == ["No action selected."]
    elif action.download is not None:
        assert response.status_code == 200, response.status_code
        assert action.download(world, b"".join(response.streaming_content))
        assert snapshot() == before, "a download changed the database"
        assert not fake_vtex.calls, "a download called VTEX"
    elif action.page is not None:
        assert response.status_code == 200, response.status_code
        assert action.page(world, response.content.decode())
        assert snapshot() == before, "a page to print changed the database"
        assert not fake_vtex.calls, "a page to print called VTEX"
    else:
        assert response.status_code in (200, 302), response.status_code
        assert action.effect(world), messages_of(response)
    if outcome != RAN:
        assert snapshot() == before, "a refused action changed the database"
        assert not fake_vtex.calls, "a refused action called VTEX"
    if outcome in (RAN, NOT_OFFERED):
        assert (action.name in offered_actions(client, action.model)) == (outcome == RAN)


# ---- the API -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str  # the URL name in the "api" namespace
    method: str
    outcomes: Outcomes
    path: Callable[[World], str]
    body: Callable[[World], dict[str, Any]] | None = None
    effect: Callable[[World], bool] | None = None
    #: The permission the endpoint needs (None: public).
    permission: str | None = None
    #: The body's media type: JSON, or "application/xml" for a body of bytes (the NF-e import).
    content_type: str = "json"


def _order_path(suffix: str = "", order: Callable[[World], Order] = _order) -> Callable[[World], str]:
    return lambda world: f"/api/v1/orders/{order(world).order_id}/{suffix}"


def _invoice_path(suffix: str) -> Callable[[World], str]:
    return lambda world: f"/api/v1/orders/{world.order.order_id}/invoices/{world.invoice.number}/{suffix}"


API_ENDPOINTS = [
    Endpoint(
        "v1:orders", "GET", (UNAUTHORIZED, DENIED, OK, OK), lambda world: "/api/v1/orders/", permission="view_order"
    ),
    Endpoint("v1:order", "GET", (UNAUTHORIZED, DENIED, OK, OK), _order_path(), permission="view_order"),
    Endpoint(
        "v1:order-ack",
        "POST",
        (UNAUTHORIZED, DENIED, OK, OK),
        _order_path("ack/"),
        body=lambda world: {},
        effect=lambda world: world.order.events.filter(kind=OrderEvent.Kind.ERP_RECEIVED).exists(),
        permission="change_order",
    ),
    Endpoint(
        "v1:order-invoices",
        "POST",
        (UNAUTHORIZED, DENIED, 201, 201),
        _order_path("invoices/"),
        body=lambda world: {
            "number": "NF-API",
            "issued_at": (timezone.now() - timedelta(hours=1)).isoformat(),
            "items": [{"item_index": 1, "quantity": 1}],
        },
        effect=lambda world: Invoice.objects.filter(order=world.order, number="NF-API").exists(),
        permission="enter_invoices",
    ),
    Endpoint(
        "v1:order-invoice-nfe",
        "POST",
        (UNAUTHORIZED, DENIED, 201, 201),
        _order_path("invoices/nfe/"),
        body=lambda world: make_nfe_xml(world.order, number=777, quantities={1: 1}, value_cents=2_990),
        effect=lambda world: Invoice.objects.filter(order=world.order, number="777").exclude(nfe_xml="").exists(),
        permission="enter_invoices",
        content_type="application/xml",
    ),
    Endpoint(
        "v1:invoice-tracking",
        "POST",
        (UNAUTHORIZED, DENIED, OK, OK),
        _invoice_path("tracking/"),
        body=lambda world: {"tracking_number": "BR777777777"},
        effect=lambda world: _fresh(world.invoice).tracking_number == "BR777777777",
        permission="enter_invoices",
    ),
    Endpoint(
        "v1:invoice-tracking-events",
        "POST",
        (UNAUTHORIZED, DENIED, OK, OK),
        _invoice_path("tracking-events/"),
        body=lambda world: {
            "events": [{"date": (timezone.now() - timedelta(minutes=5)).isoformat(), "description": "Em trânsito"}]
        },
        effect=lambda world: TrackingEvent.objects.filter(invoice=world.invoice).exists(),
        permission="enter_invoices",
    ),
    Endpoint(
        "v1:order-cancellation",
        "POST",
        (UNAUTHORIZED, DENIED, 202, 202),
        _order_path("cancellation/", lambda world: world.cancellable_order),
        body=lambda world: {"reason": "Cliente desistiu da compra"},
        effect=lambda world: CancellationRequest.objects.filter(order=world.cancellable_order).exists(),
        permission="request_cancellation",
    ),
    # Unknown addresses: 404 in the error shape for everyone (nothing behind them to protect).
    Endpoint("v1:not-found", "GET", (NOT_FOUND,) * 4, lambda world: "/api/v1/no-such-endpoint/"),
    Endpoint("v1:not-found", "POST", (NOT_FOUND,) * 4, lambda world: "/api/v1/orders", body=lambda world: {}),
    # The OpenAPI schema and its docs are public by design (tests/api/test_schema.py).
    Endpoint("schema", "GET", (OK,) * 4, lambda world: "/api/schema/"),
    Endpoint("docs", "GET", (OK,) * 4, lambda world: "/api/docs/"),
]


def api_client_for(world: World, role: str) -> APIClient:
    client = APIClient()
    if role != ANONYMOUS:
        token, _ = Token.objects.get_or_create(user=world.users[role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _api_params():
    for endpoint in API_ENDPOINTS:
        for role, outcome in zip(ROLES, endpoint.outcomes, strict=True):
            yield pytest.param(endpoint, role, outcome, id=f"{endpoint.name}-{endpoint.method}-{role}")


def _call(client: APIClient, endpoint: Endpoint, world: World):
    path = endpoint.path(world)
    if endpoint.method == "GET":
        return client.get(path)
    if endpoint.content_type != "json":
        return client.post(path, endpoint.body(world), content_type=endpoint.content_type)
    return client.post(path, endpoint.body(world) if endpoint.body else {}, format="json")


@pytest.mark.parametrize(("endpoint", "role", "outcome"), list(_api_params()))
def test_api_endpoint(world, endpoint: Endpoint, role: str, outcome, fake_vtex):
    client = api_client_for(world, role)  # the token exists before the snapshot
    before = snapshot()

    response = _call(client, endpoint, world)

    assert response.status_code == outcome, (response.status_code, response.content[:500])
    if outcome in (UNAUTHORIZED, DENIED, NOT_FOUND):
        error = response.json()["error"]
        expected_code = {UNAUTHORIZED: "not_authenticated", DENIED: "permission_denied", NOT_FOUND: "not_found"}
        assert error["code"] == expected_code[outcome], error
        if outcome == UNAUTHORIZED:
            assert response["WWW-Authenticate"] == 'Bearer realm="api", Token realm="api"'
        assert snapshot() == before, "a refused API request changed the database"
    elif endpoint.effect is not None:
        assert endpoint.effect(world)
    else:
        assert snapshot() == before, "a GET changed the database"
    assert not fake_vtex.calls


@pytest.mark.parametrize(
    "endpoint", [pytest.param(e, id=f"{e.name}-{e.method}") for e in API_ENDPOINTS if e.permission]
)
def test_every_endpoint_needs_its_own_permission_and_no_other(world, endpoint: Endpoint):
    """A user with every API permission except the endpoint's is refused; with it alone, allowed."""
    others = {e.permission for e in API_ENDPOINTS if e.permission} - {endpoint.permission}
    without = User.objects.create_user("all-but-one")
    without.user_permissions.add(*Permission.objects.filter(content_type__app_label="integration", codename__in=others))
    only = User.objects.create_user("only-this-one")
    only.user_permissions.add(
        Permission.objects.get(content_type__app_label="integration", codename=endpoint.permission)
    )
    world.users["all-but-one"], world.users["only-this-one"] = without, only
    refused_client, allowed_client = api_client_for(world, "all-but-one"), api_client_for(world, "only-this-one")
    before = snapshot()

    refused = _call(refused_client, endpoint, world)

    assert refused.status_code == 403, refused.status_code
    assert endpoint.permission in refused.json()["error"]["message"]
    assert snapshot() == before
    allowed = _call(allowed_client, endpoint, world)
    assert allowed.status_code in (200, 201, 202), (allowed.status_code, allowed.content[:300])


# ---- nothing escapes the tables ------------------------------------------------------------------------------


def _named_patterns(patterns, prefix: str = "") -> list[tuple[str, str]]:
    """(name or pattern, full route) of every URL pattern under `patterns`, resolvers included."""
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found += _named_patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append((entry.name or str(entry.pattern), prefix + str(entry.pattern)))
    return found


def _admin_url_keys() -> set[str]:
    keys = set()
    for name, route in _named_patterns(admin.site.get_urls()):
        if name == "<path:object_id>/":  # ModelAdmin's unnamed redirect: named by its model's prefix
            name = route
        keys.add(name)
    return keys


def test_every_admin_url_pattern_has_a_row_in_the_matrix():
    table = {page.name for page in ADMIN_PAGES}
    patterns = _admin_url_keys()

    assert patterns - table == set(), "admin URL patterns without an expected outcome: add them to the matrix"
    assert table - patterns == set(), "rows of the matrix for URL patterns that no longer exist"


def test_every_registered_model_has_its_access_row():
    registered = {model._meta.label_lower for model in admin.site._registry}

    assert registered == set(MODEL_ACCESS)


def test_every_custom_post_view_is_tried_with_post_and_get():
    custom = [page for page in CUSTOM_PAGES if page.effect is not None]
    for page in custom:
        methods = {other.method for other in ADMIN_PAGES if other.key == page.key}
        assert methods == {"GET", "POST"}, page.key


def test_every_admin_action_has_a_row_in_the_matrix(rf: RequestFactory, django_user_model):
    request = rf.get("/admin/")
    request.user = django_user_model.objects.create_superuser("enumerator", password="x")
    available = {
        (model._meta.label_lower, name)
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.get_actions(request)
    }
    table = {(action.model, action.name) for action in ACTIONS}

    assert available - table == set(), "admin actions without an expected outcome: add them to ACTIONS"
    assert table - available == set(), "rows of ACTIONS for actions that no longer exist"


def test_every_api_url_pattern_has_a_row_in_the_matrix():
    # Everything under api/: v1's endpoints by their namespaced name, the rest by their name.
    names = {f"v1:{name}" if route.startswith("v1/") else name for name, route in _named_patterns(api_urls.urlpatterns)}
    table = {endpoint.name for endpoint in API_ENDPOINTS}

    assert names - table == set(), "API URL patterns without an expected outcome: add them to API_ENDPOINTS"
    assert table - names == set()


def test_every_endpoint_that_changes_something_says_what():
    for endpoint in API_ENDPOINTS:
        if endpoint.method == "POST" and endpoint.permission:
            assert endpoint.effect is not None, endpoint.name


def test_the_project_has_no_other_entry_points():
    """Everything the project routes is the admin, the API (both in the matrix), the hook
    (test_hook_and_api_hardening), the redirect of "/" to the admin, Django's set_language view
    of the admin's language switch (CSRF-protected, stores a cookie, and redirects only to this
    site: tests/i18n/test_pages.py), or the shopper's signed, expiring DANFE link (GET only, a
    PDF and nothing else: tests/services/test_nfe.py)."""
    routes = {str(entry.pattern) for entry in get_resolver().url_patterns}

    assert routes == {"", "admin/", "i18n/", "vtex/hook/", "api/", "nfe/danfe/<str:token>/"}
    assert Client().get("/")["Location"] == "/admin/"


def test_the_groups_are_the_ones_the_matrix_assumes(staff_groups):
    """The matrix's expectations follow from these permissions; a change to the groups must come with
    a change to the matrix."""
    granted = {
        name: set(group.permissions.values_list("content_type__app_label", "codename"))
        for name, group in staff_groups.items()
    }
    assert ("integration", "retry_sends") in granted[INTEGRATION_ADMIN] - granted[BACK_OFFICE]
    assert not any(codename.startswith("delete_") for perms in granted.values() for _, codename in perms)
    assert not any(app == "auth" or app == "authtoken" for perms in granted.values() for app, _ in perms)
    assert granted[BACK_OFFICE] < granted[INTEGRATION_ADMIN]


# ---- around the roles --------------------------------------------------------------------------------------


def test_a_crafted_order_post_cannot_add_rows_through_the_read_only_inlines(world):
    """Each inline (items, payments, invoices, cancellations) gets one more form than it shows, filled
    in; the edit goes through and no row is added."""
    client = admin_client_for(world, BACK_OFFICE)
    data = _order_form_data(world)
    for prefix in ("items", "payments", "invoices", "cancellation_requests"):
        assert f"{prefix}-TOTAL_FORMS" in data, prefix
    for key in [key for key in data if key.endswith("-TOTAL_FORMS")]:
        prefix = key.removesuffix("-TOTAL_FORMS")
        extra = int(data[key])
        data[key] = extra + 1
        data.update(
            {
                f"{prefix}-{extra}-order": world.order.pk,
                f"{prefix}-{extra}-number": "NF-INLINE",
                f"{prefix}-{extra}-kind": "output",
                f"{prefix}-{extra}-reason": "Crafted cancellation",
                f"{prefix}-{extra}-sku_id": "999",
                f"{prefix}-{extra}-value_cents": "1",
            }
        )
    counts = {model: model.objects.count() for model in (Invoice, CancellationRequest, OutboxMessage)}

    response = client.post(reverse("admin:integration_order_change", args=[world.order.pk]), data)

    assert response.status_code == 302, response.content[:500]
    assert _order_edited(world)
    assert {model: model.objects.count() for model in counts} == counts
    assert world.order.items.count() == 3 and world.order.payments.count() == 1


@pytest.mark.parametrize(
    "change", [{"is_staff": False}, {"is_active": False}], ids=["not staff (an API user)", "deactivated"]
)
def test_the_groups_permissions_open_no_admin_page_without_an_active_staff_account(world, change):
    user = world.users[INTEGRATION_ADMIN]
    for name, value in change.items():
        setattr(user, name, value)
    user.save()
    client = Client()
    client.force_login(user)

    for url in (
        reverse("admin:index"),
        reverse("admin:integration_order_changelist"),
        reverse("admin:integration_health"),
    ):
        assert_login_redirect(client.get(url))
    before = snapshot()
    assert_login_redirect(
        client.post(reverse("admin:integration_invoice_retry", args=[world.invoice.pk, world.failed_send.pk]))
    )
    assert snapshot() == before
