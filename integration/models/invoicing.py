"""Invoices (notas fiscais) the ERP or staff enter, their items, tracking events, and cancellation requests."""

from django.conf import settings
from django.db import models

from integration.models.orders import Order, OrderItem


class SendState(models.TextChoices):
    """Where the VTEX side of a change stands (the outbox row that carries it)."""

    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent to VTEX"
    FAILED = "failed", "Failed: needs attention"
    STOPPED = "stopped", "Not sent (stopped)"


class Invoice(models.Model):
    class Kind(models.TextChoices):
        OUTPUT = "output", "Output (sale)"
        INPUT = "input", "Input (return)"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=50, help_text="Unique per order; no '/' (VTEX uses it in URLs).")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.OUTPUT)
    issued_at = models.DateTimeField()
    access_key = models.CharField("NF-e access key", max_length=44, blank=True)
    url = models.URLField("invoice URL", max_length=500, blank=True)
    embedded_xml = models.TextField("embedded XML", blank=True)
    value_cents = models.BigIntegerField()
    courier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField("tracking URL", max_length=500, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    send_state = models.CharField(max_length=16, choices=SendState.choices, default=SendState.PENDING, db_index=True)
    vtex_receipt = models.CharField("VTEX receipt", max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_via = models.CharField(max_length=16, default="admin")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["order", "created_at", "id"]
        permissions = [("enter_invoices", "Can enter invoices, tracking and delivery")]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="invoice_number_unique_per_order"),
            models.CheckConstraint(condition=models.Q(value_cents__gt=0), name="invoice_value_positive"),
            models.CheckConstraint(condition=~models.Q(number__contains="/"), name="invoice_number_no_slash"),
            models.CheckConstraint(condition=~models.Q(number=""), name="invoice_number_required"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.order.order_id})"

    @property
    def is_delivered(self) -> bool:
        return self.delivered_at is not None


class InvoiceItem(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="invoice_items")
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.BigIntegerField()

    class Meta:
        ordering = ["invoice", "order_item__item_index"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "order_item"], name="invoiceitem_unique_per_invoice"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="invoiceitem_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_item.name}"


class TrackingEvent(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="tracking_events")
    occurred_at = models.DateTimeField()
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField("state (UF)", max_length=50, blank=True)
    description = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice", "occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "occurred_at", "description", "city", "state"], name="trackingevent_no_duplicates"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.description}"


class CancellationRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"
        REQUESTED = "requested", "Accepted by VTEX"
        CONFIRMED = "confirmed", "Canceled at VTEX"
        FAILED = "failed", "Refused or failed"

    OPEN_STATES = (State.PENDING, State.SENDING, State.REQUESTED)

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="cancellation_requests")
    reason = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_via = models.CharField(max_length=16, default="admin")
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    vtex_receipt = models.CharField("VTEX receipt", max_length=100, blank=True)
    vtex_answer = models.TextField("VTEX answer", blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [("request_cancellation", "Can request the cancellation of an order")]
        constraints = [
            # At most one live request per order: a second click never sends a second cancel.
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(state__in=["pending", "sending", "requested", "confirmed"]),
                name="cancellation_one_live_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Cancellation of {self.order.order_id}"
