"""The bulk import pages through the Django test client: upload or paste → preview (nothing saved)
→ one confirmation → the result of every row; in English and in pt-BR (Portuguese headers)."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from integration.models import Invoice, OutboxMessage
from integration.services import bulk_entry
from tests.factories import make_acknowledged_order, make_invoice

pytestmark = pytest.mark.django_db

TRACKING_URL = reverse("admin:integration_invoice_import_tracking")
INVOICES_URL = reverse("admin:integration_order_import_invoices")


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    """The services queue a send after commit; these tests look at the outbox rows only."""


@pytest.fixture
def back_office(django_user_model) -> Client:
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Back office"))
    client = Client()
    client.force_login(user)
    return client


def invoiced_orders(count: int):
    orders = [make_acknowledged_order() for _ in range(count)]
    for order in orders:
        make_invoice(order)
    return orders


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_both_lists_link_to_both_imports_for_back_office(back_office):
    for url in (reverse("admin:integration_order_changelist"), reverse("admin:integration_invoice_changelist")):
        page = back_office.get(url).content.decode()
        assert f'href="{TRACKING_URL}"' in page
        assert f'href="{INVOICES_URL}"' in page


def test_an_xlsx_is_previewed_row_by_row_and_saved_by_one_confirmation(back_office):
    orders = invoiced_orders(3)
    content = xlsx(
        [
            ["Pedido", "Rastreio", "Transportadora"],
            *[[order.order_id, f"BR{n}", "Correios"] for n, order in enumerate(orders)],
            ["no-such-order", "BR9", "Correios"],
        ]
    )

    preview = back_office.post(
        TRACKING_URL, {"file": SimpleUploadedFile("rastreio.xlsx", content), "pasted": "", "_preview": "1"}
    )

    assert preview.status_code == 200
    assert not Invoice.objects.exclude(tracking_number="").exists()  # nothing saved yet
    rows = preview.context["table"]
    assert [row["outcome"] for row in rows] == ["ready"] * 3 + ["unknown"]
    assert "No order has the id or sequence &#x27;no-such-order&#x27;." in text_of(preview)
    assert 'value="Save the 3 ready rows"' in text_of(preview)

    done = back_office.post(TRACKING_URL, {"sheet": preview.context["sheet_token"], "_confirm": "1"})

    assert done.status_code == 302
    results = back_office.get(done["Location"])
    assert [row["result"] for row in results.context["table"]] == ["saved"] * 3 + ["skipped"]
    assert "3 rows saved; they will be sent to VTEX." in text_of(results)
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING).count() == 3
    # The results are shown once; the page then offers a new upload.
    again = back_office.get(done["Location"])
    assert "results" not in again.context and "bulk-upload" in text_of(again)


def test_pasted_columns_in_portuguese_on_the_portuguese_page(back_office):
    (order,) = invoiced_orders(1)
    back_office.cookies["django_language"] = "pt-br"

    preview = back_office.post(
        TRACKING_URL,
        {"pasted": f"pedido\trastreio\turl\n{order.order_id}\tBR1\tnot-an-address\n", "_preview": "1"},
    )

    page = text_of(preview)
    assert "Campo inválido" in page
    assert "Nenhuma linha está pronta" in page
    assert "bulk-confirm" not in page  # nothing to confirm


def test_a_sheet_that_cannot_be_read_is_refused_beside_its_field(back_office):
    refused = back_office.post(TRACKING_URL, {"pasted": "carrier;code\nCorreios;BR1\n", "_preview": "1"})

    assert refused.status_code == 200
    error = refused.context["form"].errors["pasted"][0]
    assert error.startswith("The first line must name the columns; missing: Order")


def test_a_file_over_the_limit_is_refused_without_being_read(back_office, monkeypatch):
    monkeypatch.setattr("integration.admin.bulk.MAX_FILE_BYTES", 10)
    upload = SimpleUploadedFile("big.csv", b"pedido;rastreio\n1;BR1\n")

    refused = back_office.post(TRACKING_URL, {"file": upload, "_preview": "1"})

    assert "The file has more than 0 kB" in refused.context["form"].errors["file"][0]


def test_an_altered_preview_is_refused_and_nothing_is_saved(back_office):
    (order,) = invoiced_orders(1)
    preview = back_office.post(TRACKING_URL, {"pasted": f"pedido;rastreio\n{order.order_id};BR1\n", "_preview": "1"})
    token = preview.context["sheet_token"]

    refused = back_office.post(TRACKING_URL, {"sheet": token[:-3] + "xyz", "_confirm": "1"}, follow=True)

    assert "This preview could not be read; upload the sheet again." in text_of(refused)
    assert not Invoice.objects.exclude(tracking_number="").exists()


def test_the_invoice_import_shows_the_number_and_value_it_will_create(back_office):
    order = make_acknowledged_order()  # R$ 174,90
    first = "35" + bulk_entry.timezone.localtime().strftime("%y%m") + "12345678000190" + "55001000000321" + "100000321"
    key = first + str(bulk_entry.access_key_check_digit(first))
    issued = bulk_entry.timezone.localtime().strftime("%d/%m/%Y")

    preview = back_office.post(
        INVOICES_URL, {"pasted": f"pedido;chave;data\n{order.order_id};{key};{issued}\n", "_preview": "1"}
    )

    assert [row["outcome"] for row in preview.context["table"]] == ["ready"], preview.context["table"]
    assert "NF 321, R$174.90" in text_of(preview)
    done = back_office.post(INVOICES_URL, {"sheet": preview.context["sheet_token"], "_confirm": "1"})
    assert done.status_code == 302
    assert order.invoices.get().number == "321"


def test_staff_without_the_invoicing_permission_get_403_and_no_link(django_user_model):
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    client = Client()
    client.force_login(user)

    assert client.get(TRACKING_URL).status_code == 403
    assert client.post(INVOICES_URL, {"pasted": "x", "_preview": "1"}).status_code == 403
