"""An order whose start-handling took effect at VTEX although erp-bridge recorded the attempt as
failed (its answer was lost and the read-back failed too), and which was read again (a feed event
delivered twice) before the retry, still gets its acknowledgement recorded. Found by the fault
matrix on the feed: such orders stayed "failed" with VTEX in handling, and could never be
invoiced. Quick; part of make test."""

from __future__ import annotations

import pytest

from integration.infra.vtex_client import vtex_client
from integration.models import Order, OutboxMessage
from integration.selectors.start_handling import StartHandlingState, order_start_handling
from integration.services.intake import intake_run
from integration.services.invoicing import order_invoicing_blocker
from integration.services.order_sync import order_refresh_from_vtex
from integration.services.outbox import outbox_enqueue_start_handling

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_failed_acknowledgement_that_vtex_shows_as_handled_is_recorded_on_the_next_cycle(make_sandbox, settings):
    server = make_sandbox(orders=2)
    settings.VTEX_START_HANDLING = "on_erp_ack"  # store only; the attempt below stands for the lost one
    intake_run()
    order = Order.objects.order_by("order_id").first()
    server.store.start_handling(order.order_id)  # the attempt took effect at VTEX...
    (row,) = outbox_enqueue_start_handling(orders=[order])  # ...its row waits after the lost answer
    OutboxMessage.objects.filter(pk=row.pk).update(attempts=1, last_error="no answer within 1s")
    order_refresh_from_vtex(client=vtex_client(), order=order)  # ...and the order was read again
    order.refresh_from_db()
    assert order.vtex_status == "handling"

    settings.VTEX_START_HANDLING = "on_import"
    intake_run()

    order.refresh_from_db()
    assert order_start_handling(order).state == StartHandlingState.DONE
    assert order_invoicing_blocker(order) == ""
    assert server.store.effects["start_handling"] == {o.order_id: 1 for o in Order.objects.all()}
