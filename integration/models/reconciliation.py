"""Differences between erp-bridge and VTEX that reconciliation found, for a person to look at."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
