"""The bulk import (services/bulk_entry.py): reading a sheet, the preview's outcome of every row,
and the confirmation that judges the rows again and saves each through its service."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import Workbook

from integration.models import Invoice, Order, OutboxMessage
from integration.services import bulk_entry
from integration.services.bulk_entry import (
    MAX_ROWS,
    BulkKind,
    Outcome,
    Result,
    Sheet,
    SheetRow,
    access_key_check_digit,
    access_key_errors,
    bulk_apply,
    bulk_preview,
    bulk_sheet_read,
    parse_store_datetime,
    sheet_sign,
    sheet_unsign,
)
from integration.services.errors import NotAllowed, ValidationFailed
from integration.services.tracking import invoice_mark_delivered, invoice_set_tracking
from tests.factories import make_acknowledged_order, make_invoice, make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_task_queue")]

TRACKING = BulkKind.TRACKING
INVOICES = BulkKind.INVOICES


# ---- helpers -------------------------------------------------------------------------------------------------


def nfe_key(number: int, *, series: int = 1, when=None, cnpj: str = "12345678000190") -> str:
    """A well-formed access key for NF `number`, issued in `when`'s month (store time)."""
    moment = timezone.localtime(when or issued())
    first = f"35{moment:%y%m}{cnpj}55{series:03d}{number:09d}1{number:08d}"
    return first + str(access_key_check_digit(first))


def issued():
    """An issue time an hour ago: its month is the key's (nfe_key uses the same moment)."""
    return timezone.now() - timedelta(hours=1)


def sheet(kind: str, *rows: dict[str, str]) -> Sheet:
    return Sheet(
        kind=kind,
        columns=tuple(rows[0]) if rows else (),
        ignored=(),
        rows=tuple(SheetRow(line=position + 2, values=values) for position, values in enumerate(rows)),
    )


def outcomes(preview) -> list[str]:
    return [row.outcome for row in preview.rows]


def problems(row) -> str:
    return " | ".join(f"{column}: {text}" for column, text in row.problems)


def invoiced_order(**fields) -> tuple[Order, Invoice]:
    order = make_acknowledged_order(**fields)
    return order, make_invoice(order)


def tracking_rows() -> int:
    return OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING).count()


# ---- reading the sheet --------------------------------------------------------------------------------------


def test_a_semicolon_csv_in_windows_1252_with_portuguese_headers_is_read_with_its_line_numbers():
    text = (
        "Pedido;Código de rastreio;Transportadora;Observação\r\n"
        "1001-01;BR1;Correios;frágil\r\n"
        "\r\n"
        "1002-01;BR2;Jadlog;\r\n"
    )

    read = bulk_sheet_read(kind=TRACKING, upload=text.encode("cp1252"), filename="rastreio.csv")

    assert read.columns == ("order", "tracking_number", "courier")
    assert read.ignored == ("Observação",)
    assert [(row.line, row.values) for row in read.rows] == [
        (2, {"order": "1001-01", "tracking_number": "BR1", "courier": "Correios"}),
        (4, {"order": "1002-01", "tracking_number": "BR2", "courier": "Jadlog"}),
    ]


def test_an_xlsx_is_read_numbers_and_dates_as_a_clerk_sees_them():
    workbook = Workbook()
    sheet_ = workbook.active
    sheet_.append(["Pedido", "Chave de acesso", "Data de emissão", "Valor"])
    sheet_.append(
        [502301.0, "3524 0512 3456 7800 0190 5500 1000 0012 3410 0001 2345", issued().replace(tzinfo=None), 174.9]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)

    read = bulk_sheet_read(kind=INVOICES, upload=buffer.getvalue(), filename="notas.xlsx")

    (row,) = read.rows
    assert row.line == 2
    assert row.values["order"] == "502301"  # not "502301.0"
    assert row.values["value"] == "174.9"
    assert parse_store_datetime(row.values["issued_at"]) is not None


def test_pasted_columns_separated_by_tabs_with_english_headers():
    pasted = "NF number\tTracking code\tCarrier\tTracking URL\nNF-1\tBR1\tCorreios\thttps://rastreio.example/BR1\n"

    read = bulk_sheet_read(kind=TRACKING, pasted=pasted)

    assert read.rows[0].values == {
        "invoice_number": "NF-1",
        "tracking_number": "BR1",
        "courier": "Correios",
        "tracking_url": "https://rastreio.example/BR1",
    }


