"""The sandbox store over HTTP: VTEX's OMS, Payments, Feed v3 and hook routes on one port.

Pure standard library (``http.server``). One ``SandboxServer`` serves both ``VTEX_OMS_URL`` and
``VTEX_PAYMENTS_URL``. On top of the store's rules it adds what a client meets on the wire:
authentication, a rate limit answering 429 + Retry-After, injected faults (429/500/503, slow
answers, dropped connections, lost answers), latency, HTTP/1.1 keep-alive, plus control routes
under ``/_sandbox/`` and a status page at ``/`` for people running the demo.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import math
import random
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .store import BadRequest, NotFound, SandboxStore, StoreError

logger = logging.getLogger("integration.sandbox")

FAULT_KINDS = ("429", "500", "503", "slow", "drop")
_FAULT_STATUS_MESSAGES = {
    "429": "Too Many Requests (sandbox fault)",
    "500": "Internal Server Error (sandbox fault)",
    "503": "Service Unavailable (sandbox fault)",
}
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
_RATE_WINDOW_S = 60.0
_IDLE_CONNECTION_TIMEOUT_S = 120
_POLL_INTERVAL_S = 0.05  # how soon stop() takes effect


@dataclass(frozen=True)
class FaultConfig:
    """Which faults to inject, decided per request by a seeded RNG.

    - ``fail_rate``: probability that a VTEX request fails with one of ``kinds``, equally likely:
      ``429`` (with ``Retry-After: retry_after_s``), ``500``, ``503``, ``slow`` (sleep ``slow_s``,
      then answer normally, to outlast the client's read timeout) or ``drop`` (close the
      connection without answering; the effect is not applied).
    - ``lost_rate``: independently, probability that a POST/PUT/PATCH is applied and then its
      answer is lost (the connection is closed without answering).
    """

    fail_rate: float = 0.0
    lost_rate: float = 0.0
    retry_after_s: int = 1
    slow_s: float = 3.0
    seed: int | None = None
    kinds: tuple[str, ...] = FAULT_KINDS

    def __post_init__(self) -> None:
        for name in ("fail_rate", "lost_rate"):
            rate = getattr(self, name)
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1")
        if isinstance(self.retry_after_s, bool) or not isinstance(self.retry_after_s, int | float):
            raise ValueError("retry_after_s must be a number of seconds")
        if self.retry_after_s < 0 or self.slow_s < 0:
            raise ValueError("retry_after_s and slow_s must not be negative")
        kinds = tuple(self.kinds)
        unknown = set(kinds) - set(FAULT_KINDS)
        if not kinds or unknown:
            raise ValueError(f"kinds must be a non-empty subset of {FAULT_KINDS}")
        object.__setattr__(self, "kinds", kinds)

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "kinds": list(self.kinds)}


class FaultInjector:
    """Draws the faults of ``FaultConfig`` from one RNG, safely across handler threads."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.config = config
        self._rng = random.Random(config.seed)

    def update(self, **changes: Any) -> FaultConfig:
        with self._lock:
            self.config = dataclasses.replace(self.config, **changes)
            if "seed" in changes:
                self._rng = random.Random(self.config.seed)
            return self.config

    def pick_failure(self) -> str | None:
        with self._lock:
            if self.config.fail_rate and self._rng.random() < self.config.fail_rate:
                return self._rng.choice(self.config.kinds)
            return None

    def pick_lost(self, method: str) -> bool:
        with self._lock:
            if method not in _WRITE_METHODS or not self.config.lost_rate:
                return False
            return self._rng.random() < self.config.lost_rate


#: The longest latency the sandbox takes (a minute: longer would only hang clients).
MAX_LATENCY_MS = 60_000


def checked_latency_ms(ms: object, name: str) -> int:
    """`ms` when it is a latency the sandbox takes; else ValueError naming `name`."""
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_LATENCY_MS:
        raise ValueError(f"{name} must be an integer between 0 and {MAX_LATENCY_MS}")
    return ms


