"""Invoices from the NF-e XML the ERP already issued (issue 18).

An NF-e (layout 4.00, an `nfeProc` with SEFAZ's protocol or a bare `NFe`) is read with the field's
own tools: lxml with external entities, DTDs and the network off, validated against the official
XSD that nfelib ships, then bound to nfelib's dataclasses; no hand-written XPath over untrusted
text. The XML signature is checked with signxml against the certificate inside the document: that
proves the signed part was not altered after signing, NOT who signed it (the certificate is not
checked against ICP-Brasil; SEFAZ's authorization protocol is what vouches for the issuer).

The invoice is then made by invoicing.invoice_create(), so every invoicing rule applies (what is
left to invoice, values adding up, returns after full invoicing) and the outbox sends it once.
Every refusal is a ServiceError naming the problem; nothing is saved and nothing is sent.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import nfelib
from brazilfiscalreport.danfe import Danfe
from cryptography import x509
from django.conf import settings
from django.core import signing
from django.db import IntegrityError
from django.urls import reverse
from django.utils.translation import gettext as _
from lxml import etree
from nfelib.nfe.bindings.v4_0.nfe_v4_00 import Nfe
from nfelib.nfe.bindings.v4_0.proc_nfe_v4_00 import NfeProc
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from xsdata.exceptions import ParserError
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.handlers import LxmlEventHandler

from integration.models import Invoice, Order
from integration.services.errors import Conflict, FieldErrors, NotAllowed, ServiceError, ValidationFailed
from integration.services.invoicing import (
    InvoiceInput,
    ItemQuantities,
    invoice_create,
    invoice_kinds_open,
    order_invoiced_cents,
    order_item_quantities,
    order_returnable_cents,
)

NFE_NS = "http://www.portalfiscal.inf.br/nfe"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
#: An NF-e has at most 990 items; the largest real ones are a few hundred kB. Anything above this is
#: not an NF-e, and refusing it before parsing bounds the memory an upload can take.
MAX_NFE_BYTES = 2 * 1024 * 1024
#: SEFAZ's answers that mean "authorized": 100 authorized, 150 authorized out of time.
AUTHORIZED_STATUSES = frozenset({100, 150})
#: finNFe: 1 normal, 4 return (devolução); tpNF: 0 entrada, 1 saída.
PURPOSE_NORMAL, PURPOSE_RETURN = "1", "4"
NO_GTIN = "SEM GTIN"
_SCHEMA_DIR = Path(nfelib.__file__).parent / "nfe" / "schemas" / "v4_0"
_ROOTS = {f"{{{NFE_NS}}}nfeProc": ("procNFe_v4.00.xsd", NfeProc), f"{{{NFE_NS}}}NFe": ("nfe_v4.00.xsd", Nfe)}


class NfeRefused(ValidationFailed):
    """The document is not an NF-e this order can take; `code` says which check refused it."""

    code = "nfe_invalid"


@dataclass(frozen=True)
class NfeLine:
    position: int  # det/@nItem
    code: str  # cProd: the issuer's product code (the SKU or ref id for a VTEX store)
    ean: str  # cEAN, "" for "SEM GTIN"
    name: str
    quantity: Decimal


@dataclass(frozen=True)
class NfeDocument:
    """What erp-bridge reads from an NF-e. `xml` is the document as received."""

    access_key: str
    number: str
    series: str
    issued_at: datetime
    value_cents: int
    operation: str  # tpNF
    purpose: str  # finNFe
    environment: str  # tpAmb: "1" production, "2" homologation
    recipient_document: str  # CPF or CNPJ of dest, "" when it has neither (a foreign buyer)
    recipient_name: str
    purchase_orders: tuple[str, ...]  # compra/xPed and the items' prod/xPed: the buyer's order number
    notes: str  # infAdic/infCpl, where ERPs also write the order
    protocol_status: int | None  # infProt/cStat; None for a bare NFe
    lines: tuple[NfeLine, ...] = field(default_factory=tuple)
    xml: str = ""

    @property
    def is_homologation(self) -> bool:
        return self.environment == "2"


# ---- reading ----------------------------------------------------------------------------------------


def _refuse(code: str, message: str, field_name: str = "xml") -> NfeRefused:
    return NfeRefused(message, fields={field_name: [message]}, code=code)


@functools.cache
def _schema(name: str) -> etree.XMLSchema:
    # The schema files include each other by relative path on disk; nothing is fetched.
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(_SCHEMA_DIR / name), parser))


def _parse_tree(raw: bytes) -> etree._Element:
    """The document's root, parsed with everything that could reach outside it switched off."""
    if len(raw) > MAX_NFE_BYTES:
        raise _refuse("nfe_too_large", _("The file is larger than %(max)s MB: it is not an NF-e.") % {"max": 2})
    parser = etree.XMLParser(
        resolve_entities=False,  # an entity stays a reference: no file or URL is read
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,  # lxml's limits on depth and text size stay on
        remove_comments=True,
    )
    try:
        tree = etree.ElementTree(etree.fromstring(raw, parser))
    except etree.XMLSyntaxError as error:
        raise _refuse(
            "nfe_malformed", _("The file is not well-formed XML (%(error)s).") % {"error": error.msg}
        ) from None
    # An NF-e never has a DOCTYPE; one here can only be trying to declare entities.
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _refuse("nfe_doctype", _("The XML declares a DOCTYPE; an NF-e has none, so it is refused."))
    return tree.getroot()


