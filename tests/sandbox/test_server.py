"""The sandbox over a real port: routing, auth, faults, rate limit, keep-alive, control routes."""

from __future__ import annotations

import io
import logging
import socket
import sys
import time
from datetime import datetime, timedelta

import pytest
import requests

from tests.conftest import wait_until
from vtex_sandbox import FaultConfig, SandboxServer, SandboxStore
from vtex_sandbox.faults import LatencyTail
from vtex_sandbox.server import InFlightGauge

from .conftest import APP_KEY, APP_TOKEN, invoice_body

ORDERS = "/api/oms/pvt/orders"
UNAUTHORIZED = {"error": {"code": "1", "message": "Unauthorized access", "exception": None}}


def first_order_id(vtex) -> str:
    return vtex.server.store.order_ids()[0]


class ServerTime:
    """The server module's `time`, with a clock that moves only when the server sleeps (or the
    test advances it): its latency waits are recorded, not slept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def __getattr__(self, name: str):
        return getattr(time, name)


@pytest.fixture
def server_time(monkeypatch) -> ServerTime:
    fake = ServerTime()
    monkeypatch.setattr(sys.modules[SandboxServer.__module__], "time", fake)
    return fake


# -- auth -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-VTEX-API-AppKey": APP_KEY},
        {"X-VTEX-API-AppKey": APP_KEY, "X-VTEX-API-AppToken": "wrong"},
        {"X-VTEX-API-AppKey": "vtexappkey-other", "X-VTEX-API-AppToken": APP_TOKEN},
    ],
)
def test_vtex_routes_need_the_app_key_and_token(vtex, headers):
    answer = requests.get(vtex.server.url + ORDERS, headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED


def test_the_token_is_never_echoed_or_logged(vtex, caplog):
    caplog.set_level(logging.DEBUG, logger="vtex_sandbox")
    order_id = first_order_id(vtex)
    answers = [
        vtex.get(ORDERS),
        vtex.get(f"{ORDERS}/{order_id}"),
        vtex.get(f"{ORDERS}/nope"),
        requests.get(vtex.server.url + ORDERS, headers={"X-VTEX-API-AppToken": APP_TOKEN}, timeout=5),
        vtex.get("/"),
        vtex.get("/_sandbox/state"),
    ]
    assert all(APP_TOKEN not in answer.text for answer in answers)
    assert caplog.records and all(APP_TOKEN not in record.getMessage() for record in caplog.records)


# -- list orders ----------------------------------------------------------------------------------------
def test_list_orders_paging_and_limits(make_server, make_store):
    vtex = make_server(make_store(orders=45))
    page = vtex.get(ORDERS, params={"per_page": 20, "page": 3})
    assert page.status_code == 200
    assert page.json()["paging"] == {"total": 45, "pages": 3, "currentPage": 3, "perPage": 20}
    assert len(page.json()["list"]) == 5
    assert len(vtex.get(ORDERS).json()["list"]) == 15  # VTEX's default per_page

    too_far = vtex.get(ORDERS, params={"page": 31})
    assert too_far.status_code == 400 and "30 pages" in too_far.json()["error"]["message"]
    assert vtex.get(ORDERS, params={"per_page": 101}).status_code == 400
    assert vtex.get(ORDERS, params={"per_page": "many"}).status_code == 400


def test_list_orders_filters_by_status(vtex):
    store = vtex.server.store
    handling = store.order_ids()[:2]
    for order_id in handling:
        store.start_handling(order_id)
    listed = vtex.get(ORDERS, params={"f_status": "handling"}).json()["list"]
    assert sorted(entry["orderId"] for entry in listed) == sorted(handling)
    both = vtex.get(ORDERS, params={"f_status": "handling,ready-for-handling", "per_page": 100}).json()
    assert both["paging"]["total"] == 10


def test_list_orders_filters_by_creation_date_and_sorts(vtex):
    store = vtex.server.store
    dates = [datetime.fromisoformat(store.order(order_id)["creationDate"]) for order_id in store.order_ids()]
    start, end = dates[2], dates[6]
    window = f"creationDate:[{start.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z TO {end.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z]"
    listed = vtex.get(ORDERS, params={"f_creationDate": window, "orderBy": "creationDate,asc"}).json()["list"]
    assert [entry["orderId"] for entry in listed] == store.order_ids()[2:7]

    one_minute_later = (end + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    window = f"creationDate:[{one_minute_later} TO {one_minute_later}]"
    assert vtex.get(ORDERS, params={"f_creationDate": window}).json()["list"] == []
    bad = vtex.get(ORDERS, params={"f_creationDate": "yesterday"})
    assert bad.status_code == 400 and "creationDate:[" in bad.json()["error"]["message"]


# -- get order, start handling ----------------------------------------------------------------------------
def test_get_order_by_id_and_by_sequence(vtex):
    order = vtex.get(f"{ORDERS}/{first_order_id(vtex)}").json()
    by_sequence = vtex.get(f"{ORDERS}/seq{order['sequence']}")
    assert by_sequence.status_code == 200 and by_sequence.json()["orderId"] == order["orderId"]
    missing = vtex.get(f"{ORDERS}/1111111111111-01")
    assert missing.status_code == 404 and missing.json()["error"]["exception"] is None


def test_start_handling_204_then_409(vtex):
    order_id = first_order_id(vtex)
    first = vtex.post(f"{ORDERS}/{order_id}/start-handling")
    assert first.status_code == 204 and first.content == b""
    second = vtex.post(f"{ORDERS}/{order_id}/start-handling")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "OMS003"
    assert vtex.server.store.effects["start_handling"] == {order_id: 1}


def test_invoice_over_http_and_bad_json(vtex):
    order_id = first_order_id(vtex)
    vtex.post(f"{ORDERS}/{order_id}/start-handling")
    order = vtex.get(f"{ORDERS}/{order_id}").json()
    receipt = vtex.post(f"{ORDERS}/{order_id}/invoice", json=invoice_body(order, "NF-1", value=str(order["value"])))
    assert receipt.status_code == 200 and set(receipt.json()) == {"date", "orderId", "receipt"}
    assert vtex.get(f"{ORDERS}/{order_id}").json()["status"] == "invoiced"

    bad = vtex.post(f"{ORDERS}/{order_id}/invoice", data=b"{not json")
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]
    cancel = vtex.post(f"{ORDERS}/{order_id}/cancel", json={"reason": "late"})
    assert cancel.status_code == 400 and cancel.json()["error"]["code"] == "OMS006"


def test_unknown_route_is_a_json_404(vtex):
    answer = vtex.get("/api/oms/pvt/nothing-here")
    assert answer.status_code == 404 and "error" in answer.json()


def test_feed_over_http(vtex):
    assert vtex.get("/api/orders/feed", params={"maxlot": 5}).status_code == 404
    config = {
        "filter": {"type": "FromWorkflow", "status": ["ready-for-handling"]},
        "queue": {"visibilityTimeoutInSeconds": 250, "MessageRetentionPeriodInSeconds": 345600},
    }
    assert vtex.post("/api/orders/feed/config", json=config).status_code == 200
    assert vtex.get("/api/orders/feed").status_code == 400
    assert vtex.get("/api/orders/feed", params={"maxlot": 11}).status_code == 400
    vtex.post("/_sandbox/orders", json={"count": 2})
    events = vtex.get("/api/orders/feed", params={"maxlot": 10}).json()
    assert len(events) == 2
    assert vtex.post("/api/orders/feed", json={"handles": [e["handle"] for e in events]}).status_code == 200
    assert vtex.get("/api/orders/feed/config").json()["quantity"] == 0
    assert vtex.request("DELETE", "/api/orders/feed/config").status_code == 200
    assert vtex.get("/api/orders/feed/config").status_code == 404


def test_payments_routes(vtex):
    order = vtex.get(f"{ORDERS}/{first_order_id(vtex)}").json()
    transaction_id = order["paymentData"]["transactions"][0]["transactionId"]
    transaction = vtex.get(f"/api/pvt/transactions/{transaction_id}").json()
    assert transaction["value"] == order["value"]
    payments = vtex.get(f"/api/pvt/transactions/{transaction_id}/payments").json()
    assert isinstance(payments, list) and sum(p["value"] for p in payments) == order["value"]
    one = vtex.get(f"/api/pvt/transactions/{transaction_id}/payments/{payments[0]['id']}")
    assert one.json() == payments[0]
    assert vtex.get(f"/api/pvt/transactions/{transaction_id}/payments/nope").status_code == 404


# -- hook ---------------------------------------------------------------------------------------------
def test_hook_is_pinged_then_notified_of_matching_changes(vtex, hook_receiver):
    config = {
        "filter": {"type": "FromWorkflow", "status": ["handling"]},
        "hook": {"url": hook_receiver.url, "headers": {"X-Hook-Secret": "s3"}},
    }
    assert vtex.post("/api/orders/hook/config", json=config).status_code == 200
    order_id, other_id, third_id = vtex.server.store.order_ids()[:3]
    vtex.post(f"{ORDERS}/{other_id}/cancel")  # not in the filter
    vtex.post(f"{ORDERS}/{order_id}/start-handling")

    (ping_headers, ping), (headers, notification) = hook_receiver.wait_for(2)
    assert ping == {"hookConfig": "ping"} and ping_headers["X-Hook-Secret"] == "s3"
    assert headers["X-Hook-Secret"] == "s3"
    assert notification["OrderId"] == order_id and notification["State"] == "handling"
    assert notification["LastState"] == "ready-for-handling" and notification["Domain"] == "Fulfillment"
    assert notification["Origin"] == {"Account": "sandbox", "Key": APP_KEY}
    # Nothing was sent for the cancellation: one thread delivers in order, and the next one sent
    # is the next change the filter takes.
    vtex.post(f"{ORDERS}/{third_id}/start-handling")
    assert [body["OrderId"] for _, body in hook_receiver.wait_for(3)[1:]] == [order_id, third_id]
    assert vtex.get("/api/orders/hook/config").json()["hook"]["url"] == hook_receiver.url


def test_hook_config_fails_when_the_ping_is_not_answered_200(vtex, hook_receiver):
    hook_receiver.status = 500
    config = {
        "filter": {"type": "FromWorkflow", "status": ["handling"]},
        "hook": {"url": hook_receiver.url, "headers": {}},
    }
    answer = vtex.post("/api/orders/hook/config", json=config)
    assert answer.status_code == 400 and answer.json()["error"]["message"] == "Unable to check address"
    assert vtex.get("/api/orders/hook/config").status_code == 404


# -- faults -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_error_faults(make_server, kind):
    vtex = make_server(faults=FaultConfig(fail_rate=1.0, retry_after_s=7, kinds=(kind,)))
    order_id = first_order_id(vtex)
    answer = vtex.post(f"{ORDERS}/{order_id}/start-handling")
    assert answer.status_code == int(kind)
    assert answer.json()["error"]["exception"] is None
    assert answer.headers.get("Retry-After") == ("7" if kind == "429" else None)
    assert vtex.server.store.order(order_id)["status"] == "ready-for-handling"


def test_slow_fault_outlasts_the_read_timeout_and_then_applies(make_server):
    vtex = make_server(faults=FaultConfig(fail_rate=1.0, slow_s=0.6, kinds=("slow",)))
    order_id = first_order_id(vtex)
    with pytest.raises(requests.ReadTimeout):
        vtex.post(f"{ORDERS}/{order_id}/start-handling", timeout=0.2)
    wait_until(lambda: vtex.server.store.order(order_id)["status"] == "handling", what="the slow answer's effect")


def test_dropped_connection_applies_nothing(make_server):
    vtex = make_server(faults=FaultConfig(fail_rate=1.0, kinds=("drop",)))
    order_id = first_order_id(vtex)
    with pytest.raises(requests.ConnectionError):
        vtex.post(f"{ORDERS}/{order_id}/start-handling")
    assert vtex.server.store.order(order_id)["status"] == "ready-for-handling"
    assert vtex.server.store.effects["start_handling"] == {}


def test_lost_answer_applies_the_effect_without_answering(make_server):
    vtex = make_server(faults=FaultConfig(lost_rate=1.0))
    order_id = first_order_id(vtex)
    with pytest.raises(requests.ConnectionError):
        vtex.post(f"{ORDERS}/{order_id}/start-handling")
    assert vtex.get(f"{ORDERS}/{order_id}").json()["status"] == "handling"  # GETs are never lost
    assert vtex.server.store.effects["start_handling"] == {order_id: 1}


def test_faults_are_drawn_per_request_from_the_seed(make_server):
    def outcomes(seed: int) -> list[int | str]:
        vtex = make_server(faults=FaultConfig(fail_rate=0.5, seed=seed, kinds=("500", "503")))
        return [vtex.get(ORDERS).status_code for _ in range(30)]

    first = outcomes(3)
    assert first == outcomes(3)
    assert {200, 500, 503} <= set(first)


def test_control_routes_and_status_page_have_no_faults(make_server):
    vtex = make_server(faults=FaultConfig(fail_rate=1.0, kinds=("drop",)), rate_limit_rpm=1)
    assert vtex.get("/").status_code == 200
    assert vtex.get("/_sandbox/state").status_code == 200
    assert vtex.post("/_sandbox/orders", json={"count": 1}).status_code == 200


# -- rate limit, latency, keep-alive ---------------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(make_server):
    vtex = make_server(rate_limit_rpm=3)
    statuses = [vtex.get(ORDERS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = vtex.get(ORDERS)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    counts = vtex.server.store.requests_count
    assert counts["429"] == 2 and counts["total"] == 5 and counts["list_orders"] == 5

    assert vtex.post("/_sandbox/rate-limit", json={"rpm": None}).json() == {"rate_limit_rpm": None}
    assert vtex.get(ORDERS).status_code == 200


def test_latency_delays_vtex_answers(make_server, server_time):
    vtex = make_server(latency_ms=150)
    vtex.get(ORDERS)
    assert server_time.sleeps == [pytest.approx(0.15)]


def test_a_new_rate_limit_can_start_a_fresh_window(make_server):
    vtex = make_server(rate_limit_rpm=2)
    assert [vtex.get(ORDERS).status_code for _ in range(3)] == [200, 200, 429]

    vtex.post("/_sandbox/rate-limit", json={"rpm": 2})  # the same window: still full
    assert vtex.get(ORDERS).status_code == 429
    refused = vtex.post("/_sandbox/rate-limit", json={"rpm": 2, "fresh_window": "yes"})
    assert refused.status_code == 400 and "fresh_window must be true or false" in refused.text
    assert vtex.get(ORDERS).status_code == 429  # the refused call changed nothing
    vtex.post("/_sandbox/rate-limit", json={"rpm": 2, "fresh_window": True})
    assert [vtex.get(ORDERS).status_code for _ in range(3)] == [200, 200, 429]


def test_latency_is_set_through_its_control_route_within_bounds(make_server, server_time):
    vtex = make_server()
    assert vtex.post("/_sandbox/latency", json={"ms": 150}).json() == {"latency_ms": 150, "latency_tail": None}
    vtex.get(ORDERS)
    assert server_time.sleeps == [pytest.approx(0.15)]
    assert vtex.get("/_sandbox/state").json()["latency_ms"] == 150

    for bad in (-1, 60_001, "20", True, None):
        refused = vtex.post("/_sandbox/latency", json={"ms": bad})
        assert refused.status_code == 400 and "ms must be an integer between 0 and 60000" in refused.text
    assert vtex.server.latency_ms == 150  # a refused value changes nothing


def test_latency_is_the_whole_answer_time_the_sandboxs_own_work_included(make_server, monkeypatch, server_time):
    vtex = make_server(latency_ms=400)
    list_orders = vtex.server.store.list_orders

    def slow_list_orders(*args, **kwargs):
        server_time.advance(0.25)
        return list_orders(*args, **kwargs)

    monkeypatch.setattr(vtex.server.store, "list_orders", slow_list_orders)
    assert vtex.get(ORDERS).status_code == 200
    # 400 ms in all, not 400 + 250: a client measured against the latency meets the latency.
    assert server_time.sleeps == [pytest.approx(0.15)]


def test_an_answer_leaves_in_one_write_headers_and_body_together(vtex, monkeypatch):
    writes = []
    write = socket.SocketIO.write

    def counting_write(self, data):
        writes.append(bytes(data))
        return write(self, data)

    order_id = first_order_id(vtex)
    vtex.get(ORDERS)  # the connection is open before counting
    monkeypatch.setattr(socket.SocketIO, "write", counting_write)
    answer = vtex.get(f"{ORDERS}/{order_id}")
    assert answer.status_code == 200 and len(answer.content) > 5000
    assert len(writes) == 1, "headers and body should leave in one write"
    assert writes[0].startswith(b"HTTP/1.1 200") and writes[0].endswith(answer.content)


def test_connections_wait_in_the_queue_while_the_server_is_busy(make_store):
    # Not started: nothing accepts, as when the accepting thread waits for the GIL. A pool opening
    # a dozen connections at once must still get each one through the kernel's handshake, not
    # have SYNs dropped and wait out the one-second SYN retry.
    server = SandboxServer(make_store(), host="127.0.0.1", port=0)
    address = server._httpd.server_address[:2]
    clients = []
    try:
        for _ in range(32):
            client = socket.create_connection(address, timeout=0.5)
            clients.append(client)
    finally:
        for client in clients:
            client.close()
        server._httpd.server_close()
    assert len(clients) == 32


def test_keep_alive_reuses_one_connection(vtex):
    opened_before = vtex.server.connections_opened
    first = vtex.get(ORDERS)
    second = vtex.get(f"{ORDERS}/{first_order_id(vtex)}")
    assert first.status_code == second.status_code == 200
    assert vtex.server.connections_opened == opened_before + 1
    assert first.headers["Content-Length"] == str(len(first.content))


# -- control routes ------------------------------------------------------------------------------------
def test_control_routes(vtex):
    created = vtex.post("/_sandbox/orders", json={"count": 2, "status": "ready-for-handling"}).json()["order_ids"]
    assert len(created) == 2
    changed = vtex.post(f"/_sandbox/orders/{created[0]}/status", json={"status": "canceled"})
    assert changed.json() == {"orderId": created[0], "status": "canceled"}
    assert vtex.get(f"/_sandbox/orders/{created[0]}").json()["cancellationData"]["RequestedByUser"] is True

    faults = vtex.post("/_sandbox/faults", json={"fail_rate": 0.25, "lost_rate": 0.1, "slow_s": 2}).json()
    assert faults["fail_rate"] == 0.25 and faults["lost_rate"] == 0.1 and faults["slow_s"] == 2
    state = vtex.get("/_sandbox/state").json()
    assert state["orders_by_status"] == {"canceled": 1, "ready-for-handling": 11}
    assert state["faults"]["fail_rate"] == 0.25 and state["rate_limit_rpm"] is None
    assert state["feed"] == {"configured": False, "queued": 0, "in_flight": 0}
    assert set(state) >= {"account", "effects", "requests"}

    assert vtex.post("/_sandbox/faults", json={"fail_rate": 2}).status_code == 400
    assert vtex.post("/_sandbox/faults", json={"nonsense": 1}).status_code == 400
    assert vtex.post("/_sandbox/orders", data=b"[").status_code == 400
    assert vtex.post(f"/_sandbox/orders/{created[1]}/status", json={"status": "nope"}).status_code == 400
    assert vtex.get("/_sandbox/orders/0000000000000-01").status_code == 404
    assert vtex.get("/_sandbox/nothing").status_code == 404


def test_status_page_shows_the_orders(vtex):
    store = vtex.server.store
    order_id = first_order_id(vtex)
    store.start_handling(order_id)
    order = store.order(order_id)
    store.invoice(order_id, invoice_body(order, "NF-<b>", value=order["value"]))
    page = vtex.get("/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert all(order_id in html for order_id in store.order_ids())
    assert "invoiced" in html and "NF-&lt;b&gt;" in html and "<b>NF" not in html
    reais = f"{order['value'] // 100:,}".replace(",", ".") + f",{order['value'] % 100:02d}"
    assert f"R$ {reais}" in html
    assert "http://" not in html.replace(vtex.server.url, "")  # self-contained: no external assets


# -- lifecycle and the management command ------------------------------------------------------------------
def test_stop_closes_the_port():
    server = SandboxServer(SandboxStore(orders=1), port=0).start()
    url = server.url
    assert requests.get(url + "/_sandbox/state", timeout=5).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_sandbox/state", timeout=2)


def test_management_command_prints_how_to_connect_and_hides_a_given_token(monkeypatch):
    from django.core.management import call_command

    served = []
    monkeypatch.setattr(SandboxServer, "serve_forever", lambda self: (served.append(self.url), self.stop()))
    out = io.StringIO()
    call_command(
        "vtex_sandbox",
        "--port",
        "0",
        "--orders",
        "3",
        "--app-key",
        "vtexappkey-mine",
        "--app-token",
        "my-real-secret",
        stdout=out,
    )
    text = out.getvalue()
    assert served and f"VTEX_OMS_URL={served[0]}" in text and f"VTEX_PAYMENTS_URL={served[0]}" in text
    assert "VTEX_APP_KEY=vtexappkey-mine" in text
    assert "my-real-secret" not in text
    assert "Bye" in text


def test_management_command_refuses_a_latency_out_of_bounds():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--latency-ms must be an integer between 0 and 60000"):
        call_command("vtex_sandbox", "--port", "0", "--latency-ms", "-1")
    with pytest.raises(ValueError, match="latency_ms must be an integer between 0 and 60000"):
        SandboxServer(SandboxStore(orders=0), latency_ms=60_001)


# -- bench options: a long tail of latency, requests in flight, arrivals, timings ---------------------
def test_a_long_tail_makes_a_seeded_share_of_answers_slow_and_is_set_through_the_control_route(
    make_server, server_time
):
    vtex = make_server(latency_ms=150, latency_tail=LatencyTail(share=0.1, ms=1500, seed=3))
    for _ in range(200):
        vtex.get(ORDERS)
    slow = [s for s in server_time.sleeps if s > 1]
    assert set(map(round, server_time.sleeps, [2] * len(server_time.sleeps))) == {0.15, 1.5}
    assert 10 <= len(slow) <= 30  # about 10 % of 200, drawn from a seeded RNG

    again = make_server(latency_ms=150, latency_tail=LatencyTail(share=0.1, ms=1500, seed=3))
    server_time.sleeps.clear()
    for _ in range(200):
        again.get(ORDERS)
    assert len([s for s in server_time.sleeps if s > 1]) == len(slow)  # the same seed, the same tail

    answer = vtex.post("/_sandbox/latency", json={"ms": 20, "tail": {"share": 0.5, "ms": 900, "seed": 1}})
    assert answer.json() == {"latency_ms": 20, "latency_tail": {"share": 0.5, "ms": 900, "seed": 1}}
    for bad, error in (
        ({"share": 2, "ms": 900}, "tail.share must be a number between 0 and 1"),
        ({"share": 0.1, "ms": -3}, "tail.ms must be an integer between 0 and 60000"),
        ({"ms": 900}, "tail must be null or"),
    ):
        refused = vtex.post("/_sandbox/latency", json={"ms": 20, "tail": bad})
        assert refused.status_code == 400 and error in refused.text
    assert vtex.get("/_sandbox/state").json()["latency_tail"] == {"share": 0.5, "ms": 900, "seed": 1}
    vtex.post("/_sandbox/latency", json={"ms": 20})
    assert vtex.get("/_sandbox/state").json()["latency_tail"] is None  # no tail unless given


def test_the_gauge_of_requests_in_flight_keeps_the_most_and_the_mean_while_busy():
    now = [0.0]
    gauge = InFlightGauge(clock=lambda: now[0])
    gauge.enter()  # one alone for 1 s
    now[0] = 1.0
    gauge.enter()  # two for 1 s
    now[0] = 2.0
    gauge.leave()
    gauge.leave()
    now[0] = 10.0  # idle time does not count
    state = gauge.state()
    assert state == {"now": 0, "max": 2, "mean_while_busy": 1.5, "busy_s": 2.0}
    gauge.reset()
    assert gauge.state()["max"] == 0


def test_arrivals_make_ready_orders_at_a_pace_for_a_time_and_are_refused_when_out_of_range(vtex):
    before = len(vtex.server.store.orders_by_status("ready-for-handling"))
    answer = vtex.post("/_sandbox/arrivals", json={"per_second": 1000, "seconds": 0.01})
    assert answer.status_code == 200
    wait_until(lambda: vtex.get("/_sandbox/state").json()["arrivals"]["per_second"] == 0, what="the arrivals to end")
    # due at 0, 1, ..., 9 ms of the 10 ms: ten orders, however fast the machine
    assert vtex.get("/_sandbox/state").json()["arrivals"] == {"per_second": 0.0, "created": 10}
    assert len(vtex.server.store.orders_by_status("ready-for-handling")) == before + 10
    for bad in ({"per_second": -1}, {"per_second": "5"}, {"per_second": 5, "seconds": 0}):
        refused = vtex.post("/_sandbox/arrivals", json=bad)
        assert refused.status_code == 400


def test_timings_give_when_the_hook_was_called_for_a_ready_order_and_when_it_was_handled(vtex, hook_receiver):
    config = {
        "filter": {"type": "FromWorkflow", "status": ["ready-for-handling"]},
        "hook": {"url": hook_receiver.url, "headers": {}},
    }
    assert vtex.post("/api/orders/hook/config", json=config).status_code == 200
    (order_id,) = vtex.post("/_sandbox/orders", json={"count": 1}).json()["order_ids"]
    hook_receiver.wait_for(2)
    vtex.post(f"{ORDERS}/{order_id}/start-handling")
    timings = vtex.get("/_sandbox/timings").json()
    assert set(timings["hook_called"]) == set(timings["start_handling"]) == {order_id}
    assert timings["start_handling"][order_id] >= timings["hook_called"][order_id]
