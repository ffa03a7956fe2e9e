"""Bulk entry (issue 19): tracking codes, or invoices with their NF-e access keys, from a
spreadsheet (CSV, XLSX) or columns pasted from one; read → preview → apply.

- `bulk_sheet_read` reads the file or the pasted text into a Sheet: the recognised columns of each
  row as text (headers in English or Portuguese), with a row and a size limit. Nothing is looked
  up yet.
- `bulk_preview` judges every row against what is stored now: unknown order or invoice, a
  duplicate in the file, already stored, an invalid field (named, with the rule), not possible
  now, or ready. The rules are the services' own (check_invoice_tracking,
  invoice_tracking_blocker, invoice_validate): the preview states no rule of its own about a
  tracking code or an invoice, only about the sheet (columns, keys, duplicates).
- `bulk_apply` judges the sheet again (the data may have changed since the preview) and saves
  each ready row through the same service as a single entry (invoice_set_tracking,
  invoice_create: each in its own transaction, with its outbox row), so one refused row never
  stops the others; it returns what happened to every row.
- Between the preview and the confirmation the sheet travels signed (`sheet_sign`,
  `sheet_unsign`): no file is kept on the server, and a tampered or stale preview is refused.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.core import signing
from django.db.models import Q, TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from integration.models import Invoice, Order
from integration.selectors.money import MoneyParseError, parse_money_cents
from integration.services.errors import FieldErrors, NotAllowed, ServiceError, ValidationFailed
from integration.services.invoicing import (
    ACCESS_KEY_LENGTH,
    InvoiceInput,
    invoice_create,
    invoice_validate,
    order_item_quantities,
)
from integration.services.tracking import check_invoice_tracking, invoice_set_tracking, invoice_tracking_blocker

logger = logging.getLogger(__name__)

#: A day's work is 300–500 orders (issue 19): one file holds a day; a bigger one is split.
MAX_ROWS = 500
#: A 500-row sheet is a few tens of kB (XLSX or CSV); the limit keeps the reading quick and the
#: signed preview small enough for one form post (DATA_UPLOAD_MAX_MEMORY_SIZE, 1 MB by default).
MAX_FILE_BYTES = 512 * 1024
MAX_PASTE_CHARS = 256 * 1024
#: Every field rule stops at 500 characters (a URL); a longer cell is cut one character past it,
#: so the rule still refuses it, and the signed preview stays small.
MAX_CELL_CHARS = 501
#: Columns read per row: a sheet's data sits in its first columns; notes far right are ignored.
MAX_COLUMNS = 30
#: How long a preview may be confirmed: long enough to check it, short enough to be current.
PREVIEW_MAX_AGE_S = 60 * 60
#: The signed sheet must fit in one form post with room to spare.
MAX_SIGNED_CHARS = 900 * 1024
_SIGNING_SALT = "integration.bulk_entry.sheet"
#: Who made the change, on the invoice (created_via) and the order's timeline.
VIA = "import"


class BulkKind(TextChoices):
    TRACKING = "tracking", gettext_lazy("Tracking codes")
    INVOICES = "invoices", gettext_lazy("Invoices")


class Outcome(TextChoices):
    """What the preview says of a row; only READY rows are saved."""

    READY = "ready", gettext_lazy("Ready")
    UNKNOWN = "unknown", gettext_lazy("Unknown order or invoice")
    DUPLICATE_IN_FILE = "duplicate_in_file", gettext_lazy("Duplicate in the file")
    ALREADY_STORED = "already_stored", gettext_lazy("Already stored")
    INVALID = "invalid", gettext_lazy("Invalid field")
    NOT_ALLOWED = "not_allowed", gettext_lazy("Not possible now")


class Result(TextChoices):
    """What the confirmation did with a row."""

    SAVED = "saved", gettext_lazy("Saved")
    SKIPPED = "skipped", gettext_lazy("Not saved")
    FAILED = "failed", gettext_lazy("Refused")


# ---- the columns --------------------------------------------------------------------------------------------

#: Canonical column → the headers that name it, as normalize_header() leaves them (lower case, no
#: accents, punctuation as spaces). The field names are the services' (errors name the same field).
_ORDER_HEADERS = ("order", "order id", "pedido", "id do pedido", "numero do pedido", "sequence", "sequencia")
_NF_HEADERS = ("nf", "nf e", "nfe", "nf number", "invoice", "invoice number", "nota", "nota fiscal", "numero da nota")
HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    BulkKind.TRACKING: {
        "order": _ORDER_HEADERS,
        "invoice_number": _NF_HEADERS,
        "tracking_number": (
            "tracking",
            "tracking code",
            "tracking number",
            "rastreio",
            "codigo de rastreio",
            "rastreamento",
            "codigo de rastreamento",
            "objeto",
        ),
        "courier": ("carrier", "courier", "transportadora"),
        "tracking_url": ("tracking url", "url", "link", "url de rastreio", "link de rastreio", "url de rastreamento"),
    },
    BulkKind.INVOICES: {
        "order": _ORDER_HEADERS,
        "access_key": ("access key", "key", "chave", "chave de acesso", "chave da nota", "chave nfe", "chave nf e"),
        "number": ("number", "numero", *_NF_HEADERS),
        "series": ("series", "serie"),
        "issued_at": ("issued at", "issue date", "date", "data", "data de emissao", "emissao", "emitida em"),
        "value": ("value", "amount", "valor", "valor da nota", "valor total"),
    },
}

#: The name of each column in messages and on the preview page.
COLUMN_LABELS = {
    "order": gettext_lazy("Order"),
    "invoice_number": gettext_lazy("NF number"),
    "tracking_number": gettext_lazy("Tracking code"),
    "courier": gettext_lazy("Carrier"),
    "tracking_url": gettext_lazy("Tracking URL"),
    "access_key": gettext_lazy("Access key"),
    "number": gettext_lazy("NF number"),
    "series": gettext_lazy("Series"),
    "issued_at": gettext_lazy("Issue date"),
    "value": gettext_lazy("Value"),
    "items": gettext_lazy("Items"),
    "kind": gettext_lazy("Type"),
}


def column_label(name: str) -> str:
    """A field's name as staff read it; `items[2]` (a service's field) is "Items"."""
    return str(COLUMN_LABELS.get(name.split("[", 1)[0], name))


def normalize_header(text: str) -> str:
    """ "Código de Rastreio" → "codigo de rastreio"; "NF-e" → "nf e"; "Nº" → "no"."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _header_map(kind: str) -> dict[str, str]:
    return {alias: name for name, aliases in HEADERS[kind].items() for alias in aliases}