class RateLimiter:
    """A sliding 60-second window over every VTEX route; rejected requests take no slot."""

    def __init__(self, rpm: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._accepted: deque[float] = deque()
        self.rpm: int | None = None
        self.set_rpm(rpm)

    def set_rpm(self, rpm: int | None, *, fresh_window: bool = False) -> None:
        """A new limit; with fresh_window, the requests accepted so far stop counting against it."""
        if rpm is not None and (isinstance(rpm, bool) or not isinstance(rpm, int) or rpm < 1):
            raise ValueError("rpm must be a positive integer or null")
        with self._lock:
            self.rpm = rpm
            if fresh_window:
                self._accepted.clear()

    def acquire(self) -> int | None:
        """None when the request may go on, else the seconds until a slot frees (at least 1)."""
        with self._lock:
            now = self._clock()
            while self._accepted and self._accepted[0] <= now - _RATE_WINDOW_S:
                self._accepted.popleft()
            if self.rpm is not None and len(self._accepted) >= self.rpm:
                return max(1, math.ceil(self._accepted[0] + _RATE_WINDOW_S - now))
            self._accepted.append(now)
            return None


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


_UNAUTHORIZED = {"code": "1", "message": "Unauthorized access"}  # VTEX-API.md §3


# -- VTEX routes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    method: str
    params: dict[str, str]  # path parameters, URL-decoded
    query: dict[str, str]  # first value of each query parameter
    body: Any  # parsed JSON, or None when there was no body


_CREATION_DATE_FILTER = re.compile(r"^creationDate:\[(?P<start>[^\]]+?) TO (?P<end>[^\]]+?)\]$")


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


def _parse_filter_date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"f_creationDate: '{text}' is not an ISO 8601 date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _list_orders(store: SandboxStore, request: Request) -> Answer:
    query = request.query
    statuses = [status.strip() for status in query.get("f_status", "").split(",") if status.strip()]
    created_from = created_to = None
    if query.get("f_creationDate"):
        match = _CREATION_DATE_FILTER.match(query["f_creationDate"].strip())
        if match is None:
            raise BadRequest(
                "f_creationDate must look like creationDate:[2024-01-01T00:00:00.000Z TO 2024-01-02T00:00:00.000Z]"
            )
        created_from, created_to = _parse_filter_date(match["start"]), _parse_filter_date(match["end"])
    field_name, _, direction = query.get("orderBy", "creationDate,desc").partition(",")
    if direction.lower() not in ("asc", "desc", ""):
        raise BadRequest("orderBy must look like creationDate,desc (direction asc or desc)")
    answer = store.list_orders(
        statuses=statuses,
        created_from=created_from,
        created_to=created_to,
        page=_int_param(query, "page", 1),
        per_page=_int_param(query, "per_page", 15),
        order_by=field_name,
        descending=direction.lower() != "asc",
    )
    return Answer(200, answer)


def _get_order(store: SandboxStore, request: Request) -> Answer:
    return Answer(200, store.order(request.params["orderId"]))


def _start_handling(store: SandboxStore, request: Request) -> Answer:
    store.start_handling(request.params["orderId"])
    return Answer(204)


def _cancel(store: SandboxStore, request: Request) -> Answer:
    body = request.body if request.body is not None else {}
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadRequest("reason must be a string")
    return Answer(200, store.cancel(request.params["orderId"], reason))


def _invoice(store: SandboxStore, request: Request) -> Answer:
    return Answer(200, store.invoice(request.params["orderId"], request.body))


def _invoice_tracking_number(store: SandboxStore, request: Request) -> Answer:
    params = request.params
    return Answer(200, store.update_invoice_tracking(params["orderId"], params["invoiceNumber"], request.body))


def _invoice_tracking_events(store: SandboxStore, request: Request) -> Answer:
    params = request.params
    return Answer(200, store.put_tracking_events(params["orderId"], params["invoiceNumber"], request.body))


def _payment_transaction(store: SandboxStore, request: Request) -> Answer:
    return Answer(200, store.payment_transaction(request.params["orderId"]))


def _transaction(store: SandboxStore, request: Request) -> Answer:
    return Answer(200, store.transaction(request.params["transactionId"]))


def _transaction_payments(store: SandboxStore, request: Request) -> Answer:
    return Answer(200, store.transaction_payments(request.params["transactionId"]))


def _transaction_payment(store: SandboxStore, request: Request) -> Answer:
    params = request.params
    return Answer(200, store.transaction_payment(params["transactionId"], params["paymentId"]))


def _feed_config_get(store: SandboxStore, request: Request) -> Answer:
    return Answer(200, store.feed_config())


def _feed_config_post(store: SandboxStore, request: Request) -> Answer:
    store.set_feed_config(request.body)
    return Answer(200)  # the spec documents a bare 200 "OK"


def _feed_config_delete(store: SandboxStore, request: Request) -> Answer:
    store.delete_feed_config()
    return Answer(200)


def _feed_read(store: SandboxStore, request: Request) -> Answer:
    if not request.query.get("maxlot"):
        raise BadRequest("maxlot is required (1 to 10)")
    return Answer(200, store.read_feed(_int_param(request.query, "maxlot", 0)))


def _feed_commit(store: SandboxStore, request: Request) -> Answer:
    store.commit_feed(request.body)
    return Answer(200)


def _hook_config_get(store: SandboxStore, request: Request) -> Answer:
    return Answer(200, store.hook_config())


def _hook_config_post(store: SandboxStore, request: Request) -> Answer:
    return Answer(200, store.set_hook_config(request.body))


def _hook_config_delete(store: SandboxStore, request: Request) -> Answer:
    store.delete_hook_config()
    return Answer(200)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str  # the key in store.requests_count
    handler: Callable[[SandboxStore, Request], Answer]


def _route(method: str, template: str, name: str, handler: Callable[[SandboxStore, Request], Answer]) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(f"^{regex}$"), name, handler)


