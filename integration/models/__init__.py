from integration.models.invoicing import CancellationRequest, Invoice, InvoiceItem, SendState, TrackingEvent
from integration.models.orders import Order, OrderEvent, OrderItem, Payment
from integration.models.sync import (
    Drift,
    FeedState,
    HookNotification,
    Lease,
    LoginThrottle,
    OutboxMessage,
    RateBudget,
    VtexCall,
)

__all__ = [
    "CancellationRequest",
    "Drift",
    "FeedState",
    "HookNotification",
    "Invoice",
    "InvoiceItem",
    "Lease",
    "LoginThrottle",
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