def nfe_read(raw: bytes) -> NfeDocument:
    """Parse and validate an NF-e against the official schema and read its fields.

    No signature or authorization check here (nfe_load adds both); raises NfeRefused.
    """
    return _read(_parse_tree(raw), raw)


def _read(root: etree._Element, raw: bytes) -> NfeDocument:
    if root.tag not in _ROOTS:
        raise _refuse(
            "nfe_not_nfe",
            _("This is not an NF-e: the document must be an nfeProc or an NFe of layout 4.00 (found <%(tag)s>).")
            % {"tag": etree.QName(root).localname},
        )
    schema_name, binding = _ROOTS[root.tag]
    schema = _schema(schema_name)
    if not schema.validate(root):
        error = schema.error_log.last_error
        raise _refuse(
            "nfe_schema",
            _("The NF-e does not follow the official schema (layout 4.00), line %(line)s: %(error)s")
            % {"line": error.line, "error": error.message},
        )
    try:
        # xsdata walks (and clears) the tree it is given: hand it a copy.
        bound = XmlParser(handler=LxmlEventHandler).parse(copy.deepcopy(root), binding)
    except ParserError as error:
        raise _refuse("nfe_schema", _("The NF-e could not be read: %(error)s") % {"error": error}) from None
    nfe, protocol = (bound.NFe, bound.protNFe) if isinstance(bound, NfeProc) else (bound, None)
    inf = nfe.infNFe
    access_key = (inf.Id or "").removeprefix("NFe")
    if not _access_key_valid(access_key):
        raise _refuse(
            "nfe_access_key", _("The NF-e's access key %(key)s has a wrong check digit.") % {"key": access_key}
        )
    protocol_status = None
    if protocol is not None:
        info = protocol.infProt
        if info.chNFe != access_key:
            raise _refuse(
                "nfe_not_authorized",
                _("The SEFAZ protocol is for access key %(protocol)s, not for this NF-e's %(key)s.")
                % {"protocol": info.chNFe, "key": access_key},
            )
        protocol_status = int(info.cStat)
    dest = inf.dest
    purchase_orders = [inf.compra.xPed] if inf.compra is not None and inf.compra.xPed else []
    purchase_orders += [det.prod.xPed for det in inf.det if det.prod.xPed and det.prod.xPed not in purchase_orders]
    return NfeDocument(
        access_key=access_key,
        number=inf.ide.nNF,
        series=inf.ide.serie,
        issued_at=datetime.fromisoformat(inf.ide.dhEmi),  # the schema requires the UTC offset
        value_cents=_cents(inf.total.ICMSTot.vNF),
        operation=_value(inf.ide.tpNF),
        purpose=_value(inf.ide.finNFe),
        environment=_value(inf.ide.tpAmb),
        recipient_document=(dest.CPF or dest.CNPJ or "") if dest is not None else "",
        recipient_name=(dest.xNome or "") if dest is not None else "",
        purchase_orders=tuple(purchase_orders),
        notes=(inf.infAdic.infCpl or "") if inf.infAdic is not None else "",
        protocol_status=protocol_status,
        lines=tuple(
            NfeLine(
                position=int(det.nItem),
                code=det.prod.cProd,
                ean="" if (det.prod.cEAN or NO_GTIN).strip().upper() == NO_GTIN else det.prod.cEAN.strip(),
                name=det.prod.xProd,
                quantity=Decimal(det.prod.qCom),
            )
            for det in inf.det
        ),
        xml=_text_of(raw),
    )


