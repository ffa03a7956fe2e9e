"""The sandbox store over HTTP: VTEX's OMS, Payments, Feed v3 and hook routes on one port.

Pure standard library (``http.server``). One ``SandboxServer`` serves both ``VTEX_OMS_URL`` and
``VTEX_PAYMENTS_URL``. It matches a request against the routes of each API module (oms,
payments, feed, hook) and, on top of the store's rules, adds what a client meets on the wire:
authentication, a rate limit answering 429 + Retry-After, injected faults (429/500/503, slow
answers, dropped connections, lost answers), latency (faults.py), HTTP/1.1 keep-alive, plus
control routes under ``/_sandbox/`` and a status page at ``/`` for people running the demo.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import json
import logging
import math
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import feed, hook, oms, payments
from .errors import BadRequest, NotFound, StoreError
from .faults import (
    FAULT_STATUS_MESSAGES,
    FaultConfig,
    FaultInjector,
    LatencyPicker,
    LatencyTail,
    RateLimiter,
    checked_latency_ms,
)
from .nfe import NfeIssuer
from .routing import Answer, Request, Route, error_answer
from .shapes import CURRENCIES
from .store import SandboxStore

# Under the app's logger, as before the sandbox left the app: the settings' console handler prints it.
logger = logging.getLogger("vtex_sandbox")

_IDLE_CONNECTION_TIMEOUT_S = 120
_POLL_INTERVAL_S = 0.05  # how soon stop() takes effect

_UNAUTHORIZED = {"code": "1", "message": "Unauthorized access"}  # VTEX-API.md §3


# -- VTEX routes: each API module lists its own -----------------------------------------------------
VTEX_ROUTES = (*oms.ROUTES, *payments.ROUTES, *feed.ROUTES, *hook.ROUTES)


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
        latency_tail: LatencyTail | None = None,
    ) -> None:
        self.store = store
        self._latency = LatencyPicker(checked_latency_ms(latency_ms, "latency_ms"), latency_tail)
        self.in_flight = InFlightGauge()
        self.arrivals = Arrivals(store)
        self._faults = FaultInjector(faults or FaultConfig())
        self.rate_limiter = RateLimiter(rate_limit_rpm)
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None
        self._serving = False
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.connections_opened = 0  # lets tests see keep-alive at work
        # The throwaway NF-e certificate: made on the first NF-e asked for (an RSA key takes a
        # moment, and most sandboxes never issue one), then kept for this server's life.
        self._nfe_issuer: NfeIssuer | None = None
        self._nfe_lock = threading.Lock()
        self._nfe_numbers = itertools.count(1001)

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

    @property
    def latency_ms(self) -> int:
        return self._latency.ms

    @property
    def latency_tail(self) -> LatencyTail | None:
        return self._latency.tail

    def set_latency(self, ms: int, tail: LatencyTail | None = None) -> None:
        """A fixed latency, and optionally a long tail (a seeded share of answers take tail.ms)."""
        self._latency.set(checked_latency_ms(ms, "ms"), tail)

    def nfe(self, order_id: str, options: dict[str, Any]) -> bytes:
        """A signed NF-e for the order, as its ERP would issue it (vtex_sandbox/nfe.py)."""
        allowed = {"number", "environment", "with_protocol", "quantities", "value_cents", "purpose", "series"}
        unknown = set(options) - allowed
        if unknown:
            raise ValueError(f"unknown NF-e options: {', '.join(sorted(unknown))}")
        if "quantities" in options:
            options["quantities"] = {int(index): int(quantity) for index, quantity in options["quantities"].items()}
        order = self.store.order(order_id)
        with self._nfe_lock:
            if self._nfe_issuer is None:
                self._nfe_issuer = NfeIssuer.create()
            number = options.pop("number", None) or next(self._nfe_numbers)
        return self._nfe_issuer.build(order, number=number, **options)

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
        self.arrivals.stop()
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
        self.in_flight.enter()
        try:
            answer = self._vtex_answer(handler, method, route, params, query, raw_body)
        finally:
            self.in_flight.leave()
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
        latency_ms = self._latency.draw_ms()
        wait_s = self.rate_limiter.acquire()
        if wait_s is not None:
            return error_answer(429, "Too Many Requests: rate limit exceeded", headers={"Retry-After": str(wait_s)})
        fault = self._faults.pick_failure()
        if fault == "drop":
            return None
        if fault in FAULT_STATUS_MESSAGES:
            headers = {"Retry-After": str(math.ceil(self.faults.retry_after_s))} if fault == "429" else {}
            return error_answer(int(fault), FAULT_STATUS_MESSAGES[fault], headers=headers)
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
            # backslashreplace: a lone surrogate (only a hostile order has one) goes out as JSON's
            # "\\ud800" escape, as a real server would send it. Inside the latency too.
            answer.raw = json.dumps(answer.body, ensure_ascii=False).encode("utf-8", "backslashreplace")
        self._wait_out_latency(started, latency_ms)
        return answer

    @staticmethod
    def _wait_out_latency(started: float, latency_ms: int) -> None:
        # The latency is the whole time VTEX takes to answer: the sandbox's own work (the store,
        # copying the order) is part of it, not added to it, so a client measured against
        # "20 ms a call" meets 20 ms, however busy this process is.
        if latency_ms:
            left_s = latency_ms / 1000 - (time.monotonic() - started)
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
            features = body.get("features")
            if features is not None and (
                not isinstance(features, list) or not all(isinstance(name, str) for name in features)
            ):
                raise ValueError("features must be a list of feature names (see vtex_sandbox.shapes.FEATURES)")
            order_ids = store.add_orders(count, body.get("status", "ready-for-handling"), features=features)
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
            body = _json_object(raw_body)
            self.set_latency(body.get("ms"), LatencyTail.from_dict(body.get("tail")))
            return Answer(200, {"latency_ms": self.latency_ms, "latency_tail": _tail_dict(self.latency_tail)})
        if method == "POST" and path == "/_sandbox/arrivals":
            body = _json_object(raw_body)
            self.arrivals.start(per_second=body.get("per_second"), seconds=body.get("seconds"))
            return Answer(200, self.arrivals.state())
        if method == "POST" and path == "/_sandbox/in-flight/reset":
            self.in_flight.reset()
            return Answer(200, self.in_flight.state())
        if method == "GET" and path == "/_sandbox/timings":
            return Answer(200, store.timings())
        match = re.fullmatch(r"/_sandbox/orders/(?P<order_id>[^/]+)(?P<action>/status|/change|/nfe)?", path)
        if match and match["action"] == "/nfe" and method in ("GET", "POST"):
            options = _json_object(raw_body) if method == "POST" else {}
            order_id = unquote(match["order_id"])
            return Answer(
                200,
                raw=self.nfe(order_id, options),
                content_type="application/xml; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="NFe-{order_id}.xml"'},
            )
        if match and method == "GET" and not match["action"]:
            return Answer(200, store.order(unquote(match["order_id"])))
        if match and method == "POST" and match["action"] == "/change":
            return Answer(200, store.change_order(unquote(match["order_id"]), _json_object(raw_body)))
        if match and method == "POST" and match["action"] == "/status":
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
            "latency_tail": _tail_dict(self.latency_tail),
            "in_flight": self.in_flight.state(),
            "arrivals": self.arrivals.state(),
        }


def _tail_dict(tail: LatencyTail | None) -> dict[str, Any] | None:
    return None if tail is None else tail.as_dict()


class InFlightGauge:
    """VTEX requests being answered at once: the most, and the mean over the time any was (the
    concurrency a client really kept, whatever it believes it keeps)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._now = 0
            self._max = 0
            self._area = 0.0  # Σ in flight × seconds
            self._busy_s = 0.0  # seconds with at least one in flight
            self._since = self._clock()

    def _advance(self) -> None:
        now = self._clock()
        if self._now:
            self._area += self._now * (now - self._since)
            self._busy_s += now - self._since
        self._since = now

    def enter(self) -> None:
        with self._lock:
            self._advance()
            self._now += 1
            self._max = max(self._max, self._now)

    def leave(self) -> None:
        with self._lock:
            self._advance()
            self._now -= 1

    def state(self) -> dict[str, float]:
        with self._lock:
            self._advance()
            mean = self._area / self._busy_s if self._busy_s else 0.0
            return {
                "now": self._now,
                "max": self._max,
                "mean_while_busy": round(mean, 2),
                "busy_s": round(self._busy_s, 3),
            }


