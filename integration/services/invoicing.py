"""Invoices: the rules for entering one (partial, with items), and the running totals staff see.

Used by the admin and the API alike (issue 3 §2). An invoice is stored with its outbox row in one
transaction; the outbox sends it to VTEX after commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from integration.infra.crashpoints import crash_point
from integration.models import (
    CancellationRequest,
    Invoice,
    InvoiceItem,
    Order,
    OrderChange,
    OrderEvent,
    OrderItem,
    OutboxMessage,
)
from integration.models.orders import line_cents
from integration.selectors.sellers import order_fulfilled_elsewhere, order_seller_label
from integration.services.errors import Conflict, FieldErrors, NotAllowed
from integration.services.events import order_event_record
from integration.services.order_state import order_recompute_state
from integration.services.outbox import outbox_enqueue
from integration.vtex.payloads import InvoiceLinePayload, invoice_payload
from integration.vtex.statuses import CANCELED, START_HANDLING_TOOK_EFFECT, VtexStatus

#: Clocks differ a little between the ERP and us; an issue date this far ahead is still "now".
CLOCK_SKEW = timedelta(minutes=5)
NUMBER_MAX_LENGTH = 50
ACCESS_KEY_LENGTH = 44
#: Where an NF-e access key writes the series and the number: cUF (2), AAMM (4), CNPJ (14),
#: model (2), series (3), number (9), emission type (1), code (8), check digit (1).
ACCESS_KEY_SERIES = slice(22, 25)
ACCESS_KEY_NUMBER = slice(25, 34)
#: The runs of ASCII digits of an invoice number as staff and ERPs write it ("2002", "000002002",
#: "NF-2002", "1-2002" with its series, "2002-1"): \d would take other scripts' digits too.
_DIGIT_RUNS = re.compile(r"[0-9]+")
_url_validator = URLValidator(schemes=["http", "https"])


# ---- quantities and totals (read-only) ---------------------------------------------------------


def item_line_cents(item: OrderItem, quantity: int) -> int:
    """What `quantity` units of an item are worth: VTEX's total of the line (OrderItem.total_cents:
    its priceDefinition total, or price × quantity × unit multiplier with its price tags), shared
    out per unit. A gift is worth 0."""
    return line_cents(item.total_cents, quantity, item.quantity)


def item_unit_cents(item: OrderItem, quantity: int) -> int:
    """The unit price an invoice line sends (VTEX multiplies it by the quantity): the line's value
    divided by its quantity, rounded half up. For an item sold by weight it is the price of one
    unit as sold (e.g. a 0.35 kg pack), not of one kilogram."""
    return line_cents(item_line_cents(item, quantity), 1, quantity) if quantity > 0 else 0


@dataclass
class ItemQuantities:
    item: OrderItem
    invoiced: int = 0  # across output invoices
    returned: int = 0  # across input invoices

    @property
    def ordered(self) -> int:
        """What the order holds of the item now: VTEX's quantity after the order's changes."""
        return self.item.quantity_after_changes

    @property
    def removed(self) -> int:
        """Units a change at VTEX removed: they are never invoiced."""
        return self.item.removed_quantity

    @property
    def remaining(self) -> int:
        return max(self.ordered - self.invoiced, 0)

    @property
    def returnable(self) -> int:
        return self.invoiced - self.returned


def order_item_quantities(order: Order) -> dict[int, ItemQuantities]:
    """Per item_index: ordered, invoiced and returned quantities (two queries)."""
    quantities = {item.item_index: ItemQuantities(item) for item in order.items.all()}
    by_item = {q.item.pk: q for q in quantities.values()}
    rows = (
        InvoiceItem.objects.filter(invoice__order=order)
        .values("order_item_id", "invoice__kind")
        .annotate(total=Sum("quantity"))
    )
    for row in rows:
        entry = by_item.get(row["order_item_id"])
        if entry is None:
            continue
        if row["invoice__kind"] == Invoice.Kind.OUTPUT:
            entry.invoiced = row["total"]
        else:
            entry.returned = row["total"]
    return quantities


def order_invoiced_cents(order: Order, kind: str = Invoice.Kind.OUTPUT) -> int:
    return order.invoices.filter(kind=kind).aggregate(total=Sum("value_cents"))["total"] or 0


def order_returnable_cents(order: Order) -> int:
    """The most that return (input) invoices may still be worth: invoiced minus returned."""
    return order_invoiced_cents(order) - order_invoiced_cents(order, Invoice.Kind.INPUT)


@dataclass
class InvoicePlan:
    """What an invoice with these lines would be: its value and where the order would stand."""

    value_cents: int
    computed_value_cents: int
    completes_order: bool
    order_total_cents: int
    invoiced_before_cents: int
    lines: list[tuple[ItemQuantities, int]] = field(default_factory=list)

    @property
    def invoiced_after_cents(self) -> int:
        return self.invoiced_before_cents + self.value_cents

    @property
    def remaining_after_cents(self) -> int:
        return self.order_total_cents - self.invoiced_after_cents


def invoice_plan(
    *, order: Order, kind: str, quantities_by_index: dict[int, int], value_cents: int | None = None
) -> InvoicePlan:
    """The computed value of an invoice with these lines (no validation, no writes).

    By default the items at VTEX's value of them (item_line_cents: price × quantity × unit
    multiplier, VTEX's own total where it gave one); the output invoice that completes the order
    carries the remainder (shipping, order discounts, taxes, changes, rounding), so that the output
    invoices add up to the order's value after its changes, to the cent.
    """
    quantities = order_item_quantities(order)
    lines = [
        (quantities[index], quantity)
        for index, quantity in sorted(quantities_by_index.items())
        if index in quantities and quantity > 0
    ]
    items_value = sum(item_line_cents(entry.item, quantity) for entry, quantity in lines)
    invoiced_before = order_invoiced_cents(order, kind)
    completes = False
    computed = items_value
    if kind == Invoice.Kind.OUTPUT:
        taking = {entry.item.item_index: quantity for entry, quantity in lines}
        completes = bool(lines) and all(
            entry.remaining - taking.get(index, 0) <= 0 for index, entry in quantities.items()
        )
        if completes:
            computed = order.total_cents - order_invoiced_cents(order, Invoice.Kind.OUTPUT)
    return InvoicePlan(
        value_cents=computed if value_cents is None else value_cents,
        computed_value_cents=computed,
        completes_order=completes,
        order_total_cents=order.total_cents,
        invoiced_before_cents=invoiced_before,
        lines=lines,
    )


# ---- entering an invoice ---------------------------------------------------------------------------


def order_replaced_by(order: Order) -> str:
    """The VTEX id of the order that replaced this one, "" when none is known."""
    link = order.changes.filter(kind=OrderChange.Kind.REPLACED_BY).values_list("other_order_id", flat=True).first()
    return link or ""


def order_invoicing_blocker(order: Order) -> str:
    """Why no invoice can be entered now, or "" when one can."""
    if order.vtex_status == VtexStatus.REPLACED or order.state == Order.State.REPLACED:
        # VTEX carries the change in a new order; this one is closed (VTEX-API.md §10).
        replacing = order_replaced_by(order)
        if replacing:
            return _("VTEX replaced this order with order %(order)s; invoice that order instead.") % {
                "order": replacing
            }
        return _("VTEX replaced this order with another one; it cannot be invoiced.")
    if order.vtex_status in CANCELED or order.state == Order.State.CANCELED:
        return _("The order is canceled; it cannot be invoiced.")
    if order.cancellation_requests.filter(state__in=CancellationRequest.OPEN_STATES).exists():
        return _("A cancellation was requested for this order; it cannot be invoiced.")
    if not order.is_complete:
        return _("The order was never read in full from VTEX; refresh it first.")
    if order_fulfilled_elsewhere(order):
        return _("Seller %(seller)s fulfils this order; it invoices the order, not this account.") % {
            "seller": order_seller_label(order)
        }
    if order.vtex_status not in START_HANDLING_TOOK_EFFECT:
        return _("VTEX has not confirmed start-handling for this order yet; invoice it once it has.")
    return ""


def invoice_kinds_open(order: Order, *, quantities: dict[int, ItemQuantities] | None = None) -> tuple[str, ...]:
    """The kinds of invoice the order takes now, the one to offer first first; () when none.

    The one statement of the rule (the admin's buttons and pages, the API and invoice_validate ask
    here): a sale (output) while any item is left to invoice; a return (input) only once every item
    is invoiced, as VTEX takes it, and while something invoiced is not yet returned; nothing while
    order_invoicing_blocker() gives a reason. `quantities`: order_item_quantities(order), when the
    caller has them already.
    """
    if order_invoicing_blocker(order):
        return ()
    if quantities is None:
        quantities = order_item_quantities(order)
    if any(entry.remaining > 0 for entry in quantities.values()):
        return (Invoice.Kind.OUTPUT,)
    if any(entry.returnable > 0 for entry in quantities.values()):
        return (Invoice.Kind.INPUT,)
    return ()


def _kind_closed_reason(kind: str, quantities: dict[int, ItemQuantities]) -> str:
    """Why invoice_kinds_open() leaves out `kind` on an order without a blocker, in words."""
    if kind == Invoice.Kind.OUTPUT:
        return _("The order is fully invoiced already.")
    if any(entry.remaining > 0 for entry in quantities.values()):
        return _("A return (input) invoice is possible only once the order is fully invoiced.")
    return _("Every invoiced item was returned already; there is nothing left to return.")


#: The columns' size; the admin's form and the API refuse the same lengths through these checks.
TRACKING_MAX_LENGTH = 100
#: An earlier date is a typo; shown in the store's time zone it would carry a local-mean-time
#: offset with seconds (1900 went to VTEX as -03:06:28), which is no valid ISO 8601.
EARLIEST_DATE = datetime(2000, 1, 1, tzinfo=UTC)


def check_tracking_fields(errors: FieldErrors, *, tracking_number: str, courier: str, required: bool) -> None:
    """The tracking number and carrier rules, the same wherever they are entered."""
    if required and not tracking_number:
        errors.add("tracking_number", _("The tracking number is required."))
    elif len(tracking_number) > TRACKING_MAX_LENGTH:
        errors.add("tracking_number", _("The tracking number has at most 100 characters."))
    if len(courier) > TRACKING_MAX_LENGTH:
        errors.add("courier", _("The carrier name has at most 100 characters."))


def _validate_header(
    errors: FieldErrors,
    *,
    order: Order,
    number: str,
    kind: str,
    issued_at: datetime | None,
    access_key: str,
    url: str,
    tracking_url: str,
    series: str = "",
) -> None:
    if not number:
        errors.add("number", _("The invoice number is required."))
    elif "/" in number:
        errors.add("number", _("The invoice number must not contain '/' (VTEX uses it in its addresses)."))
    elif number.strip(".") == "":
        errors.add("number", _("The invoice number must not be only dots (VTEX's addresses would lose it)."))
    elif len(number) > NUMBER_MAX_LENGTH:
        errors.add("number", _("The invoice number must have at most %(max)s characters.") % {"max": NUMBER_MAX_LENGTH})
    elif order.invoices.filter(number=number).exists():
        errors.add("number", _("This order already has an invoice numbered %(number)r.") % {"number": number})
    if kind not in Invoice.Kind.values:
        errors.add("kind", _("The type must be one of: %(values)s.") % {"values": ", ".join(Invoice.Kind.values)})
    if issued_at is None:
        errors.add("issued_at", _("The issue date is required."))
    elif timezone.is_naive(issued_at):
        errors.add("issued_at", _("The issue date needs a time zone."))
    elif issued_at > timezone.now() + CLOCK_SKEW:
        errors.add("issued_at", _("The issue date cannot be in the future."))
    elif issued_at < EARLIEST_DATE:
        errors.add("issued_at", _("The time must be from 2000-01-01 on."))
    # ASCII digits only: str.isdigit() also takes other scripts' digits (Arabic-Indic, say).
    if access_key and (len(access_key) != ACCESS_KEY_LENGTH or not (access_key.isascii() and access_key.isdigit())):
        errors.add(
            "access_key", _("The NF-e access key has exactly %(length)s digits.") % {"length": ACCESS_KEY_LENGTH}
        )
    elif access_key:
        _check_access_key(errors, number=number, series=series, access_key=access_key)
    elif series:
        errors.add("series", _("The series is checked against the NF-e access key: enter the key too."))
    for name, value in (("url", url), ("tracking_url", tracking_url)):
        if value:
            try:
                _url_validator(value)
            except ValidationError:
                errors.add(name, "Enter a full http(s) address.")


def access_key_parts(access_key: str) -> tuple[int, int] | None:
    """(series, number) written inside a 44-digit NF-e access key; None for anything else."""
    if len(access_key) != ACCESS_KEY_LENGTH or not (access_key.isascii() and access_key.isdigit()):
        return None
    return int(access_key[ACCESS_KEY_SERIES]), int(access_key[ACCESS_KEY_NUMBER])


def _check_access_key(errors: FieldErrors, *, number: str, series: str, access_key: str) -> None:
    """An access key identifies one NF-e: it is on one invoice only, and the number (and the series,
    when given) typed beside it are the ones written inside it, so a key pasted from the wrong
    DANFE is caught before VTEX and the buyer get it."""
    key_series, key_number = access_key_parts(access_key)
    values = {"number": number, "key_number": key_number, "key_series": key_series}
    if number and "/" not in number:  # an empty or malformed number has its own error already
        runs = [int(run) for run in _DIGIT_RUNS.findall(number)]
        if len(runs) == 1 and runs[0] != key_number:
            errors.add(
                "number",
                _("The invoice number %(number)s is not the number inside the access key (%(key_number)s).") % values,
            )
        elif len(runs) == 2 and sorted(runs) != sorted([key_number, key_series]):
            errors.add(
                "number",
                _(
                    "The invoice number and series %(number)s are not those inside the access key "
                    "(number %(key_number)s, series %(key_series)s)."
                )
                % values,
            )
        elif len(runs) not in (1, 2):
            errors.add(
                "number",
                _("Write the invoice number as the access key does (%(key_number)s), with its series at most.")
                % values,
            )
    if series:
        typed = series.strip()
        if not (typed.isascii() and typed.isdigit()) or int(typed) != key_series:
            errors.add(
                "series",
                _("The series %(series)s is not the series inside the access key (%(key_series)s).")
                % {"series": typed, "key_series": key_series},
            )
    other = Invoice.objects.filter(access_key=access_key).select_related("order").first()
    if other is not None:
        errors.add(
            "access_key",
            _("This access key is already on invoice %(invoice)s of order %(order)s: one NF-e, one invoice.")
            % {"invoice": other.number, "order": other.order.order_id},
        )


def invoices_with_number_elsewhere(*, order: Order, number: str) -> list[Invoice]:
    """Other orders' invoices with this number: allowed (another series, another issuer), but more
    often a typo or a DANFE entered on the wrong order, so staff are warned before saving."""
    number = (number or "").strip()
    if not number:
        return []
    return list(Invoice.objects.filter(number=number).exclude(order=order).select_related("order").order_by("id")[:5])


def _validate_lines(
    errors: FieldErrors, *, kind: str, quantities: dict[int, ItemQuantities], lines: list[tuple[int, Any]]
) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for index, quantity in lines:
        key = f"items[{index}]"
        if index not in quantities:
            errors.add(key, _("The order has no item number %(index)s.") % {"index": index})
            continue
        if index in wanted:
            errors.add(key, _("This item appears twice; give its total quantity once."))
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            errors.add(key, _("The quantity must be a whole number above 0."))
            continue
        entry = quantities[index]
        limit = entry.remaining if kind == Invoice.Kind.OUTPUT else entry.returnable
        if quantity > limit:
            values = {"limit": limit, "name": entry.item.name, "removed": entry.removed}
            if kind == Invoice.Kind.OUTPUT and entry.removed and not entry.ordered:
                text = _(
                    "“%(name)s” was removed from the order at VTEX (the order was changed); it cannot be invoiced."
                )
            elif kind == Invoice.Kind.OUTPUT and entry.removed:
                text = ngettext(
                    "%(removed)s of “%(name)s” were removed from the order at VTEX; only %(limit)s is left to invoice.",
                    "%(removed)s of “%(name)s” were removed from the order at VTEX; only %(limit)s are left to "
                    "invoice.",
                    limit,
                )
            elif kind == Invoice.Kind.OUTPUT:
                text = ngettext(
                    "Only %(limit)s of “%(name)s” is left to invoice.",
                    "Only %(limit)s of “%(name)s” are left to invoice.",
                    limit,
                )
            else:
                text = ngettext(
                    "Only %(limit)s of “%(name)s” is invoiced and not yet returned.",
                    "Only %(limit)s of “%(name)s” are invoiced and not yet returned.",
                    limit,
                )
            errors.add(key, text % values)
            continue
        wanted[index] = quantity
    if not lines:
        errors.add("items", _("Choose at least one item and its quantity."))
    if kind == Invoice.Kind.OUTPUT:
        _validate_assembly_options(errors, quantities=quantities, wanted=wanted)
    return wanted


def _validate_assembly_options(errors: FieldErrors, *, quantities: dict[int, ItemQuantities], wanted: dict) -> None:
    """An assembly option (a warranty, an engraving: parentItemIndex) is sold with its item: it is
    invoiced on the invoice of its item, or after it."""
    for index in wanted:
        parent_index = quantities[index].item.parent_item_index
        parent = quantities.get(parent_index) if parent_index is not None else None
        if parent is None or parent.invoiced or wanted.get(parent_index) or not parent.ordered:
            continue
        errors.add(
            f"items[{index}]",
            _("“%(name)s” belongs to “%(parent)s”: invoice it with that item or after it.")
            % {"name": quantities[index].item.name, "parent": parent.item.name},
        )


def _validate_value(errors: FieldErrors, *, plan: InvoicePlan, kind: str, override: int | None, order: Order) -> None:
    if override is not None and (isinstance(override, bool) or not isinstance(override, int)):
        errors.add("value", _("The value is a whole number of cents."))
        return
    value = plan.value_cents
    if value <= 0:
        errors.add("value", _("The invoice value must be above zero."))
        return
    if kind == Invoice.Kind.INPUT:
        returnable = order_returnable_cents(order)
        if value > returnable:
            errors.add(
                "value",
                _("A return can be at most the %(cents)s cents invoiced and not yet returned.") % {"cents": returnable},
            )
        return
    remaining = plan.order_total_cents - plan.invoiced_before_cents
    if plan.completes_order and value != remaining:
        errors.add(
            "value",
            _(
                "This invoice completes the order, so it must carry the remaining %(cents)s cents: "
                "the output invoices must add up to the order total."
            )
            % {"cents": remaining},
        )
    elif not plan.completes_order and value >= remaining:
        errors.add(
            "value",
            _("Items remain to be invoiced, so this invoice must be below the %(cents)s cents left of the order total.")
            % {"cents": remaining},
        )


@dataclass
class InvoiceInput:
    number: str
    issued_at: datetime | None
    lines: list[tuple[int, Any]]  # (item_index, quantity)
    kind: str = Invoice.Kind.OUTPUT
    value_cents: int | None = None
    access_key: str = ""
    url: str = ""
    embedded_xml: str = ""
    courier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    dispatched_at: datetime | None = None
    # An invoice imported from its NF-e (services/nfe.py): the XML as received, its series, tpAmb 2.
    nfe_xml: str = ""
    nfe_series: str = ""
    nfe_homologation: bool = False
    #: Only checked against the access key (the key is where an NF-e's series is kept).
    series: str = ""

    def cleaned(self) -> InvoiceInput:
        return InvoiceInput(
            number=(self.number or "").strip(),
            issued_at=self.issued_at,
            lines=list(self.lines),
            kind=self.kind,
            value_cents=self.value_cents,
            access_key=(self.access_key or "").strip(),
            url=(self.url or "").strip(),
            embedded_xml=self.embedded_xml or "",
            courier=(self.courier or "").strip(),
            tracking_number=(self.tracking_number or "").strip(),
            tracking_url=(self.tracking_url or "").strip(),
            dispatched_at=self.dispatched_at,
            nfe_xml=self.nfe_xml or "",
            nfe_series=(self.nfe_series or "").strip(),
            nfe_homologation=self.nfe_homologation,
            series=(self.series or "").strip(),
        )


def invoice_validate(*, order: Order, data: InvoiceInput) -> InvoicePlan:
    """Every rule of an invoice; raises NotAllowed or ValidationFailed (all field errors at once)."""
    quantities = order_item_quantities(order)
    if data.kind not in invoice_kinds_open(order, quantities=quantities):
        blocker = order_invoicing_blocker(order)
        if blocker:
            raise NotAllowed(blocker)
        if data.kind in Invoice.Kind.values:  # an unknown kind is a field error (_validate_header)
            raise NotAllowed(_kind_closed_reason(data.kind, quantities))
    errors = FieldErrors()
    _validate_header(
        errors,
        order=order,
        number=data.number,
        kind=data.kind,
        issued_at=data.issued_at,
        access_key=data.access_key,
        url=data.url,
        tracking_url=data.tracking_url,
        series=data.series,
    )
    check_tracking_fields(errors, tracking_number=data.tracking_number, courier=data.courier, required=False)
    wanted = _validate_lines(errors, kind=data.kind, quantities=quantities, lines=data.lines)
    plan = invoice_plan(order=order, kind=data.kind, quantities_by_index=wanted, value_cents=data.value_cents)
    if wanted and len(wanted) == len(data.lines):
        _validate_value(errors, plan=plan, kind=data.kind, override=data.value_cents, order=order)
    errors.raise_if_any()
    return plan


def invoice_create(*, order: Order, data: InvoiceInput, actor=None, via: str = "admin") -> Invoice:
    """Store an invoice with its items and the outbox row that will send it to VTEX."""
    data = data.cleaned()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)  # one invoice at a time per order
        plan = invoice_validate(order=order, data=data)
        try:
            with transaction.atomic():
                invoice = Invoice.objects.create(
                    order=order,
                    number=data.number,
                    kind=data.kind,
                    issued_at=data.issued_at,
                    access_key=data.access_key,
                    url=data.url,
                    embedded_xml=data.embedded_xml,
                    value_cents=plan.value_cents,
                    courier=data.courier,
                    tracking_number=data.tracking_number,
                    tracking_url=data.tracking_url,
                    dispatched_at=data.dispatched_at,
                    nfe_xml=data.nfe_xml,
                    nfe_series=data.nfe_series,
                    nfe_homologation=data.nfe_homologation,
                    created_by=actor if getattr(actor, "pk", None) else None,
                    created_via=via,
                )
        except IntegrityError:
            raise Conflict(
                _("This order already has an invoice numbered %(number)r.") % {"number": data.number},
                fields={"number": [_("Already used on this order.")]},
            ) from None
        InvoiceItem.objects.bulk_create(
            InvoiceItem(
                invoice=invoice,
                order_item=entry.item,
                quantity=quantity,
                unit_price_cents=item_unit_cents(entry.item, quantity),
            )
            for entry, quantity in plan.lines
        )
        payload = invoice_payload(
            kind=invoice.kind,
            number=invoice.number,
            issued_at=invoice.issued_at,
            value_cents=invoice.value_cents,
            lines=[
                InvoiceLinePayload(entry.item.sku_id, item_unit_cents(entry.item, quantity), quantity, entry.item.name)
                for entry, quantity in plan.lines
            ],
            access_key=invoice.access_key,
            url=invoice.url,
            embedded_xml=invoice.embedded_xml,
            courier=invoice.courier,
            tracking_number=invoice.tracking_number,
            tracking_url=invoice.tracking_url,
            dispatched_at=invoice.dispatched_at,
        )
        outbox_enqueue(kind=OutboxMessage.Kind.INVOICE, order=order, invoice=invoice, payload=payload, actor=actor)
        crash_point("invoicing.outbox_row_written")
        order_event_record(
            order=order,
            kind=OrderEvent.Kind.INVOICE_ADDED,
            params={
                "invoice_kind": invoice.kind,
                "invoice": invoice.number,
                "lines": [[quantity, entry.item.name] for entry, quantity in plan.lines],
                "value_cents": invoice.value_cents,
                "currency": order.currency_code,
            },
            actor=actor,
            actor_label=via,
            data={
                "invoice": invoice.number,
                "value_cents": invoice.value_cents,
                "completes_order": plan.completes_order,
            },
        )
        order_recompute_state(order)
    return invoice


def invoice_find_same(*, order: Order, data: InvoiceInput) -> tuple[Invoice | None, bool]:
    """For replays (the ERP sends the same invoice again): (existing invoice, same content?)."""
    data = data.cleaned()
    invoice = order.invoices.filter(number=data.number).first()
    if invoice is None:
        return None, False
    stored_lines = sorted(invoice.items.values_list("order_item__item_index", "quantity"))
    same = (
        invoice.kind == data.kind
        and sorted(data.lines) == stored_lines
        and (data.value_cents is None or data.value_cents == invoice.value_cents)
        and invoice.access_key == data.access_key
        and invoice.issued_at == data.issued_at
    )
    return invoice, same