def _value(enum_or_text) -> str:
    return str(getattr(enum_or_text, "value", enum_or_text))


def _cents(amount: str) -> int:
    """A schema decimal ("84.90", at most 2 places for money) in integer cents, no float on the way."""
    try:
        return int((Decimal(amount) * 100).to_integral_exact())
    except (InvalidOperation, ArithmeticError):
        raise _refuse("nfe_schema", _("The NF-e's value %(value)r is not an amount.") % {"value": amount}) from None


def _access_key_valid(key: str) -> bool:
    """44 digits whose last is the mod-11 check digit of the first 43 (Manual de Orientação)."""
    if len(key) != 44 or not (key.isascii() and key.isdigit()):
        return False
    total = sum(int(digit) * (2 + position % 8) for position, digit in enumerate(reversed(key[:43])))
    remainder = total % 11
    return key[43] == ("0" if remainder < 2 else str(11 - remainder))


# ---- integrity and authorization ---------------------------------------------------------------------

#: SEFAZ's profile is RSA-SHA1 with SHA-1 digests (the schema fixes it); SHA-256 is taken as well.
_SIGNATURE_CONFIG = SignatureConfiguration(
    require_x509=True,
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.RSA_SHA1, SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA1, DigestAlgorithm.SHA256}),
)


def _text_of(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # lxml read it under the encoding its declaration names; keep that reading, re-declared.
        return etree.tostring(
            etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True)), encoding="unicode"
        )


def nfe_load(raw: bytes) -> NfeDocument:
    """nfe_read() plus the signature's integrity and, with a protocol, SEFAZ's authorization."""
    root = _parse_tree(raw)
    document = _read(root, raw)
    _verify_signature(root)
    if document.protocol_status is not None and document.protocol_status not in AUTHORIZED_STATUSES:
        raise _refuse(
            "nfe_not_authorized",
            _("SEFAZ did not authorize this NF-e (protocol status %(status)s; 100 or 150 is needed).")
            % {"status": document.protocol_status},
        )
    return document


#: SEFAZ's profile is RSA-SHA1 with SHA-1 digests (the schema fixes it); SHA-256 is taken as well.
_SIGNATURE_CONFIG = SignatureConfiguration(
    require_x509=True,
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.RSA_SHA1, SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA1, DigestAlgorithm.SHA256}),
)


class _NfeVerifier(XMLVerifier):
    def _c14n(self, nodes, algorithm, inclusive_ns_prefixes=None):
        # libxml2 2.12-2.14 canonicalizes an element in place wrongly when an ancestor binds the
        # default namespace to another URI (SignedInfo's xmldsig inside NFe's portalfiscal): its
        # grandchildren get xmlns="" and no NF-e signature verifies. A detached copy (with the
        # ancestors' in-scope namespaces) canonicalizes right.
        nodes = nodes if isinstance(nodes, list) else [nodes]
        return super()._c14n([copy.deepcopy(node) for node in nodes], algorithm, inclusive_ns_prefixes)


