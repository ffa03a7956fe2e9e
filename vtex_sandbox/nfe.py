"""A throwaway NF-e issuer for sandbox orders: the XML an ERP would get back from SEFAZ.

`NfeIssuer.create()` makes a fresh RSA key and a self-signed certificate (with `cryptography`)
each time the sandbox starts; nothing secret is stored and no real ICP-Brasil certificate is
involved. `issuer.build(order, ...)` returns an NF-e 4.00 for a sandbox order's items and buyer,
valid against the official schema (nfe_v4.00.xsd / procNFe_v4.00.xsd), signed as SEFAZ expects
(enveloped XML-DSig over `infNFe`, RSA-SHA1, inclusive C14N, the certificate in `KeyInfo`), and
by default wrapped in an `nfeProc` with an authorization protocol (`cStat` 100).

It is a demo and test tool: the taxes are those of a Simples Nacional seller with no ICMS
highlighted (CSOSN 102, PIS/COFINS 07), enough for the schema, not a tax engine. The sandbox
imports nothing of the app: the buyer's document, the items' EAN/refId and the values come from
the VTEX order JSON.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
#: SEFAZ's time zone for the demo issuer (São Paulo, no daylight saving since 2019).
BRT = timezone(timedelta(hours=-3))
#: The sandbox store as issuer: a CNPJ with valid check digits, São Paulo (IBGE 3550308).
ISSUER_CNPJ_BASE = "112223330001"
ISSUER_UF_CODE = "35"
ISSUER_CITY_CODE = "3550308"
#: finNFe: 1 normal, 4 return (devolução). tpNF: 0 entrada (input), 1 saída (output).
FIN_NORMAL, FIN_RETURN = 1, 4


def cnpj_check_digits(first_twelve: str) -> str:
    """The two check digits of a numeric CNPJ (mod 11)."""
    digits = [int(d) for d in first_twelve]
    for weights in ([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return f"{digits[-2]}{digits[-1]}"


ISSUER_CNPJ = ISSUER_CNPJ_BASE + cnpj_check_digits(ISSUER_CNPJ_BASE)


def access_key_check_digit(first_43: str) -> str:
    """cDV of an NF-e access key: mod 11 with weights 2..9 from the right (Manual de Orientação)."""
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(first_43)))
    remainder = total % 11
    return "0" if remainder < 2 else str(11 - remainder)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass(frozen=True)
class NfeLine:
    """One det of the NF-e: the order's item at `item_index`, `quantity` units worth `cents`."""

    item: dict[str, Any]
    quantity: int
    cents: int


