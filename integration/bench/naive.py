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
from dataclasses import dataclass

import requests
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integration.models import Order, OrderItem, Payment

TIMEOUT_S = 30


@dataclass
class NaiveResult:
    imported: int = 0
    acknowledged: int = 0
    list_pages: int = 0


def _parse(value: str | None):
    return parse_datetime(value) if value else None


def naive_import(*, base_url: str, app_key: str, app_token: str) -> NaiveResult:
    headers = {"Accept": "application/json", "X-VTEX-API-AppKey": app_key, "X-VTEX-API-AppToken": app_token}
    result = NaiveResult()
    order_ids: list[str] = []
    page, pages = 1, 1
    while page <= pages:
        answer = requests.get(
            f"{base_url}/api/oms/pvt/orders",
            params={"f_status": "ready-for-handling", "page": page, "per_page": 100, "orderBy": "creationDate,asc"},
            headers=headers,
            timeout=TIMEOUT_S,
        )
        answer.raise_for_status()
        body = answer.json()
        order_ids += [entry["orderId"] for entry in body["list"]]
        pages = body["paging"]["pages"]
        result.list_pages += 1
        page += 1

    for order_id in order_ids:
        if Order.objects.filter(order_id=order_id).exists():
            continue
        answer = requests.get(f"{base_url}/api/oms/pvt/orders/{order_id}", headers=headers, timeout=TIMEOUT_S)
        answer.raise_for_status()
        raw = answer.json()
        profile = raw.get("clientProfileData") or {}
        address = (raw.get("shippingData") or {}).get("address") or {}
        totals = {total["id"]: total["value"] for total in raw.get("totals") or []}
        with transaction.atomic():
            order = Order.objects.create(
                order_id=raw["orderId"],
                sequence=raw.get("sequence") or "",
                order_group=raw.get("orderGroup") or "",
                origin=raw.get("origin") or "",
                sales_channel=raw.get("salesChannel") or "",
                vtex_status=raw["status"],
                total_cents=raw["value"],
                items_total_cents=totals.get("Items", 0),
                discounts_total_cents=totals.get("Discounts", 0),
                shipping_total_cents=totals.get("Shipping", 0),
                tax_total_cents=totals.get("Tax", 0),
                created_at_vtex=_parse(raw.get("creationDate")),
                last_change_at_vtex=_parse(raw.get("lastChange")),
                customer_name=f"{profile.get('firstName', '')} {profile.get('lastName', '')}".strip(),
                customer_email=profile.get("email") or "",
                customer_document=profile.get("document") or "",
                receiver_name=address.get("receiverName") or "",
                postal_code=address.get("postalCode") or "",
                street=address.get("street") or "",
                number=address.get("number") or "",
                neighborhood=address.get("neighborhood") or "",
                city=address.get("city") or "",
                state_code=address.get("state") or "",
                country=address.get("country") or "",
                raw=raw,
                last_synced_at=timezone.now(),
            )
            for index, item in enumerate(raw.get("items") or []):
                OrderItem.objects.create(
                    order=order,
                    item_index=index,
                    unique_id=item.get("uniqueId") or "",
                    sku_id=str(item.get("id") or ""),
                    product_id=str(item.get("productId") or ""),
                    ref_id=item.get("refId") or "",
                    ean=item.get("ean") or "",
                    name=(item.get("name") or "")[:300],
                    quantity=item["quantity"],
                    unit_price_cents=item.get("price") or 0,
                    list_price_cents=item.get("listPrice") or 0,
                    selling_price_cents=item.get("sellingPrice") or 0,
                )
            for transaction_data in (raw.get("paymentData") or {}).get("transactions") or []:
                for payment in transaction_data.get("payments") or []:
                    Payment.objects.create(
                        order=order,
                        transaction_id=transaction_data.get("transactionId") or "",
                        payment_id=payment.get("id") or "",
                        payment_system=str(payment.get("paymentSystem") or ""),
                        payment_system_name=payment.get("paymentSystemName") or "",
                        group=payment.get("group") or "",
                        value_cents=payment.get("value") or 0,
                        installments=payment.get("installments") or 1,
                    )
        result.imported += 1
        answer = requests.post(
            f"{base_url}/api/oms/pvt/orders/{order_id}/start-handling", headers=headers, timeout=TIMEOUT_S
        )
        answer.raise_for_status()
        Order.objects.filter(pk=order.pk).update(
            ack_state=Order.AckState.DONE, acknowledged_at=timezone.now(), vtex_status="handling"
        )
        result.acknowledged += 1
    return result


def http_only_ceiling(*, base_url: str, app_key: str, app_token: str, workers: int) -> int:
    """The intake's VTEX calls alone: `workers` threads, one keep-alive Session, get + start-handling
    per order, the JSON parsed, no database. What any Python client gets from this sandbox on this
    machine; erp-bridge's intake can at best approach it. Returns the orders handled."""
    headers = {"Accept": "application/json", "X-VTEX-API-AppKey": app_key, "X-VTEX-API-AppToken": app_token}
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=workers * 2, max_retries=0))
    order_ids: queue.Queue[str] = queue.Queue()
    page, pages = 1, 1
    while page <= pages:
        answer = session.get(
            f"{base_url}/api/oms/pvt/orders",
            params={"f_status": "ready-for-handling", "page": page, "per_page": 100, "orderBy": "creationDate,asc"},
            headers=headers,
            timeout=TIMEOUT_S,
        )
        answer.raise_for_status()
        body = answer.json()
        for entry in body["list"]:
            order_ids.put(entry["orderId"])
        pages = body["paging"]["pages"]
        page += 1
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
