"""What the API answers (output only; each view parses its input with its own nested InputSerializer).

Money is integer cents, as in VTEX. Times are ISO 8601 with their offset, in the store's time zone.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from integration.models import CancellationRequest, Invoice, Order, OrderChange, SendState
from integration.selectors.sellers import order_fulfilled_elsewhere
from integration.selectors.start_handling import StartHandlingState, order_start_handling
from integration.services.invoicing import ItemQuantities
from integration.vtex.statuses import VtexStatus

# ---- errors -------------------------------------------------------------------------------------------


#: Every `code` an error can carry (integration.api.errors); programs match on these.
ERROR_CODES = (
    "invalid",
    "parse_error",
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "not_found",
    "method_not_allowed",
    "not_acceptable",
    "not_allowed",
    "conflict",
    "too_large",
    "unsupported_media_type",
    "throttled",
    "vtex_error",
    "server_error",
    # An NF-e refused by the import (POST /orders/{order_id}/invoices/nfe/): the check it failed.
    "nfe_too_large",
    "nfe_malformed",
    "nfe_doctype",
    "nfe_not_nfe",
    "nfe_schema",
    "nfe_invalid",
    "nfe_access_key",
    "nfe_unsigned",
    "nfe_altered",
    "nfe_not_authorized",
    "nfe_homologation",
    "nfe_purpose",
    "nfe_recipient",
    "nfe_key_used",
)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[(code, code) for code in ERROR_CODES], help_text="Stable, for programs; never translated."
    )
    message = serializers.CharField(help_text="For people: what went wrong and, where it helps, what to do.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Per input field, what is wrong with it. Keys are dotted paths with list positions: "number", '
        '"items[0].quantity", "events[2].date". Empty when the error is not about one field.',
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


# ---- orders ---------------------------------------------------------------------------------------------


class AckSerializer(serializers.Serializer):
    """Where the order's acknowledgement stands: by the ERP (to us) and by us (start-handling, to VTEX)."""

    state = serializers.ChoiceField(
        choices=StartHandlingState.choices,
        help_text="Start-handling at VTEX: pending, sending, done (VTEX moved the order to handling), failed.",
    )
    acknowledged_at = serializers.DateTimeField(allow_null=True, help_text="When VTEX accepted start-handling.")
    attempts = serializers.IntegerField()
    error = serializers.CharField(help_text="VTEX's answer to the last failed attempt.")
    erp_received_at = serializers.DateTimeField(
        allow_null=True,
        read_only=True,
        help_text="When the ERP first confirmed it stored the order (POST …/ack/); null until then.",
    )

    def to_representation(self, order: Order) -> dict:
        start_handling = order_start_handling(order)  # its outbox row (prefetched for lists)
        return super().to_representation(
            {
                "state": start_handling.state,
                "acknowledged_at": start_handling.acknowledged_at,
                "attempts": start_handling.attempts,
                "error": start_handling.error,
                "erp_received_at": getattr(order, "erp_received_at", None),
            }
        )


