"""Reconciliation finds each kind of drift planted between erp-bridge and the sandbox, and resolves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from integration.infra.vtex_client import vtex_client
from integration.models import CancellationRequest, Drift, Invoice, Order
from integration.services.intake import intake_run
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.outbox import outbox_send_due
from integration.services.reconciliation import reconciliation_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_task_queue")]
Kind = Drift.Kind


@pytest.fixture
def store(make_sandbox):
    server = make_sandbox(orders=4)
    assert intake_run().acknowledged == 4
    return server


def open_drifts() -> dict[tuple[str, str], Drift]:
    return {(d.order_id_text, d.kind): d for d in Drift.objects.filter(resolved_at__isnull=True)}


def lines(order: Order) -> list[tuple[int, int]]:
    return [(item.item_index, item.quantity) for item in order.items.all()]


def test_a_clean_store_has_no_drift(store):
    invoice_create(order=Order.objects.first(), data=InvoiceInput("NF-1", timezone.now(), lines(Order.objects.first())))
    outbox_send_due(client=vtex_client())

    result = reconciliation_run(client=vtex_client())

    assert result.checked == 4 and result.found == [] and result.errors == []


def test_an_invoice_made_at_vtex_only_is_a_drift_with_what_to_do(store):
    order = Order.objects.order_by("order_id").first()
    item = order.raw["items"][0]
    vtex_client().send_invoice(
        order.order_id,
        {
            "type": "Output",
            "issuanceDate": timezone.now().isoformat(),
            "invoiceNumber": "VTEX-ADMIN-9",
            "invoiceValue": str(item["sellingPrice"]),
            "items": [{"id": item["id"], "price": item["sellingPrice"], "quantity": 1}],
        },
    )

    reconciliation_run(client=vtex_client())

    drift = open_drifts()[(order.order_id, Kind.VTEX_INVOICED_NOT_HERE)]
    assert "VTEX-ADMIN-9" in drift.detail and "Enter these invoices" in drift.action
    assert drift.order == order


def test_an_invoice_marked_sent_that_vtex_lacks_is_a_drift(store):
    order = Order.objects.order_by("order_id").first()
    invoice = invoice_create(order=order, data=InvoiceInput("NF-7", timezone.now(), lines(order)))
    Invoice.objects.filter(pk=invoice.pk).update(send_state="sent")  # as if VTEX lost it

    reconciliation_run(client=vtex_client())

    assert "NF-7" in open_drifts()[(order.order_id, Kind.HERE_INVOICED_NOT_AT_VTEX)].detail


def test_an_invoice_value_that_differs_is_a_drift(store):
    order = Order.objects.order_by("order_id").first()
    invoice = invoice_create(order=order, data=InvoiceInput("NF-8", timezone.now(), lines(order)))
    outbox_send_due(client=vtex_client())
    Invoice.objects.filter(pk=invoice.pk).update(value_cents=invoice.value_cents + 1)

    reconciliation_run(client=vtex_client())

    drift = open_drifts()[(order.order_id, Kind.INVOICE_VALUE_DIFFERS)]
    assert f"{invoice.value_cents + 1} cents here, {invoice.value_cents} cents at VTEX" in drift.detail


def test_a_cancellation_vtex_never_confirmed_is_a_drift(store):
    order = Order.objects.order_by("order_id").first()
    request = CancellationRequest.objects.create(
        order=order, reason="Cliente desistiu", state=CancellationRequest.State.REQUESTED
    )
    CancellationRequest.objects.filter(pk=request.pk).update(requested_at=timezone.now() - timedelta(hours=3))

    reconciliation_run(client=vtex_client())

    assert (order.order_id, Kind.CANCELLATION_NOT_CONFIRMED) in open_drifts()


def test_a_ready_order_unknown_here_is_a_drift_until_it_is_pulled(store):
    order = Order.objects.order_by("order_id").first()
    order_id = order.order_id
    order.outbox_messages.all().delete()
    order.delete()  # lost here
    store.store.set_status(order_id, "ready-for-handling")

    first = reconciliation_run(client=vtex_client())
    assert (order_id, Kind.READY_UNKNOWN_HERE) in open_drifts()
    assert any(f.order_id == order_id for f in first.found)

    intake_run()
    second = reconciliation_run(client=vtex_client())

    assert (order_id, Kind.READY_UNKNOWN_HERE) not in open_drifts()
    assert second.resolved == 1
    assert Drift.objects.get(order_id_text=order_id).resolved_at is not None


def test_a_drift_seen_again_stays_one_row(store, capsys):
    order = Order.objects.order_by("order_id").first()
    invoice = invoice_create(order=order, data=InvoiceInput("NF-9", timezone.now(), lines(order)))
    Invoice.objects.filter(pk=invoice.pk).update(send_state="sent")

    call_command("reconcile")
    call_command("reconcile")

    assert Drift.objects.filter(order_id_text=order.order_id).count() == 1
    assert "drifts open" in capsys.readouterr().out


def test_two_reconciliations_never_run_at_once(store):
    from integration.infra.leases import lease

    with lease("reconcile", ttl=timedelta(minutes=1)):
        result = reconciliation_run(client=vtex_client())
    assert result.skipped_reason and "skipped" in result.summary()
