"""What a start-handling sent now says is shown in the reader's language; VTEX's own words stay
as VTEX wrote them (they are what its support and docs quote)."""

from __future__ import annotations

import pytest
from django.utils import translation

from integration.services.orders import order_start_handling_now
from integration.vtex import VtexConflict, VtexError
from tests.factories import make_order

pytestmark = pytest.mark.django_db


class _Vtex:
    """start-handling answers 409 (sent before, its answer lost); reading the order back gives `status`."""

    def __init__(self, status: str | None) -> None:
        self.status = status

    def start_handling(self, order_id: str) -> None:
        raise VtexConflict("Order already in handling", status=409, code="OMS003")

    def get_order(self, order_id: str) -> dict:
        if self.status is None:
            raise VtexError("no answer within 10s")
        return {"orderId": order_id, "status": self.status}


@pytest.mark.parametrize(
    ("status", "done", "english", "portuguese"),
    [
        ("handling", True, "VTEX accepted start-handling.", "A VTEX aceitou o início do manuseio."),
        (
            "canceled",
            False,
            "VTEX did not confirm start-handling: HTTP 409 [OMS003] Order already in handling "
            "(VTEX shows the order in canceled)",
            "A VTEX não confirmou o início do manuseio: HTTP 409 [OMS003] Order already in handling "
            "(VTEX shows the order in canceled)",
        ),
    ],
)
def test_a_start_handling_answer_is_shown_in_the_readers_language(status, done, english, portuguese):
    order = make_order()
    with translation.override("pt-br"):
        answer = order_start_handling_now(client=_Vtex(status), order=order)
        assert answer.text() == portuguese
    assert answer.done is done
    with translation.override("en"):
        assert answer.text() == english


def test_an_order_not_ready_for_handling_is_refused_before_anything_is_sent():
    order = make_order(vtex_status="payment-pending")
    answer = order_start_handling_now(client=_Vtex(None), order=order)
    assert (answer.done, answer.reason) == (False, "not_ready")
    assert not order.outbox_messages.exists()
