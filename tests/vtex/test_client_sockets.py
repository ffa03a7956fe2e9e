"""The client over real sockets against the sandbox, where timing and connections matter."""

from __future__ import annotations

import pytest

from integration.vtex import VtexClient, VtexConfig, VtexConnectionError, VtexRateLimited, VtexTimeout
from integration.vtex.budget import LocalRateBudget
from tests.conftest import FakeClock, wait_until
from vtex_sandbox import FaultConfig, SandboxServer, SandboxStore

KEY, TOKEN = "vtexappkey-sockets", "token-sockets"


@pytest.fixture
def sandbox():
    servers = []

    def start(faults: FaultConfig | None = None, **options) -> SandboxServer:
        store = SandboxStore(orders=3, seed=3, app_key=KEY, app_token=TOKEN)
        server = SandboxServer(store, host="127.0.0.1", port=0, faults=faults or FaultConfig(), **options)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def client_for(server: SandboxServer, *, budget: LocalRateBudget | None = None, **config) -> VtexClient:
    options = dict(read_timeout=0.5, connect_timeout=0.5, get_attempts=2, backoff_base=0.01)
    options.update(config)
    return VtexClient(
        VtexConfig(oms_url=server.url, payments_url=server.url, app_key=KEY, app_token=TOKEN, **options),
        budget=budget or LocalRateBudget(600000),
    )


def test_a_slow_answer_is_a_timeout_whose_write_may_have_happened(sandbox):
    server = sandbox(FaultConfig(fail_rate=1.0, kinds=("slow",), slow_s=1.2))
    order_id = server.store.order_ids()[0]
    client = client_for(server)

    # the read timeout (0.5 s), not the server's answer (1.2 s), ends the wait: a timeout, not a 200
    with pytest.raises(VtexTimeout) as error:
        client.start_handling(order_id)

    assert error.value.outcome_unknown
    wait_until(lambda: server.store.effects["start_handling"].get(order_id), what="the slow answer's effect")
    assert server.store.effects["start_handling"][order_id] == 1, "the effect happened anyway"


def test_a_dropped_connection_is_a_connection_error_and_a_get_is_retried(sandbox):
    server = sandbox(FaultConfig(fail_rate=1.0, kinds=("drop",)))
    client = client_for(server, get_attempts=3)

    with pytest.raises(VtexConnectionError):
        client.get_order(server.store.order_ids()[0])

    assert server.store.requests_count["total"] == 3


def test_a_lost_response_leaves_the_effect_and_reports_an_unknown_outcome(sandbox):
    server = sandbox(FaultConfig(lost_rate=1.0))
    order_id = server.store.order_ids()[0]

    with pytest.raises(VtexConnectionError) as error:
        client_for(server).start_handling(order_id)

    assert error.value.outcome_unknown
    assert server.store.order(order_id)["status"] == "handling"


def test_429_pauses_the_budget_for_retry_after_then_the_get_succeeds(sandbox):
    server = sandbox(rate_limit_rpm=2)
    clock = FakeClock()  # the budget's waits are recorded, not slept
    budget = LocalRateBudget(600000, clock=clock, sleep=clock.sleep)
    client = client_for(server, budget=budget, get_attempts=2, max_retry_after=3)
    ids = server.store.order_ids()
    client.get_order(ids[0])
    client.get_order(ids[1])

    with pytest.raises(VtexRateLimited) as error:
        client.get_order(ids[2])

    assert error.value.retry_after is not None and error.value.retry_after > 0
    assert client.budget.pauses == 2, "each 429 paused the budget"
    assert clock.sleeps == [pytest.approx(3)], "the second attempt waited out the capped Retry-After"


def test_one_keep_alive_connection_serves_many_calls(sandbox):
    server = sandbox()
    client = client_for(server)
    for order_id in server.store.order_ids() * 5:
        client.get_order(order_id)
    assert server.connections_opened == 1