def _verify_signature(root: etree._Element) -> None:
    """Check that the signed infNFe is intact: its digest and the signature, with the certificate inside.

    This proves the content was not changed after signing. It does not prove who signed: the
    certificate is whatever the file carries (SEFAZ's protocol is the check of the issuer).
    """
    nfe = root if root.tag == f"{{{NFE_NS}}}NFe" else root.find(f"{{{NFE_NS}}}NFe")
    signature = nfe.find(f"{{{DSIG_NS}}}Signature") if nfe is not None else None
    if signature is None:
        raise _refuse("nfe_unsigned", _("The NF-e is not signed."))
    certificate_text = signature.findtext(f"{{{DSIG_NS}}}KeyInfo/{{{DSIG_NS}}}X509Data/{{{DSIG_NS}}}X509Certificate")
    info = nfe.find(f"{{{NFE_NS}}}infNFe")
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode("".join((certificate_text or "").split())))
        # The NFe alone, as SEFAZ signs it: the one reference is "#NFe<key>", the Id of infNFe.
        result = _NfeVerifier().verify(
            copy.deepcopy(nfe), x509_cert=certificate, id_attribute="Id", expect_config=_SIGNATURE_CONFIG
        )
    except (InvalidSignature, InvalidInput, ValueError, binascii.Error):
        raise _refuse(
            "nfe_altered",
            _("The NF-e's signature does not match its content: the file was altered after it was signed."),
        ) from None
    # What was signed must be this document's infNFe, not another element the file carries.
    signed = result.signed_xml
    if signed is None or signed.tag != f"{{{NFE_NS}}}infNFe" or signed.get("Id") != info.get("Id"):
        raise _refuse("nfe_altered", _("The NF-e's signature does not cover its infNFe."))


# ---- the invoice it makes ----------------------------------------------------------------------------


def _document_digits(text: str) -> str:
    """A CPF/CNPJ as bare characters: punctuation dropped, letters (the 2026 alphanumeric CNPJ) kept."""
    return "".join(ch for ch in text if ch.isalnum()).upper()


def nfe_invoice_kind(document: NfeDocument) -> str:
    """finNFe 4 (a return) is an input invoice; a normal outgoing NF-e (tpNF 1, finNFe 1) an output one."""
    if document.purpose == PURPOSE_RETURN:
        return Invoice.Kind.INPUT
    if document.purpose == PURPOSE_NORMAL and document.operation == "1":
        return Invoice.Kind.OUTPUT
    raise _refuse(
        "nfe_purpose",
        _(
            "Only a sale NF-e (tpNF 1, finNFe 1) or a return NF-e (finNFe 4) makes an invoice; this one has "
            "tpNF %(operation)s and finNFe %(purpose)s."
        )
        % {"operation": document.operation, "purpose": document.purpose},
    )


def nfe_invoice_input(*, order: Order, document: NfeDocument) -> InvoiceInput:
    """The invoice the NF-e makes on `order`, after the checks that are the NF-e's own.

    The NF-e's issue date is not compared with the order's creation date: ERPs re-issue. The value,
    the quantities left and the kind open are invoice_create's rules, not repeated here.
    """
    if document.is_homologation and not settings.NFE_ALLOW_HOMOLOGATION:
        raise _refuse(
            "nfe_homologation",
            _(
                "This NF-e was issued in SEFAZ's homologation (test) environment (tpAmb 2) and has no fiscal value; "
                "such NF-e are accepted only with ERP_BRIDGE_NFE_ALLOW_HOMOLOGATION=1."
            ),
        )
    kind = nfe_invoice_kind(document)
    buyer = _document_digits(order.customer_document)
    recipient = _document_digits(document.recipient_document)
    if not recipient or recipient != buyer:
        raise _refuse(
            "nfe_recipient",
            _("The NF-e's recipient (dest CPF/CNPJ %(recipient)s) is not the order's buyer (%(buyer)s).")
            % {"recipient": recipient or "-", "buyer": buyer or "-"},
            "dest",
        )
    return InvoiceInput(
        number=document.number,
        issued_at=document.issued_at,
        lines=_match_lines(order=order, document=document, kind=kind),
        kind=kind,
        value_cents=document.value_cents,
        access_key=document.access_key,
        url=nfe_danfe_link(document.access_key),
        nfe_xml=document.xml,
        nfe_series=document.series,
        nfe_homologation=document.is_homologation,
    )


