"""Orders as VTEX sent them, with their items and payments. Money is integer cents."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Order(models.Model):
    class State(models.TextChoices):
        """The local state. It follows from the data (services recompute it); nobody sets it by hand."""

        RECEIVED = "received", _("Received (VTEX not yet told)")
        HANDLING = "handling", _("Handling")
        PARTIALLY_INVOICED = "partially_invoiced", _("Partially invoiced")
        INVOICED = "invoiced", _("Invoiced")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLATION_REQUESTED = "cancellation_requested", _("Cancellation requested")
        CANCELED = "canceled", _("Canceled")
        REPLACED = "replaced", _("Replaced (VTEX moved it to another order)")

    class DeliveryChannel(models.TextChoices):
        """How the order's items reach the buyer (VTEX's logisticsInfo[].selectedDeliveryChannel)."""

        UNKNOWN = "", _("not said")
        DELIVERY = "delivery", _("delivery")
        PICKUP = "pickup-in-point", _("pickup in point")
        MIXED = "mixed", _("some items delivered, some picked up")

    class DocumentCheck(models.TextChoices):
        """What the CPF/CNPJ's check digits say; other documents (a Colombian cédula) are not checked."""

        NOT_CHECKED = "", _("not checked")
        VALID = "valid", _("valid")
        INVALID = "invalid", _("invalid check digits")

    order_id = models.CharField(_("VTEX order id"), max_length=64, unique=True)
    sequence = models.CharField(_("sequence"), max_length=32, blank=True, db_index=True)
    # The purchase this order belongs to: a split purchase is one group of orders, one per seller.
    order_group = models.CharField(_("order group"), max_length=64, blank=True, db_index=True)
    marketplace_order_id = models.CharField(_("marketplace order id"), max_length=64, blank=True)
    marketplace_name = models.CharField(_("marketplace"), max_length=200, blank=True)
    marketplace_base_url = models.CharField(_("marketplace base URL"), max_length=500, blank=True)
    affiliate_id = models.CharField(_("affiliate id"), max_length=64, blank=True)
    origin = models.CharField(_("origin"), max_length=32, blank=True)
    sales_channel = models.CharField(_("sales channel"), max_length=32, blank=True)
    # The order's seller (VTEX's sellers[0]; all of them are OrderSeller rows). An order whose
    # seller is not one of settings.VTEX_OWN_SELLER_IDS is fulfilled by that seller, not by us.
    seller_id = models.CharField(_("seller id"), max_length=64, blank=True, db_index=True)
    seller_name = models.CharField(_("seller"), max_length=200, blank=True)

    vtex_status = models.CharField(_("VTEX status"), max_length=64, db_index=True)
    state = models.CharField(_("state"), max_length=32, choices=State.choices, default=State.RECEIVED, db_index=True)
    # Set when the last intake of this order failed (VTEX error, malformed answer); cleared by
    # the next successful one. A failed first import leaves a row built from the list summary
    # (is_complete=False) so staff can see it and the next run retries it.
    intake_error = models.TextField(_("intake error"), blank=True)
    intake_failed_at = models.DateTimeField(_("intake failed at"), null=True, blank=True)
    is_complete = models.BooleanField(
        _("is complete"), default=True, help_text=_("False until the full order was read from VTEX.")
    )

    currency_code = models.CharField(_("currency code"), max_length=3, default="BRL")
    # VTEX's storePreferencesData.currencyFormatInfo.CurrencyDecimalDigits: how many decimals the
    # store shows (0 for COP and CLP in common use). Amounts stay in cents whatever it says.
    # Null: VTEX did not say; the currency's usual digits (CLDR) are used.
    currency_decimal_digits = models.PositiveSmallIntegerField(_("currency decimal digits"), null=True, blank=True)
    total_cents = models.BigIntegerField(_("total cents"), default=0)
    items_total_cents = models.BigIntegerField(_("items total cents"), default=0)
    discounts_total_cents = models.BigIntegerField(_("discounts total cents"), default=0)
    shipping_total_cents = models.BigIntegerField(_("shipping total cents"), default=0)
    tax_total_cents = models.BigIntegerField(_("tax total cents"), default=0)

    created_at_vtex = models.DateTimeField(_("created at VTEX"), null=True, blank=True, db_index=True)
    authorized_at = models.DateTimeField(_("authorized at"), null=True, blank=True)
    last_change_at_vtex = models.DateTimeField(_("last change at VTEX"), null=True, blank=True)
    invoiced_at_vtex = models.DateTimeField(_("invoiced at VTEX"), null=True, blank=True)

    customer_name = models.CharField(_("customer name"), max_length=300, blank=True)
    customer_email = models.CharField(_("customer email"), max_length=254, blank=True)
    # A company's CNPJ (VTEX's corporateDocument) or a person's document; CPF and CNPJ are kept
    # without punctuation, other documents (cedulaCOL, ...) as VTEX sent them.
    customer_document_type = models.CharField(_("customer document type"), max_length=32, blank=True)
    customer_document = models.CharField(_("customer document"), max_length=64, blank=True, db_index=True)
    customer_document_check = models.CharField(
        _("document check"), max_length=16, choices=DocumentCheck.choices, blank=True, default=""
    )
    customer_phone = models.CharField(_("customer phone"), max_length=64, blank=True)
    customer_is_corporate = models.BooleanField(_("customer is corporate"), default=False)
    customer_corporate_name = models.CharField(_("customer corporate name"), max_length=300, blank=True)
    customer_trade_name = models.CharField(_("customer trade name"), max_length=300, blank=True)
    # "Isento" (exempt) or the registration number: the NF-e needs it for a company buyer.
    customer_state_inscription = models.CharField(_("state registration"), max_length=64, blank=True)
    customer_corporate_phone = models.CharField(_("company phone"), max_length=64, blank=True)

    # The shipping address is editable by staff; once edited it is no longer overwritten by a
    # refresh from VTEX (shipping_address_edited), so a correction is never lost.
    # Sized for what VTEX stores send (a state is "SP" or "Antioquia", a complement can be a
    # sentence); a longer value fails the order's intake (VtexDataError), never cut short.
    receiver_name = models.CharField(_("receiver name"), max_length=300, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=32, blank=True)
    street = models.CharField(_("street"), max_length=300, blank=True)
    number = models.CharField(_("number"), max_length=64, blank=True)
    complement = models.CharField(_("complement"), max_length=500, blank=True)
    neighborhood = models.CharField(_("neighborhood"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=200, blank=True)
    state_code = models.CharField(_("state or province"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=3, blank=True)
    shipping_address_edited = models.BooleanField(_("shipping address edited"), default=False)
    # VTEX's shippingData.address.addressType: residential, commercial, pickup, ...
    address_type = models.CharField(_("address type"), max_length=32, blank=True)
    delivery_channel = models.CharField(
        _("delivery channel"), max_length=32, choices=DeliveryChannel.choices, blank=True, default=""
    )
    # Where the buyer picks the order up (the first picked-up item's point; each item says its own).
    pickup_point_id = models.CharField(_("pickup point id"), max_length=100, blank=True)
    pickup_point_name = models.CharField(_("pickup point"), max_length=200, blank=True)
    pickup_point_address = models.TextField(_("pickup point address"), blank=True)

    notes = models.TextField(
        _("notes"), blank=True, help_text=_("Internal notes of the back office; never sent to VTEX.")
    )

    raw = models.JSONField(_("VTEX order JSON"), default=dict, blank=True)
    raw_hash = models.CharField(_("raw hash"), max_length=64, blank=True)

    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)
    last_synced_at = models.DateTimeField(_("last synced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at_vtex", "-id"]
        indexes = [
            # The "Intake failed" count and filter: a handful of rows, found without reading every order.
            models.Index(
                fields=["intake_failed_at"], condition=~models.Q(intake_error=""), name="order_intake_failed_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.order_id

    @property
    def is_pickup(self) -> bool:
        return self.delivery_channel == self.DeliveryChannel.PICKUP


class OrderSeller(models.Model):
    """One of VTEX's sellers[] of the order (normally one: VTEX splits a purchase per seller)."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="sellers")
    position = models.PositiveSmallIntegerField(_("position"))
    seller_id = models.CharField(_("seller id"), max_length=64)
    name = models.CharField(_("name"), max_length=200, blank=True)
    fulfillment_endpoint = models.CharField(_("fulfillment endpoint"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")
        ordering = ["order", "position"]
        constraints = [models.UniqueConstraint(fields=["order", "position"], name="orderseller_unique_position")]

    def __str__(self) -> str:
        return f"{self.name} ({self.seller_id})" if self.name else self.seller_id


class ItemFulfillment(models.Model):
    """Who fulfils one item of the order and how it reaches the buyer: the item's seller (VTEX's
    items[].seller) and its logisticsInfo[] entry (chosen SLA, carrier, estimate, pickup point).

    Keyed by the item's position (item_index), as VTEX's logisticsInfo[].itemIndex is."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="item_fulfillments"
    )
    item_index = models.PositiveIntegerField(_("item index"))
    seller = models.CharField(_("seller id"), max_length=64, blank=True)
    delivery_channel = models.CharField(_("delivery channel"), max_length=32, blank=True)
    sla = models.CharField(_("shipping method (SLA)"), max_length=100, blank=True)
    carrier = models.CharField(_("carrier"), max_length=200, blank=True)
    shipping_estimate = models.CharField(_("shipping estimate"), max_length=32, blank=True)
    shipping_estimate_date = models.DateTimeField(_("estimated delivery"), null=True, blank=True)
    delivery_window_start = models.DateTimeField(_("delivery window start"), null=True, blank=True)
    delivery_window_end = models.DateTimeField(_("delivery window end"), null=True, blank=True)
    pickup_point_id = models.CharField(_("pickup point id"), max_length=100, blank=True)
    pickup_point_name = models.CharField(_("pickup point"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("item fulfillment")
        verbose_name_plural = _("item fulfillments")
        ordering = ["order", "item_index"]
        constraints = [
            models.UniqueConstraint(fields=["order", "item_index"], name="itemfulfillment_unique_index"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.item_index} {self.sla}"


class OrderItem(models.Model):
    """One line of the order. item_index is the position in VTEX's items[] (VTEX has no index field).

    `quantity` is VTEX's items[].quantity, which a change does not lower: VTEX keeps removed items
    in items[] (VTEX-API.md §14). What is left after the order's changes is `quantity_after_changes`,
    the quantity the invoicing rules work with.
    """

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="items")
    item_index = models.PositiveIntegerField(_("item index"))
    unique_id = models.CharField(_("unique id"), max_length=64, blank=True)
    sku_id = models.CharField(_("SKU id"), max_length=64)
    product_id = models.CharField(_("product id"), max_length=64, blank=True)
    ref_id = models.CharField(_("ref id"), max_length=100, blank=True)
    ean = models.CharField(_("EAN"), max_length=32, blank=True)
    name = models.CharField(_("name"), max_length=300)
    quantity = models.PositiveIntegerField(_("quantity"))
    quantity_after_changes = models.PositiveIntegerField(
        _("quantity after changes"),
        help_text=_("What is left of the item once the order's changes at VTEX removed or added units."),
    )
    unit_price_cents = models.BigIntegerField(
        _("unit price cents"), help_text=_("VTEX price: unit list price of the sale.")
    )
    list_price_cents = models.BigIntegerField(_("list price cents"), default=0)
    selling_price_cents = models.BigIntegerField(
        _("selling price cents"), help_text=_("Unit price after item discounts.")
    )
    total_cents = models.BigIntegerField(
        _("total cents"),
        help_text=_(
            "VTEX's value of the whole line (all units ordered): its priceDefinition total when VTEX sent one, "
            "else price × quantity × unit multiplier with the item's price tags."
        ),
    )
    tax_cents = models.BigIntegerField(_("tax cents"), default=0)
    measurement_unit = models.CharField(_("measurement unit"), max_length=16, blank=True)
    unit_multiplier = models.DecimalField(
        _("unit multiplier"),
        max_digits=15,
        decimal_places=6,
        default=1,
        help_text=_("Items sold by weight or pack: one unit is this many of the measurement unit."),
    )
    is_gift = models.BooleanField(_("is gift"), default=False)
    # Assembly options (a warranty, an engraving) point at the item they belong to.
    parent_item_index = models.PositiveIntegerField(_("parent item index"), null=True, blank=True)
    parent_assembly_binding = models.CharField(_("parent assembly binding"), max_length=100, blank=True)
    #: Kit components and attachments as VTEX sent them (normalised by the mapping).
    components = models.JSONField(_("components"), default=list, blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    #: [{"name", "value" (cents), "is_percentual", "identifier", "raw_value"}]: discounts, taxes.
    price_tags = models.JSONField(_("price tags"), default=list, blank=True)
    #: {"total", "calculated_selling_price", "selling_prices": [{"value", "quantity"}]} or {}.
    price_definition = models.JSONField(_("price definition"), default=dict, blank=True)

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["order", "item_index"]
        constraints = [
            models.UniqueConstraint(fields=["order", "item_index"], name="orderitem_unique_index"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderitem_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"

    @property
    def removed_quantity(self) -> int:
        """Units VTEX removed from the order by a change (0 when none, or when units were added)."""
        return max(self.quantity - self.quantity_after_changes, 0)

    @property
    def selling_total_cents(self) -> int:
        """The line's value as VTEX counts it, for the units left after the order's changes."""
        return line_cents(self.total_cents, self.quantity_after_changes, self.quantity)


def line_cents(total_cents: int, quantity: int, of_quantity: int) -> int:
    """`quantity` of the `of_quantity` units a line of `total_cents` is worth: the line's own total
    when all of it, else its share rounded half up to the cent (the invoice completing the order
    carries what rounding leaves over)."""
    if quantity == of_quantity:
        return total_cents
    if quantity <= 0 or of_quantity <= 0:
        return 0
    numerator = 2 * total_cents * quantity + of_quantity
    return numerator // (2 * of_quantity)


class OrderChange(models.Model):
    """A change VTEX made to an order after it was placed, as VTEX reports it.

    CHANGE: one entry of changesAttachment.changesData[] (VTEX-API.md §14): items removed or added,
    a discount or an increment, why (`reason`), when (the receipt's date). The order's `value` is
    already the value after the change; OrderItem.quantity_after_changes is what is left of each
    item.

    REPLACED_BY / REPLACES: VTEX's newer change flow ends the order in status `replaced` and carries
    the change in a new order. The pair links the two orders both ways by VTEX order id (the other
    order may not be stored here yet); integration.services.order_sync writes it.
    """

    class Kind(models.TextChoices):
        CHANGE = "change", _("Changed at VTEX")
        REPLACED_BY = "replaced_by", _("Replaced by another order")
        REPLACES = "replaces", _("Replaces another order")

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.CHANGE)
    position = models.PositiveIntegerField(
        _("position"), default=0, help_text=_("Position in VTEX's changesData[] (0 for a replacement).")
    )
    reason = models.TextField(_("reason"), blank=True)
    discount_cents = models.BigIntegerField(_("discount cents"), default=0)
    increment_cents = models.BigIntegerField(_("increment cents"), default=0)
    #: [{"sku_id", "name", "quantity", "price_cents", "unit_multiplier"}]
    items_removed = models.JSONField(_("items removed"), default=list, blank=True)
    items_added = models.JSONField(_("items added"), default=list, blank=True)
    receipt = models.CharField(_("VTEX receipt"), max_length=100, blank=True)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    other_order_id = models.CharField(
        _("other order"), max_length=64, blank=True, help_text=_("For a replacement: the other VTEX order id.")
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order change")
        verbose_name_plural = _("order changes")
        ordering = ["order", "kind", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind", "position"], name="orderchange_unique_position"),
        ]
        indexes = [models.Index(fields=["other_order_id"], name="orderchange_other_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.position}"

    @property
    def value_cents(self) -> int:
        """What the change did to the order's value: the increment less the discount."""
        return self.increment_cents - self.discount_cents


class Payment(models.Model):
    """A payment of the order's transaction; status fields come from the Payments API when fetched."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="payments")
    transaction_id = models.CharField(_("transaction id"), max_length=64, db_index=True)
    payment_id = models.CharField(_("payment id"), max_length=64)
    payment_system = models.CharField(_("payment system"), max_length=32, blank=True)
    payment_system_name = models.CharField(_("payment system name"), max_length=100, blank=True)
    group = models.CharField(_("group"), max_length=32, blank=True)
    # VTEX's payments[].value: in a split purchase, every order of the group shows the whole
    # group's payment (an order of 5458 cents shows 22745), so this is not what pays for this order.
    value_cents = models.BigIntegerField(_("value cents"))
    # The part of the payment that pays for this order: the value when the order's payments add up
    # to at most its total, else the order total spread over them in proportion (remainder on the
    # last). Null on rows stored before it was computed.
    order_share_cents = models.BigIntegerField(_("share of this order (cents)"), null=True, blank=True)
    installments = models.PositiveIntegerField(_("installments"), default=1)
    tid = models.CharField(_("TID"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True, help_text=_("From the Payments API."))
    transaction_status = models.CharField(
        _("transaction status"), max_length=32, blank=True, help_text=_("From the Payments API.")
    )
    fetched_at = models.DateTimeField(_("fetched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "payment_id"], name="payment_unique_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_system_name or self.group} {self.value_cents}"
