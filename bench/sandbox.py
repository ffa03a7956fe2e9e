"""The sandbox store in a child process, driven through its control routes (/_sandbox/...).

Why a process: the code being measured and VTEX should not share one GIL and one core. Run in
the bench's own process, the sandbox's handler threads (JSON encoding, deep copies of orders)
would be counted against erp-bridge, and against the naive importer by a different amount.

The child serves the sandbox on a free port, prints its address as one line of JSON, and stops
when its standard input closes. The child runs on the standard library only, like the sandbox
itself (no Django, no requests: those are imported by the bench's side only).
`python -m bench.sandbox '<json options>'` is the child.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from typing import Any

from bench.machine import PROJECT_ROOT
from vtex_sandbox import SandboxServer, SandboxStore
from vtex_sandbox.faults import FaultConfig, LatencyTail

APP_KEY = "vtexappkey-bench"
APP_TOKEN = "bench-token-not-a-secret"  # noqa: S105 - the sandbox's own, for the bench only
CONTROL_TIMEOUT_S = 30
#: VTEX's answers mostly take 100 to 500 ms, a few far longer: 90 % at 150 ms, 10 % at 1.5 s.
LONG_TAIL = {"latency_ms": 150, "tail": {"share": 0.1, "ms": 1500, "seed": 1}}


def _effects_summary(effects: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per effect kind: orders touched, effects in all, and the most on one order (1 = never twice)."""
    summary = {}
    for kind, per_order in effects.items():
        counts = []
        for value in per_order.values():
            counts.extend(value.values() if isinstance(value, dict) else [value])
        summary[kind] = {"orders": len(per_order), "total": sum(counts), "max_per_target": max(counts, default=0)}
    return summary


class _FrontEnd(SandboxServer):
    """One port of the bench's sandbox, counting the VTEX requests (and 429s) it answers.

    A scenario that gives each erp-bridge child a port of its own can then tell them apart. The
    extra ports share the first one's store, rate limit, faults, answer times and in-flight
    gauge: together they are one VTEX account, as the children would see it."""

    def __init__(self, store: SandboxStore, *, number: int, counts: Counter, lock: threading.Lock, **options):
        shared = options.pop("shared", None)
        super().__init__(store, host="127.0.0.1", port=0, **options)
        self.number, self._counts, self._counts_lock = number, counts, lock
        if shared is not None:
            self.rate_limiter, self._faults = shared.rate_limiter, shared._faults
            self._latency, self.in_flight = shared._latency, shared.in_flight

    def handle_vtex(self, handler, method, path, query, raw_body) -> None:
        super().handle_vtex(handler, method, path, query, raw_body)
        with self._counts_lock:
            self._counts[f"{self.number}"] += 1
            if getattr(handler, "_status_sent", None) == 429:
                self._counts[f"{self.number}:429"] += 1

    def state(self) -> dict[str, Any]:
        with self._counts_lock:
            counts = dict(self._counts)
        return {**super().state(), "per_front_end": counts}


