"""NF-e import in the admin (issue 18): the order page's "Import NF-e XML", the invoice list's
bulk upload with its per-file table, and the DANFE and XML downloads on the invoice page."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integration.models import Invoice, Order, OutboxMessage
from tests.factories import make_acknowledged_order, make_invoice, make_nfe_xml

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    pass


@pytest.fixture
def order() -> Order:
    return make_acknowledged_order()


def import_url(order: Order) -> str:
    return reverse("admin:integration_order_import_nfe", args=[order.pk])


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/xml")


def test_order_page_offers_import_nfe(admin_client, order):
    content = admin_client.get(reverse("admin:integration_order_change", args=[order.pk])).content.decode()
    assert 'id="import-nfe"' in content and import_url(order) in content


def test_import_nfe_makes_the_invoice_and_opens_its_page(admin_client, order, admin_user):
    # given
    xml = make_nfe_xml(order, number=6100)
    # when
    response = admin_client.post(import_url(order), {"xml": upload("nota.xml", xml)})
    # then
    invoice = Invoice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:integration_invoice_change", args=[invoice.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Invoice 6100 imported from the NF-e; it will be sent to VTEX."
    ]
    assert invoice.created_by == admin_user and invoice.created_via == "admin"
    assert OutboxMessage.objects.filter(invoice=invoice, kind=OutboxMessage.Kind.INVOICE).count() == 1
    page = admin_client.get(response["Location"]).content.decode()
    assert 'id="download-danfe"' in page and "Series 1." in page


def test_import_nfe_again_opens_the_same_invoice(admin_client, order):
    xml = make_nfe_xml(order)
    admin_client.post(import_url(order), {"xml": upload("a.xml", xml)})
    response = admin_client.post(import_url(order), {"xml": upload("a.xml", xml)})
    assert response.status_code == 302
    assert "imported before" in str(list(get_messages(response.wsgi_request))[-1])
    assert Invoice.objects.count() == 1 and OutboxMessage.objects.filter(kind=OutboxMessage.Kind.INVOICE).count() == 1


def test_import_nfe_refusal_is_shown_and_saves_nothing(admin_client, order):
    xml = make_nfe_xml(order).replace(b"<qCom>2.0000", b"<qCom>1.0000", 1)

    response = admin_client.post(import_url(order), {"xml": upload("a.xml", xml)})

    content = response.content.decode()
    assert response.status_code == 200
    assert "The NF-e was not imported. Nothing was saved or sent." in content
    assert "altered after it was signed" in content
    assert not Invoice.objects.exists() and not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.INVOICE).exists()


def test_import_nfe_lists_each_unmatched_item(admin_client, order):
    other = make_acknowledged_order()
    other.items.filter(item_index=2).update(ean="7890000000888", ref_id="NOPE", sku_id="NOPE")

    content = admin_client.post(import_url(order), {"xml": upload("a.xml", make_nfe_xml(other))}).content.decode()

    assert "The NF-e&#x27;s items do not match the order." in content
    assert "NF-e item 3" in content and "matches no item of the order" in content


def test_invoice_page_downloads_the_danfe_and_the_xml(admin_client, order):
    admin_client.post(import_url(order), {"xml": upload("a.xml", make_nfe_xml(order))})
    invoice = Invoice.objects.get()

    pdf = admin_client.get(reverse("admin:integration_invoice_danfe", args=[invoice.pk]))
    xml = admin_client.get(reverse("admin:integration_invoice_nfe_xml", args=[invoice.pk]))

    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and invoice.access_key in pdf["Content-Disposition"]
    assert xml.status_code == 200 and xml.content.decode() == invoice.nfe_xml


def test_invoice_entered_by_hand_has_no_danfe(admin_client, order):
    invoice = make_invoice(order)
    response = admin_client.get(reverse("admin:integration_invoice_danfe", args=[invoice.pk]))
    assert response.status_code == 302
    assert "was not imported from an NF-e" in str(list(get_messages(response.wsgi_request))[0])


def test_bulk_import_matches_each_file_and_lists_what_happened(admin_client, settings):
    # given: two orders named in their NF-e, one in a ZIP; a file of no order; a broken file
    first, second = make_acknowledged_order(), make_acknowledged_order()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("second.xml", make_nfe_xml(second, number=7002))
        zipped.writestr("readme.txt", "not an NF-e")
    stranger = make_acknowledged_order(customer_document="52998224725")
    stranger_xml = make_nfe_xml(stranger, number=7003)
    Order.objects.filter(pk=stranger.pk).update(customer_document="11144477735", order_id="gone-01", sequence="x")
    files = [
        upload("first.xml", make_nfe_xml(first, number=7001)),
        SimpleUploadedFile("batch.zip", archive.getvalue(), content_type="application/zip"),
        upload("stranger.xml", stranger_xml),
        upload("broken.xml", b"<NFe>"),
    ]
    # when
    response = admin_client.post(reverse("admin:integration_invoice_import_nfe"), {"files": files})
    # then
    content = response.content.decode()
    assert response.status_code == 200
    assert "2 of 5 files imported" in content
    assert first.invoices.get().number == "7001" and second.invoices.get().number == "7002"
    assert "Invoice 7001 created; it will be sent to VTEX." in content
    assert "batch.zip/readme.txt" in content and "Not an XML file; skipped." in content
    assert "no open order of buyer 52998224725" in content
    assert "not well-formed XML" in content
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.INVOICE).count() == 2


def test_bulk_import_never_guesses_between_orders(admin_client):
    # given: two open orders of one buyer, each with the NF-e's value left, and an NF-e naming neither
    one, two = make_acknowledged_order(), make_acknowledged_order()
    xml = make_nfe_xml(one, number=7100)
    Order.objects.filter(pk=one.pk).update(order_id="renamed-01", sequence="r1")
    # when
    response = admin_client.post(reverse("admin:integration_invoice_import_nfe"), {"files": [upload("n.xml", xml)]})
    # then
    content = response.content.decode()
    assert "Several open orders of buyer 12345678909 fit this value" in content
    assert "renamed-01" in content and two.order_id in content
    assert not Invoice.objects.exists()


def test_invoice_list_offers_the_bulk_import(admin_client):
    content = admin_client.get(reverse("admin:integration_invoice_changelist")).content.decode()
    assert 'id="import-nfe-files"' in content
