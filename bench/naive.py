"""The naive importer erp-bridge's intake is compared with: what a typical integration does.

One call at a time, each on a NEW connection (plain requests.get/post, no Session, so no
keep-alive), the order stored with the ORM the simple way (one INSERT per row), then
start-handling. It reads every list page before acting, so moving orders out of
ready-for-handling cannot hide one (the common bug of reading pages while acknowledging is
not what is measured here). It skips orders already stored. No rate budget, no retries.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.db import transaction
from django.utils import timezone

from integration.models import Order, OrderItem, Payment
from integration.vtex.mapping import order_data_from_vtex

TIMEOUT_S = 30


@dataclass
class NaiveResult:
    imported: int = 0
    acknowledged: int = 0


def _headers(app_key: str, app_token: str) -> dict[str, str]:
    return {"Accept": "application/json", "X-VTEX-API-AppKey": app_key, "X-VTEX-API-AppToken": app_token}


def _ready_order_ids(get: Callable[..., requests.Response], base_url: str, headers: dict[str, str]) -> list[str]:
    """Every list page of ready-for-handling orders, read before anything is acted on."""
    order_ids: list[str] = []
    page, pages = 1, 1
    while page <= pages:
        answer = get(
            f"{base_url}/api/oms/pvt/orders",
            params={"f_status": "ready-for-handling", "page": page, "per_page": 100, "orderBy": "creationDate,asc"},
            headers=headers,
            timeout=TIMEOUT_S,
        )
        answer.raise_for_status()
        body = answer.json()
        order_ids += [entry["orderId"] for entry in body["list"]]
        pages = body["paging"]["pages"]
        page += 1
    return order_ids


def naive_import(*, base_url: str, app_key: str, app_token: str) -> NaiveResult:
    headers = _headers(app_key, app_token)
    result = NaiveResult()
    for order_id in _ready_order_ids(requests.get, base_url, headers):
        if Order.objects.filter(order_id=order_id).exists():
            continue
        answer = requests.get(f"{base_url}/api/oms/pvt/orders/{order_id}", headers=headers, timeout=TIMEOUT_S)
        answer.raise_for_status()
        raw = answer.json()
        # erp-bridge's own mapping: what is compared is the calls and the writes, not the parsing.
        data = order_data_from_vtex(raw)
        with transaction.atomic():
            order = Order.objects.create(
                order_id=data.order_id, **data.fields, raw=raw, raw_hash=data.raw_hash, last_synced_at=timezone.now()
            )
            for row in data.items:
                OrderItem.objects.create(order=order, **row)
            for row in data.payments:
                Payment.objects.create(order=order, **row)
        result.imported += 1
        answer = requests.post(
            f"{base_url}/api/oms/pvt/orders/{order_id}/start-handling", headers=headers, timeout=TIMEOUT_S
        )
        answer.raise_for_status()
        Order.objects.filter(pk=order.pk).update(vtex_status="handling")
        result.acknowledged += 1
    return result


def http_only_ceiling(*, base_url: str, app_key: str, app_token: str, workers: int) -> int:
    """The intake's VTEX calls alone: `workers` threads, one keep-alive Session, get + start-handling
    per order, the JSON parsed, no database. What any Python client gets from this sandbox on this
    machine; erp-bridge's intake can at best approach it. Returns the orders handled."""
    headers = _headers(app_key, app_token)
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=workers * 2, max_retries=0))
    order_ids: queue.Queue[str] = queue.Queue()
    for order_id in _ready_order_ids(session.get, base_url, headers):
        order_ids.put(order_id)
    handled = []

    def work() -> None:
        while True:
            try:
                order_id = order_ids.get_nowait()
            except queue.Empty:
                return
            answer = session.get(f"{base_url}/api/oms/pvt/orders/{order_id}", headers=headers, timeout=TIMEOUT_S)
            answer.raise_for_status()
            answer.json()
            answer = session.post(
                f"{base_url}/api/oms/pvt/orders/{order_id}/start-handling", headers=headers, timeout=TIMEOUT_S
            )
            answer.raise_for_status()
            handled.append(order_id)

    threads = [threading.Thread(target=work, name=f"ceiling-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.close()
    return len(handled)