def _serve(options: dict[str, Any]) -> None:
    orders = int(options.get("orders", 0))
    feed_config = options.get("feed")
    # Orders made before a feed exists are not on it: with a feed, the store starts empty, the
    # feed is configured, then the orders are made (each one's event queued).
    store = SandboxStore(
        orders=0 if feed_config else orders,
        seed=options.get("seed", 1),
        app_key=APP_KEY,
        app_token=APP_TOKEN,
        hook_threads=4,  # the bench's hook receives tens of orders a second
    )
    if feed_config:
        store.set_feed_config(feed_config)
        for start in range(0, orders, 1000):
            store.add_orders(min(1000, orders - start))
    counts: Counter = Counter()
    lock = threading.Lock()
    server = _FrontEnd(
        store,
        number=0,
        counts=counts,
        lock=lock,
        rate_limit_rpm=options.get("rate_limit_rpm"),
        latency_ms=int(options.get("latency_ms", 0)),
        latency_tail=LatencyTail.from_dict(options.get("tail")),
        faults=FaultConfig(**options["faults"]) if options.get("faults") else None,
    )
    servers = [server]
    servers += [
        _FrontEnd(store, number=n, counts=counts, lock=lock, shared=server)
        for n in range(1, int(options.get("front_ends", 1)))
    ]
    for each in servers:
        each.start()
    try:
        sys.stdout.write(json.dumps({"url": server.url, "front_ends": [each.url for each in servers]}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the bench closes the pipe (or ends)
    finally:
        for each in servers:
            each.stop()


class SandboxProcess:
    """A sandbox store with `orders` ready orders, served by a child process on a free port.

    `tail`: a long tail on top of latency_ms (LatencyTail's fields; LONG_TAIL is the bench's);
    `feed`: a feed config made before the orders, so that every order's event waits on the feed;
    `faults`: FaultConfig's fields;
    `front_ends`: how many ports serve the same store (one account: shared rate limit, faults,
    answer times); `front_end_urls` lists them (the first is `url`), and `state()["per_front_end"]`
    counts each one's requests ("0", "1", ...) and 429s ("0:429", ...).
    """

    def __init__(
        self,
        *,
        orders: int,
        latency_ms: int = 0,
        rate_limit_rpm: int | None = None,
        seed: int = 1,
        tail: dict[str, Any] | None = None,
        feed: dict[str, Any] | None = None,
        faults: dict[str, Any] | None = None,
        front_ends: int = 1,
    ) -> None:
        options = {
            "front_ends": front_ends,
            "orders": orders,
            "latency_ms": latency_ms,
            "rate_limit_rpm": rate_limit_rpm,
            "seed": seed,
            "tail": tail,
            "feed": feed,
            "faults": faults,
        }
        self._process = subprocess.Popen(  # -m from PROJECT_ROOT: the project is on the child's sys.path
            [sys.executable, "-m", "bench.sandbox", json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=PROJECT_ROOT,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            code = self._process.wait(timeout=10)
            raise RuntimeError(f"the sandbox process ended (exit code {code}); see its error output above")
        started = json.loads(line)
        self.url: str = started["url"]
        self.front_end_urls: list[str] = started["front_ends"]
        self.app_key = APP_KEY
        self.app_token = APP_TOKEN
        import requests  # the bench's side only: the child imports this module too

        self._control = requests.Session()
        self._control.trust_env = False

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self._control.request(method, f"{self.url}/_sandbox/{route}", json=body, timeout=CONTROL_TIMEOUT_S)
        if answer.status_code != 200:
            raise RuntimeError(f"the sandbox answered {answer.status_code} to {method} {route}: {answer.text[:300]}")
        return answer.json()

    def state(self) -> dict[str, Any]:
        """The request counts, each effect kind summed up (see _effects_summary), the requests in
        flight at once (max, mean while busy), the orders by status and the feed's queue."""
        state = self._call("GET", "state")
        return {
            "requests": state["requests"],
            "effects": _effects_summary(state["effects"]),
            "in_flight": state["in_flight"],
            "orders_by_status": state["orders_by_status"],
            "feed": state["feed"],
            "arrivals": state["arrivals"],
            "per_front_end": state.get("per_front_end", {}),
        }

    def raw_effects(self) -> dict[str, dict[str, Any]]:
        return self._call("GET", "state")["effects"]

    def timings(self) -> dict[str, dict[str, float]]:
        """Per order id: when the hook was called for it (ready), when start-handling was accepted."""
        return self._call("GET", "timings")

    def start_arrivals(self, per_second: float, seconds: float | None = None) -> None:
        self._call("POST", "arrivals", {"per_second": per_second, "seconds": seconds})

    def stop_arrivals(self) -> None:
        self._call("POST", "arrivals", {"per_second": 0})

    def reset_in_flight(self) -> None:
        self._call("POST", "in-flight/reset")

    def set_faults(self, **faults: Any) -> None:
        self._call("POST", "faults", faults)

    def requests_count(self) -> dict[str, int]:
        return self._call("GET", "state")["requests"]

    def set_rate_limit(self, rpm: int | None) -> None:
        """A new limit in a fresh 60 s window: the requests made so far do not count against it."""
        self._call("POST", "rate-limit", {"rpm": rpm, "fresh_window": True})

    def set_latency(self, ms: int, tail: dict[str, Any] | None = None) -> None:
        self._call("POST", "latency", {"ms": ms, "tail": tail})

    def stop(self) -> None:
        self._control.close()
        if self._process.poll() is None:
            assert self._process.stdin is not None
            try:
                self._process.stdin.close()  # the child's signal to stop
            except OSError:
                pass
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
