"""Payments (VTEX-API.md §8): OMS's payment-transaction and the Payments Gateway's transactions.

``PaymentsApi`` is mixed into ``SandboxStore`` (store.py). A transaction's status follows its
order's: Approved, then Finished once the order is invoiced, or Canceled. The orders of a split
purchase share one transaction (shapes.py): it follows the first order (``-01``), and its value is
the whole purchase's. ``ROUTES`` are the payment routes.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import NotFound
from .oms import OrderRecord
from .routing import Answer, Request, route


class PaymentsApi:
    """The order's transaction as OMS and the Payments Gateway show it (a SandboxStore mixin)."""

    def payment_transaction(self, order_id: str) -> dict[str, Any]:
        """OMS's view of the order's transaction (VTEX-API.md §8, last paragraph)."""
        with self._lock:
            self._apply_due_cancellations()
            doc = self._get(order_id).doc
            transaction = doc["paymentData"]["transactions"][0]
            return {
                "status": _transaction_status(doc),
                "isActive": transaction["isActive"],
                "transactionId": transaction["transactionId"],
                "merchantName": transaction["merchantName"],
                "payments": [
                    {key: copy.deepcopy(payment[key]) for key in _OMS_PAYMENT_FIELDS}
                    for payment in transaction["payments"]
                ],
            }

    def transaction(self, transaction_id: str) -> dict[str, Any]:
        """Payments Gateway transaction (VTEX-API.md §8)."""
        with self._lock:
            self._apply_due_cancellations()
            record = self._get_by_transaction(transaction_id)
            return _gateway_transaction(record, transaction_id, owner=self.app_key)

    def transaction_payments(self, transaction_id: str) -> list[dict[str, Any]]:
        with self._lock:
            self._apply_due_cancellations()
            doc = self._get_by_transaction(transaction_id).doc
            return [
                _gateway_payment(doc, transaction_id, payment)
                for payment in doc["paymentData"]["transactions"][0]["payments"]
            ]

    def transaction_payment(self, transaction_id: str, payment_id: str) -> dict[str, Any]:
        for payment in self.transaction_payments(transaction_id):
            if payment["id"] == payment_id:
                return payment
        raise NotFound(f"Payment {payment_id} not found in transaction {transaction_id}")

    def _get_by_transaction(self, transaction_id: str) -> OrderRecord:
        order_id = self._by_transaction.get(transaction_id.upper())
        if order_id is None:
            raise NotFound(f"Transaction {transaction_id} not found")
        return self._orders[order_id]


# -- payments helpers -------------------------------------------------------------------------------
_OMS_PAYMENT_FIELDS = (
    "id",
    "paymentSystem",
    "paymentSystemName",
    "value",
    "installments",
    "referenceValue",
    "cardHolder",
    "cardNumber",
    "firstDigits",
    "lastDigits",
    "cvv2",
    "expireMonth",
    "expireYear",
    "url",
    "giftCardId",
    "giftCardName",
    "giftCardCaption",
    "redemptionCode",
    "group",
    "tid",
    "dueDate",
    "connectorResponses",
)


def _transaction_status(doc: dict[str, Any]) -> str:
    """Approved → (settled at invoicing) Finished; or Canceled (VTEX-API.md §8 lifecycle)."""
    if doc["status"] in ("cancel", "canceled"):
        return "Canceled"
    if doc["status"] == "invoiced":
        return "Finished"
    return "Approved"


def _gateway_date(vtex_date: str | None) -> str | None:
    # The Payments examples write dates without an offset, in UTC ("2023-06-02T17:04:19").
    return None if vtex_date is None else vtex_date[:19]


