"""An order's timeline: what happened to it and who did it (OrderEvent), and every HTTP attempt
to VTEX (VtexCall, credentials removed). The admin shows both on the order, as one timeline."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderEvent(models.Model):
    """The order's timeline: one row per thing that happened to it, by whom."""

    class Kind(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        UPDATED = "updated", _("Updated from VTEX")
        REFRESHED = "refreshed", _("Refreshed from VTEX")
        REFRESH_FAILED = "refresh_failed", _("Refresh from VTEX failed")
        INTAKE_FAILED = "intake_failed", _("Intake failed")
        ACKNOWLEDGED = "acknowledged", _("Start-handling confirmed")
        ACK_FAILED = "ack_failed", _("Start-handling failed")
        EDITED = "edited", _("Edited by staff")
        INVOICE_ADDED = "invoice_added", _("Invoice entered")
        TRACKING_ADDED = "tracking_added", _("Tracking entered")
        DELIVERED = "delivered", _("Delivered")
        CANCELLATION_REQUESTED = "cancellation_requested", _("Cancellation requested")
        SENT = "sent", _("Sent to VTEX")
        SEND_FAILED = "send_failed", _("Sending to VTEX failed")
        SEND_RETRY = "send_retry", _("Send retried")
        STATUS_CHANGED = "status_changed", _("VTEX status changed")
        CHANGED = "changed", _("Order changed at VTEX")
        REPLACED = "replaced", _("Order replaced at VTEX")
        ERP_RECEIVED = "erp_received", _("Received by the ERP")
        NOTE = "note", _("Note")

    order = models.ForeignKey(
        "integration.Order", verbose_name=_("order"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    message = models.TextField(_("message"))
    data = models.JSONField(_("data"), default=dict, blank=True)
    #: What the entry says, as values (ids, numbers, codes, VTEX's own words) that
    #: integration.selectors.timeline renders per kind in the reader's language. None on the rows
    #: written before there were parameters: those show their stored message.
    params = models.JSONField(_("parameters"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(
        _("actor label"), max_length=64, default="system", help_text=_("Who, when not a user: intake, erp…")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]
        indexes = [
            # The dashboard: cancellations per hour (status changes of the week) and the last import.
            models.Index(fields=["kind", "created_at"], name="orderevent_kind_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"

    @property
    def who(self) -> str:
        return self.actor.get_username() if self.actor_id else self.actor_label


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
        indexes = [
            # The dashboard's last successful List orders call and feed read: the newest calls of
            # one operation, without reading the whole call log.
            models.Index(fields=["operation", "created_at"], name="vtexcall_operation_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
