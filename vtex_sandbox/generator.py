"""Deterministic, realistic VTEX orders for the sandbox store.

Everything random comes from one seeded ``random.Random``, so the same seed gives the same
orders (ids, customers, items, money). Dates are relative to the ``now`` the generator is
given, so pass a fixed ``now`` for byte-identical orders across runs.

The money always adds up to the cent (VTEX-API.md §0: all OMS amounts are integer cents):

    totals.Items     = Σ items.price × quantity
    totals.Discounts = Σ (items.sellingPrice − items.price) × quantity      (≤ 0)
                     = Σ items.priceTags.value                              (line totals)
    totals.Shipping  = Σ shippingData.logisticsInfo.sellingPrice
    totals.Tax       = Σ items.tax × quantity                               (per-unit tax)
    value            = Items + Discounts + Shipping + Tax = Σ payments.value
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# VTEX's order-status strings (VTEX-API.md §10) and the Portuguese descriptions the OMS shows
# for a Brazilian store (statusDescription is deprecated but still sent).
STATUS_DESCRIPTIONS: dict[str, str] = {
    "order-created": "Processando",
    "on-order-completed": "Processando",
    "payment-pending": "Pagamento Pendente",
    "waiting-for-authorization": "Aguardando autorização",
    "waiting-for-seller-decision": "Aguardando decisão do seller",
    "approve-payment": "Aprovando Pagamento",
    "payment-approved": "Pagamento Aprovado",
    "payment-denied": "Pagamento Negado",
    "request-cancel": "Solicitar Cancelamento",
    "window-to-cancel": "Carência para Cancelamento",
    "ready-for-handling": "Pronto para o manuseio",
    "start-handling": "Iniciar Manuseio",
    "handling": "Preparando Entrega",
    "invoice": "Verificando Fatura",
    "invoiced": "Faturado",
    "replaced": "Substituído",
    "cancellation-requested": "Cancelamento solicitado",
    "cancel": "Cancelando",
    "canceled": "Cancelado",
}

# The status that precedes each one in VTEX's normal flow; used as ``lastState`` of the feed
# event an order emits when it is created directly in that status.
PREVIOUS_STATUS: dict[str, str] = {
    "payment-pending": "order-created",
    "payment-approved": "payment-pending",
    "window-to-cancel": "payment-approved",
    "ready-for-handling": "window-to-cancel",
    "handling": "start-handling",
}

_FIRST_NAMES = (
    "Ana",
    "Beatriz",
    "Bruna",
    "Camila",
    "Carla",
    "Daniela",
    "Fernanda",
    "Gabriela",
    "Helena",
    "Isabela",
    "Juliana",
    "Larissa",
    "Luana",
    "Mariana",
    "Patrícia",
    "Raquel",
    "Sofia",
    "Tatiane",
    "Vanessa",
    "Yasmin",
    "André",
    "Antônio",
    "Bruno",
    "Carlos",
    "Diego",
    "Eduardo",
    "Felipe",
    "Gustavo",
    "João",
    "José",
    "Leonardo",
    "Lucas",
    "Marcelo",
    "Mateus",
    "Paulo",
    "Rafael",
    "Ricardo",
    "Rodrigo",
    "Thiago",
    "Vinícius",
)
_LAST_NAMES = (
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
)


@dataclass(frozen=True)
class _City:
    name: str
    uf: str
    cep_from: int  # first 5 digits of the city's CEP range
    cep_to: int
    neighborhoods: tuple[str, ...]


_CITIES = (
    _City("São Paulo", "SP", 1000, 5999, ("Pinheiros", "Vila Mariana", "Moema", "Tatuapé", "Santana", "Lapa")),
    _City("Rio de Janeiro", "RJ", 20000, 23799, ("Copacabana", "Tijuca", "Botafogo", "Barra da Tijuca", "Méier")),
    _City("Belo Horizonte", "MG", 30000, 31999, ("Savassi", "Pampulha", "Funcionários", "Buritis")),
    _City("Curitiba", "PR", 80000, 82999, ("Batel", "Água Verde", "Centro Cívico", "Portão")),
    _City("Porto Alegre", "RS", 90000, 91999, ("Moinhos de Vento", "Menino Deus", "Petrópolis", "Cidade Baixa")),
    _City("Salvador", "BA", 40000, 42599, ("Barra", "Pituba", "Rio Vermelho", "Itapuã")),
    _City("Recife", "PE", 50000, 52999, ("Boa Viagem", "Casa Forte", "Graças", "Madalena")),
    _City("Fortaleza", "CE", 60000, 61599, ("Aldeota", "Meireles", "Benfica", "Messejana")),
    _City("Brasília", "DF", 70000, 72799, ("Asa Norte", "Asa Sul", "Lago Sul", "Sudoeste")),
    _City("Goiânia", "GO", 74000, 74899, ("Setor Bueno", "Setor Marista", "Jardim Goiás")),
    _City("Florianópolis", "SC", 88000, 88099, ("Centro", "Trindade", "Lagoa da Conceição", "Coqueiros")),
    _City("Campinas", "SP", 13000, 13139, ("Cambuí", "Taquaral", "Barão Geraldo")),
    _City("Manaus", "AM", 69000, 69099, ("Adrianópolis", "Ponta Negra", "Flores")),
    _City("Belém", "PA", 66000, 66999, ("Nazaré", "Umarizal", "Batista Campos")),
    _City("Vitória", "ES", 29000, 29099, ("Praia do Canto", "Jardim da Penha", "Bento Ferreira")),
)
_STREETS = (
    "Rua das Flores",
    "Avenida Paulista",
    "Rua XV de Novembro",
    "Rua Sete de Setembro",
    "Avenida Brasil",
    "Rua Tiradentes",
    "Rua Dom Pedro II",
    "Avenida Getúlio Vargas",
    "Rua Marechal Deodoro",
    "Rua da Consolação",
    "Avenida Atlântica",
    "Rua Augusta",
    "Rua Barão do Rio Branco",
    "Alameda Santos",
    "Rua Bela Cintra",
)
_COMPLEMENTS = ("", "", "", "Apto 12", "Apto 304", "Casa 2", "Bloco B, apto 51", "Fundos", "Sala 7")


@dataclass(frozen=True)
class _Product:
    sku: str
    product_id: str
    name: str
    ref_id: str
    price: int  # cents, per unit
    brand: str
    category: str
    weight_g: int


_CATALOG = (
    _Product("101", "11", "Camiseta Básica Algodão Branca M", "CAM-BAS-BR-M", 4990, "Basicco", "Camisetas", 180),
    _Product("102", "11", "Camiseta Básica Algodão Preta G", "CAM-BAS-PR-G", 4990, "Basicco", "Camisetas", 190),
    _Product("115", "15", "Calça Jeans Slim Azul 42", "CAL-JNS-AZ-42", 15990, "Denim Rio", "Calças", 620),
    _Product("121", "19", "Tênis Corrida Leve 40", "TEN-COR-40", 29999, "Passo Firme", "Calçados", 780),
    _Product("122", "19", "Tênis Corrida Leve 42", "TEN-COR-42", 29999, "Passo Firme", "Calçados", 800),
    _Product("130", "23", "Garrafa Térmica Inox 750 ml", "GAR-TER-750", 8990, "Casa Viva", "Utilidades", 420),
    _Product("131", "24", "Caneca Cerâmica 350 ml", "CAN-CER-350", 3450, "Casa Viva", "Utilidades", 360),
    _Product("140", "30", "Fone de Ouvido Bluetooth", "FON-BT-01", 19990, "Som Livre", "Eletrônicos", 210),
    _Product("141", "31", "Carregador USB-C 20W", "CAR-USBC-20", 7990, "Som Livre", "Eletrônicos", 120),
    _Product("142", "32", "Cabo USB-C 1 m", "CAB-USBC-1M", 2999, "Som Livre", "Eletrônicos", 60),
    _Product("150", "40", "Café em Grãos Especial 500 g", "CAF-GRA-500", 5490, "Serra Alta", "Mercearia", 520),
    _Product("151", "41", "Chá Mate Orgânico 250 g", "CHA-MAT-250", 2333, "Serra Alta", "Mercearia", 270),
    _Product("160", "50", "Livro: Receitas da Vovó", "LIV-REC-VOV", 6990, "Editora Lume", "Livros", 540),
    _Product("161", "51", "Caderno Espiral 200 folhas", "CAD-ESP-200", 2799, "Papelaria Sol", "Papelaria", 650),
    _Product("170", "60", "Kit Toalhas Banho 2 peças", "TOA-BAN-KIT2", 11999, "Casa Viva", "Cama, Mesa e Banho", 900),
    _Product(
        "171", "61", "Jogo de Lençol Casal 150 fios", "LEN-CAS-150", 18990, "Casa Viva", "Cama, Mesa e Banho", 1100
    ),
    _Product("180", "70", "Mochila Urbana 20 L", "MOC-URB-20", 21490, "Trilha", "Acessórios", 700),
    _Product("181", "71", "Boné Aba Curva", "BON-ABA-CUR", 5999, "Trilha", "Acessórios", 110),
    _Product("190", "80", "Protetor Solar FPS 50 200 ml", "PRO-SOL-50", 6789, "Pele Boa", "Beleza", 230),
    _Product("191", "81", "Shampoo Hidratante 400 ml", "SHA-HID-400", 2599, "Pele Boa", "Beleza", 430),
    _Product("200", "90", "Luminária de Mesa LED", "LUM-MES-LED", 13957, "Luz & Cia", "Casa", 950),
    _Product("201", "91", "Organizador de Gaveta", "ORG-GAV-01", 1899, "Casa Viva", "Casa", 150),
)


@dataclass(frozen=True)
class _Carrier:
    name: str
    sla: str
    business_days: int
    base_price: int  # cents for the whole order, before the per-item share


_CARRIERS = (
    _Carrier("Correios PAC", "Normal", 7, 1890),
    _Carrier("Correios SEDEX", "Expressa", 2, 3290),
    _Carrier("Jadlog", "Normal", 5, 1590),
    _Carrier("Loggi", "Expressa", 1, 2490),
    _Carrier("Total Express", "Normal", 4, 1790),
)

# VTEX payment system ids (``paymentSystem``) as configured on Brazilian stores.
_CARDS = (("2", "Visa", "4"), ("4", "Mastercard", "5"), ("1", "American Express", "3"), ("9", "Elo", "6"))
_PIX = ("125", "Pix", "instantPayment")
_BOLETO = ("6", "Boleto Bancário", "bankInvoice")
_GIFT_CARD = ("16", "Vale-presente", "giftCard")
_AFFILIATES = (("MLB", "Mercado Livre"), ("AMZ", "Amazon"), ("MGZ", "Magalu"))


def vtex_datetime(moment: datetime) -> str:
    """VTEX's OMS date format: UTC, 7 fractional digits, ``+00:00`` (see the spec's examples).

    Python keeps microseconds, so the 7th digit (100 ns ticks in .NET) is always 0.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def vtex_datetime_z(moment: datetime) -> str:
    """The feed/hook date format of VTEX's examples: 7 fractional digits and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def cpf_check_digits(first_nine: str) -> str:
    """The two check digits of a CPF (Receita Federal's mod-11 rule)."""
    digits = [int(d) for d in first_nine]
    for weight_start in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weight_start, 1, -1), strict=False))
        remainder = total * 10 % 11
        digits.append(0 if remainder == 10 else remainder)
    return f"{digits[-2]}{digits[-1]}"


