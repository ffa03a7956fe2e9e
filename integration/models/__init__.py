"""The models, one module per thing they hold; import them from here."""

from integration.models.cancellation import CancellationRequest
from integration.models.infra import Lease, RateBudget
from integration.models.intake import FeedState, HookNotification
from integration.models.invoicing import Invoice, InvoiceItem, SendState, TrackingEvent
from integration.models.orders import ItemFulfillment, Order, OrderChange, OrderItem, OrderSeller, Payment
from integration.models.outbox import OutboxMessage
from integration.models.reconciliation import Drift
from integration.models.timeline import OrderEvent, VtexCall

__all__ = [
    "CancellationRequest",
    "Drift",
    "FeedState",
    "HookNotification",
    "Invoice",
    "InvoiceItem",
    "ItemFulfillment",
    "Lease",
    "Order",
    "OrderChange",
    "OrderEvent",
    "OrderItem",
    "OrderSeller",
    "OutboxMessage",
    "Payment",
    "RateBudget",
    "SendState",
    "TrackingEvent",
    "VtexCall",
]
