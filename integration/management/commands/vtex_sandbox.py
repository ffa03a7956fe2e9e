"""`python manage.py vtex_sandbox`: run the sandbox store (a fake VTEX) until Ctrl-C."""

from __future__ import annotations

import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vtex_sandbox import DEFAULT_APP_KEY, DEFAULT_APP_TOKEN, FaultConfig, SandboxServer, SandboxStore
from vtex_sandbox.faults import checked_latency_ms
from vtex_sandbox.shapes import CURRENCIES, SHAPES


class Command(BaseCommand):
    help = "Run the sandbox store: a stateful fake VTEX (OMS, Payments, Feed v3, hook) on one HTTP port."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765, help="Port to listen on (default 8765; 0 = any free).")
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
        parser.add_argument("--orders", type=int, default=50, help="Orders ready for handling at start (default 50).")
        parser.add_argument("--seed", type=int, default=1, help="Seed of the generated orders and faults (default 1).")
        parser.add_argument("--latency-ms", type=int, default=0, help="Delay before every VTEX answer.")
        parser.add_argument(
            "--fail-rate",
            type=float,
            default=0.0,
            help="Share of requests failing with 429/500/503/slow/dropped (0-1).",
        )
        parser.add_argument(
            "--lost-rate", type=float, default=0.0, help="Share of POST/PUT/PATCH applied but left unanswered (0-1)."
        )
        parser.add_argument(
            "--rate-limit-rpm", type=int, default=None, help="Answer 429 beyond this many requests a minute."
        )
        parser.add_argument("--retry-after-s", type=int, default=1, help="Retry-After of injected 429s (default 1).")
        parser.add_argument(
            "--cancel-delay-s",
            type=float,
            default=0.0,
            help="Seconds from cancellation-requested to canceled (default 0).",
        )
        parser.add_argument(
            "--shapes",
            choices=SHAPES,
            default="default",
            help="Order shapes: 'default' (the original orders, same for a seed) or 'mixed' (real VTEX shapes: "
            "company buyers, pickup, split purchases with a second seller, gifts, kits, items sold by weight, "
            "changed orders), seeded.",
        )
        parser.add_argument(
            "--currency",
            choices=sorted(CURRENCIES),
            default="BRL",
            help="The store's currency (default BRL); COP makes a Colombian store.",
        )
        parser.add_argument(
            "--hostile-rate",
            type=float,
            default=0.0,
            help="Share of the orders served in a shape no database stores (a NUL, a lone surrogate, 2**63, "
            "Infinity, deep nesting: vtex_sandbox/hostile.py), to watch each fail alone (default 0).",
        )
        parser.add_argument("--app-key", default=None, help="App key to accept (default: settings.VTEX_APP_KEY).")
        parser.add_argument("--app-token", default=None, help="App token to accept (default: settings.VTEX_APP_TOKEN).")

    def handle(self, *args, **options):
        app_key = options["app_key"] or settings.VTEX_APP_KEY or DEFAULT_APP_KEY
        app_token = options["app_token"] or settings.VTEX_APP_TOKEN or DEFAULT_APP_TOKEN
        try:
            faults = FaultConfig(
                fail_rate=options["fail_rate"],
                lost_rate=options["lost_rate"],
                retry_after_s=options["retry_after_s"],
                seed=options["seed"],
            )
            checked_latency_ms(options["latency_ms"], "--latency-ms")
        except ValueError as error:
            raise CommandError(str(error)) from error
        store = SandboxStore(
            orders=options["orders"],
            seed=options["seed"],
            app_key=app_key,
            app_token=app_token,
            cancel_delay_s=options["cancel_delay_s"],
            shapes=options["shapes"],
            currency=options["currency"],
            hostile_rate=options["hostile_rate"],
        )
        try:
            server = SandboxServer(
                store,
                host=options["host"],
                port=options["port"],
                faults=faults,
                rate_limit_rpm=options["rate_limit_rpm"],
                latency_ms=options["latency_ms"],
            )
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot start the sandbox on {options['host']}:{options['port']}: {error}") from error
        if options["verbosity"] >= 2:
            logging.getLogger("vtex_sandbox").setLevel(logging.DEBUG)
        self._print_banner(server, app_key, token_is_default=app_token == DEFAULT_APP_TOKEN, orders=options["orders"])
        signal.signal(signal.SIGTERM, _stop_like_ctrl_c)  # stop cleanly under a process manager too
        server.serve_forever()
        self.stdout.write("\nSandbox store stopped. Bye.")

    def _print_banner(self, server: SandboxServer, app_key: str, *, token_is_default: bool, orders: int) -> None:
        url = server.url
        # A token given by the user may be a real store's: never print it.
        token = DEFAULT_APP_TOKEN if token_is_default else "<the value of --app-token / settings.VTEX_APP_TOKEN>"
        self.stdout.write(self.style.SUCCESS(f"VTEX sandbox store with {orders} orders ready for handling: {url}/"))
        self.stdout.write(f"  VTEX_OMS_URL={url}")
        self.stdout.write(f"  VTEX_PAYMENTS_URL={url}")
        self.stdout.write(f"  VTEX_APP_KEY={app_key}")
        self.stdout.write(f"  VTEX_APP_TOKEN={token}")
        self.stdout.write(
            f"Open {url}/ to watch VTEX's side; add orders with "
            f"curl -X POST {url}/_sandbox/orders -d '{{\"count\": 5}}'. Ctrl-C stops."
        )


def _stop_like_ctrl_c(signum, frame):
    raise KeyboardInterrupt
