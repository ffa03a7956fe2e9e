"""Orders as VTEX sent them, with their items and payments. Money is integer cents."""

from django.conf import settings
from django.db import models


class Order(models.Model):
    class State(models.TextChoices):
        """The local state. It follows from the data (services recompute it); nobody sets it by hand."""

        RECEIVED = "received", "Received (VTEX not yet told)"
        HANDLING = "handling", "Handling"
        PARTIALLY_INVOICED = "partially_invoiced", "Partially invoiced"
        INVOICED = "invoiced", "Invoiced"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLATION_REQUESTED = "cancellation_requested", "Cancellation requested"
        CANCELED = "canceled", "Canceled"

    class AckState(models.TextChoices):
        """Progress of start-handling, the acknowledgement VTEX gets once the order is stored here."""

        PENDING = "pending", "Not sent yet"
        SENDING = "sending", "Sending"
        DONE = "done", "Acknowledged"
        FAILED = "failed", "Failed (retried on the next run)"

    order_id = models.CharField("VTEX order id", max_length=64, unique=True)
    sequence = models.CharField(max_length=32, blank=True, db_index=True)
    order_group = models.CharField(max_length=64, blank=True)
    marketplace_order_id = models.CharField(max_length=64, blank=True)
    origin = models.CharField(max_length=32, blank=True)
    sales_channel = models.CharField(max_length=32, blank=True)

    vtex_status = models.CharField("VTEX status", max_length=64, db_index=True)
    state = models.CharField(max_length=32, choices=State.choices, default=State.RECEIVED, db_index=True)
    ack_state = models.CharField(
        "start-handling", max_length=16, choices=AckState.choices, default=AckState.PENDING, db_index=True
    )
    ack_attempts = models.PositiveIntegerField("start-handling attempts", default=0)
    ack_claimed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_error = models.TextField("start-handling error", blank=True)

    # Set when the last intake of this order failed (VTEX error, malformed answer); cleared by
    # the next successful one. A failed first import leaves a row built from the list summary
    # (is_complete=False) so staff can see it and the next run retries it.
    intake_error = models.TextField(blank=True)
    intake_failed_at = models.DateTimeField(null=True, blank=True)
    is_complete = models.BooleanField(default=True, help_text="False until the full order was read from VTEX.")

    currency_code = models.CharField(max_length=3, default="BRL")
    total_cents = models.BigIntegerField(default=0)
    items_total_cents = models.BigIntegerField(default=0)
    discounts_total_cents = models.BigIntegerField(default=0)
    shipping_total_cents = models.BigIntegerField(default=0)
    tax_total_cents = models.BigIntegerField(default=0)

    created_at_vtex = models.DateTimeField("created at VTEX", null=True, blank=True, db_index=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    last_change_at_vtex = models.DateTimeField("last change at VTEX", null=True, blank=True)
    invoiced_at_vtex = models.DateTimeField("invoiced at VTEX", null=True, blank=True)

    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    customer_document_type = models.CharField(max_length=16, blank=True)
    customer_document = models.CharField(max_length=32, blank=True, db_index=True)
    customer_phone = models.CharField(max_length=32, blank=True)
    customer_is_corporate = models.BooleanField(default=False)
    customer_corporate_name = models.CharField(max_length=200, blank=True)

    # The shipping address is editable by staff; once edited it is no longer overwritten by a
    # refresh from VTEX (shipping_address_edited), so a correction is never lost.
    receiver_name = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=16, blank=True)
    street = models.CharField(max_length=200, blank=True)
    number = models.CharField(max_length=32, blank=True)
    complement = models.CharField(max_length=200, blank=True)
    neighborhood = models.CharField(max_length=120, blank=True)
    city = models.CharField(max_length=120, blank=True)
    state_code = models.CharField("state (UF)", max_length=8, blank=True)
    country = models.CharField(max_length=3, blank=True)
    shipping_address_edited = models.BooleanField(default=False)

    notes = models.TextField(blank=True, help_text="Internal notes of the back office; never sent to VTEX.")

    raw = models.JSONField("VTEX order JSON", default=dict, blank=True)
    raw_hash = models.CharField(max_length=64, blank=True)

    imported_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at_vtex", "-id"]
        indexes = [
            models.Index(fields=["ack_state", "state"], name="order_ack_state_idx"),
        ]

    def __str__(self) -> str:
        return self.order_id

    @property
    def needs_acknowledgement(self) -> bool:
        return self.ack_state != self.AckState.DONE and self.is_complete


