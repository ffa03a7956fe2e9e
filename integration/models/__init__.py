from integration.models.invoicing import CancellationRequest, Invoice, InvoiceItem, SendState, TrackingEvent
from integration.models.orders import Order, OrderEvent, OrderItem, Payment
from integration.models.sync import Drift, FeedState, HookNotification, Lease, OutboxMessage, RateBudget, VtexCall

__all__ = [
    "CancellationRequest",
    "Drift",
    "FeedState",
    "HookNotification",
    "Invoice",
    "InvoiceItem",
    "Lease",
    "Order",
    "OrderEvent",
    "OrderItem",
    "OutboxMessage",
    "Payment",
    "RateBudget",
    "SendState",
    "TrackingEvent",
    "VtexCall",
]
