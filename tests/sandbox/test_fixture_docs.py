"""tests/fixtures/vtex/sandbox/: the order documents other tests run through erp-bridge add up, cover every
shape, and are what the generator makes (regenerate with ``python -m tests.sandbox.fixture_docs``)."""

from __future__ import annotations

import json

import pytest

from vtex_sandbox.shapes import FEATURES

from .fixture_docs import FIXTURES, build, dumps, readme
from .test_shapes import assert_money_adds_up, features_of, payment_total

BUILT = build()


def test_the_files_are_what_the_generator_makes():
    on_disk = {path.name for path in FIXTURES.glob("*.json")}
    assert on_disk == set(BUILT), "regenerate: python -m tests.sandbox.fixture_docs"
    for name, doc in BUILT.items():
        assert (FIXTURES / name).read_text(encoding="utf-8") == dumps(doc), name
    assert (FIXTURES / "README.md").read_text(encoding="utf-8") == readme(BUILT)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_each_document_adds_up(name):
    assert_money_adds_up(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


def test_the_documents_cover_every_shape_with_unique_ids():
    docs = list(BUILT.values())
    assert set().union(*(features_of(doc) for doc in docs)) >= set(FEATURES) - {"two_cards"}
    assert any(len(doc["paymentData"]["transactions"][0]["payments"]) == 2 for doc in docs)
    assert any(doc["storePreferencesData"]["currencyCode"] == "COP" for doc in docs)
    assert len({doc["orderId"] for doc in docs}) == len(docs)
    assert len({doc["sequence"] for doc in docs}) == len(docs)
    groups = {}
    for doc in docs:
        groups.setdefault(doc["orderGroup"], []).append(doc)
    for members in groups.values():
        assert len({payment_total(doc) for doc in members}) == 1