class Arrivals:
    """New ready-for-handling orders at a steady pace, from a thread (each published to the feed
    and the hook like any status change): a store's traffic, for the bench and the demo."""

    MAX_PER_SECOND = 1000

    def __init__(self, store: SandboxStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.per_second = 0.0
        self.created = 0

    def start(self, *, per_second: Any, seconds: Any = None) -> None:
        """`per_second` orders a second (0 stops) for `seconds` (None: until stopped)."""
        if isinstance(per_second, bool) or not isinstance(per_second, int | float):
            raise ValueError(f"per_second must be a number between 0 and {self.MAX_PER_SECOND}")
        if not 0 <= per_second <= self.MAX_PER_SECOND:
            raise ValueError(f"per_second must be a number between 0 and {self.MAX_PER_SECOND}")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0):
            raise ValueError("seconds must be a positive number or null")
        self.stop()
        if not per_second:
            return
        with self._lock:
            self.per_second = float(per_second)
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop, float(per_second), seconds), name="sandbox-arrivals", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self.per_second = 0.0
        if thread is not None:
            thread.join(timeout=5)

    def _run(self, stop: threading.Event, per_second: float, seconds: float | None) -> None:
        # Paced against the start time, not by sleeping 1/rate after each order: a slow add
        # (the lock held by a request) does not lower the rate.
        started = time.monotonic()
        made = 0
        while not stop.is_set():
            if seconds is not None and made / per_second >= seconds:
                break
            due = started + made / per_second
            wait = due - time.monotonic()
            if wait > 0 and stop.wait(wait):
                break
            self._store.add_orders(1)
            made += 1
            with self._lock:
                self.created += 1
        with self._lock:
            if self._stop is stop:
                self.per_second = 0.0

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"per_second": self.per_second, "created": self.created}


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
            payload = json.dumps(answer.body, ensure_ascii=False).encode("utf-8", "backslashreplace")
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
    return format_money(cents, "BRL")