def test_pasted_columns_separated_by_semicolons():
    read = bulk_sheet_read(kind=TRACKING, pasted="pedido;rastreio\n1001-01;BR1\n")

    assert read.rows[0].values == {"order": "1001-01", "tracking_number": "BR1"}


@pytest.mark.parametrize(
    ("kind", "pasted", "says"),
    [
        (TRACKING, "transportadora;rastreio\nCorreios;BR1\n", "missing: Order"),
        (TRACKING, "pedido;transportadora\n1001-01;Correios\n", "missing: Tracking code"),
        (INVOICES, "pedido;chave\n1001-01;1\n", "missing: Issue date"),
        (TRACKING, "pedido;order;rastreio\n1;2;BR1\n", "Two columns are the Order"),
        (TRACKING, "pedido;rastreio\n", "no rows"),
    ],
)
def test_a_sheet_without_its_columns_is_refused_naming_them(kind, pasted, says):
    with pytest.raises(ValidationFailed) as refused:
        bulk_sheet_read(kind=kind, pasted=pasted)

    assert says in refused.value.fields["pasted"][0]


def test_more_rows_than_the_limit_are_refused():
    pasted = "pedido;rastreio\n" + "".join(f"{n}-01;BR{n}\n" for n in range(MAX_ROWS + 1))

    with pytest.raises(ValidationFailed, match=str(MAX_ROWS)):
        bulk_sheet_read(kind=TRACKING, pasted=pasted)
    assert len(bulk_sheet_read(kind=TRACKING, pasted="pedido;rastreio\n" + "1;B\n" * MAX_ROWS).rows) == MAX_ROWS


def test_a_file_over_the_size_limit_is_refused():
    with pytest.raises(ValidationFailed, match="kB"):
        bulk_sheet_read(kind=TRACKING, upload=b"pedido;rastreio\n" + b"x" * bulk_entry.MAX_FILE_BYTES)


@pytest.mark.parametrize(
    ("upload", "pasted", "says"),
    [
        (None, "", "Choose a file or paste the columns."),
        (b"pedido;rastreio\n1;BR1\n", "pedido;rastreio\n1;BR1\n", "not both"),
        (b"PK\x03\x04 not really a workbook", "", "not a readable XLSX"),
    ],
)
def test_no_sheet_two_sheets_or_a_broken_workbook_are_refused(upload, pasted, says):
    with pytest.raises(ValidationFailed, match=says):
        bulk_sheet_read(kind=TRACKING, upload=upload, filename="x.xlsx" if upload else "", pasted=pasted)


# ---- the signed sheet between preview and confirmation ----------------------------------------------------


def test_the_signed_sheet_comes_back_whole():
    original = sheet(
        TRACKING, {"order": "1001-01", "tracking_number": "BR1"}, {"order": "1002-01", "tracking_number": "BR2"}
    )

    assert sheet_unsign(sheet_sign(original), kind=TRACKING) == original


def test_an_altered_stale_or_other_kind_preview_is_refused(monkeypatch):
    token = sheet_sign(sheet(TRACKING, {"order": "1001-01", "tracking_number": "BR1"}))

    with pytest.raises(ValidationFailed, match="could not be read"):
        sheet_unsign(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], kind=TRACKING)
    with pytest.raises(ValidationFailed, match="another kind"):
        sheet_unsign(sheet_sign(sheet(INVOICES, {"order": "1"})), kind=TRACKING)
    # An hour and a second later (the clock signing reads, moved on).
    later = time.time() + bulk_entry.PREVIEW_MAX_AGE_S + 1
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    with pytest.raises(ValidationFailed, match="more than an hour old"):
        sheet_unsign(token, kind=TRACKING)


# ---- tracking: the preview --------------------------------------------------------------------------------


