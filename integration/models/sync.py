"""Bookkeeping of the integration itself: the outbox, the VTEX call log, leases and the rate budget."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """One call to VTEX that a local change needs, written in the same transaction as the change.

    Every write to VTEX goes through here, start-handling included. A task (or the intake cycle,
    for start-handling) sends it after commit; retries and the read-back before a re-send live in
    integration.services.outbox.
    """

    class Kind(models.TextChoices):
        START_HANDLING = "start_handling", _("Start-handling")
        INVOICE = "invoice", _("Invoice")
        TRACKING = "tracking", _("Tracking number")
        TRACKING_EVENTS = "tracking_events", _("Tracking events")
        CANCEL = "cancel", _("Cancellation")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed: needs attention")
        STOPPED = "stopped", _("Stopped (not needed any more)")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    order = models.ForeignKey(
        "integration.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="outbox_messages"
    )
    invoice = models.ForeignKey(
        "integration.Invoice",
        verbose_name=_("invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outbox_messages",
    )
    cancellation = models.ForeignKey(
        "integration.CancellationRequest",
        verbose_name=_("cancellation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outbox_messages",
    )
    payload = models.JSONField(_("payload"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    #: Written by the claim's UPDATE: a batch claim reads back its own rows by it (two
    #: processes can claim at the same microsecond, never with the same token).
    claim_token = models.CharField(_("claim token"), max_length=32, blank=True, editable=False)
    #: The last attempt got no answer (timeout, dropped connection, 5xx): read the order back
    #: from VTEX before sending again.
    outcome_unknown = models.BooleanField(_("outcome unknown"), default=False)
    # The last failed attempt, as data (the admin and the API show it; nothing parses it back).
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error_code = models.CharField(
        _("last error code"), max_length=64, blank=True, help_text=_("VTEX's error code, e.g. OMS003.")
    )
    last_error = models.TextField(_("last error"), blank=True, help_text=_("VTEX's answer, or why the send stopped."))
    last_request = models.CharField(_("last request"), max_length=600, blank=True, help_text=_("Method and path."))
    gave_up = models.BooleanField(
        _("gave up"), default=False, help_text=_("Stopped after too many failed attempts (the cause may pass).")
    )
    vtex_receipt = models.CharField(_("VTEX receipt"), max_length=100, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        permissions = [("retry_sends", "Can retry failed sends to VTEX")]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["order", "kind"], name="outbox_order_kind_idx"),
            # The dashboard's start-handlings per hour.
            models.Index(fields=["kind", "sent_at"], name="outbox_kind_sent_idx"),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s for %(order)s (%(state)s)") % {
            "kind": self.get_kind_display(),
            "order": self.order_id,
            "state": self.get_state_display(),
        }


class VtexCall(models.Model):
    """One HTTP attempt to VTEX. Excerpts never contain credentials (the client strips them)."""

    operation = models.CharField(_("operation"), max_length=64, help_text=_("Client method, e.g. get_order."))
    order_id = models.CharField(_("order id"), max_length=64, blank=True, db_index=True)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=200, blank=True, help_text=_("Timeout, connection error…"))
    duration_ms = models.PositiveIntegerField(_("duration ms"), default=0)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    request_excerpt = models.TextField(_("request excerpt"), blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)
    created_at = models.DateTimeField(_("created at"), db_index=True)

    class Meta:
        verbose_name = _("VTEX call")
        verbose_name_plural = _("VTEX calls")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Lease(models.Model):
    """A named, expiring lock held by one process (e.g. the intake), taken with conditional updates."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    holder = models.CharField(_("holder"), max_length=128)
    expires_at = models.DateTimeField(_("expires at"))
    acquired_at = models.DateTimeField(_("acquired at"))

    class Meta:
        verbose_name = _("lease")
        verbose_name_plural = _("leases")

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder}"


