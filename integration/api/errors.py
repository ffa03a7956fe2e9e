"""Every error of the API in one shape: {"error": {"code", "message", "fields"}}.

`code` is stable and meant for programs; `message` is for people; `fields` maps the name of each
wrong input (dotted, with list positions: "items[0].quantity", "events[2].date") to what is wrong
with it. DRF's own errors (authentication, permissions, parsing, throttling), the services' errors
(integration.services.errors) and VTEX's errors all come out this way.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext, gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from integration.services.errors import Conflict, NotAllowed, ServiceError, ValidationFailed
from integration.vtex import VtexError

logger = logging.getLogger("integration.api")

#: DRF exception class → our code. Anything not listed keeps DRF's own default_code.
DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "parse_error",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid",
}

SERVICE_STATUS: dict[type[ServiceError], int] = {
    ValidationFailed: status.HTTP_400_BAD_REQUEST,
    NotAllowed: status.HTTP_409_CONFLICT,
    Conflict: status.HTTP_409_CONFLICT,
}


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = gettext_lazy("The request body is too large.")


class VtexUnavailable(exceptions.APIException):
    """VTEX refused or did not answer a call this request needed; the message is VTEX's (no credentials)."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "vtex_error"
    default_detail = gettext_lazy("VTEX did not accept the call.")


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": sentence(message), "fields": fields or {}}}


def sentence(message: str) -> str:
    """The message as a sentence with one full stop: VTEX's answers and DRF's texts may end without one."""
    message = message.strip()
    return message if message.endswith((".", "?", "!", "…")) else f"{message}."


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested ValidationError detail → {"items[0].quantity": ["A valid integer is required."]}."""
    fields: dict[str, list[str]] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "non_field_errors":
                    walk(value, path or "non_field_errors")
                elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                    walk(value, f"{path}[{key}]")  # ListField/DictField children: {0: [...]}
                else:
                    walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            if all(not isinstance(item, dict | list) for item in node):
                if node:
                    fields.setdefault(path or "non_field_errors", []).extend(str(item) for item in node)
                return
            for position, item in enumerate(node):
                if item:  # a valid element of a list of objects comes back as {}
                    walk(item, f"{path}[{position}]")
        else:
            fields.setdefault(path or "non_field_errors", []).append(str(node))

    walk(detail, prefix)
    return fields


def summarize(fields: dict[str, list[str]], *, limit: int = 3) -> str:
    # Each problem is a sentence with its own full stop; the summary's sentence brings one.
    parts = "; ".join(f"{name}: {problems[0].rstrip('.')}" for name, problems in list(fields.items())[:limit])
    more = len(fields) - limit
    if more > 0:
        return gettext("Invalid request: %(problems)s; and %(more)s more.") % {"problems": parts, "more": more}
    return gettext("Invalid request: %(problems)s.") % {"problems": parts}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        set_rollback()
        message = exc.message
        if isinstance(exc, ValidationFailed) and exc.fields:
            # The services' message heads the admin's form ("Please correct the errors below."); an API
            # answer has nothing below it, so it says what is wrong as its own validation errors do.
            message = summarize(exc.fields)
        return Response(
            error_body(exc.code, message, exc.fields),
            status=SERVICE_STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST),
        )
    if isinstance(exc, VtexError):
        set_rollback()
        # VtexError messages never carry credentials (integration.vtex.errors).
        return Response(error_body("vtex_error", str(exc)), status=status.HTTP_502_BAD_GATEWAY)
    if isinstance(exc, RequestDataTooBig):  # Django's own check, when DRF reads request.body
        exc = RequestTooLarge(
            gettext("The request body is larger than the limit of %(limit)s bytes.")
            % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        )
    elif isinstance(exc, Http404) and not isinstance(exc, exceptions.NotFound):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = exception_handler(exc, context)  # sets WWW-Authenticate, Retry-After, rollback
    if response is None:
        # A bug. Log it with the request, and still answer in the one shape the clients parse.
        request = context.get("request")
        logger.exception(
            "unhandled error in %s %s", getattr(request, "method", "?"), getattr(request, "path", "?"), exc_info=exc
        )
        set_rollback()
        return Response(
            error_body("server_error", gettext("Unexpected error; it was logged. Try again later.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    assert isinstance(exc, exceptions.APIException)
    code = next((code for cls, code in DRF_CODES.items() if isinstance(exc, cls)), None)
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        response.data = error_body("invalid", summarize(fields), fields)
    else:
        message = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc.default_detail)
        response.data = error_body(code or str(exc.default_code), message)
    return response