def test_a_row_finds_its_invoice_by_order_id_by_sequence_or_by_nf_number():
    first, first_invoice = invoiced_order()
    second, second_invoice = invoiced_order()
    third, third_invoice = invoiced_order()

    preview = bulk_preview(
        sheet=sheet(
            TRACKING,
            {"order": first.order_id, "tracking_number": "BR1", "courier": "Correios"},
            {"order": second.sequence, "tracking_number": "BR2"},
            {"invoice_number": third_invoice.number, "tracking_number": "BR3"},
        )
    )

    assert outcomes(preview) == [Outcome.READY] * 3
    assert [row.invoice for row in preview.rows] == [first_invoice, second_invoice, third_invoice]
    assert preview.ready_count == 3


def test_unknown_orders_and_invoices_are_reported():
    order, invoice = invoiced_order()
    not_invoiced = make_acknowledged_order()

    preview = bulk_preview(
        sheet=sheet(
            TRACKING,
            {"order": "no-such-order", "tracking_number": "BR1"},
            {"invoice_number": "NF-404", "tracking_number": "BR2"},
            {"order": order.order_id, "invoice_number": "NF-404", "tracking_number": "BR3"},
            {"order": not_invoiced.order_id, "tracking_number": "BR4"},
        )
    )

    assert outcomes(preview) == [Outcome.UNKNOWN] * 4
    assert "No order has the id or sequence 'no-such-order'." in problems(preview.rows[0])
    assert "No sale invoice is numbered 'NF-404'." in problems(preview.rows[1])
    assert f"Order {order.order_id} has no sale invoice numbered 'NF-404'." in problems(preview.rows[2])
    assert "has no sale invoice yet" in problems(preview.rows[3])


def test_an_invalid_field_is_named_with_its_rule():
    order, _invoice = invoiced_order()

    preview = bulk_preview(
        sheet=sheet(
            TRACKING,
            {"order": order.order_id, "tracking_number": "BR1", "tracking_url": "ftp://rastreio.example/BR1"},
            {"order": order.order_id, "tracking_number": "B" * 101},
            {"order": order.order_id, "tracking_number": ""},
            {"courier": "Correios", "tracking_number": "BR4"},
        )
    )

    assert outcomes(preview) == [Outcome.INVALID] * 4
    assert problems(preview.rows[0]) == "Tracking URL: Enter a full http(s) address."
    assert problems(preview.rows[1]) == "Tracking code: The tracking number has at most 100 characters."
    assert problems(preview.rows[2]) == "Tracking code: The tracking number is required."
    assert problems(preview.rows[3]) == "Order: Give the order (its id or sequence) or the NF number."


def test_a_repeated_row_is_a_duplicate_and_the_first_one_stands():
    order, _invoice = invoiced_order()
    row = {"order": order.order_id, "tracking_number": "BR1", "courier": "Correios"}

    preview = bulk_preview(sheet=sheet(TRACKING, row, dict(row)))

    assert outcomes(preview) == [Outcome.READY, Outcome.DUPLICATE_IN_FILE]
    assert problems(preview.rows[1]) == ": Repeats line 2."


def test_rows_that_disagree_about_an_invoice_or_a_code_are_all_held_back():
    first, _ = invoiced_order()
    second, _ = invoiced_order()
    third, _ = invoiced_order()

    preview = bulk_preview(
        sheet=sheet(
            TRACKING,
            {"order": first.order_id, "tracking_number": "BR1"},
            {"order": first.order_id, "tracking_number": "BR2"},  # the same invoice, another code
            {"order": second.order_id, "tracking_number": "BR9"},
            {"order": third.order_id, "tracking_number": "br9"},  # the same code, another invoice
        )
    )

    assert outcomes(preview) == [Outcome.DUPLICATE_IN_FILE] * 4
    assert "Disagrees with line(s) 3" in problems(preview.rows[0])
    assert "Disagrees with line(s) 5" in problems(preview.rows[2])


def test_tracking_already_stored_on_the_invoice_or_on_another_one_is_reported():
    order, invoice = invoiced_order()
    other, other_invoice = invoiced_order()
    invoice_set_tracking(invoice=invoice, tracking_number="BR1", courier="Correios")
    invoice_set_tracking(invoice=other_invoice, tracking_number="BR7")
    third, _ = invoiced_order()

    preview = bulk_preview(
        sheet=sheet(
            TRACKING,
            {"order": order.order_id, "tracking_number": "BR1", "courier": "Correios"},
            {"order": third.order_id, "tracking_number": "BR7"},
        )
    )

    assert outcomes(preview) == [Outcome.ALREADY_STORED] * 2
    assert f"Invoice {invoice.number} has this tracking already." in problems(preview.rows[0])
    assert f"is already on invoice {other_invoice.number} of order {other.order_id}" in problems(preview.rows[1])


