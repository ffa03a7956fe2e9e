"""The order hook (VTEX-API.md §9): its config, and the notifications VTEX sends to it.

``HookApi`` is mixed into ``SandboxStore`` (store.py). Configuring a hook pings its URL first;
then every status change the filter takes is posted to the URL by ``HookNotifier``, from a
background thread, with a few retries. This is the sandbox's only outbound HTTP. ``ROUTES``
are the hook routes.
"""

from __future__ import annotations

import copy
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from .errors import BadRequest, NotFound, require_object
from .feed import event_domain, filter_accepts, parse_filter
from .routing import Answer, Request, route

# Under the app's logger, as before the sandbox left the app: the settings' console handler prints it.
logger = logging.getLogger("vtex_sandbox")

HOOK_TIMEOUT_S = 5.0  # VTEX expects the hook endpoint to answer within 5000 ms (VTEX-API.md §9)


class HookApi:
    """The hook config and its notifications (a SandboxStore mixin)."""

    def set_hook_config(self, body: Any) -> dict[str, Any]:
        """Configure the hook; VTEX pings the URL first and refuses the config unless it answers
        200 (VTEX-API.md §9). Unlike VTEX, plain http URLs are accepted, for local demos."""
        fields = require_object(body)
        config = {"filter": parse_filter(fields.get("filter")), "hook": _parse_hook(fields.get("hook"))}
        hook = config["hook"]
        if not self._hook.ping(hook["url"], hook["headers"]):
            raise BadRequest("Unable to check address")
        with self._lock:
            self._hook_config = config
            return copy.deepcopy(config)

    def hook_config(self) -> dict[str, Any]:
        with self._lock:
            if self._hook_config is None:
                raise NotFound("Hook configuration not found for this appKey")
            return copy.deepcopy(self._hook_config)

    def delete_hook_config(self) -> None:
        with self._lock:
            if self._hook_config is None:
                raise NotFound("Hook configuration not found for this appKey")
            self._hook_config = None

    def _publish_to_hook(
        self, doc: dict[str, Any], *, state: str, last_state: str, last_change: str, current_change: str
    ) -> None:
        if self._hook_config is not None and filter_accepts(self._hook_config["filter"], state):
            hook = self._hook_config["hook"]
            notification = {
                "Domain": event_domain(doc),
                "OrderId": doc["orderId"],
                "State": state,
                "LastState": last_state,
                "LastChange": last_change,
                "CurrentChange": current_change,
                "Origin": {"Account": self.account, "Key": self.app_key},
            }
            self._hook.notify(hook["url"], hook["headers"], notification)


class HookNotifier:
    """Delivers hook notifications from background threads, with a few retries; VTEX itself
    retries failed deliveries on a back-off (VTEX-API.md §9). One thread (the default) delivers
    in order; the bench's busy stores take a few (one thread, a new connection per call, may fall
    behind tens of orders a second), as VTEX calls a hook in parallel."""

    retry_delays_s = (0.5, 2.0)

    def __init__(self, on_first_attempt: Callable[[dict[str, Any]], None] | None = None, threads: int = 1) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 32:
            raise ValueError("hook_threads must be an integer between 1 and 32")
        self.threads = threads
        #: Told of each notification as its first delivery starts (the store times orders by it).
        self._on_first_attempt = on_first_attempt
        self._queue: queue.Queue[tuple[str, dict[str, str], dict[str, Any]]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._thread_lock = threading.Lock()
        # No proxies: a demo's hook usually listens on localhost.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def ping(self, url: str, headers: dict[str, str]) -> bool:
        return self._post(url, headers, {"hookConfig": "ping"})

    def notify(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        self._ensure_worker()
        self._queue.put((url, dict(headers), body))

    def _ensure_worker(self) -> None:
        with self._thread_lock:
            while len(self._threads) < self.threads:
                thread = threading.Thread(target=self._work, name=f"sandbox-hook-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            url, headers, body = self._queue.get()
            if self._on_first_attempt is not None:
                self._on_first_attempt(body)
            for delay in (*self.retry_delays_s, None):
                if self._post(url, headers, body):
                    break
                if delay is not None:
                    time.sleep(delay)
            else:
                logger.warning("hook notification for %s (%s) not delivered", body["OrderId"], body["State"])

    def _post(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> bool:
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={**headers, "Content-Type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=HOOK_TIMEOUT_S) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False


def _parse_hook(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest("hook is required and must be an object")
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise BadRequest("hook.url is required and must be an https URL")
    headers = value.get("headers")
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise BadRequest("hook.headers is required and must be an object of string values")
    return {"url": url, "headers": dict(headers)}


# -- routes -----------------------------------------------------------------------------------------
def _hook_config_get(store: HookApi, request: Request) -> Answer:
    return Answer(200, store.hook_config())


def _hook_config_post(store: HookApi, request: Request) -> Answer:
    return Answer(200, store.set_hook_config(request.body))


def _hook_config_delete(store: HookApi, request: Request) -> Answer:
    store.delete_hook_config()
    return Answer(200)


ROUTES = (
    route("GET", "/api/orders/hook/config", "hook_config_get", _hook_config_get),
    route("POST", "/api/orders/hook/config", "hook_config_post", _hook_config_post),
    route("DELETE", "/api/orders/hook/config", "hook_config_delete", _hook_config_delete),
)