VTEX_ROUTES = (
    _route("GET", "/api/oms/pvt/orders", "list_orders", _list_orders),
    _route("GET", "/api/oms/pvt/orders/{orderId}", "get_order", _get_order),
    _route("POST", "/api/oms/pvt/orders/{orderId}/start-handling", "start_handling", _start_handling),
    _route("POST", "/api/oms/pvt/orders/{orderId}/cancel", "cancel", _cancel),
    _route("GET", "/api/oms/pvt/orders/{orderId}/payment-transaction", "payment_transaction", _payment_transaction),
    _route("POST", "/api/oms/pvt/orders/{orderId}/invoice", "invoice", _invoice),
    _route(
        "PATCH",
        "/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}",
        "invoice_tracking_number",
        _invoice_tracking_number,
    ),
    _route(
        "PUT",
        "/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}/tracking",
        "invoice_tracking_events",
        _invoice_tracking_events,
    ),
    _route("GET", "/api/pvt/transactions/{transactionId}", "transaction", _transaction),
    _route("GET", "/api/pvt/transactions/{transactionId}/payments", "transaction_payments", _transaction_payments),
    _route(
        "GET", "/api/pvt/transactions/{transactionId}/payments/{paymentId}", "transaction_payment", _transaction_payment
    ),
    _route("GET", "/api/orders/feed/config", "feed_config_get", _feed_config_get),
    _route("POST", "/api/orders/feed/config", "feed_config_post", _feed_config_post),
    _route("DELETE", "/api/orders/feed/config", "feed_config_delete", _feed_config_delete),
    _route("GET", "/api/orders/feed", "feed_read", _feed_read),
    _route("POST", "/api/orders/feed", "feed_commit", _feed_commit),
    _route("GET", "/api/orders/hook/config", "hook_config_get", _hook_config_get),
    _route("POST", "/api/orders/hook/config", "hook_config_post", _hook_config_post),
    _route("DELETE", "/api/orders/hook/config", "hook_config_delete", _hook_config_delete),
)


def match_route(method: str, path: str) -> tuple[Route | None, dict[str, str]]:
    for route in VTEX_ROUTES:
        if route.method == method:
            match = route.pattern.match(path)
            if match:
                return route, {name: unquote(value) for name, value in match.groupdict().items()}
    return None, {}


