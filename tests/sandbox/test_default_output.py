"""The default generator's output is frozen: the same seed gives the same orders as before the
real VTEX shapes (``shapes="mixed"``) were added, so nothing that reads today's orders changes.

The hashes were taken from the generator before that change (commit b0a46fa). If a change to the
default output is ever intended, update them in the same commit and say why.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from vtex_sandbox import SandboxStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FROZEN = {
    1: "eeb0294ae084985135e1365d52e829ad43599cb1b58be9efa0a343d9c47aa66f",
    7: "06b7b6a762e1c5f981f6336dc92719438edbb598475064e331dfbb52c630861d",
}


def orders_hash(store: SandboxStore) -> str:
    docs = [store.order(order_id) for order_id in store.order_ids()]
    return hashlib.sha256(json.dumps(docs, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@pytest.mark.parametrize("seed", sorted(FROZEN))
def test_default_orders_are_unchanged(seed):
    assert orders_hash(SandboxStore(orders=60, seed=seed, now=NOW)) == FROZEN[seed]


@pytest.mark.parametrize("seed", sorted(FROZEN))
def test_default_shapes_and_currency_spelled_out_are_the_default(seed):
    store = SandboxStore(orders=60, seed=seed, now=NOW, shapes="default", currency="BRL")
    assert orders_hash(store) == FROZEN[seed]
