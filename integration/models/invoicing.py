"""Invoices (notas fiscais) the ERP or staff enter, their items, tracking events, and cancellation requests."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.models.orders import Order, OrderItem


class SendState(models.TextChoices):
    """Where the VTEX side of a change stands (the outbox row that carries it)."""

    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent to VTEX")
    FAILED = "failed", _("Failed: needs attention")
    STOPPED = "stopped", _("Not sent (stopped)")


class Invoice(models.Model):
    class Kind(models.TextChoices):
        OUTPUT = "output", _("Output (sale)")
        INPUT = "input", _("Input (return)")

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(
        _("number"), max_length=50, help_text=_("Unique per order; no '/' (VTEX uses it in URLs).")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.OUTPUT)
    issued_at = models.DateTimeField(_("issued at"))
    access_key = models.CharField(_("NF-e access key"), max_length=44, blank=True)
    url = models.URLField(_("invoice URL"), max_length=500, blank=True)
    embedded_xml = models.TextField(_("embedded XML"), blank=True)
    value_cents = models.BigIntegerField(_("value cents"))
    # Filled when the invoice was imported from the NF-e XML the ERP issued (services/nfe.py): the
    # document as received (the DANFE is rendered from it), its series, and whether SEFAZ's test
    # environment issued it (tpAmb 2: no fiscal value).
    nfe_xml = models.TextField(_("NF-e XML"), blank=True)
    nfe_series = models.CharField(_("NF-e series"), max_length=3, blank=True)
    nfe_homologation = models.BooleanField(_("homologation NF-e (no fiscal value)"), default=False)
    courier = models.CharField(_("courier"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    tracking_url = models.URLField(_("tracking URL"), max_length=500, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    send_state = models.CharField(
        _("send state"), max_length=16, choices=SendState.choices, default=SendState.PENDING, db_index=True
    )
    vtex_receipt = models.CharField(_("VTEX receipt"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_via = models.CharField(_("created via"), max_length=16, default="admin")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["order", "created_at", "id"]
        permissions = [("enter_invoices", "Can enter invoices, tracking and delivery")]
        indexes = [
            # The dashboard's invoices per hour, read from the index alone.
            models.Index(fields=["kind", "created_at"], name="invoice_kind_created_idx"),
            # The "Invoiced, no tracking" count and filter: only invoices still waiting for a tracking
            # number, found without reading every invoice sent.
            models.Index(
                fields=["tracking_number", "issued_at"],
                condition=models.Q(kind="output", send_state="sent", tracking_number="", delivered_at__isnull=True),
                name="invoice_awaiting_tracking_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="invoice_number_unique_per_order"),
            models.CheckConstraint(condition=models.Q(value_cents__gt=0), name="invoice_value_positive"),
            models.CheckConstraint(condition=~models.Q(number__contains="/"), name="invoice_number_no_slash"),
            models.CheckConstraint(condition=~models.Q(number=""), name="invoice_number_required"),
            # One imported NF-e makes one invoice: two imports of one access key racing on two
            # orders cannot both commit (the service's check names the order; this is the backstop).
            models.UniqueConstraint(
                fields=["access_key"], condition=~models.Q(nfe_xml=""), name="invoice_nfe_access_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.order.order_id})"

    @property
    def is_from_nfe(self) -> bool:
        return bool(self.nfe_xml)

    @property
    def is_delivered(self) -> bool:
        return self.delivered_at is not None


class InvoiceItem(models.Model):
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(
        OrderItem, verbose_name=_("order item"), on_delete=models.PROTECT, related_name="invoice_items"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_cents = models.BigIntegerField(_("unit price cents"))

    class Meta:
        verbose_name = _("invoice item")
        verbose_name_plural = _("invoice items")
        ordering = ["invoice", "order_item__item_index"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "order_item"], name="invoiceitem_unique_per_invoice"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="invoiceitem_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_item.name}"


class TrackingEvent(models.Model):
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="tracking_events"
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state (UF)"), max_length=50, blank=True)
    description = models.CharField(_("description"), max_length=300)
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
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["invoice", "occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "occurred_at", "description", "city", "state"], name="trackingevent_no_duplicates"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.description}"
