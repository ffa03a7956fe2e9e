"""A stateful fake VTEX store (OMS, Payments, Feed v3, hook) for the demo, staging, tests and the bench.

store = SandboxStore(orders=50, seed=1)  # shapes="mixed" for real VTEX order shapes
server = SandboxServer(store, port=0).start()
server.url  # use it as both VTEX_OMS_URL and VTEX_PAYMENTS_URL

Standard library only; it imports nothing from erp-bridge. Where things are, by VTEX API:

- oms.py: OMS orders: Get and List orders, start-handling, cancel, invoice, tracking number
  and tracking events, with their rules and routes;
- payments.py: OMS's payment-transaction and the Payments Gateway's transactions;
- feed.py: Feed v3 config, read and commit, its SQS-like queue, and the filter the hook shares;
- hook.py: the hook config and the notifications it sends (HookNotifier);
- store.py: SandboxStore, one account's shared state: orders and their indexes, status changes
  (published to the feed and the hook), delayed cancellations, effects and request counts; it
  is made of the four API mixins above;
- generator.py: the seeded order generator (realistic orders whose money adds up);
- shapes.py: the real VTEX order shapes behind ``shapes="mixed"`` (company buyers, pickup, split
  purchases with a second seller, gifts, kits, weights, changes) and other currencies
  (``currency="COP"``), with their money rules and the order change;
- errors.py: the errors the rules raise (HTTP status + VTEX code) and shared body checks;
- routing.py: Request, Answer and Route, what each API module's ROUTES are made of;
- server.py: SandboxServer: HTTP, authentication, route matching, the /_sandbox/ control routes
  and the status page at /;
- faults.py: injected faults, the rate limit (429 + Retry-After) and the bounds of the latency.
"""

from .faults import FaultConfig
from .server import SandboxServer
from .store import DEFAULT_APP_KEY, DEFAULT_APP_TOKEN, SandboxStore

__all__ = ["DEFAULT_APP_KEY", "DEFAULT_APP_TOKEN", "FaultConfig", "SandboxServer", "SandboxStore"]
