"""Bookkeeping shared by every process: leases and the VTEX rate budget."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
