"""CSV exports of orders and invoices for the back office (issue 8 §3).

What a file holds is decided here; the admin only hands the chunks to a streaming response
(integration.admin.exports). The rules:

- **Streaming, in a fixed number of queries.** Rows are read with ``.iterator()`` and written as
  they come, so an export of 50 000 orders never sits in memory. Orders take two queries whatever
  their number: the orders (with their item units summed in a subquery) and their invoices, both
  in the same order (newest imported first, by primary key) and merged in Python like a merge
  join. A prefetch would cost a query per chunk of orders instead.
- **Excel in Brazil opens it as it is.** UTF-8 with a BOM (without it Excel reads the bytes as
  Windows-1252 and "São Paulo" turns into "SÃ£o Paulo"). The separator and the decimal mark follow
  the language the page is shown in: pt-BR writes ``;`` and ``174,90``, because Brazilian Excel
  takes ``;`` as its list separator exactly because ``,`` is its decimal mark; English writes
  ``,`` and ``174.90`` (Excel in English, and every CSV tool). A ``sep=`` first line would force
  the separator but makes Excel ignore the BOM, so it is not used.
- **Plain values.** Money is the amount in the currency of its own column, as decimal text from
  integer cents, with no symbol and no thousands separator (a spreadsheet sums it). Times are in
  the store's time zone (named in the header), ``YYYY-MM-DD HH:MM:SS``, which Excel reads as a
  date in any language. CPF/CNPJ keep their punctuation and NF-e access keys are written in the
  DANFE's blocks of four: as bare digits Excel would turn them into numbers, drop a CPF's leading
  zero and round a 44-digit key to 15 digits.
- **No formula injection.** Any text that came from VTEX, the ERP or staff and starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's advice), so a
  customer named ``=HYPERLINK(...)`` is shown, never run. Figures written here are not touched.
- **Nothing raw, nothing secret.** Only the named columns: no VTEX JSON, no embedded XML, no
  payment ids, no credentials.
- **Audited.** When the file is finished (or the download is cut short) one log line says which
  user exported how many rows of what; it names the user by id, and holds no personal data.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from django.conf import settings
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from integration.models import Invoice, InvoiceItem, Order, OrderItem, SendState
from integration.selectors.money import shown_digits
from integration.selectors.start_handling import StartHandlingState, start_handling_annotations, start_handling_state

logger = logging.getLogger(__name__)

#: Byte order mark: tells Excel the file is UTF-8.
BOM = "\ufeff"
#: Rows written per chunk of the response: one chunk per row would mean thousands of tiny writes.
ROWS_PER_CHUNK = 200
#: Rows read per database round trip by .iterator().
ITERATOR_CHUNK_SIZE = 2000
#: A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Between the several invoice numbers or tracking numbers of one order, in one cell.
LIST_SEPARATOR = ", "


@dataclass(frozen=True)
class CsvFormat:
    """How one language's spreadsheet reads a CSV file."""

    delimiter: str
    decimal: str


def csv_format_for(language: str | None) -> CsvFormat:
    """The language's decimal mark, from Django's format files (as integration.admin.money takes
    it); a language whose decimal mark is ``,`` (pt-BR) separates cells with ``;``, others with ``,``."""
    decimal = formats.get_format("DECIMAL_SEPARATOR", lang=language or settings.LANGUAGE_CODE, use_l10n=True)
    return CsvFormat(delimiter=";" if decimal == "," else ",", decimal=decimal)


# ---- cells -----------------------------------------------------------------------------------------------