def _gateway_transaction(record: OrderRecord, transaction_id: str, *, owner: str) -> dict[str, Any]:
    doc = record.doc
    status = _transaction_status(doc)
    href = f"/api/pvt/transactions/{transaction_id}"
    settled = status == "Finished"
    canceled = status == "Canceled"
    cancellation = doc["cancellationData"] or {}
    return {
        "id": transaction_id,
        "transactionId": transaction_id,
        "referenceKey": doc["sequence"],
        "interactions": {"href": f"{href}/interactions"},
        "settlements": {"href": f"{href}/settlements"},
        "payments": {"href": f"{href}/payments"},
        "refunds": {"href": f"{href}/refunds"},
        "cancellations": {"href": f"{href}/cancellations"},
        "capabilities": {"href": f"{href}/capabilities"},
        "timeoutStatus": 0,
        "totalRefunds": 0,
        "status": status,
        # The payment, not the order's value: a changed order keeps its payment (the difference
        # is refunded) and a split purchase's orders share one (shapes.py).
        "value": sum(payment["value"] for payment in doc["paymentData"]["transactions"][0]["payments"]),
        "receiverUri": None,
        "startDate": _gateway_date(doc["creationDate"]),
        "authorizationToken": transaction_id[::-1],
        "authorizationDate": _gateway_date(doc["authorizedDate"]),
        "commitmentToken": transaction_id[16:] + transaction_id[:16] if settled else None,
        "commitmentDate": _gateway_date(doc["invoicedDate"]) if settled else None,
        "refundingToken": None,
        "refundingDate": None,
        "cancelationToken": transaction_id.lower() if canceled else None,
        "cancelationDate": _gateway_date(cancellation.get("CancellationDate")) if canceled else None,
        "fields": [
            {"name": "orderId", "value": doc["orderGroup"]},
            {"name": "channel", "value": doc["hostname"].upper()},
            {"name": "salesChannel", "value": doc["salesChannel"]},
            {"name": "shopperInteraction", "value": "ecommerce"},
            {"name": "owner", "value": owner},
        ],
        "shopperInteraction": "ecommerce",
        "ipAddress": None,
        "sessionId": None,
        "macId": "",
        "vtexFingerprint": None,
        "chargeback": None,
        "whiteSignature": None,
        "owner": owner,
        "orderId": doc["orderGroup"],
        "userAgent": "",
        "acceptHeader": "application/json",
        "antifraudTid": None,
        "antifraudResponse": None,
        "antifraudReference": None,
        "antifraudAffiliationId": None,
        "channel": doc["hostname"].upper(),
        "salesChannel": doc["salesChannel"],
        "urn": None,
        "softDescriptor": None,
        "markedForRecurrence": False,
        "buyer": {
            "firstName": doc["clientProfileData"]["firstName"],
            "lastName": doc["clientProfileData"]["lastName"],
            "documentType": doc["clientProfileData"]["documentType"],
            # A company buyer has no personal document: its CNPJ is in corporateDocument.
            "document": doc["clientProfileData"]["document"] or doc["clientProfileData"]["corporateDocument"],
            "email": doc["clientProfileData"]["email"],
            "address": "",
            "phone": doc["clientProfileData"]["phone"],
        },
    }


def _gateway_payment(doc: dict[str, Any], transaction_id: str, payment: dict[str, Any]) -> dict[str, Any]:
    is_card = payment["group"] == "creditCard"
    connector = {
        "Tid": payment["tid"],
        "ReturnCode": payment["connectorResponses"]["ReturnCode"],
        "Message": payment["connectorResponses"]["Message"],
        "authId": payment["connectorResponses"]["authId"],
        "nsu": payment["tid"][-6:],
    }
    currency = doc["storePreferencesData"]["currencyCode"]
    extra_fields = {
        "currencyCode": currency,
        "firstDigits": payment["firstDigits"],
        "lastDigits": payment["lastDigits"],
        "dueDate": payment["dueDate"],
        "giftCardId": payment["giftCardId"],
    }
    return {
        "id": payment["id"],
        "paymentSystem": int(payment["paymentSystem"]),
        "paymentSystemName": payment["paymentSystemName"],
        "merchantName": None,
        "group": payment["group"],
        "userProfileId": None,
        "isCustom": False,
        "allowInstallments": is_card,
        "requiresAuthentication": False,
        "allowIssuer": is_card,
        "allowNotification": payment["group"] in ("bankInvoice", "instantPayment"),
        "isAvailable": True,
        "description": None,
        "authorizationDate": _gateway_date(doc["authorizedDate"]),
        "self": {"href": f"/api/pvt/transactions/{transaction_id}/payments/{payment['id']}"},
        "tid": payment["tid"],
        "nsu": connector["nsu"],
        "returnCode": None,
        "returnMessage": None,
        "status": _transaction_status(doc),
        "connector": "SandboxConnector",
        "ConnectorResponses": connector,
        "connectorResponse": dict(connector),
        "ShowConnectorResponses": True,
        "value": payment["value"],
        "installmentsInterestRate": 0,
        "installmentsValue": round(payment["value"] / payment["installments"]),
        "referenceValue": payment["referenceValue"],
        "installments": payment["installments"],
        "currencyCode": currency,
        "provider": None,
        "isBillingAddressDifferent": False,
        "isRegexValid": None,
        "isLuhnValid": None,
        "fields": [{"name": name, "value": value} for name, value in extra_fields.items() if value is not None],
        "sheets": None,
        "originalPaymentId": None,
    }


# -- routes -----------------------------------------------------------------------------------------
def _payment_transaction(store: PaymentsApi, request: Request) -> Answer:
    return Answer(200, store.payment_transaction(request.params["orderId"]))


def _transaction(store: PaymentsApi, request: Request) -> Answer:
    return Answer(200, store.transaction(request.params["transactionId"]))


def _transaction_payments(store: PaymentsApi, request: Request) -> Answer:
    return Answer(200, store.transaction_payments(request.params["transactionId"]))


def _transaction_payment(store: PaymentsApi, request: Request) -> Answer:
    params = request.params
    return Answer(200, store.transaction_payment(params["transactionId"], params["paymentId"]))


ROUTES = (
    route("GET", "/api/oms/pvt/orders/{orderId}/payment-transaction", "payment_transaction", _payment_transaction),
    route("GET", "/api/pvt/transactions/{transactionId}", "transaction", _transaction),
    route("GET", "/api/pvt/transactions/{transactionId}/payments", "transaction_payments", _transaction_payments),
    route(
        "GET", "/api/pvt/transactions/{transactionId}/payments/{paymentId}", "transaction_payment", _transaction_payment
    ),
)
