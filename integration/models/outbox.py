"""Every write to VTEX, as a row written with the change that needs it (integration.services.outbox)."""

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
