"""Errors the services raise for bad input or forbidden actions. Nothing was changed when one is raised.

The admin shows `message` and the per-field messages beside the fields; the API returns
{"error": {"code", "message", "fields"}}. Messages are in the language active when the error is
raised (the request's: see LocaleMiddleware); `code` never changes with it, programs match on it.
"""

from __future__ import annotations

from django.utils.translation import gettext


class ServiceError(Exception):
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    def __str__(self) -> str:
        if not self.fields:
            return self.message
        details = "; ".join(f"{name}: {' '.join(problems)}" for name, problems in self.fields.items())
        return f"{self.message} ({details})"


class ValidationFailed(ServiceError):
    """The input breaks a rule; `fields` names each field and what is wrong with it."""

    code = "invalid"


class NotAllowed(ServiceError):
    """The action is not possible in the order's present state (e.g. cancel after an invoice)."""

    code = "not_allowed"


class Conflict(ServiceError):
    """The same key was already used with other content (e.g. an invoice number)."""

    code = "conflict"


class FieldErrors:
    """Collects every problem of a request, so all of them are reported at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self, message: str | None = None) -> None:
        if self.fields:
            raise ValidationFailed(message or gettext("Please correct the errors below."), fields=self.fields)
