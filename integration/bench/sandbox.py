"""The sandbox store in a child process, driven over a pipe (one JSON object per line).

Why a process: the code being measured and VTEX should not share one GIL and one core. Run in
the bench's own process, the sandbox's handler threads (JSON encoding, deep copies of orders)
would be counted against erp-bridge, and against the naive importer by a different amount.

Commands (stdin) and answers (stdout), each one line of JSON:
    {"cmd": "state"}                        -> {"requests": {...}, "effects": {...}}
    {"cmd": "rate", "rpm": 6000}            -> a fresh 60 s window limited to rpm (null: none)
    {"cmd": "latency", "ms": 20}            -> delay before every VTEX answer from now on
    {"cmd": "stop"} (or end of input)       -> the server stops and the process exits

Run by SandboxProcess; `python -m integration.bench.sandbox '<json options>'` is the child.
Standard library only, like the sandbox itself: no Django in the child.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from integration.bench.machine import PROJECT_ROOT

APP_KEY = "vtexappkey-bench"
APP_TOKEN = "bench-token-not-a-secret"  # noqa: S105 - the sandbox's own, for the bench only


def _effects_summary(effects: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per effect kind: orders touched, effects in all, and the most on one order (1 = never twice)."""
    summary = {}
    for kind, per_order in effects.items():
        counts = []
        for value in per_order.values():
            counts.extend(value.values() if isinstance(value, dict) else [value])
        summary[kind] = {"orders": len(per_order), "total": sum(counts), "max_per_target": max(counts, default=0)}
    return summary


def _serve(options: dict[str, Any]) -> None:
    from integration.sandbox import SandboxServer, SandboxStore
    from integration.sandbox.server import RateLimiter

    store = SandboxStore(
        orders=int(options.get("orders", 0)), seed=options.get("seed", 1), app_key=APP_KEY, app_token=APP_TOKEN
    )
    server = SandboxServer(
        store,
        host="127.0.0.1",
        port=0,
        rate_limit_rpm=options.get("rate_limit_rpm"),
        latency_ms=int(options.get("latency_ms", 0)),
    )
    server.start()
    out = sys.stdout

    def answer(body: dict[str, Any]) -> None:
        out.write(json.dumps(body) + "\n")
        out.flush()

    answer({"url": server.url})
    try:
        for line in sys.stdin:
            command = json.loads(line)
            cmd = command.get("cmd")
            if cmd == "state":
                answer({"requests": store.requests_count, "effects": _effects_summary(store.effects)})
            elif cmd == "rate":
                server.rate_limiter = RateLimiter(command.get("rpm"))  # a fresh window: earlier traffic forgotten
                answer({"ok": True})
            elif cmd == "latency":
                server.latency_ms = int(command["ms"])
                answer({"ok": True})
            elif cmd == "stop":
                answer({"ok": True})
                break
            else:
                answer({"error": f"unknown command {cmd!r}"})
    finally:
        server.stop()


class SandboxProcess:
    """A sandbox store with `orders` ready orders, served by a child process on a free port."""

    def __init__(self, *, orders: int, latency_ms: int = 0, rate_limit_rpm: int | None = None, seed: int = 1) -> None:
        options = {"orders": orders, "latency_ms": latency_ms, "rate_limit_rpm": rate_limit_rpm, "seed": seed}
        self._process = subprocess.Popen(  # -m from PROJECT_ROOT: the project is on the child's sys.path
            [sys.executable, "-m", "integration.bench.sandbox", json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=PROJECT_ROOT,
        )
        self.url: str = self._read()["url"]
        self.app_key = APP_KEY
        self.app_token = APP_TOKEN

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            code = self._process.wait(timeout=10)
            raise RuntimeError(f"the sandbox process ended (exit code {code}); see its error output above")
        return json.loads(line)

    def _ask(self, **command: Any) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def state(self) -> dict[str, Any]:
        return self._ask(cmd="state")

    def requests_count(self) -> dict[str, int]:
        return self.state()["requests"]

    def set_rate_limit(self, rpm: int | None) -> None:
        self._ask(cmd="rate", rpm=rpm)

    def set_latency(self, ms: int) -> None:
        self._ask(cmd="latency", ms=ms)

    def stop(self) -> None:
        if self._process.poll() is None:
            try:
                self._ask(cmd="stop")
            except (OSError, RuntimeError, ValueError):
                pass
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