class RateBudget(models.Model):
    """The VTEX request budget shared by every process of the installation.

    One row per budget. Processes take tokens for the current second with conditional UPDATEs
    (no row lock held), and a 429 sets paused_until so every process waits.
    """

    name = models.CharField(_("name"), max_length=32, unique=True)
    window_start = models.BigIntegerField(
        _("window start"), default=0, help_text=_("Unix second the counter belongs to.")
    )
    used = models.PositiveIntegerField(_("used"), default=0)
    paused_until = models.FloatField(
        _("paused until"), default=0.0, help_text=_("Unix time until which nobody calls VTEX.")
    )
    pauses = models.PositiveIntegerField(_("pauses"), default=0, help_text=_("429 answers seen in total."))

    class Meta:
        verbose_name = _("rate budget")
        verbose_name_plural = _("rate budgets")

    def __str__(self) -> str:
        return self.name


class FeedState(models.Model):
    """What erp-bridge knows of its VTEX Feed v3 queue (one row), for the operator and the dashboard."""

    name = models.CharField(_("name"), max_length=32, unique=True, default="orders")
    configured_at = models.DateTimeField(
        _("configured at"), null=True, blank=True, help_text=_("Last time erp-bridge saved the config.")
    )
    config_checked_at = models.DateTimeField(_("config checked at"), null=True, blank=True)
    last_read_at = models.DateTimeField(_("last read at"), null=True, blank=True)
    last_event_at = models.DateTimeField(
        _("last event at"), null=True, blank=True, help_text=_("Last time the feed had events.")
    )
    queued = models.PositiveIntegerField(
        _("queued"), null=True, blank=True, help_text=_("Messages waiting, as VTEX reported.")
    )
    oldest_message_age_s = models.PositiveIntegerField(_("oldest message age s"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("feed state")
        verbose_name_plural = _("feed states")

    def __str__(self) -> str:
        return f"feed {self.name}"


class HookNotification(models.Model):
    """One order notification received from VTEX's hook, stored before any work is done."""

    order_id = models.CharField(_("order id"), max_length=64, db_index=True)
    state = models.CharField(_("state"), max_length=64)
    last_state = models.CharField(_("last state"), max_length=64, blank=True)
    domain = models.CharField(_("domain"), max_length=32, blank=True)
    current_change = models.CharField(_("current change"), max_length=64, blank=True)
    origin_account = models.CharField(_("origin account"), max_length=100, blank=True)
    body = models.JSONField(_("body"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True, db_index=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("hook notification")
        verbose_name_plural = _("hook notifications")
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
        VTEX_INVOICED_NOT_HERE = "vtex_invoiced_not_here", _("VTEX has an invoice erp-bridge lacks")
        HERE_INVOICED_NOT_AT_VTEX = "here_invoiced_not_at_vtex", _("Invoiced here, not at VTEX")
        INVOICE_VALUE_DIFFERS = "invoice_value_differs", _("Invoice value differs")
        CANCELLATION_NOT_CONFIRMED = "cancellation_not_confirmed", _("Cancellation not confirmed")
        READY_UNKNOWN_HERE = "ready_unknown_here", _("Ready at VTEX, unknown here")

    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices, db_index=True)
    order = models.ForeignKey(
        "integration.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="drifts",
    )
    order_id_text = models.CharField(_("VTEX order id"), max_length=64, db_index=True)
    detail = models.TextField(_("detail"), help_text=_("What differs."))
    action = models.TextField(_("action"), help_text=_("What to do about it."))
    found_at = models.DateTimeField(_("found at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("drift")
        verbose_name_plural = _("drifts")
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

    key = models.CharField(_("key"), max_length=200, unique=True, help_text=_("user:<name> or ip:<address>"))
    failures = models.PositiveIntegerField(_("failures"), default=0)
    window_start = models.DateTimeField(_("window start"))
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("login throttle")
        verbose_name_plural = _("login throttles")

    def __str__(self) -> str:
        return self.key
