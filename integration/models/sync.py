"""Bookkeeping of the integration itself: the outbox, the VTEX call log, leases and the rate budget."""

from django.conf import settings
from django.db import models


class OutboxMessage(models.Model):
    """One call to VTEX that a local change needs, written in the same transaction as the change.

    A task sends it after commit; retries and the read-back before a re-send live in
    integration.services.outbox.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        TRACKING = "tracking", "Tracking number"
        TRACKING_EVENTS = "tracking_events", "Tracking events"
        CANCEL = "cancel", "Cancellation"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed: needs attention"
        STOPPED = "stopped", "Stopped (not needed any more)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    order = models.ForeignKey("integration.Order", on_delete=models.PROTECT, related_name="outbox_messages")
    invoice = models.ForeignKey(
        "integration.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="outbox_messages"
    )
    cancellation = models.ForeignKey(
        "integration.CancellationRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outbox_messages",
    )
    payload = models.JSONField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    #: The last attempt got no answer (timeout, dropped connection, 5xx): read the order back
    #: from VTEX before sending again.
    outcome_unknown = models.BooleanField(default=False)
    last_status_code = models.PositiveSmallIntegerField("last HTTP status", null=True, blank=True)
    last_error = models.TextField(blank=True)
    vtex_receipt = models.CharField("VTEX receipt", max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "outbox message"
        permissions = [("retry_sends", "Can retry failed sends to VTEX")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.order_id} ({self.state})"


class VtexCall(models.Model):
    """One HTTP attempt to VTEX. Excerpts never contain credentials (the client strips them)."""

    operation = models.CharField(max_length=64, help_text="Client method, e.g. get_order.")
    order_id = models.CharField(max_length=64, blank=True, db_index=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True, help_text="Timeout, connection error…")
    duration_ms = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    request_excerpt = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "VTEX call"

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Lease(models.Model):
    """A named, expiring lock held by one process (e.g. the intake), taken with conditional updates."""

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=128)
    expires_at = models.DateTimeField()
    acquired_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder}"


class RateBudget(models.Model):
    """The VTEX request budget shared by every process of the installation.

    One row per budget. Processes take tokens for the current second with conditional UPDATEs
    (no row lock held), and a 429 sets paused_until so every process waits.
    """

    name = models.CharField(max_length=32, unique=True)
    window_start = models.BigIntegerField(default=0, help_text="Unix second the counter belongs to.")
    used = models.PositiveIntegerField(default=0)
    paused_until = models.FloatField(default=0.0, help_text="Unix time until which nobody calls VTEX.")
    pauses = models.PositiveIntegerField(default=0, help_text="429 answers seen in total.")

    def __str__(self) -> str:
        return self.name


class FeedState(models.Model):
    """What erp-bridge knows of its VTEX Feed v3 queue (one row), for the operator and the dashboard."""

    name = models.CharField(max_length=32, unique=True, default="orders")
    configured_at = models.DateTimeField(null=True, blank=True, help_text="Last time erp-bridge saved the config.")
    config_checked_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="Last time the feed had events.")
    queued = models.PositiveIntegerField(null=True, blank=True, help_text="Messages waiting, as VTEX reported.")
    oldest_message_age_s = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"feed {self.name}"


class HookNotification(models.Model):
    """One order notification received from VTEX's hook, stored before any work is done."""

    order_id = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=64)
    last_state = models.CharField(max_length=64, blank=True)
    domain = models.CharField(max_length=32, blank=True)
    current_change = models.CharField(max_length=64, blank=True)
    origin_account = models.CharField(max_length=100, blank=True)
    body = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # VTEX retries deliveries: the same change of the same order is stored once.
            models.UniqueConstraint(fields=["order_id", "state", "current_change"], name="hook_notification_once"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.state}"


class Drift(models.Model):
    """A difference between erp-bridge and VTEX that a person should look at, found by reconciliation."""

    class Kind(models.TextChoices):
        VTEX_INVOICED_NOT_HERE = "vtex_invoiced_not_here", "VTEX has an invoice erp-bridge lacks"
        HERE_INVOICED_NOT_AT_VTEX = "here_invoiced_not_at_vtex", "Invoiced here, not at VTEX"
        INVOICE_VALUE_DIFFERS = "invoice_value_differs", "Invoice value differs"
        CANCELLATION_NOT_CONFIRMED = "cancellation_not_confirmed", "Cancellation not confirmed"
        READY_UNKNOWN_HERE = "ready_unknown_here", "Ready at VTEX, unknown here"

    kind = models.CharField(max_length=40, choices=Kind.choices, db_index=True)
    order = models.ForeignKey(
        "integration.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="drifts"
    )
    order_id_text = models.CharField("VTEX order id", max_length=64, db_index=True)
    detail = models.TextField(help_text="What differs.")
    action = models.TextField(help_text="What to do about it.")
    found_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_id_text", "kind"], condition=models.Q(resolved_at__isnull=True), name="drift_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id_text}: {self.get_kind_display()}"


class LoginThrottle(models.Model):
    """Failed admin logins per username and per address, shared by every process."""

    key = models.CharField(max_length=200, unique=True, help_text="user:<name> or ip:<address>")
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key
