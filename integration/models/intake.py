"""What the intake reads besides List orders: the Feed v3 queue's state and the hook's notifications."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
    # Its order could not be taken in (VTEX answered 404, say): tried again with backoff, then
    # given up, visibly, instead of failing every cycle for ever.
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    gave_up_at = models.DateTimeField(_("gave up at"), null=True, blank=True)

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