def test_a_delivered_invoice_takes_no_more_tracking():
    order, invoice = invoiced_order()
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    invoice_mark_delivered(invoice=invoice)

    preview = bulk_preview(sheet=sheet(TRACKING, {"order": order.order_id, "tracking_number": "BR2"}))

    assert outcomes(preview) == [Outcome.NOT_ALLOWED]
    assert "is delivered already" in problems(preview.rows[0])


def test_an_order_with_two_invoices_needs_the_nf_number_unless_one_only_waits_for_tracking():
    order = make_acknowledged_order()
    first = make_invoice(order, quantities={0: 2})
    second = make_invoice(order)

    preview = bulk_preview(sheet=sheet(TRACKING, {"order": order.order_id, "tracking_number": "BR1"}))
    assert outcomes(preview) == [Outcome.INVALID]
    assert "has 2 sale invoices; add the NF number column" in problems(preview.rows[0])

    invoice_set_tracking(invoice=first, tracking_number="BR0")
    preview = bulk_preview(sheet=sheet(TRACKING, {"order": order.order_id, "tracking_number": "BR1"}))
    assert outcomes(preview) == [Outcome.READY]
    assert preview.rows[0].invoice == second


def test_a_new_code_for_an_invoice_with_one_says_it_replaces_it():
    order, invoice = invoiced_order()
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")

    preview = bulk_preview(sheet=sheet(TRACKING, {"order": order.order_id, "tracking_number": "BR2"}))

    assert outcomes(preview) == [Outcome.READY]
    assert preview.rows[0].notes == ["Replaces the tracking code BR1."]


def test_the_preview_saves_nothing():
    order, _invoice = invoiced_order()
    before = tracking_rows()

    bulk_preview(sheet=sheet(TRACKING, {"order": order.order_id, "tracking_number": "BR1"}))

    assert tracking_rows() == before
    assert not Invoice.objects.exclude(tracking_number="").exists()


# ---- tracking: the confirmation ---------------------------------------------------------------------------


def test_the_confirmation_saves_every_ready_row_through_the_tracking_service_and_nothing_else():
    orders = [invoiced_order()[0] for _ in range(3)]
    rows = [
        {"order": order.order_id, "tracking_number": f"BR{n}", "courier": "Correios"} for n, order in enumerate(orders)
    ]
    rows.append({"order": "no-such-order", "tracking_number": "BR9"})
    rows.append({"order": orders[0].order_id, "tracking_number": "BR8", "tracking_url": "not a url"})

    results = bulk_apply(sheet=sheet(TRACKING, *rows), actor=None)

    assert [result.result for result in results] == [Result.SAVED] * 3 + [Result.SKIPPED] * 2
    assert tracking_rows() == 3  # one outbox row per saved row: what sends it to VTEX
    for n, order in enumerate(orders):
        invoice = order.invoices.get()
        assert (invoice.tracking_number, invoice.courier) == (f"BR{n}", "Correios")
        assert invoice.outbox_messages.filter(kind=OutboxMessage.Kind.TRACKING).count() == 1
    assert "Unknown order or invoice" in results[3].message
    assert "Tracking URL: Enter a full http(s) address." in results[4].message
    assert not Invoice.objects.filter(tracking_number__in=["BR8", "BR9"]).exists()


def test_confirming_the_same_sheet_twice_sends_nothing_more():
    order, _invoice = invoiced_order()
    same = sheet(TRACKING, {"order": order.order_id, "tracking_number": "BR1"})
    bulk_apply(sheet=same)

    again = bulk_apply(sheet=same)

    assert [result.result for result in again] == [Result.SKIPPED]
    assert "Already stored" in again[0].message
    assert tracking_rows() == 1


