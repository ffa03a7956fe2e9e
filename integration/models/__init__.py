from integration.models.orders import Order, OrderEvent, OrderItem, Payment
from integration.models.sync import Lease, RateBudget, VtexCall

__all__ = ["Lease", "Order", "OrderEvent", "OrderItem", "Payment", "RateBudget", "VtexCall"]