def is_valid_cpf(cpf: str) -> bool:
    numbers = "".join(ch for ch in cpf if ch.isdigit())
    if len(numbers) != 11 or len(set(numbers)) == 1:
        return False
    return cpf_check_digits(numbers[:9]) == numbers[9:]


def ean13(first_twelve: str) -> str:
    """A valid EAN-13 (GS1 check digit) from 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)


def _ascii_slug(text: str, separator: str = "-") -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(ch if ch.isalnum() else " " for ch in plain).split()
    return separator.join(words)


def _split(total: int, parts: int) -> list[int]:
    """``total`` cents in ``parts`` shares that add up exactly (the remainder goes to the last)."""
    share = total // parts
    return [share] * (parts - 1) + [total - share * (parts - 1)]


class OrderGenerator:
    """Builds full VTEX order documents (the Get order JSON) from a seeded RNG.

    The generator does not track state: the store gives it the sequence and the dates, and keeps
    the orders. Ids are unique within one generator.
    """

    def __init__(self, *, seed: int | None, account: str) -> None:
        self._rng = random.Random(seed)
        self._account = account
        self._merchant = account
        self._used_groups: set[str] = set()
        self.first_sequence = 500_000 + self._rng.randrange(1000, 9000)

    # -- public -----------------------------------------------------------------------------
    def spread_creation_dates(self, count: int, now: datetime, days: int = 7) -> list[datetime]:
        """``count`` creation dates over the last ``days`` days, oldest first.

        Each is at least an hour old, so the order had time to go through VTEX's 30-minute
        window-to-cancel before reaching ready-for-handling (VTEX-API.md §10).
        """
        offsets = sorted((self._rng.uniform(3600, days * 86400) for _ in range(count)), reverse=True)
        return [now - timedelta(seconds=offset) for offset in offsets]

    def new_purchase(
        self,
        *,
        sequence: int,
        created: datetime,
        status: str,
        last_change: datetime,
        allow_split: bool = True,
        features: Any = None,
    ) -> list[dict[str, Any]]:
        """The orders of one purchase, sequences from ``sequence``: here always one order.

        The real shapes (split purchases, company buyers, pickup, changes...) are generated by
        ``shapes.ShapedOrderGenerator``, which overrides this.
        """
        if features:
            raise ValueError("order features need the real shapes: shapes='mixed'")
        return [self.new_order(sequence=sequence, created=created, status=status, last_change=last_change)]

    def new_order(self, *, sequence: int, created: datetime, status: str, last_change: datetime) -> dict[str, Any]:
        rng = self._rng
        group = self._new_order_group()
        order_id = f"{group}-01"
        customer = self._customer()
        address = self._address(customer)
        items = self._items(order_id)
        carrier = rng.choice(_CARRIERS)
        logistics = self._logistics(items, carrier, address, created)
        totals = self._totals(items, logistics)
        value = sum(total["value"] for total in totals)
        # Payment is authorized minutes after the purchase, never after the order's last change.
        authorized = min(created + timedelta(seconds=rng.randint(20, 600)), last_change)
        transaction, gift_cards = self._payment_data(value, customer, address, created)
        affiliate_id, marketplace_order_id = self._affiliate(sequence)
        return self._document(
            order_id=order_id,
            group=group,
            sequence=sequence,
            status=status,
            created=created,
            last_change=last_change,
            authorized=authorized,
            value=value,
            totals=totals,
            items=items,
            customer=customer,
            address=address,
            logistics=logistics,
            payment_data={"giftCards": gift_cards, "transactions": [transaction]},
            affiliate_id=affiliate_id,
            marketplace_order_id=marketplace_order_id,
        )

    def _document(
        self,
        *,
        order_id: str,
        group: str,
        sequence: int,
        status: str,
        created: datetime,
        last_change: datetime,
        authorized: datetime,
        value: int,
        totals: list[dict[str, Any]],
        items: list[dict[str, Any]],
        customer: dict[str, Any],
        address: dict[str, Any],
        logistics: list[dict[str, Any]],
        payment_data: dict[str, Any],
        affiliate_id: str,
        marketplace_order_id: str,
    ) -> dict[str, Any]:
        """The Get order JSON from its parts (the few random fields left are drawn here, in order)."""
        rng = self._rng
        return {
            "orderId": order_id,
            "sequence": str(sequence),
            "marketplaceOrderId": marketplace_order_id,
            "marketplaceServicesEndpoint": f"http://oms.vtexinternal.com.br/api/oms?an={self._account}",
            "sellerOrderId": f"00-{order_id}",
            "origin": "Marketplace",
            "affiliateId": affiliate_id,
            "salesChannel": "1",
            "merchantName": self._merchant,
            "status": status,
            "workflowIsInError": False,
            "statusDescription": STATUS_DESCRIPTIONS.get(status, status),
            "value": value,
            "creationDate": vtex_datetime(created),
            "lastChange": vtex_datetime(last_change),
            "orderGroup": group,
            "followUpEmail": f"{self._hex(32).lower()}@ct.vtex.com.br",
            "lastMessage": None,
            "hostname": self._account,
            "isCompleted": True,
            "roundingError": 0,
            "orderFormId": self._hex(32).lower(),
            "allowCancellation": True,
            "allowEdition": False,
            "isCheckedIn": False,
            "authorizedDate": vtex_datetime(authorized),
            "invoicedDate": None,
            "cancelReason": None,
            "checkedInPickupPointId": None,
            "totals": totals,
            "sellers": [
                {
                    "id": "1",
                    "name": self._merchant,
                    "logo": "",
                    "fulfillmentEndpoint": f"http://fulfillment.vtexcommerce.com.br/api/fulfillment?an={self._account}",
                }
            ],
            "clientPreferencesData": {"locale": "pt-BR", "optinNewsLetter": rng.random() < 0.4},
            "cancellationData": None,
            "taxData": None,
            "subscriptionData": None,
            "itemMetadata": {"Items": [self._item_metadata(item) for item in items]},
            "marketplace": {
                "baseURL": f"http://oms.vtexinternal.com.br/api/oms?an={self._account}",
                "isCertified": None,
                "name": self._account,
            },
            "storePreferencesData": {
                "countryCode": "BRA",
                "currencyCode": "BRL",
                "currencyFormatInfo": {
                    "CurrencyDecimalDigits": 2,
                    "CurrencyDecimalSeparator": ",",
                    "CurrencyGroupSeparator": ".",
                    "CurrencyGroupSize": 3,
                    "StartsWithCurrencySymbol": True,
                },
                "currencyLocale": 1046,
                "currencySymbol": "R$",
                "timeZone": "E. South America Standard Time",
            },
            "customData": None,
            "commercialConditionData": None,
            "openTextField": None,
            "invoiceData": None,
            "changesAttachment": None,
            "callCenterOperatorData": None,
            "packageAttachment": {"packages": []},
            "paymentData": payment_data,
            "shippingData": {
                "id": "shippingData",
                "address": address,
                "logisticsInfo": logistics,
                "trackingHints": None,
                "selectedAddresses": [dict(address)],
                "contactInformation": [],
            },
            "ratesAndBenefitsData": self._rates_and_benefits(items),
            "marketingData": None,
            "giftRegistryData": None,
            "clientProfileData": customer,
            "items": items,
            "marketplaceItems": [],
        }

    # -- ids ----------------------------------------------------------------------------------
    def _hex(self, length: int) -> str:
        return f"{self._rng.getrandbits(4 * length):0{length}X}"

    def _digits(self, length: int) -> str:
        return f"{self._rng.randrange(10**length):0{length}d}"

    def _new_order_group(self) -> str:
        # VTEX order groups are 13 digits (e.g. 1172452900788); the order id adds "-01".
        while True:
            group = str(self._rng.randrange(1_100_000_000_000, 1_600_000_000_000))
            if group not in self._used_groups:
                self._used_groups.add(group)
                return group

    def _affiliate(self, sequence: int) -> tuple[str, str]:
        if self._rng.random() < 0.2:
            code, _name = self._rng.choice(_AFFILIATES)
            return code, f"{code}-{2_000_000_000 + sequence}"
        return "", ""

    # -- customer and address -----------------------------------------------------------------
    def _customer(self) -> dict[str, Any]:
        rng = self._rng
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        nine = self._digits(9)
        while len(set(nine)) == 1:  # 111.111.111-11 and the like are invalid CPFs
            nine = self._digits(9)
        area = rng.choice(("11", "21", "31", "41", "51", "61", "71", "81", "85", "92"))
        return {
            "id": "clientProfileData",
            "email": f"{_ascii_slug(first, '.')}.{_ascii_slug(last, '.')}{rng.randint(1, 999)}@example.com",
            "firstName": first,
            "lastName": last,
            "documentType": "cpf",
            "document": nine + cpf_check_digits(nine),
            "phone": f"+55{area}9{self._digits(8)}",
            "corporateName": None,
            "tradeName": None,
            "corporateDocument": None,
            "stateInscription": None,
            "corporatePhone": None,
            "isCorporate": False,
            "userProfileId": self._uuid(),
            "userProfileVersion": None,
            "customerClass": None,
            "customerCode": None,
        }

    def _uuid(self) -> str:
        raw = self._hex(32).lower()
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"

    def _address(self, customer: dict[str, Any]) -> dict[str, Any]:
        rng = self._rng
        city = rng.choice(_CITIES)
        cep = f"{rng.randint(city.cep_from, city.cep_to):05d}-{rng.randint(0, 999):03d}"
        return {
            "addressType": "residential",
            "receiverName": f"{customer['firstName']} {customer['lastName']}",
            "addressId": self._digits(13),
            "versionId": None,
            "entityId": None,
            "postalCode": cep,
            "city": city.name,
            "state": city.uf,
            "country": "BRA",
            "street": rng.choice(_STREETS),
            "number": str(rng.randint(1, 3999)),
            "neighborhood": rng.choice(city.neighborhoods),
            "complement": rng.choice(_COMPLEMENTS),
            "reference": None,
            "geoCoordinates": [],
        }

    # -- items and money ----------------------------------------------------------------------
    def _items(self, order_id: str) -> list[dict[str, Any]]:
        rng = self._rng
        products = rng.sample(_CATALOG, rng.randint(1, 5))  # distinct SKUs: an SKU maps to one itemIndex
        with_tax = rng.random() < 0.15
        return [self._item(product, order_id, with_tax) for product in products]

    def _item(self, product: _Product, order_id: str, with_tax: bool) -> dict[str, Any]:
        rng = self._rng
        quantity = rng.randint(1, 3)
        price = product.price
        list_price = price if rng.random() < 0.6 else price + rng.choice((1000, 2000, 3001))
        unit_discount = round(price * rng.choice((5, 10, 12, 15, 20)) / 100) if rng.random() < 0.35 else 0
        selling_price = price - unit_discount
        unit_tax = round(selling_price * rng.choice((1, 2, 3)) / 100) if with_tax else 0
        slug = _ascii_slug(product.name)
        price_tags = []
        if unit_discount:
            line_discount = -unit_discount * quantity
            price_tags.append(
                {
                    "name": "DISCOUNT@MARKETPLACE",
                    "value": line_discount,
                    "isPercentual": False,
                    "identifier": self._uuid(),
                    "rawValue": line_discount / 100,
                }
            )
        return {
            "uniqueId": self._hex(32),
            "id": product.sku,
            "productId": product.product_id,
            "ean": ean13("789" + product.sku.zfill(9)),
            "lockId": f"00-{order_id}",
            "itemAttachment": {"content": {}, "name": None},
            "attachments": [],
            "quantity": quantity,
            "seller": "1",
            "name": product.name,
            "refId": product.ref_id,
            "price": price,
            "listPrice": list_price,
            "manualPrice": None,
            "priceTags": price_tags,
            "imageUrl": f"https://{self._account}.vteximg.com.br/arquivos/ids/{155000 + int(product.sku)}-55-55/"
            f"{slug}.jpg",
            "detailUrl": f"/{slug}/p",
            "components": [],
            "bundleItems": [],
            "params": [],
            "offerings": [],
            "attachmentOfferings": [],
            "sellerSku": product.sku,
            "priceValidUntil": None,
            "commission": 0,
            "tax": unit_tax,
            "preSaleDate": None,
            "additionalInfo": {
                "brandName": product.brand,
                "brandId": str(2_000_000 + int(product.product_id)),
                "categoriesIds": f"/{int(product.product_id) // 10 + 1}/",
                "categories": [{"id": int(product.product_id) // 10 + 1, "name": product.category}],
                "productClusterId": "",
                "commercialConditionId": "1",
                "dimension": {"cubicweight": 0.5, "height": 10, "length": 20, "weight": product.weight_g, "width": 15},
                "offeringInfo": None,
                "offeringType": None,
                "offeringTypeId": None,
            },
            "measurementUnit": "un",
            "unitMultiplier": 1,
            "sellingPrice": selling_price,
            "isGift": False,
            "shippingPrice": None,
            "rewardValue": 0,
            "freightCommission": 0,
            "priceDefinitions": {
                "sellingPrices": [{"value": selling_price, "quantity": quantity}],
                "calculatedSellingPrice": selling_price,
                "total": selling_price * quantity,
            },
            "taxCode": None,
            "parentItemIndex": None,
            "parentAssemblyBinding": None,
            "callCenterOperator": None,
            "serialNumbers": None,
            "assemblies": [],
            "costPrice": round(price * 0.55),
        }

    @staticmethod
    def _item_metadata(item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Id": item["id"],
            "Seller": item["seller"],
            "Name": item["name"],
            "SkuName": item["name"],
            "ProductId": item["productId"],
            "RefId": item["refId"],
            "Ean": item["ean"],
            "ImageUrl": item["imageUrl"],
            "DetailUrl": item["detailUrl"],
            "AssemblyOptions": [],
        }

    def _logistics(
        self, items: list[dict[str, Any]], carrier: _Carrier, address: dict[str, Any], created: datetime
    ) -> list[dict[str, Any]]:
        rng = self._rng
        units = sum(item["quantity"] for item in items)
        free_shipping = rng.random() < 0.15
        order_shipping = 0 if free_shipping else carrier.base_price + 250 * (units - 1) + rng.randint(0, 99)
        shares = _split(order_shipping, len(items))
        estimate_date = created + timedelta(days=carrier.business_days + 2)
        sla_id = carrier.sla
        return [
            {
                "itemIndex": index,
                "selectedSla": sla_id,
                "lockTTL": "10d",
                "price": share,
                "listPrice": share,
                "sellingPrice": share,
                "deliveryWindow": None,
                "deliveryCompany": carrier.name,
                "shippingEstimate": f"{carrier.business_days}bd",
                "shippingEstimateDate": vtex_datetime(estimate_date),
                "slas": [
                    {
                        "id": sla_id,
                        "name": sla_id,
                        "shippingEstimate": f"{carrier.business_days}bd",
                        "deliveryWindow": None,
                        "price": share,
                        "deliveryChannel": "delivery",
                        "pickupStoreInfo": {
                            "additionalInfo": None,
                            "address": None,
                            "dockId": None,
                            "friendlyName": None,
                            "isPickupStore": False,
                        },
                        "polygonName": None,
                        "lockTTL": "10d",
                        "pickupPointId": "",
                        "transitTime": f"{carrier.business_days}bd",
                        "pickupDistance": 0.0,
                    }
                ],
                "shipsTo": ["BRA"],
                "deliveryIds": [
                    {
                        "courierId": _ascii_slug(carrier.name, ""),
                        "courierName": carrier.name,
                        "dockId": "1",
                        "quantity": item["quantity"],
                        "warehouseId": "1_1",
                        "accountCarrierName": self._account,
                        "kitItemDetails": [],
                    }
                ],
                "deliveryChannels": [{"id": "delivery", "stockBalance": 0}],
                "deliveryChannel": "delivery",
                "selectedDeliveryChannel": "delivery",
                "pickupStoreInfo": {
                    "additionalInfo": None,
                    "address": None,
                    "dockId": None,
                    "friendlyName": None,
                    "isPickupStore": False,
                },
                "addressId": address["addressId"],
                "versionId": None,
                "entityId": None,
                "polygonName": None,
                "pickupPointId": None,
                "transitTime": f"{carrier.business_days}bd",
            }
            for index, (item, share) in enumerate(zip(items, shares, strict=True))
        ]

    @staticmethod
    def _totals(items: list[dict[str, Any]], logistics: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items_total = sum(item["price"] * item["quantity"] for item in items)
        discounts = sum((item["sellingPrice"] - item["price"]) * item["quantity"] for item in items)
        shipping = sum(info["sellingPrice"] for info in logistics)
        tax = sum(item["tax"] * item["quantity"] for item in items)
        return [
            {"id": "Items", "name": "Total dos Itens", "value": items_total},
            {"id": "Discounts", "name": "Total dos Descontos", "value": discounts},
            {"id": "Shipping", "name": "Total do Frete", "value": shipping},
            {"id": "Tax", "name": "Total da Taxa", "value": tax},
        ]

    def _rates_and_benefits(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        identifiers = []
        if any(item["priceTags"] for item in items):
            identifiers.append(
                {
                    "id": self._uuid(),
                    "name": "Promoção da semana",
                    "featured": False,
                    "description": None,
                    "matchedParameters": {},
                    "additionalInfo": None,
                }
            )
        return {"id": "ratesAndBenefitsData", "rateAndBenefitsIdentifiers": identifiers}

    # -- payments -----------------------------------------------------------------------------
    def _payment_data(
        self, value: int, customer: dict[str, Any], address: dict[str, Any], created: datetime
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One transaction whose payments add up to ``value``; sometimes split in two."""
        rng = self._rng
        roll = rng.random()
        payments: list[dict[str, Any]] = []
        gift_cards: list[dict[str, Any]] = []
        if roll < 0.55 or value < 2000:
            payments.append(self._card_payment(value, customer, address))
        elif roll < 0.70:
            payments.append(self._simple_payment(_PIX, value))
        elif roll < 0.80:
            payments.append(self._boleto_payment(value, created))
        elif roll < 0.92:
            gift_value = min(rng.choice((2000, 2500, 5000, 10000)), value - 1000)
            gift_payment, gift_card = self._gift_card_payment(gift_value)
            payments += [self._card_payment(value - gift_value, customer, address), gift_payment]
            gift_cards.append(gift_card)
        else:
            pix_value = rng.randint(1000, value - 1000)
            card = self._card_payment(value - pix_value, customer, address)
            payments += [card, self._simple_payment(_PIX, pix_value)]
        transaction = {
            "isActive": True,
            "transactionId": self._hex(32),
            "merchantName": self._merchant.upper(),
            "payments": payments,
        }
        return transaction, gift_cards

    def _base_payment(self, system: str, name: str, group: str, value: int, installments: int) -> dict[str, Any]:
        tid = self._digits(12)
        return {
            "id": self._hex(32),
            "paymentSystem": system,
            "paymentSystemName": name,
            "value": value,
            "installments": installments,
            "referenceValue": value,
            "cardHolder": None,
            "cardNumber": None,
            "firstDigits": None,
            "lastDigits": None,
            "cvv2": None,
            "expireMonth": None,
            "expireYear": None,
            "url": None,
            "giftCardId": None,
            "giftCardName": None,
            "giftCardCaption": None,
            "redemptionCode": None,
            "group": group,
            "tid": tid,
            "dueDate": None,
            "connectorResponses": {
                "Tid": tid,
                "ReturnCode": "0",
                "Message": "Transação autorizada",
                "authId": self._digits(6),
            },
            "giftCardProvider": None,
            "giftCardAsDiscount": None,
            "koinUrl": None,
            "accountId": None,
            "parentAccountId": None,
            "bankIssuedInvoiceIdentificationNumber": None,
            "bankIssuedInvoiceIdentificationNumberFormatted": None,
            "bankIssuedInvoiceBarCodeNumber": None,
            "bankIssuedInvoiceBarCodeType": None,
            "billingAddress": None,
            "paymentOrigin": None,
        }

    def _card_payment(self, value: int, customer: dict[str, Any], address: dict[str, Any]) -> dict[str, Any]:
        rng = self._rng
        system, name, first_digit = rng.choice(_CARDS)
        # Installments of at least R$ 20 each, up to 10x, as Brazilian stores configure them.
        installments = rng.randint(1, max(1, min(10, value // 2000)))
        payment = self._base_payment(system, name, "creditCard", value, installments)
        account_id = self._hex(32)
        payment.update(
            {
                "firstDigits": first_digit + self._digits(5),
                "lastDigits": self._digits(4),
                "accountId": account_id,
                "parentAccountId": account_id,
                "billingAddress": {
                    key: address[key]
                    for key in (
                        "postalCode",
                        "city",
                        "state",
                        "country",
                        "street",
                        "number",
                        "neighborhood",
                        "complement",
                        "reference",
                        "geoCoordinates",
                    )
                },
            }
        )
        return payment

    def _simple_payment(self, kind: tuple[str, str, str], value: int) -> dict[str, Any]:
        system, name, group = kind
        return self._base_payment(system, name, group, value, 1)

    def _boleto_payment(self, value: int, created: datetime) -> dict[str, Any]:
        payment = self._simple_payment(_BOLETO, value)
        line = self._digits(47)
        payment.update(
            {
                "dueDate": (created + timedelta(days=3)).strftime("%Y-%m-%d"),
                "bankIssuedInvoiceIdentificationNumber": line,
                "bankIssuedInvoiceIdentificationNumberFormatted": (
                    f"{line[:5]}.{line[5:10]} {line[10:15]}.{line[15:21]} {line[21:26]}.{line[26:32]} "
                    f"{line[32]} {line[33:]}"
                ),
                "bankIssuedInvoiceBarCodeNumber": self._digits(44),
                "bankIssuedInvoiceBarCodeType": "i25",
            }
        )
        return payment

    def _gift_card_payment(self, value: int) -> tuple[dict[str, Any], dict[str, Any]]:
        payment = self._simple_payment(_GIFT_CARD, value)
        card_id = str(self._rng.randint(1, 99999))
        redemption = self._hex(16)
        payment.update(
            {
                "giftCardId": card_id,
                "giftCardName": "Vale-presente",
                "giftCardCaption": "Vale-presente",
                "redemptionCode": redemption,
                "giftCardProvider": "VtexGiftCard",
                "giftCardAsDiscount": False,
            }
        )
        gift_card = {
            "id": card_id,
            "redemptionCode": redemption,
            "name": "Vale-presente",
            "caption": "Vale-presente",
            "value": value,
            "balance": 0,
            "provider": "VtexGiftCard",
            "groupName": "giftCardPaymentGroup",
            "inUse": True,
            "isSpecialCard": False,
        }
        return payment, gift_card