def test_the_confirmation_judges_the_rows_again_on_what_changed_since_the_preview():
    first, first_invoice = invoiced_order()
    second, second_invoice = invoiced_order()
    third, _ = invoiced_order()
    rows = sheet(
        TRACKING,
        {"order": first.order_id, "tracking_number": "BR1"},
        {"order": second.order_id, "tracking_number": "BR2"},
        {"order": third.order_id, "tracking_number": "BR3"},
    )
    assert bulk_preview(sheet=rows).ready_count == 3
    # Meanwhile, on the invoice pages: the first delivered, the third's code given to the second.
    invoice_set_tracking(invoice=first_invoice, tracking_number="BR0")
    invoice_mark_delivered(invoice=first_invoice)
    invoice_set_tracking(invoice=second_invoice, tracking_number="BR3")

    results = bulk_apply(sheet=rows)

    assert [result.result for result in results] == [Result.SKIPPED, Result.SAVED, Result.SKIPPED]
    assert "Not possible now" in results[0].message
    assert "Already stored" in results[2].message
    second_invoice.refresh_from_db()
    assert second_invoice.tracking_number == "BR2"


def test_a_row_refused_while_saving_does_not_stop_the_others(monkeypatch):
    orders = [invoiced_order()[0] for _ in range(3)]
    real = bulk_entry.invoice_set_tracking

    def refuse_the_second_and_break_the_third(*, invoice, **kwargs):
        if invoice.order_id == orders[1].pk:
            raise NotAllowed("Refused for the test.")
        if invoice.order_id == orders[2].pk:
            raise RuntimeError("database went away")
        return real(invoice=invoice, **kwargs)

    monkeypatch.setattr(bulk_entry, "invoice_set_tracking", refuse_the_second_and_break_the_third)
    orders.append(invoiced_order()[0])

    results = bulk_apply(
        sheet=sheet(
            TRACKING, *[{"order": order.order_id, "tracking_number": f"BR{n}"} for n, order in enumerate(orders)]
        )
    )

    assert [result.result for result in results] == [Result.SAVED, Result.FAILED, Result.FAILED, Result.SAVED]
    assert results[1].message == "Refused for the test."
    assert results[2].message == "Unexpected error; it was logged."
    assert tracking_rows() == 2


# ---- invoices: the access key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        # Published examples of the check digit's computation (Manual de Orientação, module 11).
        "43171207364617000135550000000120141000120146",
        "13181017921427000125650010000000309887251170",
    ],
)
def test_the_check_digit_of_published_keys(key):
    assert access_key_check_digit(key[:43]) == int(key[43])
    assert access_key_errors(key)[1] == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("43171207364617000135550000000120141000120147", "check digit is wrong"),
        ("43171207364617000135550000000120141000120", "exactly 44 digits"),
        ("4,31712E+43", "stored the access key as a number"),
        ("43171A07364617000135550000000120141000120146", "exactly 44 digits"),
    ],
)
def test_a_wrong_key_is_refused_with_its_rule(text, says):
    key, found = access_key_errors(text)
    assert key is None
    assert says in found[0]


def test_a_key_printed_in_groups_of_four_is_read():
    key, found = access_key_errors("4317 1207 3646 1700 0135 5500 0000 0120 1410 0012 0146")
    assert found == []
    assert (key.number, key.series, key.year_month) == (12014, 0, (2017, 12))


# ---- invoices: the preview and the confirmation ----------------------------------------------------------


def invoice_row(order: Order, nf: int, **values) -> dict[str, str]:
    return {
        "order": order.order_id,
        "access_key": nfe_key(nf),
        "issued_at": timezone.localtime(issued()).strftime("%d/%m/%Y %H:%M"),
        **values,
    }


