"""Hostile orders: documents no database stores as sent, served now and then among good ones
(``hostile_rate``), so that a test (and a curious operator) sees each one fail alone while every
other order is taken in. These are the six shapes issue 16 found in the field or by fuzzing:
a NUL in the buyer's name, a lone UTF-16 surrogate in an item's name, an item quantity of 2**40,
an order value of 2**63, an infinite unit multiplier, and JSON nested hundreds of levels deep.

Applied to the Get order answer only: the sandbox's own record stays sound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _nested(levels: int) -> Any:
    value: Any = "deep"
    for _ in range(levels):
        value = [value]
    return value


HOSTILE_SHAPES: dict[str, Callable[[dict[str, Any]], None]] = {
    "nul_in_buyer_name": lambda doc: doc["clientProfileData"].update(firstName="Ana\x00Maria"),
    "lone_surrogate": lambda doc: doc["items"][0].update(name="Camiseta \ud800"),
    "huge_quantity": lambda doc: doc["items"][0].update(quantity=2**40),
    "huge_value": lambda doc: doc.update(value=2**63),
    "infinite_multiplier": lambda doc: doc["items"][0].update(unitMultiplier=float("inf")),
    "deep_nesting": lambda doc: doc.update(customData=_nested(400)),
}