def _match_lines(*, order: Order, document: NfeDocument, kind: str) -> list[tuple[int, int]]:
    """(item_index, quantity) per order item: each det by its EAN, else by its code as SKU or ref id.

    Several SKUs that still fit are an error, never a guess. An order can hold one SKU on several
    lines (a gift, a second price): the units then fill those
    lines in order, each up to what it has left to invoice (or to return); the last takes any excess,
    which invoice_create refuses with the quantity left.
    """
    quantities = order_item_quantities(order)
    items = [quantities[index] for index in sorted(quantities)]
    errors = FieldErrors()
    wanted: dict[int, int] = {}
    for line in document.lines:
        key = f"det[{line.position}]"
        if line.quantity <= 0 or line.quantity != line.quantity.to_integral_value():
            errors.add(
                key,
                _(
                    "NF-e item %(position)s (“%(name)s”) has %(quantity)s units; only whole units can be "
                    "matched to the order's items."
                )
                % {"position": line.position, "name": line.name, "quantity": line.quantity},
            )
            continue
        candidates = _candidates(items, line)
        if not candidates:
            errors.add(
                key,
                _(
                    "NF-e item %(position)s (“%(name)s”, EAN %(ean)s, code %(code)s) matches no item of "
                    "the order (by EAN, then SKU or ref id)."
                )
                % {"position": line.position, "name": line.name, "ean": line.ean or "-", "code": line.code},
            )
            continue
        if len({entry.item.sku_id for entry in candidates}) > 1:
            errors.add(
                key,
                _(
                    "NF-e item %(position)s (“%(name)s”) matches several different items of the order (%(items)s); "
                    "it is not guessed: enter this invoice by hand."
                )
                % {
                    "position": line.position,
                    "name": line.name,
                    "items": ", ".join(f"“{entry.item.name}”" for entry in candidates),
                },
            )
            continue
        left = int(line.quantity)
        for number, entry in enumerate(candidates, start=1):
            room = (entry.remaining if kind == Invoice.Kind.OUTPUT else entry.returnable) - wanted.get(
                entry.item.item_index, 0
            )
            take = left if number == len(candidates) else min(left, max(room, 0))
            if take:
                wanted[entry.item.item_index] = wanted.get(entry.item.item_index, 0) + take
                left -= take
    errors.raise_if_any(_("The NF-e's items do not match the order."))
    return sorted(wanted.items())


def _candidates(items: list[ItemQuantities], line: NfeLine) -> list[ItemQuantities]:
    """The order's lines of the det's SKU: by EAN; where the EAN is missing, or shared by several
    SKUs, by the code (cProd) as SKU id or ref id."""
    by_ean = [entry for entry in items if line.ean and entry.item.ean == line.ean]
    if len({entry.item.sku_id for entry in by_ean}) == 1:
        return by_ean
    pool = by_ean or items
    by_code = [entry for entry in pool if line.code and line.code in (entry.item.sku_id, entry.item.ref_id)]
    return by_code or by_ean


def nfe_import(*, order: Order, raw: bytes, actor=None, via: str = "admin") -> tuple[Invoice, bool]:
    """Make the invoice of an NF-e on `order`: (invoice, created). The same NF-e again gives the
    invoice it made (created False); its access key on another order is refused."""
    document = nfe_load(raw)
    existing = _invoice_with_key(document.access_key, order)
    if existing is not None:
        return existing, False
    data = nfe_invoice_input(order=order, document=document)
    try:
        return invoice_create(order=order, data=data, actor=actor, via=via), True
    except (ServiceError, IntegrityError):
        # The same NF-e imported at the same moment by someone else: theirs is the invoice.
        existing = _invoice_with_key(document.access_key, order)
        if existing is not None:
            return existing, False
        raise


def _invoice_with_key(access_key: str, order: Order) -> Invoice | None:
    """This order's invoice with the key, None when none has it; refused when another order has it."""
    invoices = list(Invoice.objects.filter(access_key=access_key).select_related("order")[:2])
    mine = next((invoice for invoice in invoices if invoice.order_id == order.pk), None)
    if mine is not None:
        return mine
    if invoices:
        raise Conflict(
            _("This NF-e (access key %(key)s) is already the invoice %(number)s of order %(order)s.")
            % {"key": access_key, "number": invoices[0].number, "order": invoices[0].order.order_id},
            fields={"xml": [_("Access key already used on another order.")]},
            code="nfe_key_used",
        )
    return None


