"""erp-bridge as it is deployed, in child processes: gunicorn serving the app (the hook) and
`manage.py qcluster` workers, on the scenario's database, pointed at a sandbox.

The freshness scenario and the soak need it: the hook is answered by a web process, the
notification queues a django-q2 task, a cluster runs the intake; none of that happens inside
the bench's own process. Each child runs in a process group of its own, so that stopping or
killing it reaches its django-q2 workers too, and writes its output to a log file (shown when
something fails).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import requests
from django.conf import settings
from django.urls import reverse
from django_q.conf import Conf

from bench.machine import PROJECT_ROOT
from bench.sandbox import SandboxProcess

HOOK_SECRET = "bench-hook-secret"  # noqa: S105 - the bench's own
HOOK_SECRET_HEADER = "X-ERP-Bridge-Secret"
START_TIMEOUT_S = 60


class ServedBridgeError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bridge_env(sandbox: SandboxProcess, database_env: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of an erp-bridge child: production-like (DEBUG off), pointed at the sandbox.

    The bench's own VTEX_* and Q_* variables are dropped, so that the children run on the
    defaults (VTEX_CONCURRENCY unset), as a new installation would; `extra` adds to them."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VTEX_", "Q_", "ERP_BRIDGE_CRASH")) and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(database_env)
    env.update(
        DJANGO_DEBUG="0",
        # A key of the run's own (DEBUG off refuses the published development key); ServedBridge
        # signs the bench's own tasks with it too.
        DJANGO_SECRET_KEY=f"bench-{secrets.token_urlsafe(40)}",
        Q_CLUSTER_NAME=settings.Q_CLUSTER["name"],  # the same queue as the bench's own tasks
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SSL_REDIRECT="0",
        ERP_BRIDGE_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        VTEX_ACCOUNT_NAME="sandbox",
        VTEX_OMS_URL=sandbox.url,
        VTEX_PAYMENTS_URL=sandbox.url,
        VTEX_APP_KEY=sandbox.app_key,
        VTEX_APP_TOKEN=sandbox.app_token,
        VTEX_RATE_LIMIT_RPM="6000",
        VTEX_FETCH_PAYMENTS="0",
        VTEX_START_HANDLING="on_import",
        VTEX_HOOK_SECRET=HOOK_SECRET,
        VTEX_HOOK_SECRET_HEADER=HOOK_SECRET_HEADER,
    )
    env.update(extra)
    return env


class ServedBridge:
    """gunicorn + `qclusters` qcluster children; `hook_url` is the hook's address.

    `cluster_env`: what to add to cluster N's environment (e.g. a sandbox port of its own)."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        qclusters: int,
        log_dir: Path,
        web_workers: int = 2,
        cluster_env: Sequence[dict[str, str]] = (),
    ) -> None:
        self.env = env
        self.cluster_env = list(cluster_env)
        self.log_dir = log_dir
        # django-q2 signs a queued task with the key it read at import (Conf.SECRET_KEY), and a
        # cluster refuses a task signed with another: the tasks this process queues (the soak's
        # ERP enters invoices, whose sending is queued) are signed with the children's key.
        self._own_task_key = Conf.SECRET_KEY
        Conf.SECRET_KEY = env["DJANGO_SECRET_KEY"]
        log_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.hook_url = self.url + reverse("vtex-hook")
        self._logs: list = []
        self.web = self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "erp_bridge.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(web_workers),
                "--threads",
                "4",
                "--graceful-timeout",
                "5",
            ],
        )
        self.clusters: list[subprocess.Popen] = [self.start_cluster(n) for n in range(qclusters)]
        try:
            self._wait_for_web()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, command: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        env = {**self.env, **(extra_env or {})}
        return subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_cluster(self, number: int) -> subprocess.Popen:
        extra = self.cluster_env[number] if number < len(self.cluster_env) else None
        return self._spawn(f"qcluster-{number}", [sys.executable, str(PROJECT_ROOT / "manage.py"), "qcluster"], extra)

    def _wait_for_web(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise ServedBridgeError(f"gunicorn ended (exit {self.web.returncode}):\n{self.log_tail('web')}")
            try:
                # VTEX's ping: answered 200 without the secret once the app is up.
                if requests.post(self.hook_url, json={"hookConfig": "ping"}, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise ServedBridgeError(f"gunicorn did not answer within {START_TIMEOUT_S} s:\n{self.log_tail('web')}")

    def register_hook(self) -> None:
        """`manage.py vtex_hook_config`, as an installation registers its hook (the sandbox pings it)."""
        command = ["vtex_hook_config", "--allow-http", "--url", self.hook_url]
        done = subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "manage.py"), *command],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise ServedBridgeError(f"vtex_hook_config failed:\n{done.stdout}\n{done.stderr}")

    def alive(self) -> bool:
        return self.web.poll() is None and all(cluster.poll() is None for cluster in self.clusters)

    def kill_cluster(self, number: int) -> None:
        """SIGKILL to the cluster's whole process group: a crash, not a stop (its tasks die mid-way)."""
        cluster = self.clusters[number]
        try:
            os.killpg(cluster.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        cluster.wait(timeout=30)

    def restart_cluster(self, number: int) -> None:
        self.clusters[number] = self.start_cluster(number)

    def pids(self) -> dict[str, int]:
        return {"web": self.web.pid, **{f"qcluster-{n}": c.pid for n, c in enumerate(self.clusters)}}

    def log_tail(self, name: str, chars: int = 3000) -> str:
        try:
            return (self.log_dir / f"{name}.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to each main process (django-q2 and gunicorn stop their own workers), then
        SIGKILL to the group of any still running."""
        children = [*self.clusters, self.web]
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.wait()
        for log in self._logs:
            log.close()
        Conf.SECRET_KEY = self._own_task_key

    def __enter__(self) -> ServedBridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def process_tree_rss_kb(pid: int) -> int:
    """RSS of a process and all its descendants (django-q2's sentinel, workers, monitor, pusher)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total
