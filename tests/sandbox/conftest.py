"""Fixtures for the sandbox store's own tests (no database)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from vtex_sandbox import SandboxServer, SandboxStore

APP_KEY = "vtexappkey-sandbox-tests"
APP_TOKEN = "sandbox-token-SECRET-for-tests"
AUTH_HEADERS = {
    "X-VTEX-API-AppKey": APP_KEY,
    "X-VTEX-API-AppToken": APP_TOKEN,
    "Accept": "application/json",
    "Content-Type": "application/json",
}


class FakeClock:
    """A monotonic clock the test moves by hand (feed visibility, cancellation delay)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_store(clock):
    """make_store(orders=..., **options): a store with the test credentials and the fake clock."""

    def make(orders: int = 10, **options: Any) -> SandboxStore:
        options = {"seed": 1, "app_key": APP_KEY, "app_token": APP_TOKEN, "clock": clock, **options}
        return SandboxStore(orders=orders, **options)

    return make


@pytest.fixture
def store(make_store) -> SandboxStore:
    return make_store()


class Vtex:
    """A thin HTTP client for one sandbox: base URL and credentials, nothing else."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers.update(AUTH_HEADERS)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.server.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)


@pytest.fixture
def make_server(make_store) -> Iterator:
    """make_server(store=None, **server_options) -> Vtex, started on a free port and stopped after the test."""
    servers: list[SandboxServer] = []

    def make(store: SandboxStore | None = None, **options: Any) -> Vtex:
        server = SandboxServer(store or make_store(), host="127.0.0.1", port=0, **options)
        servers.append(server.start())
        return Vtex(server)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def vtex(make_server) -> Vtex:
    return make_server()


class HookReceiver:
    """An HTTP endpoint that records what the sandbox POSTs to it and answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict[str, str], Any]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver._arrived:
                    receiver.received.append((dict(self.headers), body))
                    receiver._arrived.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/vtex-hook"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[dict[str, str], Any]]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def hook_receiver() -> Iterator[HookReceiver]:
    receiver = HookReceiver()
    yield receiver
    receiver.close()


def invoice_body(
    order: dict[str, Any],
    number: str,
    *,
    items: list[tuple[int, int]] | None = None,
    value: int | str | None = None,
    kind: str = "Output",
) -> dict[str, Any]:
    """An invoice for ``items`` [(itemIndex, quantity)] of ``order`` (default: everything), valued
    at the items' selling prices unless ``value`` is given."""
    chosen = items if items is not None else [(i, item["quantity"]) for i, item in enumerate(order["items"])]
    lines = [
        {"id": order["items"][index]["id"], "price": order["items"][index]["sellingPrice"], "quantity": quantity}
        for index, quantity in chosen
    ]
    return {
        "type": kind,
        "issuanceDate": "2026-11-28T10:00:00-03:00",
        "invoiceNumber": number,
        "invoiceValue": value if value is not None else sum(line["price"] * line["quantity"] for line in lines),
        "invoiceKey": None,
        "invoiceUrl": None,
        "courier": "",
        "trackingNumber": "",
        "trackingUrl": "",
        "items": lines,
    }
