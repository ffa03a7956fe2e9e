"""The sandbox's NF-e issuer: schema-valid, signed NF-e for its orders, with a throwaway certificate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nfelib
import pytest
import requests
from cryptography import x509
from lxml import etree

from integration.services.nfe import nfe_load
from vtex_sandbox import SandboxStore
from vtex_sandbox.nfe import FIN_RETURN, NFE_NS, NfeIssuer, access_key_check_digit
from vtex_sandbox.server import SandboxServer

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SCHEMAS = Path(nfelib.__file__).parent / "nfe" / "schemas" / "v4_0"


@pytest.fixture(scope="module")
def issuer() -> NfeIssuer:
    return NfeIssuer.create(now=NOW)


@pytest.fixture(scope="module")
def order() -> dict:
    store = SandboxStore(orders=3, seed=5, now=NOW)
    return store.order(store.order_ids()[0])


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


@pytest.mark.parametrize(("with_protocol", "schema_name"), [(True, "procNFe_v4.00.xsd"), (False, "nfe_v4.00.xsd")])
def test_nfe_build_is_valid_against_the_official_schema(issuer, order, with_protocol, schema_name):
    # given / when
    xml = issuer.build(order, number=7, with_protocol=with_protocol, issued_at=NOW)
    # then
    xsd = schema(schema_name)
    assert xsd.validate(etree.fromstring(xml)), xsd.error_log


def test_nfe_build_carries_the_orders_items_buyer_and_value(issuer, order):
    xml = etree.fromstring(issuer.build(order, number=7, issued_at=NOW, environment=1))
    ns = {"n": NFE_NS}
    assert xml.findtext(".//n:dest/n:CPF", namespaces=ns) == order["clientProfileData"]["document"]
    assert [e.text for e in xml.findall(".//n:det/n:prod/n:cEAN", namespaces=ns)] == [
        item["ean"] for item in order["items"]
    ]
    assert [e.text for e in xml.findall(".//n:det/n:prod/n:cProd", namespaces=ns)] == [
        item["refId"] for item in order["items"]
    ]
    assert xml.findtext(".//n:vNF", namespaces=ns) == f"{order['value'] // 100}.{order['value'] % 100:02d}"
    assert xml.findtext(".//n:compra/n:xPed", namespaces=ns) == order["orderId"]
    assert xml.findtext(".//n:tpAmb", namespaces=ns) == "1"
    assert xml.findtext(".//n:infProt/n:cStat", namespaces=ns) == "100"
    key = xml.findtext(".//n:infProt/n:chNFe", namespaces=ns)
    assert xml.find(".//n:infNFe", namespaces=ns).get("Id") == f"NFe{key}"
    assert key[-1] == access_key_check_digit(key[:43])


def test_nfe_build_signature_verifies_and_breaks_when_altered(issuer, order):
    # given
    xml = issuer.build(order, number=8, issued_at=NOW, environment=1)
    # when / then: the importer's signxml check accepts it ...
    assert nfe_load(xml).number == "8"
    # ... and refuses a changed quantity
    with pytest.raises(Exception, match="altered after it was signed"):
        nfe_load(xml.replace(b"<qCom>", b"<qCom>1", 1))


def test_nfe_certificate_is_self_signed_and_fresh_per_issuer(issuer):
    certificate = x509.load_pem_x509_certificate(issuer.certificate_pem)
    assert certificate.issuer == certificate.subject
    assert "TEST ONLY" in certificate.subject.rfc4514_string()
    assert NfeIssuer.create(now=NOW).certificate_pem != issuer.certificate_pem


def test_nfe_build_return_and_homologation(issuer, order):
    xml = etree.fromstring(
        issuer.build(order, number=9, issued_at=NOW, purpose=FIN_RETURN, quantities={0: 1}, environment=2)
    )
    ns = {"n": NFE_NS}
    assert xml.findtext(".//n:tpNF", namespaces=ns) == "0"
    assert xml.findtext(".//n:finNFe", namespaces=ns) == "4"
    assert xml.findtext(".//n:tpAmb", namespaces=ns) == "2"
    assert len(xml.findall(".//n:det", namespaces=ns)) == 1
    assert schema("procNFe_v4.00.xsd").validate(xml)


def test_sandbox_server_generates_an_nfe_for_its_order():
    # given
    store = SandboxStore(orders=2, seed=3, now=NOW)
    server = SandboxServer(store, port=0).start()
    order_id = store.order_ids()[0]
    try:
        # when
        homologation = requests.get(f"{server.url}/_sandbox/orders/{order_id}/nfe", timeout=10)
        production = requests.post(
            f"{server.url}/_sandbox/orders/{order_id}/nfe", json={"environment": 1, "number": 55}, timeout=10
        )
        page = requests.get(f"{server.url}/", timeout=10).text
    finally:
        server.stop()
    # then
    assert homologation.status_code == 200 and homologation.headers["Content-Type"].startswith("application/xml")
    first = etree.fromstring(homologation.content)
    assert schema("procNFe_v4.00.xsd").validate(first)
    assert first.findtext(f".//{{{NFE_NS}}}tpAmb") == "2"
    assert first.findtext(f".//{{{NFE_NS}}}xPed") == order_id
    document = nfe_load(production.content)
    assert document.number == "55" and document.environment == "1"
    assert f"/_sandbox/orders/{order_id}/nfe" in page
