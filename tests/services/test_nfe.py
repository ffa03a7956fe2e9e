"""NF-e import (issue 18): the checks of the document, the invoice it makes, the refusals."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from django.core import signing

from integration.models import Invoice, Order, OutboxMessage
from integration.services.errors import Conflict, NotAllowed, ServiceError, ValidationFailed
from integration.services.nfe import (
    MAX_NFE_BYTES,
    nfe_danfe_link,
    nfe_import,
    nfe_invoice_input,
    nfe_load,
    nfe_match_order,
    nfe_read,
)
from tests.factories import make_acknowledged_order, make_invoice, make_item, make_nfe_xml, make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_task_queue")]

FIXTURES = Path(__file__).parent.parent / "fixtures" / "nfe"
PRODUCTION_SAMPLE = FIXTURES / "35180834128745000152550010000476121675985748-nfe.xml"
HOMOLOGATION_SAMPLE = FIXTURES / "41170706117473000150550010000463202612756525-procNFe.xml"


def invoice_rows():
    return OutboxMessage.objects.filter(kind=OutboxMessage.Kind.INVOICE)


@pytest.fixture
def order() -> Order:
    return make_acknowledged_order(start_handling="done")


def refused(order: Order, xml: bytes, code: str) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        nfe_import(order=order, raw=xml)
    assert caught.value.code == code, caught.value
    assert not Invoice.objects.exists()
    assert not invoice_rows().exists()
    return caught.value


def test_nfe_import_makes_the_invoice_from_the_nfe(order):
    # given
    xml = make_nfe_xml(order, number=4321, series=2)
    document = nfe_load(xml)
    # when
    invoice, created = nfe_import(order=order, raw=xml)
    # then
    assert created
    assert invoice.number == "4321"
    assert invoice.nfe_series == "2"
    assert invoice.access_key == document.access_key
    assert invoice.issued_at == document.issued_at
    assert invoice.value_cents == order.total_cents == 17_490
    assert invoice.kind == Invoice.Kind.OUTPUT
    assert invoice.nfe_xml == xml.decode()
    assert not invoice.nfe_homologation
    assert sorted(invoice.items.values_list("order_item__item_index", "quantity")) == [(0, 2), (1, 1), (2, 3)]
    assert invoice_rows().count() == 1


def test_nfe_import_same_xml_again_gives_the_same_invoice(order):
    xml = make_nfe_xml(order)
    first, _ = nfe_import(order=order, raw=xml)
    again, created = nfe_import(order=order, raw=xml)
    assert again == first and not created
    assert invoice_rows().count() == 1


def test_nfe_import_partial_then_rest_matches_items_by_ean_then_code(order):
    # given: item 0 has no EAN on the NF-e side (the ERP left it out): matched by its ref id
    item = order.items.get(item_index=0)
    item.ean = ""
    item.save()
    first = make_nfe_xml(order, quantities={0: 1, 2: 1}, value_cents=6_000)
    # when
    invoice, _ = nfe_import(order=order, raw=first)
    rest, _ = nfe_import(order=order, raw=make_nfe_xml(order, quantities={0: 1, 1: 1, 2: 2}, value_cents=11_490))
    # then
    assert sorted(invoice.items.values_list("order_item__item_index", "quantity")) == [(0, 1), (2, 1)]
    assert rest.value_cents == 11_490
    assert invoice_rows().count() == 2


def test_nfe_import_return_nfe_is_an_input_invoice(order):
    make_invoice(order)
    xml = make_nfe_xml(order, purpose=4, quantities={1: 1}, value_cents=2_990)
    invoice, _ = nfe_import(order=order, raw=xml)
    assert invoice.kind == Invoice.Kind.INPUT


def test_nfe_import_return_before_full_invoicing_follows_the_invoicing_rule(order):
    xml = make_nfe_xml(order, purpose=4, quantities={1: 1}, value_cents=2_990)
    with pytest.raises(NotAllowed, match="only once the order is fully invoiced"):
        nfe_import(order=order, raw=xml)
    assert not Invoice.objects.exists()


def test_nfe_import_refuses_an_altered_nfe(order):
    xml = make_nfe_xml(order).replace(b"<qCom>2.0000", b"<qCom>1.0000", 1)
    error = refused(order, xml, "nfe_altered")
    assert "altered after it was signed" in error.message


def test_nfe_import_refuses_an_unauthorized_nfe(order):
    error = refused(order, make_nfe_xml(order, protocol_status=302), "nfe_not_authorized")
    assert "302" in error.message


def test_nfe_import_accepts_status_150_and_a_bare_nfe(order):
    invoice, _ = nfe_import(
        order=order, raw=make_nfe_xml(order, protocol_status=150, quantities={1: 1}, value_cents=2_990)
    )
    bare, _ = nfe_import(
        order=order, raw=make_nfe_xml(order, with_protocol=False, quantities={0: 2}, value_cents=10_000)
    )
    assert invoice.pk and bare.pk


def test_nfe_import_refuses_homologation_unless_allowed(order, settings):
    xml = make_nfe_xml(order, environment=2)
    settings.NFE_ALLOW_HOMOLOGATION = False
    error = refused(order, xml, "nfe_homologation")
    assert "tpAmb 2" in error.message
    settings.NFE_ALLOW_HOMOLOGATION = True
    invoice, _ = nfe_import(order=order, raw=xml)
    assert invoice.nfe_homologation


def test_nfe_import_refuses_another_recipient(order):
    order.customer_document = "52998224725"
    order.save()
    xml = make_nfe_xml(make_acknowledged_order())
    error = refused(order, xml, "nfe_recipient")
    assert "52998224725" in error.message and "12345678909" in error.message


def test_nfe_import_refuses_an_item_the_order_lacks(order):
    other = make_acknowledged_order()
    item = other.items.get(item_index=1)
    item.ean, item.ref_id, item.sku_id = "7890000000999", "XYZ", "999"
    item.save()
    error = refused(order, make_nfe_xml(other), "invalid")
    assert any("matches no item" in text for text in error.fields["det[2]"])


def test_nfe_import_refuses_a_quantity_beyond_what_remains(order):
    make_invoice(order, quantities={0: 1})
    with pytest.raises(ValidationFailed) as caught:
        nfe_import(order=order, raw=make_nfe_xml(order, quantities={0: 2}, value_cents=9_000))
    assert "Only 1 of “Camiseta azul M” is left" in str(caught.value)
    assert Invoice.objects.count() == 1


def test_nfe_import_refuses_a_value_that_does_not_fit(order):
    with pytest.raises(ValidationFailed) as caught:
        nfe_import(order=order, raw=make_nfe_xml(order, value_cents=17_000))
    assert "value" in caught.value.fields
    assert not Invoice.objects.exists()


def test_nfe_import_refuses_the_key_used_on_another_order(order):
    xml = make_nfe_xml(order)
    nfe_import(order=order, raw=xml)
    other = make_acknowledged_order(start_handling="done")
    with pytest.raises(Conflict) as caught:
        nfe_import(order=other, raw=xml)
    assert caught.value.code == "nfe_key_used" and order.order_id in caught.value.message
    assert not other.invoices.exists()


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        (b"not xml at all", "nfe_malformed"),
        (b"<invoice/>", "nfe_not_nfe"),
        (b'<NFe xmlns="http://www.portalfiscal.inf.br/nfe"><infNFe/></NFe>', "nfe_schema"),
        (b"<?xml version='1.0'?><!DOCTYPE NFe [<!ENTITY a 'b'>]><NFe/>", "nfe_doctype"),
        (b"<a>" + b" " * MAX_NFE_BYTES + b"</a>", "nfe_too_large"),
    ],
)
def test_nfe_import_refuses_what_is_not_an_nfe(order, xml, code):
    refused(order, xml, code)


def test_nfe_read_external_entity_reads_no_file(order, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE NFe [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<NFe xmlns="http://www.portalfiscal.inf.br/nfe"><infNFe>&x;</infNFe></NFe>'
    ).encode()
    error = refused(order, xml, "nfe_doctype")
    assert "TOP-SECRET" not in str(error)


# ---- published samples ---------------------------------------------------------------------------


def test_nfe_read_published_production_sample():
    document = nfe_read(PRODUCTION_SAMPLE.read_bytes())
    assert document.access_key == "35180834128745000152550010000476121675985748"
    assert (document.number, document.series) == ("47612", "1")
    assert document.issued_at.isoformat() == "2018-08-16T11:55:31-03:00"
    assert document.value_cents == 906
    assert document.recipient_document == "68834846982"
    assert document.protocol_status == 100 and document.environment == "1"
    assert [(line.ean, line.code, line.quantity) for line in document.lines] == [("7897846901683", "1168", 6)]


def test_nfe_read_published_homologation_sample():
    document = nfe_read(HOMOLOGATION_SAMPLE.read_bytes())
    assert document.is_homologation
    assert document.recipient_document == "27373722000148"
    assert document.value_cents == 8_490
    assert document.purchase_orders == ("230772",)  # the item's xPed
    assert "PEDIDO(S) ATENDIDO(S): 230772" in document.notes
    assert [(line.ean, line.code) for line in document.lines] == [("", "01042")]


@pytest.mark.parametrize("sample", [PRODUCTION_SAMPLE, HOMOLOGATION_SAMPLE])
def test_nfe_import_published_samples_are_refused_as_altered(sample, settings):
    # The published copies were re-indented after signing: the signature check must notice.
    settings.NFE_ALLOW_HOMOLOGATION = True
    with pytest.raises(ServiceError) as caught:
        nfe_load(sample.read_bytes())
    assert caught.value.code == "nfe_altered"


def test_nfe_invoice_from_published_sample_matches_an_order_like_it(settings):
    # given: an order of the sample's buyer and item (EAN), valued as the NF-e
    order = make_order(
        vtex_status="handling",
        state=Order.State.HANDLING,
        customer_document="688.348.469-82",
        total_cents=906,
        shipping_total_cents=0,
        items_total_cents=906,
    )
    make_item(
        order,
        ean="7897846901683",
        ref_id="X",
        sku_id="1",
        quantity=6,
        selling_price_cents=151,
        unit_price_cents=151,
        list_price_cents=151,
        total_cents=906,
    )
    # when
    data = nfe_invoice_input(order=order, document=nfe_read(PRODUCTION_SAMPLE.read_bytes()))
    # then
    assert data.lines == [(0, 6)] and data.value_cents == 906 and data.number == "47612"


# ---- matching a file to its order ------------------------------------------------------------------


def test_nfe_match_order_by_the_order_id_in_the_nfe(order):
    assert nfe_match_order(nfe_read(make_nfe_xml(order))).order == order


def test_nfe_match_order_by_sequence_in_xped(order):
    document = replace(nfe_read(make_nfe_xml(order)), purchase_orders=(order.sequence,), notes="")
    assert nfe_match_order(document).order == order


def test_nfe_match_order_by_buyer_and_value_else_ambiguous(order):
    unnamed = replace(nfe_read(make_nfe_xml(order)), purchase_orders=(), notes="")
    assert nfe_match_order(unnamed).order == order
    twin = make_acknowledged_order(start_handling="done")
    match = nfe_match_order(unnamed)
    assert match.order is None and set(match.candidates) == {order.order_id, twin.order_id}


def test_nfe_import_never_guesses_between_skus_sharing_an_ean(order):
    # given: two different SKUs with one EAN and no code to tell them apart on the NF-e
    order.items.filter(item_index__in=[0, 1]).update(ean="7890000000055", ref_id="SAME")
    other = make_acknowledged_order()
    other.items.filter(item_index=0).update(ean="7890000000055", ref_id="SAME", sku_id="0000")
    xml = make_nfe_xml(other, quantities={0: 1}, value_cents=5_000)
    # when / then
    error = refused(order, xml, "invalid")
    assert "not guessed" in error.fields["det[1]"][0]


def test_nfe_import_shared_ean_told_apart_by_code(order):
    order.items.filter(item_index__in=[0, 1]).update(ean="7890000000055")
    invoice, _ = nfe_import(order=order, raw=make_nfe_xml(order, quantities={1: 1}, value_cents=2_990))
    assert list(invoice.items.values_list("order_item__item_index", flat=True)) == [1]


# ---- the shopper's signed DANFE link (VTEX's invoiceUrl) ---------------------------------------------------


def test_nfe_import_sends_a_signed_danfe_link_as_invoice_url(order, settings, client):
    # given
    settings.PUBLIC_BASE_URL = "https://erp.example.com"
    # when
    invoice, _ = nfe_import(order=order, raw=make_nfe_xml(order))
    # then: the link goes to VTEX with the invoice and opens the PDF without a login
    assert invoice.url.startswith("https://erp.example.com/nfe/danfe/")
    assert invoice_rows().get().payload["invoiceUrl"] == invoice.url
    response = client.get(invoice.url.removeprefix("https://erp.example.com"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"


def test_nfe_danfe_link_forged_or_expired_opens_nothing(order, settings, client, monkeypatch):
    settings.PUBLIC_BASE_URL = "https://erp.example.com"
    invoice, _ = nfe_import(order=order, raw=make_nfe_xml(order))
    path = invoice.url.removeprefix("https://erp.example.com")
    last = path[-2]  # the signature's last character
    forged = path[:-2] + ("A" if last != "A" else "B") + "/"
    assert client.get(forged).status_code == 404
    # a link made longer ago than DANFE_LINK_MAX_AGE_S: the signer's clock set back
    old = int(time.time()) - settings.DANFE_LINK_MAX_AGE_S - 60
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(old))
    expired = nfe_danfe_link(invoice.access_key).removeprefix("https://erp.example.com")
    monkeypatch.undo()
    assert client.get(expired).status_code == 404
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 405  # it opens the PDF, nothing else


def test_nfe_import_without_public_base_url_sends_no_invoice_url(order, settings):
    settings.PUBLIC_BASE_URL = ""
    invoice, _ = nfe_import(order=order, raw=make_nfe_xml(order))
    assert invoice.url == ""
    assert not invoice_rows().get().payload.get("invoiceUrl")
