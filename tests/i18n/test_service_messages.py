"""A start-handling outcome is stored in English and shown in the reader's language, values and all."""

from __future__ import annotations

import pytest
from django.utils import translation

from integration.services.orders import vtex_send_start_handling
from integration.vtex import VtexConflict, VtexError


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
    ("status", "done", "stored", "shown_in_portuguese"),
    [
        ("handling", True, "VTEX shows the order in handling.", "A VTEX mostra o pedido com status handling."),
        (
            "canceled",
            False,
            "HTTP 409 [OMS003] Order already in handling; VTEX shows the order in canceled.",
            "HTTP 409 [OMS003] Order already in handling; a VTEX mostra o pedido com status canceled.",
        ),
        (
            "",
            False,
            "HTTP 409 [OMS003] Order already in handling; VTEX shows the order in an unknown status.",
            "HTTP 409 [OMS003] Order already in handling; a VTEX mostra o pedido com status desconhecido.",
        ),
        (
            None,
            False,
            "HTTP 409 [OMS003] Order already in handling; reading the order back failed: no answer within 10s",
            "HTTP 409 [OMS003] Order already in handling; a nova leitura do pedido falhou: no answer within 10s",
        ),
    ],
)
def test_a_read_back_outcome_is_stored_in_english_and_shown_in_portuguese(status, done, stored, shown_in_portuguese):
    with translation.override("pt-br"):  # the language of the request must not leak into what is stored
        result = vtex_send_start_handling(client=_Vtex(status), order_id="1000001-01")
        assert result.message == stored
        assert result.text() == shown_in_portuguese
    assert result.done is done
    with translation.override("en"):
        assert result.text() == stored
