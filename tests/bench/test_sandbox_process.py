"""The bench's sandbox child: served in its own process, driven through the control routes."""

from __future__ import annotations

import time

import pytest
import requests

from bench.sandbox import SandboxProcess

LIST = "/api/oms/pvt/orders?f_status=ready-for-handling"


def test_the_child_serves_the_store_reports_effects_and_takes_new_limits_and_latency():
    with SandboxProcess(orders=3, rate_limit_rpm=2) as sandbox:
        vtex = requests.Session()
        vtex.headers.update({"X-VTEX-API-AppKey": sandbox.app_key, "X-VTEX-API-AppToken": sandbox.app_token})
        assert [vtex.get(sandbox.url + LIST).status_code for _ in range(3)] == [200, 200, 429]

        sandbox.set_rate_limit(None)
        order_id = vtex.get(sandbox.url + LIST).json()["list"][0]["orderId"]
        for _ in range(2):  # the second one is refused (409): one effect on one order
            vtex.post(f"{sandbox.url}/api/oms/pvt/orders/{order_id}/start-handling")
        state = sandbox.state()
        assert state["effects"]["start_handling"] == {"orders": 1, "total": 1, "max_per_target": 1}
        assert sandbox.requests_count() == state["requests"]
        assert state["requests"]["total"] == 6 and state["requests"]["429"] == 1

        sandbox.set_rate_limit(1)  # a fresh window: the six requests above do not count
        assert [vtex.get(sandbox.url + LIST).status_code for _ in range(2)] == [200, 429]

        sandbox.set_rate_limit(None)
        sandbox.set_latency(120)
        started = time.monotonic()
        vtex.get(sandbox.url + LIST)
        assert time.monotonic() - started >= 0.12
        with pytest.raises(RuntimeError, match="ms must be an integer"):
            sandbox.set_latency(-5)
        process = sandbox._process
    assert process.returncode == 0  # stopped when the bench closed its input, not killed


def test_extra_front_ends_serve_one_account_and_count_their_own_requests():
    with SandboxProcess(orders=2, rate_limit_rpm=3, front_ends=3) as sandbox:
        assert len(sandbox.front_end_urls) == 3 and sandbox.front_end_urls[0] == sandbox.url
        vtex = requests.Session()
        vtex.headers.update({"X-VTEX-API-AppKey": sandbox.app_key, "X-VTEX-API-AppToken": sandbox.app_token})
        statuses = [vtex.get(url + LIST).status_code for url in sandbox.front_end_urls]
        statuses.append(vtex.get(sandbox.front_end_urls[2] + LIST).status_code)
        state = sandbox.state()
    # One rate limit for the three ports (3 a minute): the fourth request is refused.
    assert statuses == [200, 200, 200, 429]
    assert state["requests"]["total"] == 4 and state["requests"]["429"] == 1
    assert state["per_front_end"] == {"0": 1, "1": 1, "2": 2, "2:429": 1}