# ---- matching a file to its order (bulk upload) --------------------------------------------------------

_ORDER_ID = re.compile(r"\b\d{6,20}-\d{2}\b")


@dataclass(frozen=True)
class NfeMatch:
    order: Order | None
    reason: str  # why no order, or how it was found
    candidates: tuple[str, ...] = ()


def nfe_match_order(document: NfeDocument) -> NfeMatch:
    """The order an NF-e belongs to, never guessed.

    1. An order id in compra/xPed, an item's xPed or infAdic/infCpl; else an xPed equal to an
       order's sequence.
    2. Else the open orders of the recipient's CPF/CNPJ whose value left to invoice (a sale) is vNF,
       or that can still take a return of vNF.
    Several candidates at either step: no order, the candidates listed.
    """
    texts = (*document.purchase_orders, document.notes)
    order_ids = {token for text in texts for token in _ORDER_ID.findall(text)}
    found = list(Order.objects.filter(order_id__in=order_ids)[:5])
    if not found and document.purchase_orders:
        # A bare number in xPed is the order's sequence (never a number picked out of free text).
        found = list(Order.objects.filter(sequence__in=[text.strip() for text in document.purchase_orders])[:5])
    if len(found) == 1:
        return NfeMatch(found[0], _("order named in the NF-e"))
    if len(found) > 1:
        return NfeMatch(
            None, _("The NF-e names several orders; import it on its order."), tuple(order.order_id for order in found)
        )
    recipient = _document_digits(document.recipient_document)
    if not recipient:
        return NfeMatch(None, _("The NF-e names no order and has no recipient CPF/CNPJ."))
    try:
        kind = nfe_invoice_kind(document)
    except NfeRefused as error:
        return NfeMatch(None, error.message)
    matches = [
        order
        for order in Order.objects.filter(customer_document__in={recipient, document.recipient_document})
        .exclude(state__in=[Order.State.CANCELED, Order.State.REPLACED])
        .order_by("created_at_vtex", "pk")[:50]
        if _value_fits(order, kind, document.value_cents)
    ]
    if len(matches) == 1:
        return NfeMatch(matches[0], _("the buyer's only open order of this value"))
    if not matches:
        return NfeMatch(
            None,
            _("No order named in the NF-e, and no open order of buyer %(buyer)s for this value.")
            % {"buyer": recipient},
        )
    return NfeMatch(
        None,
        _("Several open orders of buyer %(buyer)s fit this value; import it on its order.") % {"buyer": recipient},
        tuple(order.order_id for order in matches),
    )


def _value_fits(order: Order, kind: str, value_cents: int) -> bool:
    """A sale NF-e fits an order whose value left to invoice is exactly vNF (it completes it); a
    return fits one that can take a return of vNF. A partial sale NF-e must name its order."""
    if kind not in invoice_kinds_open(order):
        return False
    if kind == Invoice.Kind.OUTPUT:
        return order.total_cents - order_invoiced_cents(order) == value_cents
    return 0 < value_cents <= order_returnable_cents(order)


# ---- several files at once (the invoice list's upload) -------------------------------------------------

#: A ZIP of NF-e: at most this many entries, each at most MAX_NFE_BYTES once unpacked (checked
#: before unpacking, so a small archive cannot expand into gigabytes).
MAX_ZIP_ENTRIES = 200


@dataclass(frozen=True)
class NfeFileResult:
    """What happened to one file of a bulk upload: its invoice, or why none."""

    name: str
    order: Order | None = None
    invoice: Invoice | None = None
    created: bool = False
    problem: str = ""
    candidates: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.invoice is not None


