"""`make demo`: the whole product on one machine, against the built-in sandbox store.

Starts the sandbox (a fake VTEX with orders waiting), migrates, creates a demo admin user, runs
one intake so the orders are there at once, then runs a django-q2 cluster and the web server
until Ctrl-C, which stops all of them.

The sandbox holds VTEX's real order shapes (company buyers, pickup, split purchases with another
seller, gifts, kits, weights, changed orders: vtex_sandbox/shapes.py), so the demo shows some of
each; ``DEMO_SHAPES=default`` gives the sandbox's plain orders instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from integration.auth import DEMO_PASSWORD, DEMO_USERNAME
from integration.infra.vtex_client import reset_vtex_client, vtex_client
from integration.services.feed import feed_config_ensure
from integration.services.intake import intake_run
from vtex_sandbox import SandboxServer, SandboxStore

SANDBOX_APP_KEY = "vtexappkey-sandbox"
SANDBOX_APP_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's own, not a store's secret


def _stop_like_ctrl_c(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run erp-bridge with the sandbox store: web admin, background worker and a fake VTEX."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="Web server port (default 8000).")
        parser.add_argument("--sandbox-port", type=int, default=8765, help="Sandbox store port (default 8765).")
        parser.add_argument("--orders", type=int, default=50, help="Orders waiting in the sandbox (default 50).")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, port: int, sandbox_port: int, orders: int, seed: int, **options):
        if not settings.DEBUG:
            raise CommandError("The demo runs with DJANGO_DEBUG on only (it creates a known admin login).")

        # With the feed, VTEX only queues changes made after the feed exists: configure it first,
        # then let the orders arrive.
        use_feed = settings.VTEX_INTAKE == "feed"
        shapes = os.environ.get("DEMO_SHAPES", "").strip().lower() or "mixed"
        if shapes in ("1", "true", "yes", "on"):
            shapes = "mixed"
        if shapes in ("0", "false", "no", "off"):
            shapes = "default"
        try:
            store = SandboxStore(
                orders=0 if use_feed else orders,
                seed=seed,
                app_key=SANDBOX_APP_KEY,
                app_token=SANDBOX_APP_TOKEN,
                shapes=shapes,
            )
        except ValueError as exc:
            raise CommandError(f"DEMO_SHAPES: {exc}") from exc
        try:
            sandbox = SandboxServer(store, host="127.0.0.1", port=sandbox_port)
        except OSError as exc:
            raise CommandError(f"Cannot start the sandbox on port {sandbox_port}: {exc}. Try --sandbox-port.") from exc
        sandbox.start()
        vtex_env = {
            "VTEX_OMS_URL": sandbox.url,
            "VTEX_PAYMENTS_URL": sandbox.url,
            "VTEX_APP_KEY": SANDBOX_APP_KEY,
            "VTEX_APP_TOKEN": SANDBOX_APP_TOKEN,
            "VTEX_FETCH_PAYMENTS": "1",
        }
        os.environ.update(vtex_env)
        for name, value in vtex_env.items():
            setattr(settings, name, value == "1" if name == "VTEX_FETCH_PAYMENTS" else value)
        os.environ["VTEX_PULL_EVERY_S"] = "60"  # the worker's schedule: a new order every minute
        # The sandbox's NF-e ("Generate NF-e" on its page) come from SEFAZ's test environment.
        os.environ["ERP_BRIDGE_NFE_ALLOW_HOMOLOGATION"] = "1"
        settings.NFE_ALLOW_HOMOLOGATION = True
        settings.VTEX_PULL_EVERY_MINUTES = 1
        reset_vtex_client()
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_demo_user()
        if use_feed:
            feed_config_ensure(client=vtex_client())
            store.add_orders(orders)
        self.stdout.write(f"Sandbox store (fake VTEX) with {orders} ready orders at {sandbox.url}/")
        self.stdout.write(f"First intake from the sandbox ({settings.VTEX_INTAKE})…")
        self.stdout.write(f"  {intake_run(source=settings.VTEX_INTAKE).summary()}")

        # Ctrl-C, or `kill`, stops the demo and its children (also when started without a terminal).
        signal.signal(signal.SIGINT, _stop_like_ctrl_c)
        signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
        children = self._start_children(port)
        url = f"http://127.0.0.1:{port}/admin/"
        self.stdout.write(
            self.style.SUCCESS(f"\nerp-bridge is running: {url}  (login {DEMO_USERNAME} / {DEMO_PASSWORD})")
        )
        self.stdout.write(
            f"New sandbox orders: curl -X POST {sandbox.url}/_sandbox/orders -d '{{\"count\": 5}}'  "
            "(pulled every minute).\n"
            f'An order\'s NF-e, to try "Import NF-e XML": "Generate NF-e" on {sandbox.url}/ or '
            f"curl -o nfe.xml {sandbox.url}/_sandbox/orders/<order id>/nfe. Ctrl-C stops everything.\n"
        )
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            self.stderr.write("A demo process stopped on its own; shutting the demo down.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self._stop(children)
            sandbox.stop()
        self.stdout.write("Demo stopped.")

    def _ensure_demo_user(self) -> None:
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()

    def _start_children(self, port: int) -> list[subprocess.Popen]:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # Own process groups: Ctrl-C reaches this command, which stops the children in order.
        options = {"env": os.environ.copy(), "start_new_session": True}
        return [
            subprocess.Popen([*manage, "qcluster"], **options),
            subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], **options),
        ]

    @staticmethod
    def _stop(children: list[subprocess.Popen]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
