"""Property test (issue 16, defect 1): whatever JSON VTEX sends, the mapping maps it or raises its
own error (VtexDataError, naming the field); it never raises anything else, and what it maps is
stored (on SQLite in `make test`, on PostgreSQL in CI's second run)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.services.order_sync import FetchedOrder, orders_store_from_vtex
from integration.vtex.mapping import VtexDataError, order_data_from_vtex
from vtex_sandbox import SandboxStore

#: Any JSON value, with the awkward ones VTEX (or a proxy) could send: huge and negative numbers,
#: infinities, NUL and lone surrogates in text, deep nesting.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**40, 2**63, -(2**63) - 1, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from(["\x00", "\ud800", "Isento", "1.0000", "ready-for-handling", ""]),
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


def _documents() -> list[dict]:
    docs = []
    for seed in (2, 5):
        store = SandboxStore(orders=3, seed=seed, shapes="mixed")
        docs += [store.order(order_id) for order_id in store.order_ids()]
    return docs


VALID = _documents()


def _paths(value, prefix=()):
    """Every place in a document where a value can be replaced."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated_orders(draw):
    """A real order with one to three of its values replaced by arbitrary JSON."""
    doc = copy.deepcopy(draw(st.sampled_from(VALID)))
    paths = [path for path in _paths(doc) if path]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths))
        parent = doc
        try:
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this place
    return doc


def _maps_or_refuses(document) -> object:
    try:
        return order_data_from_vtex(document)
    except VtexDataError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=JSON)
def test_any_json_maps_or_raises_the_mappings_own_error(document):
    _maps_or_refuses(document)  # anything else raised fails the test


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(document=mutated_orders())
def test_whatever_the_mapping_accepts_is_stored(document):
    data = _maps_or_refuses(document)
    if data is None:
        return
    (outcome,) = orders_store_from_vtex(fetched=[FetchedOrder(raw=document, data=data)])
    outcome.order.refresh_from_db()
    assert outcome.order.raw_hash == data.raw_hash
    outcome.order.delete()  # the next example may reuse the order id