class NfeIssuer:
    """Holds the throwaway key and certificate; builds and signs NF-e with them."""

    def __init__(self, key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
        self._key = key
        self._certificate = certificate

    @classmethod
    def create(cls, *, now: datetime | None = None) -> NfeIssuer:
        """A new RSA-2048 key and a self-signed certificate valid for a year (generated, never stored)."""
        now = now or datetime.now(UTC)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "erp-bridge sandbox (TEST ONLY, not ICP-Brasil)"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"SANDBOX STORE:{ISSUER_CNPJ}"),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    @property
    def certificate_pem(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    def build(
        self,
        order: dict[str, Any],
        *,
        number: int,
        series: int = 1,
        environment: int = 2,
        issued_at: datetime | None = None,
        quantities: dict[int, int] | None = None,
        value_cents: int | None = None,
        purpose: int = FIN_NORMAL,
        with_protocol: bool = True,
        protocol_status: int = 100,
        referenced_key: str = "",
        seed: int | None = None,
    ) -> bytes:
        """The signed NF-e (UTF-8 bytes) for `order` (a VTEX Get-order JSON).

        `environment`: tpAmb, 1 production or 2 homologation (SEFAZ's test environment).
        `quantities`: item_index → units (default: every item, whole); `value_cents`: vNF (default:
        the order's value when every item is on it, else the items' value). `purpose` FIN_RETURN
        makes a return NF-e (tpNF 0, finNFe 4) referring to `referenced_key`. `with_protocol`: wrap it in nfeProc with a
        protocol of `protocol_status` (100 authorized), else return the bare NFe.
        """
        rng = random.Random(seed if seed is not None else number)
        issued_at = (issued_at or datetime.now(UTC)).astimezone(BRT).replace(microsecond=0)
        lines = _lines(order, quantities)
        items_cents = sum(line.cents for line in lines)
        whole = quantities is None
        shipping = _total(order, "Shipping") if whole else 0
        if value_cents is None:
            value_cents = order["value"] if whole else items_cents
        # vNF = vProd - vDesc + vFrete + vOutro: whatever the items and freight leave over or under
        # the order's value (VTEX's discounts, taxes, rounding) is a discount or "other" amount.
        difference = value_cents - items_cents - shipping
        discount, other = (-difference, 0) if difference < 0 else (0, difference)
        random_code = f"{rng.randrange(10**8):08d}"
        key43 = f"{ISSUER_UF_CODE}{issued_at:%y%m}{ISSUER_CNPJ}55{series:03d}{number:09d}1{random_code}"
        access_key = key43 + access_key_check_digit(key43)

        nfe = etree.Element(f"{{{NFE_NS}}}NFe", nsmap={None: NFE_NS})
        inf = _sub(nfe, "infNFe", versao="4.00", Id=f"NFe{access_key}")
        output = purpose != FIN_RETURN
        _ide(
            inf,
            number=number,
            series=series,
            issued_at=issued_at,
            random_code=random_code,
            check_digit=access_key[-1],
            environment=environment,
            output=output,
            purpose=purpose,
            buyer_state=_buyer_state(order),
            referenced_key=referenced_key,
        )
        _emit(inf)
        _dest(inf, order, environment)
        cfop = ("5102" if output else "1202") if _buyer_state(order) in ("", "SP") else ("6102" if output else "2202")
        for position, line in enumerate(lines, start=1):
            _det(inf, position, line, cfop)
        _totals(inf, items_cents=items_cents, shipping=shipping, discount=discount, other=other, value=value_cents)
        transp = _sub(inf, "transp")
        _text(transp, "modFrete", "0" if shipping else "9")
        pag = _sub(inf, "pag")
        det_pag = _sub(pag, "detPag")
        _text(det_pag, "tPag", "03" if output else "90")
        _text(det_pag, "vPag", _money(value_cents if output else 0))
        adic = _sub(inf, "infAdic")
        _text(adic, "infCpl", f"Pedido VTEX {order['orderId']} (sequencia {order.get('sequence', '')}). NF-e de teste.")
        compra = _sub(inf, "compra")
        _text(compra, "xPed", order["orderId"][:60])

        signed = self._sign(nfe, access_key)
        if not with_protocol:
            return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        proc = etree.Element(f"{{{NFE_NS}}}nfeProc", nsmap={None: NFE_NS}, versao="4.00")
        proc.append(signed)
        prot = _sub(proc, "protNFe", versao="4.00")
        inf_prot = _sub(prot, "infProt")
        _text(inf_prot, "tpAmb", str(environment))
        _text(inf_prot, "verAplic", "SANDBOX-1.0")
        _text(inf_prot, "chNFe", access_key)
        _text(inf_prot, "dhRecbto", (issued_at + timedelta(seconds=7)).isoformat())
        _text(inf_prot, "nProt", f"{ISSUER_UF_CODE}{issued_at:%y}{rng.randrange(10**11):011d}")
        digest = signed.find(f".//{{{DSIG_NS}}}DigestValue")
        _text(inf_prot, "digVal", digest.text if digest is not None else "")
        _text(inf_prot, "cStat", str(protocol_status))
        _text(inf_prot, "xMotivo", "Autorizado o uso da NF-e" if protocol_status == 100 else "Rejeicao")
        return etree.tostring(proc, xml_declaration=True, encoding="UTF-8")

    def _sign(self, nfe: etree._Element, access_key: str) -> etree._Element:
        # SEFAZ's profile: RSA-SHA1 and SHA-1 digests, inclusive C14N, no prefix on ds elements.
        signer = _SefazSigner(
            signature_algorithm=SignatureMethod.RSA_SHA1,
            digest_algorithm=DigestAlgorithm.SHA1,
            c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
        )
        signer.namespaces = {None: DSIG_NS}
        return signer.sign(
            nfe,
            key=self._key,
            cert=[self._certificate],
            reference_uri=f"#NFe{access_key}",
            always_add_key_value=False,
        )


class _SefazSigner(XMLSigner):
    """signxml refuses SHA-1 unless told; SEFAZ's NF-e 4.00 profile still mandates it (the schema fixes
    the algorithm). signxml's documented way to allow it is this override."""

    def check_deprecated_methods(self) -> None:
        return None

    def _ds_tag(self, tag: str) -> str:
        # SEFAZ wants the signature unprefixed (xmlns="...xmldsig#"). With that namespace map,
        # signxml 4.5 builds the elements in no namespace and signs a SignedInfo whose
        # canonical form differs from the one a verifier reads back (the signature never
        # verifies); elements in the ds namespace under the same map serialize unprefixed and sign right.
        return f"{{{DSIG_NS}}}{tag}"

    def _c14n(self, nodes, algorithm, inclusive_ns_prefixes=None):
        # libxml2 2.12-2.14 canonicalizes an element in place wrongly when an ancestor binds the
        # default namespace to another URI (Signature's xmldsig inside NFe's portalfiscal): its
        # grandchildren get xmlns="". A detached copy (ancestors' in-scope namespaces kept) is right.
        nodes = nodes if isinstance(nodes, list) else [nodes]
        return super()._c14n([copy.deepcopy(node) for node in nodes], algorithm, inclusive_ns_prefixes)


# ---- the blocks of infNFe, in the schema's order --------------------------------------------------


def _sub(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NFE_NS}}}{tag}", attributes)