# -- the server -----------------------------------------------------------------------------------
class SandboxServer:
    """Serves a ``SandboxStore`` over HTTP (see the module docstring)."""

    def __init__(
        self,
        store: SandboxStore,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultConfig | None = None,
        rate_limit_rpm: int | None = None,
        latency_ms: int = 0,
    ) -> None:
        self.store = store
        self.latency_ms = checked_latency_ms(latency_ms, "latency_ms")
        self._faults = FaultInjector(faults or FaultConfig())
        self.rate_limiter = RateLimiter(rate_limit_rpm)
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None
        self._serving = False
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.connections_opened = 0  # lets tests see keep-alive at work

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    @property
    def faults(self) -> FaultConfig:
        return self._faults.config

    def set_faults(self, **changes: Any) -> FaultConfig:
        """Change fault settings at run time (keeps the RNG unless ``seed`` is given)."""
        return self._faults.update(**changes)

    def set_rate_limit(self, rpm: int | None, *, fresh_window: bool = False) -> None:
        self.rate_limiter.set_rpm(rpm, fresh_window=fresh_window)

    def set_latency(self, ms: int) -> None:
        self.latency_ms = checked_latency_ms(ms, "ms")

    def start(self) -> SandboxServer:
        """Serve in a daemon thread."""
        self._serving = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL_S},
            name="vtex-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C (or ``stop()`` from another thread)."""
        self._serving = True
        try:
            self._httpd.serve_forever(poll_interval=_POLL_INTERVAL_S)
        except KeyboardInterrupt:
            pass
        finally:
            self._serving = False
            self._close()

    def stop(self) -> None:
        if self._serving:
            self._serving = False
            self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _close(self) -> None:
        # Idle keep-alive connections would keep their handler threads waiting: close them.
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()

    def _track(self, connection: socket.socket, opened: bool) -> None:
        with self._connections_lock:
            if opened:
                self._connections.add(connection)
                self.connections_opened += 1
            else:
                self._connections.discard(connection)

    # -- request handling (called from handler threads) ------------------------------------------
    def handle_vtex(self, handler: _Handler, method: str, path: str, query: dict[str, str], raw_body: bytes) -> None:
        route, params = match_route(method, path)
        route_name = route.name if route else "unknown"
        answer = self._vtex_answer(handler, method, route, params, query, raw_body)
        self.store.record_request(route_name, None if answer is None else answer.status)
        if answer is None:
            handler.drop_connection()
        else:
            handler.send_answer(answer)

    def _vtex_answer(
        self,
        handler: _Handler,
        method: str,
        route: Route | None,
        params: dict[str, str],
        query: dict[str, str],
        raw_body: bytes,
    ) -> Answer | None:
        """The answer to send, or None to close the connection without answering."""
        started = time.monotonic()
        wait_s = self.rate_limiter.acquire()
        if wait_s is not None:
            return error_answer(429, "Too Many Requests: rate limit exceeded", headers={"Retry-After": str(wait_s)})
        fault = self._faults.pick_failure()
        if fault == "drop":
            return None
        if fault in _FAULT_STATUS_MESSAGES:
            headers = {"Retry-After": str(math.ceil(self.faults.retry_after_s))} if fault == "429" else {}
            return error_answer(int(fault), _FAULT_STATUS_MESSAGES[fault], headers=headers)
        if fault == "slow":
            time.sleep(self.faults.slow_s)
        if route is None:
            answer = error_answer(404, f"No such route: {method} {handler.path.split('?')[0]}")
        elif not self.store.credentials_match(
            handler.headers.get("X-VTEX-API-AppKey"), handler.headers.get("X-VTEX-API-AppToken")
        ):
            answer = error_answer(401, _UNAUTHORIZED["message"], _UNAUTHORIZED["code"])
        else:
            lost = self._faults.pick_lost(method)
            try:
                answer = route.handler(self.store, Request(method, params, query, _parse_json(raw_body)))
            except StoreError as error:
                answer = error_answer(error.http_status, error.message, error.code)
            if lost:
                answer = None
        if answer is not None and answer.raw is None and answer.body is not None:
            answer.raw = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")  # inside the latency too
        self._wait_out_latency(started)
        return answer

    def _wait_out_latency(self, started: float) -> None:
        # The latency is the whole time VTEX takes to answer: the sandbox's own work (the store,
        # copying the order) is part of it, not added to it, so a client measured against
        # "20 ms a call" meets 20 ms, however busy this process is.
        if self.latency_ms:
            left_s = self.latency_ms / 1000 - (time.monotonic() - started)
            if left_s > 0:
                time.sleep(left_s)

    def handle_control(self, handler: _Handler, method: str, path: str, raw_body: bytes) -> None:
        try:
            answer = self._control_answer(method, path, raw_body)
        except StoreError as error:
            answer = error_answer(error.http_status, error.message, error.code)
        except (ValueError, TypeError) as error:
            answer = error_answer(400, str(error))
        handler.send_answer(answer)

    def _control_answer(self, method: str, path: str, raw_body: bytes) -> Answer:
        store = self.store
        if method == "GET" and path == "/":
            return Answer(200, raw=render_status_page(self).encode(), content_type="text/html; charset=utf-8")
        if method == "GET" and path == "/_sandbox/state":
            return Answer(200, self.state())
        if method == "POST" and path == "/_sandbox/orders":
            body = _json_object(raw_body)
            count = body.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
                raise ValueError("count must be an integer between 1 and 10000")
            order_ids = store.add_orders(count, body.get("status", "ready-for-handling"))
            return Answer(200, {"order_ids": order_ids})
        if method == "POST" and path == "/_sandbox/faults":
            body = _json_object(raw_body)
            allowed = {f.name for f in dataclasses.fields(FaultConfig)}
            unknown = set(body) - allowed
            if unknown:
                raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
            if "kinds" in body:
                body["kinds"] = tuple(body["kinds"])
            return Answer(200, self.set_faults(**body).as_dict())
        if method == "POST" and path == "/_sandbox/rate-limit":
            body = _json_object(raw_body)
            fresh_window = body.get("fresh_window", False)
            if not isinstance(fresh_window, bool):
                raise ValueError("fresh_window must be true or false")
            self.set_rate_limit(body.get("rpm"), fresh_window=fresh_window)
            return Answer(200, {"rate_limit_rpm": self.rate_limiter.rpm})
        if method == "POST" and path == "/_sandbox/latency":
            self.set_latency(_json_object(raw_body).get("ms"))
            return Answer(200, {"latency_ms": self.latency_ms})
        match = re.fullmatch(r"/_sandbox/orders/(?P<order_id>[^/]+)(?P<status>/status)?", path)
        if match and method == "GET" and not match["status"]:
            return Answer(200, store.order(unquote(match["order_id"])))
        if match and method == "POST" and match["status"]:
            status = _json_object(raw_body).get("status")
            if not isinstance(status, str):
                raise ValueError("status is required")
            order_id = unquote(match["order_id"])
            store.set_status(order_id, status)
            return Answer(200, {"orderId": order_id, "status": store.order(order_id)["status"]})
        raise NotFound(f"No such control route: {method} {path}")

    def state(self) -> dict[str, Any]:
        return {
            **self.store.state(),
            "faults": self.faults.as_dict(),
            "rate_limit_rpm": self.rate_limiter.rpm,
            "latency_ms": self.latency_ms,
        }