def test_a_full_invoice_of_what_is_left_is_created_with_the_number_from_the_key():
    order = make_acknowledged_order()
    partial = make_invoice(order, quantities={0: 1})
    row = invoice_row(order, 1234, series="1", number="000001234")

    preview = bulk_preview(sheet=sheet(INVOICES, row))
    assert outcomes(preview) == [Outcome.READY], problems(preview.rows[0])
    assert preview.rows[0].value_cents == order.total_cents - partial.value_cents

    (result,) = bulk_apply(sheet=sheet(INVOICES, row))

    assert result.result == Result.SAVED
    invoice = order.invoices.get(number="1234")
    assert invoice.access_key == nfe_key(1234)
    assert invoice.value_cents == order.total_cents - partial.value_cents  # the rest of the order
    assert sorted(invoice.items.values_list("order_item__item_index", "quantity")) == [(0, 1), (1, 1), (2, 3)]
    assert invoice.created_via == "import"
    assert invoice.outbox_messages.filter(kind=OutboxMessage.Kind.INVOICE).count() == 1


def test_number_and_series_that_disagree_with_the_key_are_refused_by_name():
    order = make_acknowledged_order()

    preview = bulk_preview(sheet=sheet(INVOICES, invoice_row(order, 1234, number="1235", series="2")))

    assert outcomes(preview) == [Outcome.INVALID]
    assert problems(preview.rows[0]) == (
        "NF number: NF number 1235 is not the one in the access key (1234). | "
        "Series: Series 2 is not the one in the access key (1)."
    )


def test_an_issue_date_outside_the_keys_month_is_refused():
    order = make_acknowledged_order()
    row = invoice_row(order, 1234, issued_at=timezone.localtime(issued() - timedelta(days=62)).strftime("%d/%m/%Y"))

    preview = bulk_preview(sheet=sheet(INVOICES, row))

    assert outcomes(preview) == [Outcome.INVALID]
    assert "Issue date: The issue date is in" in problems(preview.rows[0])
    assert "the access key says" in problems(preview.rows[0])


@pytest.mark.parametrize(
    ("issued_at", "says"),
    [("", "The issue date is required."), ("ontem", "Write the date as DD/MM/YYYY")],
)
def test_a_missing_or_unreadable_issue_date_is_refused(issued_at, says):
    order = make_acknowledged_order()

    preview = bulk_preview(sheet=sheet(INVOICES, invoice_row(order, 1234, issued_at=issued_at)))

    assert outcomes(preview) == [Outcome.INVALID]
    assert says in problems(preview.rows[0])


def test_a_value_is_checked_by_the_invoicing_rules():
    order = make_acknowledged_order()  # total R$ 174,90

    right = bulk_preview(sheet=sheet(INVOICES, invoice_row(order, 1, value="174,90")))
    wrong = bulk_preview(sheet=sheet(INVOICES, invoice_row(order, 2, value="170,00")))
    unreadable = bulk_preview(sheet=sheet(INVOICES, invoice_row(order, 3, value="1,2,3")))

    assert outcomes(right) == [Outcome.READY]
    assert outcomes(wrong) == [Outcome.INVALID]
    assert "Value: This invoice completes the order, so it must carry the remaining 17490 cents" in problems(
        wrong.rows[0]
    )
    assert outcomes(unreadable) == [Outcome.INVALID]
    assert problems(unreadable.rows[0]).startswith("Value: ")


def test_invoices_unknown_duplicate_or_stored_are_reported():
    order = make_acknowledged_order()
    other = make_acknowledged_order()
    stored = make_acknowledged_order()
    make_invoice(stored, number="77", access_key=nfe_key(77))
    third = make_acknowledged_order()

    preview = bulk_preview(
        sheet=sheet(
            INVOICES,
            invoice_row(order, 1),
            invoice_row(order, 1),  # repeats the first row
            invoice_row(other, 2),
            invoice_row(other, 3),  # the same order, another invoice
            {**invoice_row(third, 77)},  # a key already stored
            {**invoice_row(order, 4), "order": "no-such-order"},
        )
    )

    assert outcomes(preview) == [
        Outcome.READY,
        Outcome.DUPLICATE_IN_FILE,
        Outcome.DUPLICATE_IN_FILE,
        Outcome.DUPLICATE_IN_FILE,
        Outcome.ALREADY_STORED,
        Outcome.UNKNOWN,
    ]
    assert f"This access key is already on invoice 77 of order {stored.order_id}." in problems(preview.rows[4])


