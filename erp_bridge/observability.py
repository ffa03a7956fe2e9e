"""Logs and error reports of every process (web and clusters): the request id, JSON log lines,
and Sentry with the secrets scrubbed (docs/operations.md "Logs and error reports").

This module is read while the settings load, before the apps are: it imports nothing of the app
and no Django model.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

#: The request being answered in this thread or task, for the log records ("-" outside a request).
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("erp_bridge_request_id", default="-")

REQUEST_ID_HEADER = "X-Request-ID"
#: An id sent by the proxy is kept when it looks like one (no spaces, quotes or line breaks that
#: could forge a log line); otherwise erp-bridge makes its own.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def request_id_from(header_value: str | None) -> str:
    if header_value and _REQUEST_ID_RE.fullmatch(header_value):
        return header_value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Reads X-Request-ID (the proxy's) or makes one, puts it in every log record written while the
    request is answered and in Sentry's events, and sends it back on the response."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            _sentry_tag("request_id", request_id)
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _sentry_tag(name: str, value: str) -> None:
    import sentry_sdk

    if sentry_sdk.is_initialized():
        sentry_sdk.set_tag(name, value)


class RequestIdFilter(logging.Filter):
    """Gives every record a request_id attribute: the current request's, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


LOG_FORMATS = ("plain", "json")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"


def logging_config(*, level: str, log_format: str) -> dict:
    """The LOGGING setting. Plain lines by default; ``json``: one JSON object a line (time, level,
    logger, message, request_id, and the exception when there is one), also for Django's and
    django-q2's own loggers, for a log collector to read."""
    if log_format == "json":
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    else:
        formatter = {"format": PLAIN_FORMAT}
    loggers = {
        "integration": {"handlers": ["console"], "level": level},
        "erp_bridge": {"handlers": ["console"], "level": level},
        "vtex_sandbox": {"handlers": ["console"], "level": level},
        # Every unhandled error of a request (admin, hook, API), with its traceback and request id:
        # Django's own handlers print it only in debug, so production logged it nowhere.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    }
    if log_format == "json":
        # Left alone in plain mode: Django prints its own (in debug) and django-q2 adds its handler.
        loggers["django"] = {"handlers": ["console"], "level": "INFO", "propagate": False}
        loggers["django.server"] = {"handlers": ["console"], "level": "INFO", "propagate": False}
        loggers["django-q"] = {"handlers": ["console"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "erp_bridge.observability.RequestIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main", "filters": ["request_id"]}},
        "loggers": loggers,
    }


# ---- Sentry ------------------------------------------------------------------------------------------

REDACTED = "[redacted]"
#: Keys (headers, variables, extra data) whose value is always removed, compared lower-case with
#: "-" read as "_". Sentry's own scrubber knows the generic ones; these are erp-bridge's.
SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "x_vtex_api_apptoken",
        "x_vtex_api_appkey",
        "http_x_vtex_api_apptoken",
        "http_x_vtex_api_appkey",
        "http_authorization",
        "http_cookie",
        "app_token",
        "app_key",
        "vtex_app_token",
        "vtex_app_key",
        "hook_secret",
        "vtex_hook_secret",
        "metrics_token",
        "erp_bridge_metrics_token",
        "secret_key",
        "django_secret_key",
        "database_url",
        "password",
        "token",
        "api_key",
        "dsn",
        "sentry_dsn",
    }
)
#: "Token 9944b0…" (the API's), "Bearer …" (the metrics') and "Basic …" wherever they appear in text.
_AUTH_VALUE_RE = re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
#: The password of a URL (postgres://user:password@host/...).
_URL_PASSWORD_RE = re.compile(r"(://[^/\s:@]+:)[^@\s/]+@")


def _normal_key(key: object) -> str:
    return str(key).lower().replace("-", "_")


class EventScrubber:
    """Sentry's before_send: removes the secrets erp-bridge knows from an event, wherever they are
    (request headers, exception messages, stack variables, breadcrumbs, extra data).

    Values are replaced by exact match (the VTEX app key and token, the hook secret, the metrics
    token, the secret key, the database password), by key name (SECRET_KEYS, and any header named
    by ``secret_headers``) and by pattern (Authorization values, passwords in URLs)."""

    def __init__(self, secrets: Iterable[str] = (), secret_headers: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is removed whole. Very short values
        # ("1", "x") would blank out unrelated text: they are not secrets worth the name.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        extra = {_normal_key(h) for h in secret_headers if h}
        self.keys = SECRET_KEYS | extra | {"http_" + key for key in extra}

    def __call__(self, event: dict, hint: dict | None = None) -> dict:
        return self._clean(event)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: (REDACTED if self._is_secret_key(key) and item not in (None, "") else self._clean(item))
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._clean_pair(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self._clean(item) for item in value)
        if isinstance(value, str):
            return self._clean_text(value)
        return value

    def _clean_pair(self, item: Any) -> Any:
        # Sentry sends headers and some data as [name, value] pairs.
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and self._is_secret_key(item[0]):
            return [item[0], REDACTED]
        return self._clean(item)

    def _is_secret_key(self, key: object) -> bool:
        return _normal_key(key) in self.keys

    def _clean_text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _AUTH_VALUE_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        return _URL_PASSWORD_RE.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def sentry_init(
    *,
    dsn: str,
    environment: str,
    secrets: Iterable[str],
    secret_headers: Iterable[str] = (),
    traces_sample_rate: float = 0.0,
    transport: Any = None,
) -> EventScrubber:
    """Starts Sentry in this process (web or cluster) with the Django integration, no personal data
    and erp-bridge's scrubber on every event and breadcrumb."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    scrubber = EventScrubber(secrets, secret_headers)
    options: dict[str, Any] = dict(
        dsn=dsn,
        environment=environment or None,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        # Stack variables help a lot and are scrubbed below; request bodies may carry customer
        # data (orders, invoices): not sent.
        include_local_variables=True,
        max_request_body_size="never",
        before_send=scrubber,
        before_breadcrumb=lambda crumb, hint: scrubber._clean(crumb),
        traces_sample_rate=traces_sample_rate,
    )
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    return scrubber


class DjangoQSentryReporter:
    """django-q2's error reporter (Q_CLUSTER["error_reporter"], found through the
    ``djangoq.errorreporters`` entry point declared in pyproject.toml): django-q2 calls report()
    inside the worker's ``except`` block, so the task's exception goes to Sentry with its stack.

    django-q2 also logs each failure on its "django-q" logger; with this reporter active that line
    would be a second, message-only event, so Sentry stops reading that logger."""

    def __init__(self, **options: Any) -> None:
        from sentry_sdk.integrations.logging import ignore_logger

        ignore_logger("django-q")

    def report(self) -> None:
        import sentry_sdk

        sentry_sdk.capture_exception()