# ---- reading the sheet --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    line: int  # the line of the file (the header is line 1), as the clerk finds it in the spreadsheet
    values: dict[str, str]  # canonical column → its text, stripped ("" when empty)

    def get(self, name: str) -> str:
        return self.values.get(name, "")


@dataclass(frozen=True)
class Sheet:
    kind: str
    columns: tuple[str, ...]  # the canonical columns found, in the file's order
    ignored: tuple[str, ...]  # the headers not recognised (their cells are not read)
    rows: tuple[SheetRow, ...]


def _refuse(source: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={source: [message]})


def bulk_sheet_read(*, kind: str, upload: bytes | None = None, filename: str = "", pasted: str = "") -> Sheet:
    """The rows of an uploaded file (CSV or XLSX) or of pasted columns (tab- or semicolon-separated).

    Raises ValidationFailed naming "file" or "pasted" for a sheet that cannot be taken at all
    (unreadable, too big, no header naming the required columns).
    """
    if kind not in BulkKind.values:
        raise _refuse("kind", _("Unknown kind of import."))
    pasted = pasted or ""
    if upload and pasted.strip():
        raise _refuse("file", _("Give either a file or pasted columns, not both."))
    if upload:
        if len(upload) > MAX_FILE_BYTES:
            raise _refuse(
                "file",
                _("The file has more than %(kb)s kB; split it into smaller files.") % {"kb": MAX_FILE_BYTES // 1024},
            )
        if upload.startswith(b"PK\x03\x04") or filename.lower().endswith(".xlsx"):
            table = _xlsx_rows(upload)
        else:
            table = _text_rows(_decode(upload), delimiters=";,\t", source="file")
        source = "file"
    elif pasted.strip():
        if len(pasted) > MAX_PASTE_CHARS:
            raise _refuse(
                "pasted",
                _("The pasted text has more than %(count)s characters; paste fewer rows at a time.")
                % {"count": MAX_PASTE_CHARS},
            )
        table = _text_rows(pasted, delimiters="\t;", source="pasted")
        source = "pasted"
    else:
        raise _refuse("file", _("Choose a file or paste the columns."))
    return _sheet_from(kind, table, source=source)


def _decode(content: bytes) -> str:
    """UTF-8 (with or without a BOM), else Windows-1252: what Excel in Portuguese saves as "CSV"."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def _text_rows(text: str, *, delimiters: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of delimited text; the delimiter is the one the header line uses most."""
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(delimiters, key=first.count)
    if not first.count(delimiter):
        delimiter = delimiters[0]  # one column: the header check below says which are missing
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for cells in reader:
            yield reader.line_num, cells[:MAX_COLUMNS]
    except csv.Error as error:
        raise _refuse(source, _("The text could not be read as columns: %(error)s.") % {"error": error}) from None


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of the workbook's first sheet; openpyxl reads its XML through defusedxml."""
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise _refuse("file", _("The file is not a readable XLSX spreadsheet (save it as .xlsx or .csv).")) from None
    try:
        sheet = workbook.worksheets[0]
        for line, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            yield line, [_cell_text(value) for value in cells]
    except (KeyError, ValueError, OSError, zipfile.BadZipFile):
        raise _refuse("file", _("The file is not a readable XLSX spreadsheet (save it as .xlsx or .csv).")) from None
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    """A cell as the text a clerk sees. A whole number stored as a float (502301.0) loses its
    ".0"; one too big for a float's digits keeps its exponent ("3.51e+43"), so an access key the
    spreadsheet turned into a number is refused as such instead of as a wrong check digit."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def _sheet_from(kind: str, table: Iterable[tuple[int, list[str]]], *, source: str) -> Sheet:
    aliases = _header_map(kind)
    rows: list[SheetRow] = []
    positions: dict[str, int] | None = None
    columns: list[str] = []
    ignored: list[str] = []
    for line, cells in table:
        cells = [str(cell).strip()[:MAX_CELL_CHARS] for cell in cells]
        if not any(cells):
            continue  # blank lines, before the header too
        if positions is None:
            positions, columns, ignored = _read_header(kind, aliases, cells, source=source)
            continue
        values = {name: cells[index] if index < len(cells) else "" for name, index in positions.items()}
        if not any(values.values()):
            continue  # a row with text only in ignored columns (a total, a note)
        if len(rows) == MAX_ROWS:
            raise _refuse(
                source, _("More than %(max)s rows; split the sheet and import it in parts.") % {"max": MAX_ROWS}
            )
        rows.append(SheetRow(line=line, values=values))
    if positions is None:
        raise _refuse(source, _("The sheet is empty."))
    if not rows:
        raise _refuse(source, _("The sheet has a header but no rows."))
    return Sheet(kind=kind, columns=tuple(columns), ignored=tuple(ignored), rows=tuple(rows))


def _read_header(
    kind: str, aliases: dict[str, str], cells: list[str], *, source: str
) -> tuple[dict[str, int], list[str], list[str]]:
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        name = aliases.get(normalize_header(cell))
        if name is None:
            if cell:
                ignored.append(cell)
            continue
        if name in positions:
            raise _refuse(
                source,
                _("Two columns are the %(column)s: %(first)r and %(second)r; keep one.")
                % {"column": column_label(name), "first": cells[positions[name]], "second": cell},
            )
        positions[name] = index
    missing = [name for name in required_columns(kind) if name not in positions]
    if kind == BulkKind.TRACKING and not ({"order", "invoice_number"} & positions.keys()):
        missing.insert(0, "order")
    if missing:
        raise _refuse(
            source,
            _("The first line must name the columns; missing: %(missing)s. Accepted headers: %(accepted)s.")
            % {"missing": ", ".join(column_label(name) for name in missing), "accepted": accepted_headers(kind)},
        )
    return positions, list(positions), ignored


def required_columns(kind: str) -> tuple[str, ...]:
    """The columns a sheet must have (tracking: also the order or the NF number)."""
    if kind == BulkKind.TRACKING:
        return ("tracking_number",)
    return ("order", "access_key", "issued_at")


def accepted_headers(kind: str) -> str:
    """Each column and the headers that name it, for messages and the upload page."""
    return "; ".join(f"{column_label(name)}: {', '.join(aliases[:6])}" for name, aliases in HEADERS[kind].items())


# ---- carrying the sheet from the preview to the confirmation ------------------------------------------------


def sheet_sign(sheet: Sheet) -> str:
    """The sheet as a signed, compressed text for the preview page's form. Signed with the
    SECRET_KEY, so the confirmation saves exactly what was previewed; nothing stays on the server."""
    token = signing.dumps(
        {
            "kind": sheet.kind,
            "columns": list(sheet.columns),
            "ignored": list(sheet.ignored),
            "rows": [[row.line, row.values] for row in sheet.rows],
        },
        salt=_SIGNING_SALT,
        compress=True,
    )
    if len(token) > MAX_SIGNED_CHARS:
        raise _refuse("file", _("The sheet holds too much text to preview; split it into smaller files."))
    return token


def sheet_unsign(token: str, *, kind: str) -> Sheet:
    """The sheet of a preview; ValidationFailed when it is stale, altered or of another kind."""
    try:
        data = signing.loads(token, salt=_SIGNING_SALT, max_age=PREVIEW_MAX_AGE_S)
    except signing.SignatureExpired:
        raise _refuse("file", _("This preview is more than an hour old; upload the sheet again.")) from None
    except signing.BadSignature:
        raise _refuse("file", _("This preview could not be read; upload the sheet again.")) from None
    if data.get("kind") != kind:
        raise _refuse("file", _("This preview belongs to another kind of import; upload the sheet again."))
    return Sheet(
        kind=kind,
        columns=tuple(data["columns"]),
        ignored=tuple(data["ignored"]),
        rows=tuple(SheetRow(line=line, values=values) for line, values in data["rows"]),
    )


# ---- values -------------------------------------------------------------------------------------------------

_DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%y")


def parse_store_datetime(text: str) -> datetime | None:
    """A date as a clerk types it (DD/MM/YYYY [HH:MM], or YYYY-MM-DD [HH:MM], as XLSX cells come)
    in store time, or None. A date alone is its first minute, so today's date is never "future"."""
    text = text.strip()
    moment = None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for pattern in _DATE_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


@dataclass(frozen=True)
class AccessKey:
    """The fields an NF-e access key carries (Manual de Orientação do Contribuinte, chave de acesso:
    cUF 2, AAMM 4, CNPJ 14, modelo 2, série 3, nNF 9, tpEmis 1, cNF 8, cDV 1)."""

    digits: str

    @property
    def year_month(self) -> tuple[int, int]:
        return 2000 + int(self.digits[2:4]), int(self.digits[4:6])

    @property
    def series(self) -> int:
        return int(self.digits[22:25])

    @property
    def number(self) -> int:
        return int(self.digits[25:34])


def access_key_check_digit(first_43: str) -> int:
    """Modulo 11 with weights 2 to 9 from the right; a remainder of 0 or 1 gives 0."""
    total = sum(int(digit) * (2 + position % 8) for position, digit in enumerate(reversed(first_43)))
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def access_key_errors(text: str) -> tuple[AccessKey | None, list[str]]:
    """The key (spaces and dots removed, as DANFEs print it in groups of four) or what is wrong."""
    digits = re.sub(r"[\s.]", "", text)
    if digits.upper().startswith("NFE"):  # the XML's Id attribute: "NFe3519…"
        digits = digits[3:]
    if re.fullmatch(r"[\d.,]+[eE]\+?\d+", text.strip()):
        return None, [
            _(
                "The spreadsheet stored the access key as a number and lost its digits; format the column as "
                "text and type the key again."
            )
        ]
    if len(digits) != ACCESS_KEY_LENGTH or not (digits.isascii() and digits.isdigit()):
        return None, [_("The NF-e access key has exactly %(length)s digits.") % {"length": ACCESS_KEY_LENGTH}]
    if access_key_check_digit(digits[:43]) != int(digits[43]):
        return None, [_("The access key's check digit is wrong: a digit was mistyped.")]
    key = AccessKey(digits)
    if not 1 <= key.year_month[1] <= 12:
        return None, [_("The access key's month (digits 5 and 6) is not a month.")]
    return key, []


# ---- the preview --------------------------------------------------------------------------------------------


@dataclass
class RowPreview:
    line: int
    values: dict[str, str]
    outcome: str = Outcome.READY
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column label, message)
    notes: list[str] = field(default_factory=list)  # what saving the row will do besides the obvious
    order: Order | None = None
    invoice: Invoice | None = None  # tracking: the invoice it goes on
    invoice_data: InvoiceInput | None = None  # invoices: what invoice_create receives
    value_cents: int | None = None  # invoices: the invoice's value, as the rules compute it

    @property
    def ready(self) -> bool:
        return self.outcome == Outcome.READY

    @property
    def outcome_label(self) -> str:
        return str(Outcome(self.outcome).label)

    def set(self, outcome: str, message: str = "", column: str = "") -> None:
        """The first outcome found stands (the checks run from the most basic up)."""
        if self.outcome == Outcome.READY:
            self.outcome = outcome
        if message:
            self.problems.append((column_label(column) if column else "", message))

    def refuse(self, outcome: str, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.set(outcome, message, name)


@dataclass
class Preview:
    kind: str
    rows: list[RowPreview]
    ignored: tuple[str, ...] = ()

    @property
    def ready_count(self) -> int:
        return sum(row.ready for row in self.rows)

    def counts(self) -> list[tuple[str, int]]:
        """(outcome label, rows) for each outcome present, in Outcome's order."""
        present = defaultdict(int)
        for row in self.rows:
            present[row.outcome] += 1
        return [(str(outcome.label), present[outcome]) for outcome in Outcome if present[outcome]]


def bulk_preview(*, sheet: Sheet) -> Preview:
    """Every row with its outcome; reads only."""
    rows = [RowPreview(line=row.line, values=dict(row.values)) for row in sheet.rows]
    if sheet.kind == BulkKind.TRACKING:
        _preview_tracking(rows)
    else:
        _preview_invoices(rows)
    return Preview(kind=sheet.kind, rows=rows, ignored=sheet.ignored)


def _orders_by_reference(references: set[str]) -> dict[str, list[Order]]:
    """Reference → the orders whose VTEX id or sequence it is (one query). An order id wins over a
    sequence that happens to be the same text."""
    if not references:
        return {}
    orders = list(Order.objects.filter(Q(order_id__in=references) | Q(sequence__in=references)))
    by_id = {order.order_id: order for order in orders}
    by_sequence: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        by_sequence[order.sequence].append(order)
    return {
        reference: [by_id[reference]] if reference in by_id else by_sequence.get(reference, [])
        for reference in references
    }


def _resolve_order(row: RowPreview, orders: dict[str, list[Order]]) -> Order | None:
    reference = row.values.get("order", "")
    matches = orders.get(reference, [])
    if not matches:
        row.set(Outcome.UNKNOWN, _("No order has the id or sequence %(order)r.") % {"order": reference}, "order")
        return None
    if len(matches) > 1:
        row.set(
            Outcome.INVALID,
            _("%(count)s orders have the sequence %(order)r; give the order id.")
            % {"count": len(matches), "order": reference},
            "order",
        )
        return None
    return matches[0]


def _mark_duplicates(rows: list[RowPreview], key_of, *, same_content) -> None:
    """Rows of the same key: an exact repeat of an earlier row is a duplicate and the first one
    stands; rows that disagree (the same invoice with two codes) are all held back, since which
    one is right is the clerk's call."""
    groups: dict[object, list[RowPreview]] = defaultdict(list)
    for row in rows:
        key = key_of(row) if row.ready else None
        if key is not None:
            groups[key].append(row)
    for group in groups.values():
        if len(group) < 2:
            continue
        first = group[0]
        if all(same_content(row) == same_content(first) for row in group):
            for row in group[1:]:
                row.set(Outcome.DUPLICATE_IN_FILE, _("Repeats line %(line)s.") % {"line": first.line})
            continue
        for row in group:
            others = ", ".join(str(other.line) for other in group if other is not row)
            row.set(
                Outcome.DUPLICATE_IN_FILE,
                _("Disagrees with line(s) %(lines)s about the same invoice or code; keep one of them.")
                % {"lines": others},
            )


# -- tracking


def _tracking_values(row: RowPreview) -> tuple[str, str, str]:
    return row.values.get("tracking_number", ""), row.values.get("tracking_url", ""), row.values.get("courier", "")


def _preview_tracking(rows: list[RowPreview]) -> None:
    for row in rows:
        errors = FieldErrors()
        if not row.values.get("order") and not row.values.get("invoice_number"):
            errors.add("order", _("Give the order (its id or sequence) or the NF number."))
        code, url, courier = _tracking_values(row)
        check_invoice_tracking(errors, tracking_number=code, tracking_url=url, courier=courier, dispatched_at=None)
        row.refuse(Outcome.INVALID, errors.fields)

    pending = [row for row in rows if row.ready]
    orders = _orders_by_reference({row.values["order"] for row in pending if row.values.get("order")})
    numbers = {row.values["invoice_number"] for row in pending if row.values.get("invoice_number")}
    order_pks = {order.pk for matches in orders.values() for order in matches}
    sale_invoices = Invoice.objects.filter(kind=Invoice.Kind.OUTPUT).select_related("order")
    by_number: dict[str, list[Invoice]] = defaultdict(list)
    by_order: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in sale_invoices.filter(Q(number__in=numbers) | Q(order__in=order_pks)).order_by("pk"):
        by_order[invoice.order_id].append(invoice)
        if invoice.number in numbers:
            by_number[invoice.number].append(invoice)
    for row in pending:
        _resolve_tracking_invoice(row, orders, by_number, by_order)

    _mark_duplicates(rows, lambda row: row.invoice.pk, same_content=_tracking_values)
    _mark_duplicates(rows, lambda row: _tracking_values(row)[0].upper(), same_content=lambda row: row.invoice.pk)

    codes = {_tracking_values(row)[0] for row in rows if row.ready}
    stored = defaultdict(list)
    for invoice in Invoice.objects.filter(tracking_number__in=codes).select_related("order"):
        stored[invoice.tracking_number].append(invoice)
    for row in rows:
        if row.ready:
            _judge_tracking(row, stored)


def _resolve_tracking_invoice(row: RowPreview, orders, by_number, by_order) -> None:
    order = None
    if row.values.get("order"):
        order = _resolve_order(row, orders)
        if order is None:
            return
    number = row.values.get("invoice_number", "")
    if number:
        candidates = [invoice for invoice in by_number.get(number, []) if order is None or invoice.order_id == order.pk]
        if not candidates:
            if order is None:
                text = _("No sale invoice is numbered %(number)r.") % {"number": number}
            else:
                text = _("Order %(order)s has no sale invoice numbered %(number)r.") % {
                    "order": order.order_id,
                    "number": number,
                }
            row.set(Outcome.UNKNOWN, text, "invoice_number")
            return
    else:
        candidates = by_order.get(order.pk, []) if order is not None else []
        if not candidates:
            row.set(
                Outcome.UNKNOWN,
                _("Order %(order)s has no sale invoice yet; enter its invoice first.") % {"order": order.order_id},
                "order",
            )
            return
    invoice = _pick_invoice(candidates, _tracking_values(row)[0])
    if invoice is None:
        if number:
            text = _("%(count)s orders have a sale invoice numbered %(number)r; add the order column.") % {
                "count": len(candidates),
                "number": number,
            }
            row.set(Outcome.INVALID, text, "invoice_number")
        else:
            text = _("Order %(order)s has %(count)s sale invoices; add the NF number column.") % {
                "order": order.order_id,
                "count": len(candidates),
            }
            row.set(Outcome.INVALID, text, "order")
        return
    row.invoice, row.order = invoice, invoice.order


def _pick_invoice(candidates: list[Invoice], code: str) -> Invoice | None:
    """The one invoice a row means: the only one; else the one holding this code already (a
    re-import); else the only one still waiting for its tracking. None when that is not one."""
    if len(candidates) == 1:
        return candidates[0]
    holding = [invoice for invoice in candidates if invoice.tracking_number == code]
    if len(holding) == 1:
        return holding[0]
    waiting = [invoice for invoice in candidates if not invoice.tracking_number and not invoice.is_delivered]
    return waiting[0] if len(waiting) == 1 else None


def _judge_tracking(row: RowPreview, stored: dict[str, list[Invoice]]) -> None:
    invoice = row.invoice
    code, url, courier = _tracking_values(row)
    if (invoice.tracking_number, invoice.tracking_url, invoice.courier) == (code, url, courier):
        row.set(
            Outcome.ALREADY_STORED,
            _("Invoice %(number)s has this tracking already.") % {"number": invoice.number},
        )
        return
    elsewhere = [other for other in stored.get(code, []) if other.pk != invoice.pk]
    if elsewhere:
        row.set(
            Outcome.ALREADY_STORED,
            _("Tracking code %(code)s is already on invoice %(number)s of order %(order)s.")
            % {"code": code, "number": elsewhere[0].number, "order": elsewhere[0].order.order_id},
            "tracking_number",
        )
        return
    blocker = invoice_tracking_blocker(invoice)
    if blocker:
        row.set(Outcome.NOT_ALLOWED, blocker)
        return
    if invoice.tracking_number and invoice.tracking_number != code:
        row.notes.append(_("Replaces the tracking code %(code)s.") % {"code": invoice.tracking_number})
    elif invoice.tracking_number:
        row.notes.append(_("Updates the carrier or URL of the tracking code stored."))


# -- invoices


def _invoice_content(row: RowPreview) -> tuple[str, ...]:
    return tuple(row.values.get(name, "") for name in ("order", "access_key", "number", "series", "issued_at", "value"))


def _preview_invoices(rows: list[RowPreview]) -> None:
    keys: dict[int, AccessKey] = {}
    for row in rows:
        key = _check_invoice_fields(row)
        if key is not None:
            keys[id(row)] = key

    pending = [row for row in rows if row.ready]
    orders = _orders_by_reference({row.values["order"] for row in pending})
    for row in pending:
        row.order = _resolve_order(row, orders)

    _mark_duplicates(rows, lambda row: keys[id(row)].digits, same_content=_invoice_content)
    _mark_duplicates(rows, lambda row: row.order.pk, same_content=_invoice_content)

    ready_keys = {keys[id(row)].digits for row in rows if row.ready}
    stored_keys = {
        invoice.access_key: invoice
        for invoice in Invoice.objects.filter(access_key__in=ready_keys).select_related("order")
    }
    for row in rows:
        if row.ready:
            _judge_invoice(row, keys[id(row)], stored_keys)


def _check_invoice_fields(row: RowPreview) -> AccessKey | None:
    """The row's own fields: the key (its check digit), the number and series against the key,
    the date (its month is the key's), the value. Returns the key when the row may go on."""
    errors = FieldErrors()
    if not row.values.get("order"):
        errors.add("order", _("The order (its id or sequence) is required."))
    key, problems = access_key_errors(row.values.get("access_key", ""))
    for problem in problems:
        errors.add("access_key", problem)
    if key is not None:
        for name, inside in (("number", key.number), ("series", key.series)):
            given = row.values.get(name, "")
            if given and (not given.isdigit() or int(given) != inside):
                errors.add(
                    name,
                    _("%(column)s %(given)s is not the one in the access key (%(inside)s).")
                    % {"column": column_label(name), "given": given, "inside": inside},
                )
    issued_text = row.values.get("issued_at", "")
    issued_at = parse_store_datetime(issued_text) if issued_text else None
    if not issued_text:
        errors.add("issued_at", _("The issue date is required."))
    elif issued_at is None:
        errors.add("issued_at", _("Write the date as DD/MM/YYYY (optionally with HH:MM) or YYYY-MM-DD."))
    elif key is not None:
        local = timezone.localtime(issued_at)
        if (local.year, local.month) != key.year_month:
            errors.add(
                "issued_at",
                _("The issue date is in %(date)s, but the access key says %(key)s (its year and month).")
                % {"date": f"{local.month:02d}/{local.year}", "key": f"{key.year_month[1]:02d}/{key.year_month[0]}"},
            )
    value_cents = None
    try:
        value_cents = parse_money_cents(row.values.get("value", ""))
    except MoneyParseError as error:
        errors.add("value", str(error))
    row.refuse(Outcome.INVALID, errors.fields)
    if not row.ready or key is None:
        return None
    row.invoice_data = InvoiceInput(
        number=str(key.number),
        issued_at=issued_at,
        lines=[],  # the order's remaining items, filled in by _judge_invoice
        value_cents=value_cents,
        access_key=key.digits,
    )
    return key


def _judge_invoice(row: RowPreview, key: AccessKey, stored_keys: dict[str, Invoice]) -> None:
    order, data = row.order, row.invoice_data
    same_key = stored_keys.get(key.digits)
    if same_key is not None:
        row.set(
            Outcome.ALREADY_STORED,
            _("This access key is already on invoice %(number)s of order %(order)s.")
            % {"number": same_key.number, "order": same_key.order.order_id},
            "access_key",
        )
        return
    if order.invoices.filter(number=data.number).exists():
        row.set(
            Outcome.ALREADY_STORED,
            _("Order %(order)s already has an invoice numbered %(number)s.")
            % {"order": order.order_id, "number": data.number},
            "number",
        )
        return
    # A full invoice: every item at what is left of it (invoicing's rules then make it carry the
    # rest of the order's value: shipping, discounts, rounding).
    quantities = order_item_quantities(order)
    data.lines = [(index, entry.remaining) for index, entry in sorted(quantities.items()) if entry.remaining > 0]
    try:
        plan = invoice_validate(order=order, data=data.cleaned())
    except NotAllowed as error:
        row.set(Outcome.NOT_ALLOWED, error.message)
        return
    except ValidationFailed as error:
        row.refuse(Outcome.INVALID, error.fields or {"": [error.message]})
        return
    row.value_cents = plan.value_cents
    others = Invoice.objects.filter(number=data.number).exclude(order=order).select_related("order").first()
    if others is not None:
        row.notes.append(
            _("Invoice number %(number)s is also on order %(order)s; check it is not the same NF.")
            % {"number": data.number, "order": others.order.order_id}
        )


# ---- the confirmation --------------------------------------------------------------------------------------


@dataclass
class RowResult:
    row: RowPreview
    result: str
    message: str = ""

    @property
    def result_label(self) -> str:
        return str(Result(self.result).label)


def bulk_apply(*, sheet: Sheet, actor=None) -> list[RowResult]:
    """Judge the sheet again and save every row that is ready now, each through its service in
    its own transaction; a row refused now is reported and the next one goes on."""
    preview = bulk_preview(sheet=sheet)
    results = []
    for row in preview.rows:
        if not row.ready:
            detail = "; ".join(f"{column}: {text}" if column else text for column, text in row.problems)
            results.append(RowResult(row, Result.SKIPPED, f"{row.outcome_label}: {detail}" if detail else ""))
            continue
        try:
            _save_row(sheet.kind, row, actor)
        except ServiceError as error:
            results.append(RowResult(row, Result.FAILED, str(error)))
        except Exception:  # noqa: BLE001 — one row's unexpected failure must not stop the others
            logger.exception("bulk import: line %s failed", row.line)
            results.append(RowResult(row, Result.FAILED, _("Unexpected error; it was logged.")))
        else:
            results.append(RowResult(row, Result.SAVED))
    return results


def _save_row(kind: str, row: RowPreview, actor) -> None:
    if kind == BulkKind.TRACKING:
        code, url, courier = _tracking_values(row)
        invoice_set_tracking(
            invoice=row.invoice,
            tracking_number=code,
            tracking_url=url,
            courier=courier,
            dispatched_at=row.invoice.dispatched_at,  # kept: the sheet does not carry it
            actor=actor,
            via=VIA,
        )
    else:
        invoice_create(order=row.order, data=row.invoice_data, actor=actor, via=VIA)