class OrderItem(models.Model):
    """One line of the order. item_index is the position in VTEX's items[] (VTEX has no index field)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    item_index = models.PositiveIntegerField()
    unique_id = models.CharField(max_length=64, blank=True)
    sku_id = models.CharField("SKU id", max_length=64)
    product_id = models.CharField(max_length=64, blank=True)
    ref_id = models.CharField(max_length=100, blank=True)
    ean = models.CharField("EAN", max_length=32, blank=True)
    name = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField()
    unit_price_cents = models.BigIntegerField(help_text="VTEX price: unit list price of the sale.")
    list_price_cents = models.BigIntegerField(default=0)
    selling_price_cents = models.BigIntegerField(help_text="Unit price after item discounts.")
    tax_cents = models.BigIntegerField(default=0)
    measurement_unit = models.CharField(max_length=16, blank=True)
    unit_multiplier = models.FloatField(default=1.0)
    is_gift = models.BooleanField(default=False)

    class Meta:
        ordering = ["order", "item_index"]
        constraints = [
            models.UniqueConstraint(fields=["order", "item_index"], name="orderitem_unique_index"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderitem_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"

    @property
    def selling_total_cents(self) -> int:
        return self.selling_price_cents * self.quantity


class Payment(models.Model):
    """A payment of the order's transaction; status fields come from the Payments API when fetched."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    transaction_id = models.CharField(max_length=64, db_index=True)
    payment_id = models.CharField(max_length=64)
    payment_system = models.CharField(max_length=32, blank=True)
    payment_system_name = models.CharField(max_length=100, blank=True)
    group = models.CharField(max_length=32, blank=True)
    value_cents = models.BigIntegerField()
    installments = models.PositiveIntegerField(default=1)
    tid = models.CharField("TID", max_length=100, blank=True)
    status = models.CharField(max_length=32, blank=True, help_text="From the Payments API.")
    transaction_status = models.CharField(max_length=32, blank=True, help_text="From the Payments API.")
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "payment_id"], name="payment_unique_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_system_name or self.group} {self.value_cents}"


class OrderEvent(models.Model):
    """The order's timeline: one row per thing that happened to it, by whom."""

    class Kind(models.TextChoices):
        IMPORTED = "imported", "Imported"
        UPDATED = "updated", "Updated from VTEX"
        REFRESHED = "refreshed", "Refreshed from VTEX"
        REFRESH_FAILED = "refresh_failed", "Refresh from VTEX failed"
        INTAKE_FAILED = "intake_failed", "Intake failed"
        ACKNOWLEDGED = "acknowledged", "Start-handling confirmed"
        ACK_FAILED = "ack_failed", "Start-handling failed"
        EDITED = "edited", "Edited by staff"
        INVOICE_ADDED = "invoice_added", "Invoice entered"
        TRACKING_ADDED = "tracking_added", "Tracking entered"
        DELIVERED = "delivered", "Delivered"
        CANCELLATION_REQUESTED = "cancellation_requested", "Cancellation requested"
        SENT = "sent", "Sent to VTEX"
        SEND_FAILED = "send_failed", "Sending to VTEX failed"
        SEND_RETRY = "send_retry", "Send retried"
        STATUS_CHANGED = "status_changed", "VTEX status changed"
        ERP_RECEIVED = "erp_received", "Received by the ERP"
        NOTE = "note", "Note"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=64, default="system", help_text="Who, when not a user: intake, erp…")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"

    @property
    def who(self) -> str:
        return self.actor.get_username() if self.actor_id else self.actor_label