def _text(parent: etree._Element, tag: str, value: str) -> etree._Element:
    element = _sub(parent, tag)
    element.text = value
    return element


def _total(order: dict[str, Any], total_id: str) -> int:
    return next((total["value"] for total in order.get("totals", []) if total.get("id") == total_id), 0)


def _item_cents(item: dict[str, Any], quantity: int) -> int:
    """The item's value for `quantity` units: VTEX's line total (priceDefinition) shared per unit."""
    definition = item.get("priceDefinition") or item.get("priceDefinitions") or {}
    line_total = definition.get("total")
    if line_total is None:
        line_total = (item.get("sellingPrice") or item.get("price") or 0) * item["quantity"]
    return round(line_total * quantity / item["quantity"]) if item["quantity"] else 0


def _lines(order: dict[str, Any], quantities: dict[int, int] | None) -> list[NfeLine]:
    items = order.get("items", [])
    wanted = quantities if quantities is not None else {index: item["quantity"] for index, item in enumerate(items)}
    lines = []
    for index, quantity in sorted(wanted.items()):
        if quantity <= 0 or index >= len(items) or items[index].get("isGift"):
            continue
        lines.append(NfeLine(items[index], quantity, _item_cents(items[index], quantity)))
    if not lines:
        raise ValueError("an NF-e needs at least one item")
    return lines


def _buyer_state(order: dict[str, Any]) -> str:
    address = ((order.get("shippingData") or {}).get("address")) or {}
    return (address.get("state") or "SP")[:2].upper()


def _ide(
    inf,
    *,
    number,
    series,
    issued_at,
    random_code,
    check_digit,
    environment,
    output,
    purpose,
    buyer_state,
    referenced_key,
):
    ide = _sub(inf, "ide")
    for tag, value in (
        ("cUF", ISSUER_UF_CODE),
        ("cNF", random_code),
        ("natOp", "Venda de mercadoria" if output else "Devolucao de venda"),
        ("mod", "55"),
        ("serie", str(series)),
        ("nNF", str(number)),
        ("dhEmi", issued_at.isoformat()),
        ("tpNF", "1" if output else "0"),
        ("idDest", "1" if buyer_state == "SP" else "2"),
        ("cMunFG", ISSUER_CITY_CODE),
        ("tpImp", "1"),
        ("tpEmis", "1"),
        ("cDV", check_digit),
        ("tpAmb", str(environment)),
        ("finNFe", str(purpose)),
        ("indFinal", "1"),
        ("indPres", "2"),  # internet sale
        ("indIntermed", "0"),
        ("procEmi", "0"),
        ("verProc", "erp-bridge-sandbox"),
    ):
        _text(ide, tag, value)
    if referenced_key:
        ref = _sub(ide, "NFref")
        _text(ref, "refNFe", referenced_key)