class VtexStatusField(serializers.ChoiceField):
    """VTEX's status (integration.vtex.statuses); empty while the order was never read in full."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "VTEX's status, e.g. ready-for-handling, handling, invoiced.")
        super().__init__(choices=[(s.value, s.value) for s in VtexStatus], allow_blank=True, **kwargs)


class OrderSummarySerializer(serializers.Serializer):
    order_id = serializers.CharField(help_text="VTEX orderId, e.g. 1234567890123-01.")
    sequence = serializers.CharField()
    vtex_status = VtexStatusField()
    state = serializers.ChoiceField(choices=Order.State.choices, help_text="erp-bridge's state, from the data.")
    ack = AckSerializer(source="*")
    currency = serializers.CharField(source="currency_code")
    total_cents = serializers.IntegerField()
    created_at_vtex = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(help_text="Last change here; poll with updated_since.")


class OrderPageSerializer(serializers.Serializer):
    """One page of orders (documentation only: the view builds it, integration.api.pagination)."""

    next = serializers.URLField(
        allow_null=True, help_text="Link to the next page (its cursor alone), or null on the last page."
    )
    previous = serializers.URLField(allow_null=True, help_text="Link to the page before, or null.")
    next_cursor = serializers.CharField(
        allow_null=True,
        help_text="Pass it as `cursor` for the next page (it carries the filters and page size); null on the "
        "last page.",
    )
    previous_cursor = serializers.CharField(allow_null=True, help_text="The cursor of the page before, or null.")
    resume_cursor = serializers.CharField(
        help_text="Where the next poll starts: after the last order of this page, with the same filters. Save the "
        "one of the last page you processed and send it as `cursor` next time: orders changed since come, each "
        "once, ties of one updated_at included."
    )
    results = OrderSummarySerializer(many=True)


class PriceTagSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="E.g. DISCOUNT@MARKETPLACE, discount@shipping.")
    value = serializers.IntegerField(help_text="Cents; negative for a discount.")
    is_percentual = serializers.BooleanField()
    identifier = serializers.CharField()
    raw_value = serializers.FloatField(allow_null=True, help_text="As VTEX sent it (a percentage when percentual).")


class SellingPriceSerializer(serializers.Serializer):
    value = serializers.IntegerField(help_text="Unit price in cents.")
    quantity = serializers.IntegerField()


class PriceDefinitionSerializer(serializers.Serializer):
    total = serializers.IntegerField(allow_null=True, help_text="VTEX's total of the line (all units), cents.")
    calculated_selling_price = serializers.IntegerField(allow_null=True)
    selling_prices = SellingPriceSerializer(many=True)

    def to_representation(self, instance):
        return super().to_representation(instance) if instance else None


class ComponentSerializer(serializers.Serializer):
    sku_id = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField(allow_null=True)
    price_cents = serializers.IntegerField(allow_null=True)


class AttachmentSerializer(serializers.Serializer):
    name = serializers.CharField()
    content = serializers.DictField(help_text="What the customer filled in, as VTEX sent it.")


class OrderItemSerializer(serializers.Serializer):
    item_index = serializers.IntegerField(help_text="Position in VTEX's items[]; use it in invoice items.")
    sku_id = serializers.CharField()
    ref_id = serializers.CharField()
    ean = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField(
        help_text="Ordered, as VTEX's items[] says: a change at VTEX does not lower it (removed items stay)."
    )
    quantity_after_changes = serializers.IntegerField(
        help_text="What the order holds after its changes at VTEX; only this is invoiced."
    )
    removed_quantity = serializers.IntegerField(help_text="Units a change at VTEX removed: never invoiced.")
    invoiced_quantity = serializers.SerializerMethodField(help_text="On output (sale) invoices.")
    remaining_quantity = serializers.SerializerMethodField(
        help_text="Left to invoice: the quantity after changes, less what output invoices took."
    )
    returned_quantity = serializers.SerializerMethodField(help_text="On input (return) invoices.")
    unit_price_cents = serializers.IntegerField(help_text="VTEX price: unit list price of the sale.")
    selling_price_cents = serializers.IntegerField(help_text="Unit price after item discounts.")
    total_cents = serializers.IntegerField(
        help_text="VTEX's value of the whole line (all units ordered): priceDefinition.total when VTEX sent one, "
        "else price × quantity × unit multiplier with the item's price tags."
    )
    measurement_unit = serializers.CharField(help_text="E.g. un, kg.")
    unit_multiplier = serializers.DecimalField(
        max_digits=15,
        decimal_places=6,
        coerce_to_string=True,
        help_text="Items sold by weight or pack: one unit is this many of the measurement unit (e.g. 0.350000 kg).",
    )
    is_gift = serializers.BooleanField()
    parent_item_index = serializers.IntegerField(
        allow_null=True, help_text="For an assembly option (warranty, engraving): the item it belongs to."
    )
    parent_assembly_binding = serializers.CharField()
    components = ComponentSerializer(many=True, help_text="A kit's components.")
    attachments = AttachmentSerializer(many=True)
    price_tags = PriceTagSerializer(many=True, help_text="The item's discounts and taxes, in cents.")
    price_definition = PriceDefinitionSerializer(allow_null=True)
    delivery = serializers.SerializerMethodField(help_text="The item's seller and how it reaches the buyer.")

    @extend_schema_field(serializers.JSONField(allow_null=True))  # documented by ItemDeliverySerializer
    def get_delivery(self, item) -> dict | None:
        row = self.context.get("fulfillments", {}).get(item.item_index)
        return ItemDeliverySerializer(row).data if row is not None else None

    def _quantities(self, item) -> ItemQuantities | None:
        return self.context.get("quantities", {}).get(item.item_index)

    def get_invoiced_quantity(self, item) -> int:
        entry = self._quantities(item)
        return entry.invoiced if entry else 0

    def get_remaining_quantity(self, item) -> int:
        entry = self._quantities(item)
        return entry.remaining if entry else item.quantity_after_changes

    def get_returned_quantity(self, item) -> int:
        entry = self._quantities(item)
        return entry.returned if entry else 0


class ItemDeliverySerializer(serializers.Serializer):
    """VTEX's items[].seller and the item's logisticsInfo[] entry."""

    seller = serializers.CharField(help_text="The seller id of the item (VTEX's items[].seller).")
    delivery_channel = serializers.CharField(help_text="delivery or pickup-in-point; empty when VTEX did not say.")
    sla = serializers.CharField(help_text="The chosen shipping method (VTEX's selectedSla).")
    carrier = serializers.CharField(help_text="VTEX's deliveryCompany.")
    shipping_estimate = serializers.CharField(help_text='VTEX\'s estimate, e.g. "4bd" (4 business days).')
    shipping_estimate_date = serializers.DateTimeField(allow_null=True)
    delivery_window_start = serializers.DateTimeField(allow_null=True, help_text="Scheduled delivery only.")
    delivery_window_end = serializers.DateTimeField(allow_null=True)
    pickup_point_id = serializers.CharField()
    pickup_point_name = serializers.CharField()


class PaymentSerializer(serializers.Serializer):
    payment_id = serializers.CharField()
    transaction_id = serializers.CharField()
    payment_system = serializers.CharField()
    payment_system_name = serializers.CharField()
    group = serializers.CharField(help_text="creditCard, bankInvoice, instantPayment…")
    order_share_cents = serializers.SerializerMethodField(
        help_text="What this payment pays for this order. The shares of an order add up to at most its total."
    )
    value_cents = serializers.IntegerField(
        help_text="VTEX's value of the payment for the whole order group: in a purchase split between sellers "
        "every order shows the group's payment, so this can be larger than the order."
    )
    installments = serializers.IntegerField()
    tid = serializers.CharField()
    status = serializers.CharField(help_text="From VTEX's Payments API, when fetched.")

    @extend_schema_field(OpenApiTypes.INT)
    def get_order_share_cents(self, payment) -> int:
        return payment.value_cents if payment.order_share_cents is None else payment.order_share_cents


class InvoiceItemSerializer(serializers.Serializer):
    item_index = serializers.IntegerField(source="order_item.item_index")
    sku_id = serializers.CharField(source="order_item.sku_id")
    name = serializers.CharField(source="order_item.name")
    quantity = serializers.IntegerField()
    unit_price_cents = serializers.IntegerField()


class TrackingEventSerializer(serializers.Serializer):
    date = serializers.DateTimeField(source="occurred_at")
    description = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()


class InvoiceSerializer(serializers.Serializer):
    number = serializers.CharField()
    type = serializers.ChoiceField(source="kind", choices=Invoice.Kind.choices)
    issued_at = serializers.DateTimeField()
    key = serializers.CharField(source="access_key", help_text="NF-e access key (44 digits) or empty.")
    url = serializers.CharField()
    value_cents = serializers.IntegerField()
    courier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    delivered = serializers.BooleanField(source="is_delivered")
    delivered_at = serializers.DateTimeField(allow_null=True)
    send_state = serializers.ChoiceField(
        choices=SendState.choices, help_text="Where sending this invoice's latest change to VTEX stands."
    )
    created_via = serializers.CharField(help_text="api or admin.")
    created_at = serializers.DateTimeField()
    items = InvoiceItemSerializer(many=True)
    tracking_events = TrackingEventSerializer(many=True)


@extend_schema_serializer(component_name="Cancellation")
class CancellationRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()
    state = serializers.ChoiceField(choices=CancellationRequest.State.choices)
    requested_via = serializers.CharField()
    requested_at = serializers.DateTimeField()
    vtex_answer = serializers.CharField(help_text="What VTEX answered, once sent.")
    confirmed_at = serializers.DateTimeField(allow_null=True, help_text="When VTEX showed the order canceled.")


class CustomerSerializer(serializers.Serializer):
    name = serializers.CharField(source="customer_name", help_text="The person who bought (a company's contact).")
    email = serializers.CharField(source="customer_email")
    document_type = serializers.CharField(
        source="customer_document_type", help_text="cpf, cnpj (a company buyer), or another (cedulaCOL, …)."
    )
    document = serializers.CharField(
        source="customer_document",
        help_text="The buyer's document: a company's CNPJ, else the person's. CPF and CNPJ without punctuation; "
        "other documents as VTEX sent them.",
    )
    document_check = serializers.ChoiceField(
        source="customer_document_check",
        choices=Order.DocumentCheck.choices,
        help_text="valid or invalid (the CPF/CNPJ check digits); empty when not checked (not a CPF/CNPJ).",
    )
    phone = serializers.CharField(source="customer_phone")
    is_corporate = serializers.BooleanField(source="customer_is_corporate", help_text="A company buyer.")
    corporate_name = serializers.CharField(source="customer_corporate_name")
    trade_name = serializers.CharField(source="customer_trade_name")
    state_registration = serializers.CharField(
        source="customer_state_inscription", help_text='Inscrição estadual: a number or "Isento" (exempt).'
    )
    corporate_phone = serializers.CharField(source="customer_corporate_phone")


class ShippingAddressSerializer(serializers.Serializer):
    receiver_name = serializers.CharField()
    postal_code = serializers.CharField()
    street = serializers.CharField()
    number = serializers.CharField()
    complement = serializers.CharField()
    neighborhood = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField(source="state_code", help_text='A UF ("SP") or a state\'s name ("Antioquia").')
    country = serializers.CharField()
    edited = serializers.BooleanField(source="shipping_address_edited", help_text="Corrected by staff here.")


class PickupPointSerializer(serializers.Serializer):
    id = serializers.CharField(source="pickup_point_id")
    name = serializers.CharField(source="pickup_point_name")
    address = serializers.CharField(source="pickup_point_address", help_text="On one line.")


class DeliverySerializer(serializers.Serializer):
    channel = serializers.ChoiceField(
        source="delivery_channel",
        choices=Order.DeliveryChannel.choices,
        help_text="delivery, pickup-in-point, mixed (items of both), or empty when VTEX did not say.",
    )
    address_type = serializers.CharField(help_text="VTEX's addressType: residential, commercial, pickup…")
    pickup_point = serializers.SerializerMethodField(help_text="Where the buyer picks the order up; null if not.")

    @extend_schema_field(PickupPointSerializer(allow_null=True))
    def get_pickup_point(self, order: Order) -> dict | None:
        if not (order.pickup_point_id or order.pickup_point_name or order.is_pickup):
            return None
        return PickupPointSerializer(order).data


class SellerSerializer(serializers.Serializer):
    """One of VTEX's sellers[] of the order."""

    id = serializers.CharField(source="seller_id")
    name = serializers.CharField()