def _parse_json(raw_body: bytes) -> Any:
    if not raw_body.strip():
        return None
    try:
        return json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"Request body is not valid JSON: {error}") from None


def _json_object(raw_body: bytes) -> dict[str, Any]:
    body = _parse_json(raw_body)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a pool opening ten connections at once while the
    # accepting thread waits for the GIL had some SYNs dropped, and their clients waited for the
    # kernel's one-second SYN retry (a connect timeout in the tests). Real servers queue hundreds.
    request_queue_size = 128
    sandbox: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError | OSError):
            return  # the client went away, e.g. it timed out waiting for a slow answer
        logger.exception("sandbox: error while handling a request from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server_version = "VTEX-Sandbox/1.0"
    sys_version = ""
    timeout = _IDLE_CONNECTION_TIMEOUT_S
    disable_nagle_algorithm = True  # small answers would otherwise wait ~40 ms for delayed ACKs
    # Headers and body leave in one write (sent when the handler flushes after each request), as
    # a real server's would: answered in two, every client read is split in two.
    wbufsize = 1 << 16
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.sandbox._track(self.connection, opened=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, opened=False)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        self._status_sent: int | None = None
        url = urlsplit(self.path)
        raw_body = self._read_body()
        if raw_body is None:
            return
        sandbox = self.server.sandbox
        if url.path.startswith("/api/"):  # every VTEX route; the rest (/, /_sandbox/, favicon...) is ours
            query = {name: values[0] for name, values in parse_qs(url.query, keep_blank_values=True).items()}
            sandbox.handle_vtex(self, method, url.path, query, raw_body)
        else:
            sandbox.handle_control(self, method, url.path, raw_body)
        # Only the method, path and status are logged: never headers (they carry the app token).
        logger.debug(
            "%s %s -> %s (%.0f ms)",
            method,
            self.path,
            self._status_sent or "no answer",
            (time.monotonic() - started) * 1000,
        )

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self.send_answer(error_answer(411, "Send the body with a Content-Length header"))
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self.send_answer(error_answer(400, "Invalid Content-Length header"))
            return None
        return self.rfile.read(length) if length else b""

    def send_answer(self, answer: Answer) -> None:
        if answer.raw is not None:
            payload = answer.raw
        elif answer.body is not None:
            payload = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
        else:
            payload = b""
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", answer.content_type)
        if answer.status != 204:  # RFC 9110 §8.6: no Content-Length on a 204
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)
        self._status_sent = answer.status

    def drop_connection(self) -> None:
        """Close the connection without sending anything (dropped connection / lost answer)."""
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        logger.debug("sandbox: " + format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _dispatch logs one line per request instead


# -- the status page ------------------------------------------------------------------------------
def format_brl(cents: int) -> str:
    """R$ 1.234,56 (pt-BR separators)."""
    sign = "-" if cents < 0 else ""
    text = f"{abs(cents) / 100:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{sign}R$ {text}"


_STATUS_COLOURS = {
    "ready-for-handling": "#1f6feb",
    "handling": "#9a6700",
    "invoiced": "#1a7f37",
    "cancellation-requested": "#bc4c00",
    "canceled": "#cf222e",
}

_PAGE_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px} .muted{color:#59636e}
.cards{display:flex;flex-wrap:wrap;gap:12px} .card{border:1px solid #d1d9e0;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:18px} table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #d1d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.num{text-align:right;white-space:nowrap} code{font-size:13px}
.status{color:#fff;border-radius:10px;padding:1px 8px;white-space:nowrap;font-size:12px}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value))


def render_status_page(server: SandboxServer) -> str:
    """A self-contained HTML page (no external assets) with VTEX's side of the demo."""
    state = server.state()
    store = server.store
    orders = store.orders_overview(limit=200)
    status_cards = "".join(
        f'<div class="card">{_esc(status)}<b>{count}</b></div>' for status, count in state["orders_by_status"].items()
    )
    effects = state["effects"]
    effect_cards = "".join(
        f'<div class="card">{_esc(name)}<b>{_count_effects(counter)}</b></div>' for name, counter in effects.items()
    )
    feed, faults, requests = state["feed"], state["faults"], state["requests"]
    feed_text = f"{feed['queued']} / {feed['in_flight']}" if feed["configured"] else "not configured"
    rows = "".join(_order_row(order) for order in orders)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>VTEX sandbox · {_esc(state["account"])}</title><style>{_PAGE_STYLE}</style></head>
<body>
<h1>VTEX sandbox store <code>{_esc(state["account"])}</code></h1>
<p class="muted">OMS and Payments at <code>{_esc(server.url)}</code> · app key <code>{_esc(store.app_key)}</code> ·
this page refreshes every 5 s · JSON at <a href="/_sandbox/state">/_sandbox/state</a></p>
<h2>Orders by status</h2><div class="cards">{status_cards}</div>
<h2>Effects of the integration's calls</h2><div class="cards">{effect_cards}</div>
<h2>Traffic</h2>
<div class="cards">
<div class="card">requests<b>{requests["total"]}</b></div>
<div class="card">answered 429<b>{requests["429"]}</b></div>
<div class="card">feed queued / in flight<b>{feed_text}</b></div>
<div class="card">hook<b>{_esc(state["hook"]["url"] or "—")}</b></div>
<div class="card">faults<b>fail {faults["fail_rate"]:.0%} · lost {faults["lost_rate"]:.0%}</b></div>
<div class="card">rate limit<b>{_esc(state["rate_limit_rpm"] or "—")} rpm</b></div>
</div>
<h2>Orders <span class="muted">(newest {len(orders)})</span></h2>
<table><thead><tr><th>Order</th><th>Seq</th><th>Created (UTC)</th><th>Customer</th><th>Status</th>
<th>Value</th><th>Invoices</th></tr></thead><tbody>{rows}</tbody></table>
</body></html>
"""


def _count_effects(counter: dict[str, Any]) -> int:
    return sum(_count_effects(value) if isinstance(value, dict) else value for value in counter.values())


def _order_row(order: dict[str, Any]) -> str:
    colour = _STATUS_COLOURS.get(order["status"], "#59636e")
    invoices = "<br>".join(
        f"{_esc(invoice['type'])} <code>{_esc(invoice['number'])}</code> {format_brl(invoice['value'])}"
        + (f" · tracking <code>{_esc(invoice['trackingNumber'])}</code>" if invoice["trackingNumber"] else "")
        + (" · delivered" if invoice["delivered"] else "")
        for invoice in order["invoices"]
    )
    return (
        f"<tr><td><code>{_esc(order['orderId'])}</code></td><td>{_esc(order['sequence'])}</td>"
        f"<td>{_esc(order['creationDate'][:19].replace('T', ' '))}</td><td>{_esc(order['client'])}</td>"
        f'<td><span class="status" style="background:{colour}">{_esc(order["status"])}</span></td>'
        f'<td class="num">{format_brl(order["value"])}</td><td>{invoices or "—"}</td></tr>'
    )