def format_money(cents: int, currency: str) -> str:
    """An amount in the store's currency, with its symbol and digits (R$ 1.234,56; COP $ 39.900)."""
    info = CURRENCIES.get(currency)
    if info is None:
        return f"{currency} {cents / 100:,.2f}"
    sign = "-" if cents < 0 else ""
    text = f"{abs(cents) / 100:,.{info.decimal_digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    symbol = info.symbol if currency == "BRL" else f"{currency} {info.symbol}"
    return f"{sign}{symbol} {text}"


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
<th>Value</th><th>Invoices</th><th>NF-e</th></tr></thead><tbody>{rows}</tbody></table>
</body></html>
"""


def _count_effects(counter: dict[str, Any]) -> int:
    return sum(_count_effects(value) if isinstance(value, dict) else value for value in counter.values())


def _order_row(order: dict[str, Any]) -> str:
    colour = _STATUS_COLOURS.get(order["status"], "#59636e")
    invoices = "<br>".join(
        f"{_esc(invoice['type'])} <code>{_esc(invoice['number'])}</code> "
        f"{format_money(invoice['value'], order['currency'])}"
        + (f" · tracking <code>{_esc(invoice['trackingNumber'])}</code>" if invoice["trackingNumber"] else "")
        + (" · delivered" if invoice["delivered"] else "")
        for invoice in order["invoices"]
    )
    return (
        f"<tr><td><code>{_esc(order['orderId'])}</code></td><td>{_esc(order['sequence'])}</td>"
        f"<td>{_esc(order['creationDate'][:19].replace('T', ' '))}</td><td>{_esc(order['client'])}</td>"
        f'<td><span class="status" style="background:{colour}">{_esc(order["status"])}</span></td>'
        f'<td class="num">{format_money(order["value"], order["currency"])}</td><td>{invoices or "—"}</td>'
        f'<td><a href="/_sandbox/orders/{_esc(order["orderId"])}/nfe">Generate NF-e</a></td></tr>'
    )