@extend_schema_serializer(component_name="OrderSeller")
class OrderSellerSerializer(serializers.Serializer):
    """The order's seller (VTEX's first seller; seller "1" is the account itself)."""

    id = serializers.CharField(source="seller_id")
    name = serializers.CharField(source="seller_name")


class MarketplaceSerializer(serializers.Serializer):
    name = serializers.CharField(source="marketplace_name")
    base_url = serializers.CharField(source="marketplace_base_url")
    affiliate_id = serializers.CharField(help_text="The affiliate (external marketplace) that sold the order.")
    order_id = serializers.CharField(source="marketplace_order_id", help_text="The marketplace's own order id.")


class TotalsSerializer(serializers.Serializer):
    currency = serializers.CharField(source="currency_code")
    currency_decimal_digits = serializers.IntegerField(
        allow_null=True,
        help_text="Decimals the store shows (0 for COP and CLP in common use); amounts are cents all the same. "
        "Null when VTEX did not say.",
    )
    total_cents = serializers.IntegerField(help_text="What the customer pays; output invoices add up to it.")
    items_cents = serializers.IntegerField(source="items_total_cents")
    discounts_cents = serializers.IntegerField(source="discounts_total_cents", help_text="Negative or zero.")
    shipping_cents = serializers.IntegerField(source="shipping_total_cents")
    tax_cents = serializers.IntegerField(source="tax_total_cents")
    invoiced_cents = serializers.SerializerMethodField(help_text="Sum of the output (sale) invoices.")
    returned_cents = serializers.SerializerMethodField(help_text="Sum of the input (return) invoices.")

    @extend_schema_field(OpenApiTypes.INT)
    def get_invoiced_cents(self, order: Order) -> int:
        return sum(i.value_cents for i in order.invoices.all() if i.kind == Invoice.Kind.OUTPUT)

    @extend_schema_field(OpenApiTypes.INT)
    def get_returned_cents(self, order: Order) -> int:
        return sum(i.value_cents for i in order.invoices.all() if i.kind == Invoice.Kind.INPUT)