def _emit(inf):
    emit = _sub(inf, "emit")
    _text(emit, "CNPJ", ISSUER_CNPJ)
    _text(emit, "xNome", "LOJA SANDBOX ERP BRIDGE LTDA")
    address = _sub(emit, "enderEmit")
    for tag, value in (
        ("xLgr", "Avenida Paulista"),
        ("nro", "1000"),
        ("xBairro", "Bela Vista"),
        ("cMun", ISSUER_CITY_CODE),
        ("xMun", "Sao Paulo"),
        ("UF", "SP"),
        ("CEP", "01310100"),
        ("cPais", "1058"),
        ("xPais", "BRASIL"),
    ):
        _text(address, tag, value)
    _text(emit, "IE", "111222333444")
    _text(emit, "CRT", "1")  # Simples Nacional


def _dest(inf, order: dict[str, Any], environment: int):
    profile = order.get("clientProfileData") or {}
    dest = _sub(inf, "dest")
    corporate = profile.get("isCorporate") and profile.get("corporateDocument")
    document = "".join(ch for ch in str(corporate or profile.get("document") or "") if ch.isalnum())
    _text(dest, "CNPJ" if corporate else "CPF", document)
    if environment == 2:
        # SEFAZ requires this fixed name on homologation NF-e (Manual de Orientação, rule 5A2).
        name = "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
    else:
        name = (
            profile.get("corporateName")
            if corporate
            else f"{profile.get('firstName', '')} {profile.get('lastName', '')}"
        )
    _text(dest, "xNome", (name or "CONSUMIDOR").strip()[:60])
    address = ((order.get("shippingData") or {}).get("address")) or {}
    ender = _sub(dest, "enderDest")
    for tag, value in (
        ("xLgr", address.get("street") or "Rua"),
        ("nro", address.get("number") or "S/N"),
        ("xBairro", address.get("neighborhood") or "Centro"),
        ("cMun", ISSUER_CITY_CODE),
        ("xMun", address.get("city") or "Sao Paulo"),
        ("UF", _buyer_state(order)),
        ("CEP", "".join(ch for ch in (address.get("postalCode") or "01310100") if ch.isdigit())[:8].ljust(8, "0")),
        ("cPais", "1058"),
        ("xPais", "BRASIL"),
    ):
        _text(ender, tag, str(value)[:60])
    _text(dest, "indIEDest", "9")  # not a taxpayer of ICMS (consumer)


def _det(inf, position: int, line: NfeLine, cfop: str):
    item = line.item
    det = _sub(inf, "det", nItem=str(position))
    prod = _sub(det, "prod")
    ean = item.get("ean") or "SEM GTIN"
    unit_cents_x100 = line.cents * 100 // line.quantity  # vUnCom has up to 10 decimals; 4 are enough
    for tag, value in (
        ("cProd", item.get("refId") or item.get("id")),
        ("cEAN", ean),
        ("xProd", item.get("name") or "Produto"),
        ("NCM", "61091000"),
        ("CFOP", cfop),
        ("uCom", "UN"),
        ("qCom", f"{line.quantity}.0000"),
        ("vUnCom", f"{unit_cents_x100 // 10000}.{unit_cents_x100 % 10000:04d}"),
        ("vProd", _money(line.cents)),
        ("cEANTrib", ean),
        ("uTrib", "UN"),
        ("qTrib", f"{line.quantity}.0000"),
        ("vUnTrib", f"{unit_cents_x100 // 10000}.{unit_cents_x100 % 10000:04d}"),
        ("indTot", "1"),
    ):
        _text(prod, tag, str(value)[:120])
    imposto = _sub(det, "imposto")
    icms = _sub(_sub(imposto, "ICMS"), "ICMSSN102")
    _text(icms, "orig", "0")
    _text(icms, "CSOSN", "102")
    _text(_sub(_sub(imposto, "PIS"), "PISNT"), "CST", "07")
    _text(_sub(_sub(imposto, "COFINS"), "COFINSNT"), "CST", "07")


def _totals(inf, *, items_cents: int, shipping: int, discount: int, other: int, value: int):
    icms_tot = _sub(_sub(inf, "total"), "ICMSTot")
    amounts = {"vProd": items_cents, "vFrete": shipping, "vDesc": discount, "vOutro": other, "vNF": value}
    for tag in (
        "vBC", "vICMS", "vICMSDeson", "vFCP", "vBCST", "vST", "vFCPST", "vFCPSTRet", "vProd", "vFrete", "vSeg",
        "vDesc", "vII", "vIPI", "vIPIDevol", "vPIS", "vCOFINS", "vOutro", "vNF",
    ):  # fmt: skip
        _text(icms_tot, tag, _money(amounts.get(tag, 0)))
