"""Tests of the VTEX client and its helpers. Fixtures are real-shaped VTEX JSON in fixtures/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def load_fixture(name: str) -> dict[str, Any]:
    """A fresh copy of fixtures/<name> (".json" optional): tests may mutate it freely."""
    path = FIXTURES_DIR / (name if name.endswith(".json") else f"{name}.json")
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)
