"""VTEX's error answers, as the store's rules raise them, and the body checks every API shares.

A ``StoreError`` carries the HTTP status and the VTEX error code the server answers with
(VTEX-API.md §0).
"""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """A VTEX error answer: HTTP status, VTEX error code and message."""

    http_status = 400

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or str(self.http_status)


class BadRequest(StoreError):
    http_status = 400


class Forbidden(StoreError):
    http_status = 403


class NotFound(StoreError, LookupError):
    http_status = 404


class Conflict(StoreError):
    http_status = 409


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