def nfe_files_unpacked(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes | None, str]]:
    """(name, content, problem) per NF-e: XML files as they are, each XML entry of a ZIP as a file of
    its own ("archive.zip/entry.xml"). A problem with the file itself leaves content None."""
    unpacked: list[tuple[str, bytes | None, str]] = []
    for name, content in files:
        if not zipfile.is_zipfile(io.BytesIO(content)):
            unpacked.append((name, content, ""))
            continue
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                entries = [entry for entry in archive.infolist() if not entry.is_dir()]
                if len(entries) > MAX_ZIP_ENTRIES:
                    unpacked.append(
                        (name, None, _("The ZIP holds more than %(max)s files.") % {"max": MAX_ZIP_ENTRIES})
                    )
                    continue
                for entry in entries:
                    label = f"{name}/{entry.filename}"
                    if not entry.filename.lower().endswith(".xml"):
                        unpacked.append((label, None, _("Not an XML file; skipped.")))
                    elif entry.file_size > MAX_NFE_BYTES:
                        unpacked.append(
                            (label, None, _("The file is larger than %(max)s MB: it is not an NF-e.") % {"max": 2})
                        )
                    else:
                        with archive.open(entry) as stream:
                            unpacked.append((label, stream.read(MAX_NFE_BYTES + 1), ""))
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError):  # corrupt, unknown method, encrypted
            unpacked.append((name, None, _("The ZIP file could not be read.")))
    return unpacked


def nfe_import_files(*, files: list[tuple[str, bytes]], actor=None, via: str = "admin") -> list[NfeFileResult]:
    """Each NF-e of the upload imported on the order it names or fits (nfe_match_order), one at a
    time: one refused file does not stop the others. Nothing is guessed."""
    results = []
    for name, content, problem in nfe_files_unpacked(files):
        if content is None:
            results.append(NfeFileResult(name, problem=problem))
            continue
        try:
            document = nfe_load(content)
        except ServiceError as error:
            results.append(NfeFileResult(name, problem=error.message))
            continue
        match = nfe_match_order(document)
        if match.order is None:
            results.append(NfeFileResult(name, problem=match.reason, candidates=match.candidates))
            continue
        try:
            invoice, created = nfe_import(order=match.order, raw=content, actor=actor, via=via)
        except ServiceError as error:
            results.append(NfeFileResult(name, order=match.order, problem=str(error)))
            continue
        results.append(NfeFileResult(name, order=match.order, invoice=invoice, created=created))
    return results


# ---- the DANFE ---------------------------------------------------------------------------------------------


def nfe_danfe_pdf(invoice: Invoice) -> bytes:
    """The DANFE (the NF-e's printable auxiliary document) rendered by brazilfiscalreport from the
    XML kept with the invoice; the XML was validated when it was imported."""
    if not invoice.nfe_xml:
        raise NotAllowed(
            _("Invoice %(number)s was not imported from an NF-e: there is no DANFE.") % {"number": invoice.number}
        )
    return bytes(Danfe(xml=invoice.nfe_xml).output())


# ---- the shopper's link to the DANFE (VTEX's invoiceUrl) ---------------------------------------------------

#: The signer's namespace: a token of this link is no token of anything else signed with SECRET_KEY.
_DANFE_LINK_SALT = "erp-bridge.nfe.danfe-link"


def nfe_danfe_link(access_key: str) -> str:
    """The public, signed link to the DANFE of the NF-e with this key, "" without PUBLIC_BASE_URL.

    It names the NF-e only (its access key, which the DANFE prints anyway); the signature makes it
    unguessable and it expires after DANFE_LINK_MAX_AGE_S. It opens the PDF and nothing else.
    """
    if not settings.PUBLIC_BASE_URL:
        return ""
    token = signing.dumps(access_key, salt=_DANFE_LINK_SALT, compress=False)
    return f"{settings.PUBLIC_BASE_URL}{reverse('nfe-danfe', args=[token])}"


def nfe_danfe_for_link(token: str) -> bytes:
    """The DANFE a link's token opens; NotAllowed (and nothing said about why) when it is forged,
    expired or its invoice gone."""
    try:
        access_key = signing.loads(token, salt=_DANFE_LINK_SALT, max_age=settings.DANFE_LINK_MAX_AGE_S)
    except signing.BadSignature:  # SignatureExpired included
        raise NotAllowed(_("This link to the DANFE is not valid (any more).")) from None
    invoice = Invoice.objects.filter(access_key=access_key).exclude(nfe_xml="").first()
    if invoice is None:
        raise NotAllowed(_("This link to the DANFE is not valid (any more)."))
    return nfe_danfe_pdf(invoice)
