"""A stateful fake VTEX store (OMS, Payments, Feed v3, hook) for the demo, staging and tests.

store = SandboxStore(orders=50, seed=1)
server = SandboxServer(store, port=0).start()
server.url  # use it as both VTEX_OMS_URL and VTEX_PAYMENTS_URL
"""

from .server import FaultConfig, SandboxServer
from .store import DEFAULT_APP_KEY, DEFAULT_APP_TOKEN, SandboxStore

__all__ = ["DEFAULT_APP_KEY", "DEFAULT_APP_TOKEN", "FaultConfig", "SandboxServer", "SandboxStore"]
