"""The VTEX client: the only code in erp-bridge that speaks HTTP to VTEX.

Rules it keeps (DESIGN.md "Retries", VTEX-API.md §0, §11):
- every attempt draws from the shared rate budget first, and a 429 pauses every process;
- every attempt has a connect and a read timeout, and never follows redirects;
- GETs are retried with backoff; POST/PUT/PATCH never are here: after a timeout their outcome
  is unknown, and only the caller (the outbox, intake) can read the order back and decide;
- every attempt is handed to the recorder (a VtexCall row), with credentials removed.

It knows nothing of Django models: the budget and the recorder are passed in.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import requests
from requests.adapters import HTTPAdapter

from integration.vtex.budget import RateBudget, UnlimitedBudget
from integration.vtex.errors import (
    VtexConfigurationError,
    VtexConnectionError,
    VtexError,
    VtexInvalidResponse,
    VtexRateLimited,
    VtexTimeout,
    error_class_for_status,
)

logger = logging.getLogger(__name__)

#: VTEX's List orders stops at page 30 (VTEX-API.md §1, §11); beyond it we narrow the dates.
LIST_MAX_PAGES = 30
LIST_PER_PAGE = 100
#: List orders only covers the last two years.
LIST_HORIZON = timedelta(days=730)
#: Feed v3 returns at most 10 messages per read.
FEED_MAX_LOT = 10
EXCERPT_CHARS = 2000
REDACTED = "[redacted]"


def _segment(value: str) -> str:
    """One path segment, percent-encoded, "/" included. A segment of only dots cannot be sent:
    requests decodes "%2E" and the path is then resolved as the current or the parent directory,
    so the call would reach another address (erp-bridge's invoicing refuses such numbers)."""
    if value and value.strip(".") == "":
        raise VtexError(f"{value!r} cannot be sent in a VTEX address (a path segment of only dots)")
    return quote(value, safe="")


@dataclass(frozen=True)
class VtexConfig:
    oms_url: str
    payments_url: str
    app_key: str
    app_token: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    get_attempts: int = 4
    #: Longest Retry-After we honour as given.
    max_retry_after: float = 120.0
    #: VTEX recommends a one-minute back-off after a 429 that names no Retry-After.
    default_retry_after: float = 60.0
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    pool_size: int = 16
    #: Other secrets that may travel in a body (the hook's shared secret): removed from records too.
    other_secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never print the token
        return f"VtexConfig(oms_url={self.oms_url!r}, payments_url={self.payments_url!r}, app_key={self.app_key!r})"


@dataclass(frozen=True)
class CallRecord:
    """One attempt, as the recorder receives it (becomes a VtexCall row)."""

    operation: str
    order_id: str
    method: str
    path: str
    status_code: int | None
    error: str
    duration_ms: int
    attempt: int
    request_excerpt: str
    response_excerpt: str
    created_at: datetime


Recorder = Callable[[CallRecord], None]


def _discard(record: CallRecord) -> None:
    return None


def _iso_millis(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def creation_date_filter(start: datetime, end: datetime) -> str:
    """VTEX's f_creationDate syntax (the spec's example: creationDate:[2022-01-01T02:00:00.000Z TO
    2022-01-02T01:59:59.999Z]); both ends are inclusive. Sent percent-encoded with %20 for the
    spaces (VtexClient._request)."""
    return f"creationDate:[{_iso_millis(start)} TO {_iso_millis(end)}]"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_details(text: str, reason: str) -> tuple[str, str]:
    """VTEX errors look like {"error": {"code": "OMS003", "message": "..."}}; tolerate anything.

    `text` is the body with credentials already removed (before any cut, so no part survives)."""
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        text = text.strip()
        return "", text[:300] or reason or "no message"
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            code = str(error.get("code") or "")
            message = str(error.get("message") or error.get("Message") or "").strip()
            return code, message or json.dumps(body)[:300]
        if isinstance(error, str):
            return "", error
    return "", json.dumps(body)[:300]


class VtexClient:
    def __init__(
        self,
        config: VtexConfig,
        *,
        budget: RateBudget | None = None,
        recorder: Recorder | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.budget = budget or UnlimitedBudget()
        self.recorder = recorder or _discard
        self.sleep = sleep
        self.session = session or self._new_session(config.pool_size)
        self._random = random.Random()
        self._random_lock = threading.Lock()

    @staticmethod
    def _new_session(pool_size: int) -> requests.Session:
        session = requests.Session()
        # Retries are ours (they must draw from the budget and be recorded), not urllib3's.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.trust_env = False  # no proxies or netrc credentials picked up by surprise
        return session

    # ---- the one place that sends -------------------------------------------------------------

    def _request(
        self,
        operation: str,
        method: str,
        url_base: str,
        path: str,
        *,
        order_id: str = "",
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        self._check_configured(url_base)
        attempts = self.config.get_attempts if method == "GET" else 1
        # Percent-encoded, a space as %20 (RFC 3986), not form-encoding's "+": VTEX's spec declares
        # the query parameters as OpenAPI "form" style, which encodes that way, and in
        # f_creationDate=creationDate:[FROM TO TO] a "+" is not read as a space everywhere.
        full_path = path + (f"?{urlencode(params, quote_via=quote)}" if params else "")
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        for attempt in range(1, attempts + 1):
            self.budget.acquire()
            started = time.monotonic()
            created_at = datetime.now(UTC)
            response = None
            try:
                response = self.session.request(
                    method,
                    url_base + full_path,
                    data=data,
                    # Built in the call, not kept in a local: a debug page listing this frame's
                    # variables must not show the app token.
                    headers=self._headers(),
                    timeout=(self.config.connect_timeout, self.config.read_timeout),
                    allow_redirects=False,
                )
            except requests.Timeout as exc:
                error: VtexError | None = VtexTimeout(
                    f"no answer within {self.config.read_timeout:g}s", method=method, path=full_path
                )
                cause: Exception | None = exc
            except requests.ConnectionError as exc:
                error, cause = (
                    VtexConnectionError(f"connection failed: {type(exc).__name__}", method=method, path=full_path),
                    exc,
                )
            except requests.RequestException as exc:  # a bad URL, a broken answer: never escape as-is
                error, cause = (
                    VtexConnectionError(f"request failed: {type(exc).__name__}", method=method, path=full_path),
                    exc,
                )
            else:
                error, cause = None, None
            duration_ms = int((time.monotonic() - started) * 1000)

            result: Any = None
            if response is not None:
                try:
                    result = self._interpret(response, method, full_path)
                except VtexError as exc:
                    error, cause = exc, None
            self._record(
                CallRecord(
                    operation=operation,
                    order_id=order_id,
                    method=method,
                    path=full_path,
                    status_code=response.status_code if response is not None else None,
                    error=type(error).__name__ if error is not None else "",
                    duration_ms=duration_ms,
                    attempt=attempt,
                    request_excerpt=self._excerpt(data.decode() if data else ""),
                    response_excerpt=self._excerpt(response.text if response is not None else str(error)),
                    created_at=created_at,
                )
            )
            if error is None:
                return result
            if isinstance(error, VtexRateLimited):
                self.budget.pause(self._rate_limit_pause(error))
            if error.transient and attempt < attempts:
                logger.info("VTEX %s %s failed (%s); attempt %d of %d", method, path, error, attempt, attempts)
                if not isinstance(error, VtexRateLimited):  # after a 429 the budget does the waiting
                    self.sleep(self._backoff(attempt))
                continue
            logger.debug("VTEX %s %s: %s caused by %s", method, path, error, type(cause).__name__ if cause else "-")
            # Not chained to the requests exception: its frames hold the request headers.
            raise error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _interpret(self, response: requests.Response, method: str, path: str) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except (ValueError, RecursionError) as exc:  # RecursionError: nested beyond the parser's stack
                raise VtexInvalidResponse(
                    "answer is not valid JSON" if isinstance(exc, ValueError) else "answer is nested too deeply",
                    status=status,
                    method=method,
                    path=path,
                    body=self._redact(response.text)[:300],
                ) from None
        # VTEX may echo the request, token included: errors are shown to staff and logged.
        text = self._redact(response.text)
        code, message = _error_details(text, response.reason)
        error_class = error_class_for_status(status)
        kwargs: dict[str, Any] = dict(status=status, code=code, method=method, path=path, body=text[:500])
        if error_class is VtexRateLimited:
            kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
        raise error_class(message, **kwargs)

    def _rate_limit_pause(self, error: VtexRateLimited) -> float:
        if error.retry_after is None:
            return self.config.default_retry_after
        return min(error.retry_after, self.config.max_retry_after)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
        with self._random_lock:
            return ceiling / 2 + self._random.uniform(0, ceiling / 2)  # jitter spreads the processes

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Content-Type": "application/json",  # VTEX marks it required on every OMS call, GETs too
            "X-VTEX-API-AppKey": self.config.app_key,
            "X-VTEX-API-AppToken": self.config.app_token,
        }

    def _redact(self, text: str) -> str:
        for secret in (self.config.app_token, *self.config.other_secrets):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def _excerpt(self, text: str) -> str:
        return self._redact(text)[:EXCERPT_CHARS]

    def _record(self, record: CallRecord) -> None:
        try:
            self.recorder(record)
        except Exception:  # a broken log must never turn a good VTEX answer into a failure
            logger.exception("could not record VTEX call %s %s", record.method, record.path)

    def _check_configured(self, url_base: str) -> None:
        if not url_base:
            raise VtexConfigurationError(
                "VTEX is not configured: set VTEX_ACCOUNT_NAME (or VTEX_OMS_URL / VTEX_PAYMENTS_URL)."
            )
        if not self.config.app_key or not self.config.app_token:
            raise VtexConfigurationError("VTEX credentials are missing: set VTEX_APP_KEY and VTEX_APP_TOKEN.")

    def _oms(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(operation, method, self.config.oms_url, path, **kwargs)

    # ---- orders ------------------------------------------------------------------------------------

    def list_orders_page(
        self,
        *,
        status: str,
        page: int = 1,
        per_page: int = LIST_PER_PAGE,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        order_by: str = "creationDate,asc",
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"f_status": status, "page": page, "per_page": per_page, "orderBy": order_by}
        if created_from is not None and created_to is not None:
            params["f_creationDate"] = creation_date_filter(created_from, created_to)
        answer = self._oms("list_orders", "GET", "/api/oms/pvt/orders", params=params)
        if not isinstance(answer, dict) or not isinstance(answer.get("list"), list):
            raise VtexInvalidResponse("List orders answer has no 'list' array", path="/api/oms/pvt/orders")
        return answer

    def iter_order_pages(
        self, *, status: str, created_from: datetime | None = None, created_to: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of orders in `status`, sorted oldest first, yielded LAST PAGE FIRST.

        The caller usually moves orders out of `status` while it reads (start-handling); read
        front to back, every order it moves would shift the later pages and hide an order.
        Read back to front, a move only shifts pages already read. New orders land on the
        last page and wait for the next run.

        VTEX serves at most 30 pages per filter; when more match, the creation-date range is
        cut in halves until each part fits (VTEX-API.md §1).
        """
        first = self.list_orders_page(status=status, created_from=created_from, created_to=created_to)
        pages = int((first.get("paging") or {}).get("pages") or 1)
        if pages <= LIST_MAX_PAGES:
            for page in range(pages, 1, -1):
                yield self.list_orders_page(status=status, page=page, created_from=created_from, created_to=created_to)[
                    "list"
                ]
            yield first["list"]
            return
        if created_from is None or created_to is None:
            created_to = datetime.now(UTC) + timedelta(minutes=1)
            created_from = created_to - LIST_HORIZON
        if created_to - created_from <= timedelta(seconds=1):
            raise VtexError(
                f"more than {LIST_MAX_PAGES * LIST_PER_PAGE} orders created within one second; "
                "VTEX's List orders cannot page through them (use the feed)"
            )
        middle = created_from + (created_to - created_from) / 2
        yield from self.iter_order_pages(status=status, created_from=created_from, created_to=middle)
        yield from self.iter_order_pages(
            status=status, created_from=middle + timedelta(milliseconds=1), created_to=created_to
        )

    def get_order(self, order_id: str) -> dict[str, Any]:
        answer = self._oms("get_order", "GET", f"/api/oms/pvt/orders/{_segment(order_id)}", order_id=order_id)
        if not isinstance(answer, dict) or "orderId" not in answer:
            raise VtexInvalidResponse("Get order answer has no orderId", path=f"/api/oms/pvt/orders/{order_id}")
        return answer

    def get_payment_transaction(self, order_id: str) -> dict[str, Any]:
        """The OMS proxy of the order's transaction; needs only OMS 'View order' permission."""
        path = f"/api/oms/pvt/orders/{_segment(order_id)}/payment-transaction"
        return self._oms("get_payment_transaction", "GET", path, order_id=order_id)

    def start_handling(self, order_id: str) -> None:
        path = f"/api/oms/pvt/orders/{_segment(order_id)}/start-handling"
        self._oms("start_handling", "POST", path, order_id=order_id)

    def send_invoice(self, order_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/oms/pvt/orders/{_segment(order_id)}/invoice"
        return self._oms("send_invoice", "POST", path, order_id=order_id, body=payload)

    def update_invoice_tracking(self, order_id: str, invoice_number: str, payload: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/oms/pvt/orders/{_segment(order_id)}/invoice/{_segment(invoice_number)}"
        return self._oms("update_invoice_tracking", "PATCH", path, order_id=order_id, body=payload)

    def send_tracking_events(self, order_id: str, invoice_number: str, payload: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/oms/pvt/orders/{_segment(order_id)}/invoice/{_segment(invoice_number)}/tracking"
        return self._oms("send_tracking_events", "PUT", path, order_id=order_id, body=payload)

    def cancel_order(self, order_id: str, *, reason: str) -> dict[str, Any]:
        path = f"/api/oms/pvt/orders/{_segment(order_id)}/cancel"
        return self._oms("cancel_order", "POST", path, order_id=order_id, body={"reason": reason}) or {}

    # ---- payments (another host) ---------------------------------------------------------------------

    # order_id only labels the call record, so the call shows on that order's timeline.
    def get_transaction(self, transaction_id: str, *, order_id: str = "") -> dict[str, Any]:
        path = f"/api/pvt/transactions/{_segment(transaction_id)}"
        return self._request("get_transaction", "GET", self.config.payments_url, path, order_id=order_id)

    def get_transaction_payments(self, transaction_id: str, *, order_id: str = "") -> list[dict[str, Any]]:
        path = f"/api/pvt/transactions/{_segment(transaction_id)}/payments"
        answer = self._request("get_transaction_payments", "GET", self.config.payments_url, path, order_id=order_id)
        if isinstance(answer, dict):  # the spec models one payment; accept both shapes (VTEX-API.md §8)
            return [answer]
        if not isinstance(answer, list):
            raise VtexInvalidResponse("payments answer is neither a list nor an object", path=path)
        return answer

    # ---- Feed v3 and hook ----------------------------------------------------------------------------

    def get_feed_config(self) -> dict[str, Any]:
        return self._oms("get_feed_config", "GET", "/api/orders/feed/config")

    def save_feed_config(self, config: dict[str, Any]) -> None:
        self._oms("save_feed_config", "POST", "/api/orders/feed/config", body=config)

    def delete_feed_config(self) -> None:
        self._oms("delete_feed_config", "DELETE", "/api/orders/feed/config")

    def read_feed(self, *, max_lot: int = FEED_MAX_LOT) -> list[dict[str, Any]]:
        if not 1 <= max_lot <= FEED_MAX_LOT:
            raise ValueError(f"max_lot must be between 1 and {FEED_MAX_LOT}")
        answer = self._oms("read_feed", "GET", "/api/orders/feed", params={"maxlot": max_lot})
        if answer is None:
            return []
        if not isinstance(answer, list):  # callers iterate events; anything else must fail as a VtexError
            raise VtexInvalidResponse("feed answer is not a list", method="GET", path="/api/orders/feed")
        return answer

    def commit_feed(self, handles: list[str]) -> None:
        self._oms("commit_feed", "POST", "/api/orders/feed", body={"handles": handles})

    def get_hook_config(self) -> dict[str, Any]:
        return self._oms("get_hook_config", "GET", "/api/orders/hook/config")

    def save_hook_config(self, config: dict[str, Any]) -> None:
        self._oms("save_hook_config", "POST", "/api/orders/hook/config", body=config)

    def delete_hook_config(self) -> None:
        self._oms("delete_hook_config", "DELETE", "/api/orders/hook/config")