def test_the_same_number_on_the_order_is_already_stored_and_on_another_order_is_a_warning():
    order = make_acknowledged_order()
    make_invoice(order, number="5", quantities={0: 1})
    other = make_acknowledged_order()
    make_invoice(other, number="6", quantities={0: 1})
    fresh = make_acknowledged_order()

    preview = bulk_preview(sheet=sheet(INVOICES, invoice_row(order, 5), invoice_row(fresh, 6)))

    assert outcomes(preview) == [Outcome.ALREADY_STORED, Outcome.READY]
    assert f"Order {order.order_id} already has an invoice numbered 5." in problems(preview.rows[0])
    assert preview.rows[1].notes == [
        f"Invoice number 6 is also on order {other.order_id}; check it is not the same NF."
    ]


def test_an_order_that_takes_no_invoice_says_why():
    invoiced = make_acknowledged_order()
    make_invoice(invoiced)
    canceled = make_acknowledged_order(vtex_status="canceled", state=Order.State.CANCELED)
    waiting = make_order()  # VTEX has not confirmed start-handling

    preview = bulk_preview(
        sheet=sheet(INVOICES, invoice_row(invoiced, 1), invoice_row(canceled, 2), invoice_row(waiting, 3))
    )

    assert outcomes(preview) == [Outcome.NOT_ALLOWED] * 3
    assert "fully invoiced already" in problems(preview.rows[0])
    assert "canceled" in problems(preview.rows[1])
    assert "start-handling" in problems(preview.rows[2])
    assert Invoice.objects.count() == 1


def test_an_invoice_row_refused_at_confirmation_leaves_the_others_saved():
    first = make_acknowledged_order()
    second = make_acknowledged_order()
    rows = sheet(INVOICES, invoice_row(first, 1), invoice_row(second, 2))
    assert bulk_preview(sheet=rows).ready_count == 2
    make_invoice(first, number="other")  # invoiced in full meanwhile, on the order page

    results = bulk_apply(sheet=rows)

    assert [result.result for result in results] == [Result.SKIPPED, Result.SAVED]
    assert not first.invoices.filter(number="1").exists()
    assert second.invoices.filter(number="2").exists()


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("07/12/2026", (2026, 12, 7, 0, 0)),
        ("07/12/2026 14:30", (2026, 12, 7, 14, 30)),
        ("2026-12-07", (2026, 12, 7, 0, 0)),
        ("2026-12-07 14:30:00", (2026, 12, 7, 14, 30)),
    ],
)
def test_dates_as_clerks_and_spreadsheets_write_them_are_store_time(text, local):
    moment = timezone.localtime(parse_store_datetime(text))
    assert (moment.year, moment.month, moment.day, moment.hour, moment.minute) == local


def test_an_xlsx_declaring_xml_entities_is_refused_unread():
    """openpyxl reads through defusedxml (a dependency for that reason): a workbook whose sheet
    declares entities (the "billion laughs") is refused, not expanded."""
    workbook = Workbook()
    workbook.active.append(["Pedido", "Rastreio"])
    workbook.active.append(["1001-01", "BR1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    hostile = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(hostile, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                entities = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                data = entities.encode() + data.replace(b"BR1", b"&b;")
            target.writestr(item, data)

    with pytest.raises(ValidationFailed, match="not a readable XLSX"):
        bulk_sheet_read(kind=TRACKING, upload=hostile.getvalue(), filename="rastreio.xlsx")


def test_a_sequence_two_orders_share_asks_for_the_order_id_and_an_order_id_wins_over_a_sequence():
    first, _ = invoiced_order(sequence="777", order_id="777-01")
    invoiced_order(sequence="777", order_id="777-02")  # a marketplace group's second order
    numbered_like_a_sequence, _ = invoiced_order(sequence="888", order_id="999")
    invoiced_order(sequence="999", order_id="999-01")

    preview = bulk_preview(
        sheet=sheet(
            TRACKING,
            {"order": "777", "tracking_number": "BR1"},
            {"order": "777-01", "tracking_number": "BR2"},
            {"order": "999", "tracking_number": "BR3"},
        )
    )

    assert outcomes(preview) == [Outcome.INVALID, Outcome.READY, Outcome.READY]
    assert "2 orders have the sequence '777'; give the order id." in problems(preview.rows[0])
    assert preview.rows[1].order == first
    assert preview.rows[2].order == numbered_like_a_sequence