class ChangedItemSerializer(serializers.Serializer):
    sku_id = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    price_cents = serializers.IntegerField(help_text="Unit price, cents.")
    unit_multiplier = serializers.CharField(allow_null=True)


class OrderChangeSerializer(serializers.Serializer):
    """One change VTEX made to the order (changesAttachment.changesData[])."""

    changed_at = serializers.DateTimeField(allow_null=True, help_text="The date of VTEX's receipt of the change.")
    reason = serializers.CharField()
    items_removed = ChangedItemSerializer(many=True)
    items_added = ChangedItemSerializer(many=True)
    discount_cents = serializers.IntegerField()
    increment_cents = serializers.IntegerField()
    value_cents = serializers.IntegerField(help_text="increment − discount: what the change did to the value.")
    receipt = serializers.CharField()


class OrderDetailSerializer(OrderSummarySerializer):
    marketplace_order_id = serializers.CharField()
    origin = serializers.CharField()
    sales_channel = serializers.CharField()
    order_group = serializers.CharField(help_text="The purchase: a purchase split between sellers is one group.")
    sibling_order_ids = serializers.SerializerMethodField(
        help_text="The other orders of the group stored here (one per seller)."
    )
    seller = OrderSellerSerializer(source="*")
    sellers = SellerSerializer(many=True, help_text="VTEX's sellers[] of the order.")
    fulfilled_by_other_seller = serializers.SerializerMethodField(
        help_text="true: another seller fulfils the order (not in VTEX_OWN_SELLER_IDS); it is not acknowledged, "
        "invoiced or canceled through erp-bridge."
    )
    marketplace = MarketplaceSerializer(source="*")
    delivery = DeliverySerializer(source="*")
    is_complete = serializers.BooleanField(help_text="False while the order was never read in full from VTEX.")
    authorized_at = serializers.DateTimeField(allow_null=True)
    last_change_at_vtex = serializers.DateTimeField(allow_null=True)
    imported_at = serializers.DateTimeField()
    totals = TotalsSerializer(source="*")
    customer = CustomerSerializer(source="*")
    shipping_address = ShippingAddressSerializer(source="*")
    items = OrderItemSerializer(many=True)
    payments = PaymentSerializer(many=True)
    invoices = InvoiceSerializer(many=True)
    cancellation_requests = CancellationRequestSerializer(many=True)
    changes = serializers.SerializerMethodField(
        help_text="Changes VTEX made after the order was placed, oldest first; total_cents is the value after them."
    )
    replaced_by_order_id = serializers.SerializerMethodField(
        help_text="VTEX status replaced: the order that carries this one on (null when none or not known)."
    )
    replaces_order_id = serializers.SerializerMethodField(help_text="The order this one replaced (null when none).")

    def _links(self, order: Order, kind: str) -> list[OrderChange]:
        return [change for change in order.changes.all() if change.kind == kind]

    @extend_schema_field(OrderChangeSerializer(many=True))
    def get_changes(self, order: Order) -> list[dict]:
        return OrderChangeSerializer(self._links(order, OrderChange.Kind.CHANGE), many=True).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_replaced_by_order_id(self, order: Order) -> str | None:
        links = self._links(order, OrderChange.Kind.REPLACED_BY)
        return links[0].other_order_id if links else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_replaces_order_id(self, order: Order) -> str | None:
        links = self._links(order, OrderChange.Kind.REPLACES)
        return links[0].other_order_id if links else None

    def get_sibling_order_ids(self, order: Order) -> list[str]:
        return list(self.context.get("sibling_order_ids", []))

    def get_fulfilled_by_other_seller(self, order: Order) -> bool:
        return order_fulfilled_elsewhere(order)


class AckResultSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    mode = serializers.ChoiceField(
        choices=[("on_import", "on_import"), ("on_erp_ack", "on_erp_ack")],
        help_text="VTEX_START_HANDLING of this installation: when start-handling is sent to VTEX.",
    )
    vtex_status = VtexStatusField()
    message = serializers.CharField(help_text="What happened; in on_erp_ack mode, VTEX's answer.")
    ack = AckSerializer(help_text="The order's acknowledgement state after this call.")
