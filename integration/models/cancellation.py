"""Cancellation requests: staff (or the ERP) ask VTEX to cancel an order that has no invoice yet."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integration.models.orders import Order


class CancellationRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        REQUESTED = "requested", _("Accepted by VTEX")
        CONFIRMED = "confirmed", _("Canceled at VTEX")
        FAILED = "failed", _("Refused or failed")

    OPEN_STATES = (State.PENDING, State.SENDING, State.REQUESTED)

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="cancellation_requests"
    )
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_via = models.CharField(_("requested via"), max_length=16, default="admin")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    vtex_receipt = models.CharField(_("VTEX receipt"), max_length=100, blank=True)
    vtex_answer = models.TextField(_("VTEX answer"), blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cancellation request")
        verbose_name_plural = _("cancellation requests")
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
        return gettext("Cancellation of %(order)s") % {"order": self.order.order_id}