def csv_text(value: Any) -> str:
    """Text from outside (VTEX, the ERP, staff), made safe to open in a spreadsheet."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_decimal(cents: int | None, fmt: CsvFormat, *, currency: str = "BRL", digits: int | None = 2) -> str:
    """17490 → "174,90" (pt-BR) or "174.90"; integer arithmetic only, so no cent is ever rounded.

    With the store's decimal digits (Order.currency_decimal_digits; None: the currency's usual
    ones), as the admin shows it: COP 5000000 cents with 0 digits → "50000"; a fraction those
    digits would hide is written all the same."""
    if cents is None:
        return ""
    cents = int(cents)
    shown = shown_digits(cents, currency, digits)
    whole, fraction = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    if shown == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}{fmt.decimal}{fraction:02d}{'0' * (shown - 2)}"


def csv_datetime(moment: datetime | None, zone: tzinfo) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment, zone).strftime("%Y-%m-%d %H:%M:%S")


def document_text(document: str) -> str:
    """A CPF or CNPJ with its punctuation (123.456.789-09, 12.345.678/0001-95); anything else as it is."""
    if document.isdigit() and len(document) == 11:
        return f"{document[:3]}.{document[3:6]}.{document[6:9]}-{document[9:]}"
    if document.isdigit() and len(document) == 14:
        return f"{document[:2]}.{document[2:5]}.{document[5:8]}/{document[8:12]}-{document[12:]}"
    return document


def access_key_text(access_key: str) -> str:
    """The 44-digit NF-e key in blocks of four, as the DANFE prints it (and as SEFAZ's portal takes it)."""
    if access_key.isdigit() and len(access_key) == 44:
        return " ".join(access_key[index : index + 4] for index in range(0, 44, 4))
    return access_key


def access_key_series(access_key: str) -> str:
    """The invoice's series, read from its NF-e access key (digits 23 to 25), "" without a key.

    erp-bridge stores no series of its own: VTEX's invoice has none, and the key, which the ERP
    sends, is where the series of an NF-e is written (cUF, AAMM, CNPJ, model, series, number, ...).
    """
    if access_key.isdigit() and len(access_key) == 44:
        return str(int(access_key[22:25]))
    return ""


# ---- the file ------------------------------------------------------------------------------------------------


class _Line:
    """csv.writer's file: hands back the line it is given instead of storing it."""

    def write(self, line: str) -> str:
        return line


@dataclass(frozen=True)
class CsvExport:
    """A file to download: its name and its text, in chunks (the first one starts with the BOM)."""

    filename: str
    chunks: Iterator[str]


@dataclass(frozen=True)
class _Column:
    header: Any  # a lazy translation, resolved by _export in the export's language
    value: Callable[[Any], str]


def _export(
    *,
    what: str,
    columns: Callable[[CsvFormat, tzinfo], list[_Column]],
    rows: Iterable[Any],
    actor: Any,
    language: str | None,
    now: datetime | None,
) -> CsvExport:
    """The file of `rows`; `language` (default: the active one) sets the separators and the
    language of the headers and labels, `columns(fmt, zone)` says what each row writes."""
    language = language or translation.get_language()
    fmt = csv_format_for(language)
    zone = timezone.get_current_timezone()
    writer = csv.writer(_Line(), delimiter=fmt.delimiter, lineterminator="\r\n")
    # Headers and labels are put in the export's language now: the rows are written after the
    # view has returned, when another language may be active.
    with translation.override(language):
        row_columns = columns(fmt, zone)
        header = BOM + writer.writerow([str(column.header) for column in row_columns])
    actor_id = getattr(actor, "pk", None)

    def chunks() -> Iterator[str]:
        written = 0
        complete = False
        try:
            lines = [header]
            for row in rows:
                lines.append(writer.writerow([column.value(row) for column in row_columns]))
                written += 1
                if len(lines) >= ROWS_PER_CHUNK:
                    yield "".join(lines)
                    lines = []
            yield "".join(lines)
            complete = True
        finally:
            # Also when the download is cut short (the server closes the generator): an export
            # that was started is on record, with what had been written.
            logger.info(
                "CSV export of %s by user id %s: %d rows%s",
                what,
                actor_id,
                written,
                "" if complete else " (interrupted)",
            )

    moment = timezone.localtime(now or timezone.now(), zone)
    return CsvExport(filename=f"{what}-{moment:%Y-%m-%d-%H%M}.csv", chunks=chunks())


def _item_units(items: type[OrderItem] | type[InvoiceItem], parent: str) -> Coalesce:
    """The units of the row's items (0 without items), summed in a subquery of the same query."""
    units = (
        items.objects.filter(**{parent: OuterRef("pk")})
        .order_by()
        .values(parent)
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(units, output_field=IntegerField()), Value(0))


def _labels(choices: Any) -> dict[str, str]:
    """A TextChoices' labels as plain text in the active language (a row must not translate each time)."""
    return {value: str(label) for value, label in choices.choices}


# ---- orders ------------------------------------------------------------------------------------------------------


@dataclass
class _OrderRow:
    order: Order
    invoiced_cents: int = 0
    returned_cents: int = 0
    invoice_numbers: list[str] | None = None
    tracking_numbers: list[str] | None = None


def _orders_with_invoices(queryset: QuerySet[Order]) -> Iterator[_OrderRow]:
    """The selected orders, newest imported first, each with its invoices' figures: two queries.

    Both streams are sorted by the order's primary key, descending, so each order's invoices come
    right where the order does (a merge join). An invoice of an order that is not in the order
    stream (one that matched the filters only when the second query ran) is skipped.
    """
    selected = queryset.order_by().values("pk")
    orders = (
        Order.objects.filter(pk__in=selected)
        .annotate(item_units=_item_units(OrderItem, "order"))
        .only(
            "order_id",
            "sequence",
            "created_at_vtex",
            "state",
            "vtex_status",
            "is_complete",
            "customer_name",
            "customer_document_type",
            "customer_document",
            "customer_document_check",
            "customer_corporate_name",
            "customer_trade_name",
            "customer_state_inscription",
            "seller_id",
            "delivery_channel",
            "pickup_point_name",
            "city",
            "state_code",
            "currency_code",
            "currency_decimal_digits",
            "total_cents",
        )
        .annotate(**start_handling_annotations())
        .order_by("-pk")
        .iterator(chunk_size=ITERATOR_CHUNK_SIZE)
    )
    invoices = (
        Invoice.objects.filter(order__in=selected)
        .order_by("-order_id", "issued_at", "pk")
        .values_list("order_id", "kind", "number", "value_cents", "tracking_number")
        .iterator(chunk_size=ITERATOR_CHUNK_SIZE)
    )
    pending = next(invoices, None)
    for order in orders:
        row = _OrderRow(order=order, invoice_numbers=[], tracking_numbers=[])
        while pending is not None and pending[0] > order.pk:
            pending = next(invoices, None)
        while pending is not None and pending[0] == order.pk:
            _order_id, kind, number, value_cents, tracking_number = pending
            if kind == Invoice.Kind.OUTPUT:
                row.invoiced_cents += value_cents
            else:
                row.returned_cents += value_cents
            row.invoice_numbers.append(number)
            if tracking_number and tracking_number not in row.tracking_numbers:
                row.tracking_numbers.append(tracking_number)
            pending = next(invoices, None)
        yield row


def _order_money(cents: int, order: Order, fmt: CsvFormat) -> str:
    return csv_decimal(cents, fmt, currency=order.currency_code, digits=order.currency_decimal_digits)


def _document(order: Order) -> str:
    """A CPF or CNPJ with its punctuation; another document (cedulaCOL, ...) as VTEX sent it."""
    if order.customer_document_type.lower() in ("cpf", "cnpj"):
        return document_text(order.customer_document)
    return order.customer_document


def _order_columns(fmt: CsvFormat, zone: tzinfo) -> list[_Column]:
    states = _labels(Order.State)
    checks = _labels(Order.DocumentCheck)
    channels = _labels(Order.DeliveryChannel)
    start_handling_states = _labels(StartHandlingState)
    return [
        _Column(_("VTEX order id"), lambda r: csv_text(r.order.order_id)),
        _Column(_("Sequence"), lambda r: csv_text(r.order.sequence)),
        _Column(
            _("Created at VTEX (%(zone)s)") % {"zone": zone}, lambda r: csv_datetime(r.order.created_at_vtex, zone)
        ),
        _Column(_("Status"), lambda r: csv_text(states.get(r.order.state, r.order.state))),
        _Column(_("VTEX status"), lambda r: csv_text(r.order.vtex_status)),
        _Column(
            _("Start-handling"),
            lambda r: csv_text(
                start_handling_states[
                    start_handling_state(
                        r.order.vtex_status, r.order.start_handling_row_state, r.order.start_handling_row_error or ""
                    )
                ]
            ),
        ),
        _Column(_("Customer"), lambda r: csv_text(r.order.customer_name)),
        _Column(_("CPF/CNPJ"), lambda r: csv_text(_document(r.order))),
        _Column(_("City"), lambda r: csv_text(r.order.city)),
        _Column(_("State (UF)"), lambda r: csv_text(r.order.state_code)),
        _Column(_("Currency"), lambda r: csv_text(r.order.currency_code)),
        _Column(_("Total"), lambda r: _order_money(r.order.total_cents, r.order, fmt)),
        _Column(_("Items (units)"), lambda r: str(r.order.item_units)),
        _Column(_("Invoiced"), lambda r: _order_money(r.invoiced_cents, r.order, fmt)),
        _Column(_("Returned"), lambda r: _order_money(r.returned_cents, r.order, fmt)),
        _Column(_("Invoices"), lambda r: csv_text(LIST_SEPARATOR.join(r.invoice_numbers))),
        _Column(_("Tracking numbers"), lambda r: csv_text(LIST_SEPARATOR.join(r.tracking_numbers))),
        # Added for company buyers, marketplaces and pickup (issue 15): after the first columns, so a
        # spreadsheet built on the earlier file still finds its columns where they were.
        _Column(_("Document type"), lambda r: csv_text(r.order.customer_document_type)),
        _Column(
            _("Document check"),
            lambda r: csv_text(checks.get(r.order.customer_document_check, "") if r.order.customer_document else ""),
        ),
        _Column(_("Company name"), lambda r: csv_text(r.order.customer_corporate_name)),
        _Column(_("Trade name"), lambda r: csv_text(r.order.customer_trade_name)),
        _Column(_("State registration"), lambda r: csv_text(r.order.customer_state_inscription)),
        _Column(_("Seller"), lambda r: csv_text(r.order.seller_id)),
        _Column(_("Delivery"), lambda r: csv_text(channels.get(r.order.delivery_channel, r.order.delivery_channel))),
        _Column(_("Pickup point"), lambda r: csv_text(r.order.pickup_point_name)),
    ]


def order_export_csv(
    *, queryset: QuerySet[Order], actor: Any, language: str | None = None, now: datetime | None = None
) -> CsvExport:
    """The orders of `queryset` as a CSV file for a spreadsheet; `language` (default: the active
    one) sets the separators and the headers' language."""
    return _export(
        what="orders",
        columns=_order_columns,
        rows=_orders_with_invoices(queryset),
        actor=actor,
        language=language,
        now=now,
    )


# ---- invoices -----------------------------------------------------------------------------------------------------


def _invoices(queryset: QuerySet[Invoice]) -> Iterator[Invoice]:
    """The selected invoices, newest entered first, with their order and item units: one query."""
    return (
        Invoice.objects.filter(pk__in=queryset.order_by().values("pk"))
        .select_related("order", "created_by")
        .annotate(item_units=_item_units(InvoiceItem, "invoice"))
        .only(
            "number",
            "kind",
            "issued_at",
            "access_key",
            "value_cents",
            "courier",
            "tracking_number",
            "dispatched_at",
            "delivered_at",
            "send_state",
            "vtex_receipt",
            "created_via",
            "order__order_id",
            "order__sequence",
            "order__currency_code",
            "order__currency_decimal_digits",
            "created_by__username",
        )
        .order_by("-pk")
        .iterator(chunk_size=ITERATOR_CHUNK_SIZE)
    )


def _entered_by(invoice: Invoice) -> str:
    return invoice.created_by.get_username() if invoice.created_by_id else invoice.created_via


def _invoice_columns(fmt: CsvFormat, zone: tzinfo) -> list[_Column]:
    kinds = _labels(Invoice.Kind)
    send_states = _labels(SendState)
    return [
        _Column(_("VTEX order id"), lambda i: csv_text(i.order.order_id)),
        _Column(_("Sequence"), lambda i: csv_text(i.order.sequence)),
        _Column(_("Invoice number"), lambda i: csv_text(i.number)),
        _Column(_("Series"), lambda i: access_key_series(i.access_key)),
        _Column(_("Type"), lambda i: csv_text(kinds.get(i.kind, i.kind))),
        _Column(_("Issued at (%(zone)s)") % {"zone": zone}, lambda i: csv_datetime(i.issued_at, zone)),
        _Column(_("Currency"), lambda i: csv_text(i.order.currency_code)),
        _Column(_("Value"), lambda i: _order_money(i.value_cents, i.order, fmt)),
        _Column(_("Items (units)"), lambda i: str(i.item_units)),
        _Column(_("NF-e access key"), lambda i: csv_text(access_key_text(i.access_key))),
        _Column(_("Courier"), lambda i: csv_text(i.courier)),
        _Column(_("Tracking number"), lambda i: csv_text(i.tracking_number)),
        _Column(_("Dispatched at (%(zone)s)") % {"zone": zone}, lambda i: csv_datetime(i.dispatched_at, zone)),
        _Column(_("Delivered at (%(zone)s)") % {"zone": zone}, lambda i: csv_datetime(i.delivered_at, zone)),
        _Column(_("Send state"), lambda i: csv_text(send_states.get(i.send_state, i.send_state))),
        _Column(_("VTEX receipt"), lambda i: csv_text(i.vtex_receipt)),
        _Column(_("Entered by"), lambda i: csv_text(_entered_by(i))),
    ]


def invoice_export_csv(
    *, queryset: QuerySet[Invoice], actor: Any, language: str | None = None, now: datetime | None = None
) -> CsvExport:
    """The invoices of `queryset` as a CSV file for a spreadsheet (see order_export_csv)."""
    return _export(
        what="invoices",
        columns=_invoice_columns,
        rows=_invoices(queryset),
        actor=actor,
        language=language,
        now=now,
    )
