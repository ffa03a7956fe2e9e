"""What a VTEX route is made of: the request its handler takes and the answer it gives.

Each API module (oms, payments, feed, hook) lists its routes in ``ROUTES``; the server matches
a request against all of them and calls the route's handler with the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import BadRequest


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON-serialisable; None means no body
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    raw: bytes | None = None  # a non-JSON body (the HTML page)


def error_answer(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> Answer:
    """VTEX's error body (VTEX-API.md §0)."""
    body = {"error": {"code": code or str(status), "message": message, "exception": None}}
    return Answer(status, body, headers or {})


@dataclass(frozen=True)
class Request:
    method: str
    params: dict[str, str]  # path parameters, URL-decoded
    query: dict[str, str]  # first value of each query parameter
    body: Any  # parsed JSON, or None when there was no body


def int_param(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str  # the key in store.requests_count
    handler: Callable[[Any, Request], Answer]  # called with the SandboxStore


def route(method: str, template: str, name: str, handler: Callable[[Any, Request], Answer]) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(f"^{regex}$"), name, handler)
