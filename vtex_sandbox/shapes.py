"""Real VTEX order shapes (``shapes="mixed"``) and stores in other currencies (``currency="COP"``).

The default generator (generator.py) makes one kind of order: a person in Brazil, home delivery,
seller "1", unit items, BRL. Real stores send more (VTEX-API.md §14), and
``ShapedOrderGenerator`` makes it, in a seeded mix where every order draws each feature on its
own (so they combine: a company buyer may pick up a split order's first half):

- ``company``: ``clientProfileData.isCorporate`` true, ``document`` null, a valid CNPJ in
  ``corporateDocument``, ``corporateName``, ``tradeName``, ``corporatePhone``,
  ``stateInscription`` (digits or "Isento"). Brazilian stores only.
- ``pickup``: the first order of the purchase is picked up at a store: ``shippingData.address``
  and ``selectedAddresses[]`` have ``addressType: "pickup"`` and the point's address;
  ``logisticsInfo[]`` has ``selectedDeliveryChannel``/``deliveryChannel: "pickup-in-point"``,
  ``pickupStoreInfo`` (friendlyName, address object, dockId) and ``pickupPointId``.
- ``split``: two orders of one ``orderGroup``: ``-01`` sold and fulfilled by the account (seller
  "1") and ``-02`` by another seller (``sellers[]``, ``items[].seller``). One payment for both:
  every order of the group shows the whole group's payment (VTEX-API.md §14: "an order of 5458
  cents shows 22745"), while each order's ``value`` is its own. Both carry the purchase's
  ``marketplaceOrderId``, ``affiliateId`` and ``origin``.
- ``gift``: an item with ``isGift`` true, ``price``/``sellingPrice`` 0 (``listPrice`` keeps the
  catalog price).
- ``kit``: a kit SKU whose ``components[]`` are item objects; an extended-warranty item attached
  to an electronics item (``parentItemIndex``, ``parentAssemblyBinding``, and the option in the
  parent's ``itemMetadata`` ``AssemblyOptions``); a gift message in the kit's ``attachments``.
- ``weight``: items sold by weight: ``measurementUnit`` "kg", ``unitMultiplier`` 0.35 (or 0.5,
  0.25), ``price``/``sellingPrice`` per kg (Help Center, Change order FAQ: "the price refers to
  the kilo price of apples"), ``quantity`` in packs of ``unitMultiplier`` kg.
- ``shipping_discount``: shipping promotions: ``logisticsInfo[].sellingPrice`` below ``price``
  and a ``discount@shipping-…`` priceTag on the item the shipping line belongs to.
- ``two_cards``: two card payments on one transaction that add up to the payment.
- ``changed``: a change after purchase (``changesAttachment.changesData[]``, see ``apply_change``).

Every item of these orders has ``priceDefinition`` (singular, as every real document has;
the default generator keeps ``priceDefinitions`` so that its output stays unchanged) and a
decimal ``unitMultiplier`` (``1.0``), as VTEX's .NET serialiser writes it.

The money adds up to the cent (all amounts are integer cents; for COP too, in hundredths of a
peso, always whole pesos except where a multiplier makes a fraction):

    line(x, item)   = x × quantity × unitMultiplier, the fraction of a cent dropped    (multiplied)
                      (x × quantity when the multiplier is 1; VTEX truncates: known issue
                      426275, "47.50 × 0.25 = 11.875" is answered as 1187)
    priceDefinition.total           = line(sellingPrice)
    priceDefinition.sellingPrices[] = the total in ``quantity`` unit values that differ by one
                                      cent at most: Σ value × quantity = total
    priceDefinition.calculatedSellingPrice = line(sellingPrice) for one unit
    totals.Items     = Σ line(price)                         (gifts 0; a kit's price, not its parts)
    totals.Discounts = Σ (priceDefinition.total − line(price))
                     + Σ (logisticsInfo.sellingPrice − logisticsInfo.price)      (≤ 0)
                     = Σ items.priceTags.value      (item discounts and discount@shipping tags)
    totals.Shipping  = Σ logisticsInfo.price
    totals.Tax       = Σ line(tax)
    totals.Change    = Σ changesData.incrementValue − Σ changesData.discountValue   (changed only)
    value            = Items + Discounts + Shipping + Tax (+ Change)
    Σ payments.value = value before any change, summed over every order of the group
    kit: Σ components.price × components.quantity = kit price × kit quantity
         (a component's quantity is for the whole kit line)

A change (``apply_change``) keeps the removed item in ``items[]`` unchanged and records
``itemsRemoved`` (SKU id, name, quantity, unit selling price, unitMultiplier); its
``discountValue`` is what the removed units were worth: line(sellingPrice) + line(tax) before
minus after. ``totals`` gains (or updates) ``{"id": "Change", "value": −discount}``, ``value``
becomes the value after the change, and the payment keeps the old value (the difference is
refunded). Shipping is not recalculated (the legacy change API leaves that to the caller).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from .errors import BadRequest
from .generator import (
    _CARRIERS,
    _CATALOG,
    OrderGenerator,
    _ascii_slug,
    _Product,
    vtex_datetime,
)

SHAPES = ("default", "mixed")
FEATURES = ("company", "pickup", "split", "gift", "kit", "weight", "shipping_discount", "two_cards", "changed")
# How often each feature is drawn, independently, for an order of the mix.
_FEATURE_RATES = {
    "company": 0.2,
    "pickup": 0.15,
    "split": 0.12,
    "gift": 0.1,
    "kit": 0.1,
    "weight": 0.15,
    "shipping_discount": 0.15,
    "two_cards": 0.08,
    "changed": 0.1,
}


# -- currencies -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Currency:
    code: str
    symbol: str
    country: str  # ISO 3166 alpha-3, as in addresses and storePreferencesData.countryCode
    locale: str
    lcid: int  # storePreferencesData.currencyLocale (a Windows LCID)
    time_zone: str  # storePreferencesData.timeZone (a Windows time zone name)
    decimal_digits: int  # digits shown; amounts are still in hundredths
    decimal_separator: str
    group_separator: str
    rate: int  # catalog prices are in BRL: a price here is rate × the BRL price...
    price_step: int  # ...rounded to this many cents (COP: whole hundreds of pesos)
    amount_step: int  # discounts and shipping are multiples of this (COP: whole pesos)
    totals_names: tuple[str, str, str, str, str]  # Items, Discounts, Shipping, Tax, Change

    def price(self, brl_cents: int) -> int:
        return max(self.price_step, round(brl_cents * self.rate / self.price_step) * self.price_step)

    def amount(self, cents: float) -> int:
        return round(cents / self.amount_step) * self.amount_step

    def rounded_price(self, cents: float) -> int:
        return round(cents / self.price_step) * self.price_step

    def store_preferences(self) -> dict[str, Any]:
        return {
            "countryCode": self.country,
            "currencyCode": self.code,
            "currencyFormatInfo": {
                "CurrencyDecimalDigits": self.decimal_digits,
                "CurrencyDecimalSeparator": self.decimal_separator,
                "CurrencyGroupSeparator": self.group_separator,
                "CurrencyGroupSize": 3,
                "StartsWithCurrencySymbol": True,
            },
            "currencyLocale": self.lcid,
            "currencySymbol": self.symbol,
            "timeZone": self.time_zone,
        }


CURRENCIES = {
    "BRL": Currency(
        "BRL",
        "R$",
        "BRA",
        "pt-BR",
        1046,
        "E. South America Standard Time",
        2,
        ",",
        ".",
        1,
        1,
        1,
        ("Total dos Itens", "Total dos Descontos", "Total do Frete", "Total da Taxa", "Total das mudanças"),
    ),
    # A Colombian store: prices without centavos, shown with no decimals ($ 39.900), still sent
    # in hundredths like every VTEX amount; states by their full names, cédula documents.
    "COP": Currency(
        "COP",
        "$",
        "COL",
        "es-CO",
        9226,
        "SA Pacific Standard Time",
        0,
        ",",
        ".",
        800,
        10_000,
        100,
        (
            "Total de los ítems",
            "Total de descuentos",
            "Costo total del envío",
            "Total de impuestos",
            "Total de los cambios",
        ),
    ),
}


# -- catalogs of the real shapes ------------------------------------------------------------------
# Sold by weight: price per kg (BRL cents), in packs of the multiplier.
_BY_WEIGHT = (
    _Product("400", "140", "Queijo Minas Frescal", "QJO-MIN-KG", 4990, "Laticínios Serra", "Frios", 1000),
    _Product("401", "141", "Banana Prata", "BAN-PRA-KG", 699, "Hortifruti", "Hortifruti", 1000),
    _Product("402", "142", "Picanha Bovina", "PIC-BOV-KG", 8990, "Boi Bom", "Carnes", 1000),
    _Product("403", "143", "Presunto Cozido Fatiado", "PRE-COZ-KG", 3790, "Laticínios Serra", "Frios", 1000),
)
_WEIGHT_MULTIPLIERS = (0.35, 0.35, 0.5, 0.25)
_GIFTS = (
    _Product("500", "150", "Brinde: Ecobag Algodão Cru", "BRI-ECO-01", 1990, "Casa Viva", "Brindes", 90),
    _Product("501", "151", "Brinde: Protetor Solar FPS 50 30 ml", "BRI-PRO-30", 1490, "Pele Boa", "Brindes", 40),
)
# Kits: (kit product, its components as (SKU of _CATALOG, units per kit)). The kit's price is its
# components' prices less 10%.
_KITS = (
    (
        _Product("300", "100", "Kit Café da Manhã", "KIT-CAF-MAN", 0, "Casa Viva", "Kits", 1150),
        (("131", 2), ("150", 1), ("151", 1)),
    ),
    (
        _Product("301", "101", "Kit Banho Relaxante", "KIT-BAN-REL", 0, "Pele Boa", "Kits", 1330),
        (("170", 1), ("191", 2)),
    ),
)
_KIT_DISCOUNT_PERCENT = 10
_ELECTRONICS = ("140", "141", "142")
_WARRANTY = _Product("900", "900", "Garantia Estendida 12 meses", "GAR-EST-12", 0, "Garantia Já", "Serviços", 0)
_WARRANTY_BINDING = "garantia_estendida"
_WARRANTY_PERCENT = 10
_GIFT_MESSAGES = ("Feliz aniversário!", "Com carinho, da família.", "Parabéns pela casa nova!", "Boas festas!")
_CHANGE_REASONS = (
    "Item sem estoque no centro de distribuição",
    "Cliente pediu para retirar o item",
    "Item avariado na separação",
)


@dataclass(frozen=True)
class _Seller:
    id: str
    name: str


_OTHER_SELLERS = (
    _Seller("strbar", "Star Bar Franquia"),
    _Seller("casavivaoficial", "Casa Viva Loja Oficial"),
    _Seller("somlivrestore", "Som Livre Store"),
)


@dataclass(frozen=True)
class _PickupPoint:
    id: str  # pickupPointId: "{seller}_{addressId}"
    address_id: str
    friendly_name: str
    street: str
    number: str | None
    neighborhood: str
    city: str
    state: str
    postal_code: str
    complement: str
    geo: tuple[float, float]  # longitude, latitude (VTEX's order)
    additional_info: str


_PICKUP_POINTS = {
    "BRA": (
        _PickupPoint(
            "1_loja-pinheiros",
            "loja-pinheiros",
            "Loja Pinheiros",
            "Rua dos Pinheiros",
            "1020",
            "Pinheiros",
            "São Paulo",
            "SP",
            "05422-001",
            "Loja 3",
            (-46.68321, -23.56648),
            "Retire no balcão com documento com foto.",
        ),
        _PickupPoint(
            "1_loja-botafogo",
            "loja-botafogo",
            "Loja Botafogo",
            "Praia de Botafogo",
            "300",
            "Botafogo",
            "Rio de Janeiro",
            "RJ",
            "22250-040",
            "Térreo",
            (-43.18259, -22.94436),
            "Seg. a sáb., das 10h às 22h.",
        ),
        _PickupPoint(
            "1_loja-savassi",
            "loja-savassi",
            "Loja Savassi",
            "Rua Pernambuco",
            "1100",
            "Savassi",
            "Belo Horizonte",
            "MG",
            "30130-151",
            "",
            (-43.93524, -19.93619),
            "Retirada em até 2 horas após a confirmação.",
        ),
    ),
    "COL": (
        _PickupPoint(
            "1_tienda-poblado",
            "tienda-poblado",
            "Tienda El Poblado",
            "Carrera 43A # 7-50",
            None,
            "El Poblado",
            "Medellín",
            "Antioquia",
            "050021",
            "Local 104",
            (-75.57123, 6.20874),
            "Presente su cédula en la caja.",
        ),
        _PickupPoint(
            "1_tienda-andino",
            "tienda-andino",
            "Tienda Andino",
            "Carrera 11 # 82-71",
            None,
            "Chicó",
            "Bogotá",
            "Bogotá, D.C.",
            "110221",
            "Local 2-15",
            (-74.05271, 4.66681),
            "Lunes a domingo, de 10 a. m. a 9 p. m.",
        ),
    ),
}

# A Colombian store's customers and addresses (full state names, no separate house number).
_COP_FIRST_NAMES = ("Andrés", "Camila", "Santiago", "Valentina", "Juan", "María", "Carlos", "Laura", "Mateo", "Sara")
_COP_LAST_NAMES = ("García", "Rodríguez", "Martínez", "López", "Gómez", "Restrepo", "Zapata", "Ospina", "Castaño")


@dataclass(frozen=True)
class _ColombianCity:
    name: str
    state: str
    postal_codes: tuple[str, ...]
    neighborhoods: tuple[str, ...]
    area_code: str


_COP_CITIES = (
    _ColombianCity("Medellín", "Antioquia", ("050021", "050022", "050031", "050034"), ("El Poblado", "Laureles"), "4"),
    _ColombianCity("Bogotá", "Bogotá, D.C.", ("110111", "110221", "111321"), ("Chapinero", "Usaquén", "Cedritos"), "1"),
    _ColombianCity("Cali", "Valle del Cauca", ("760001", "760042", "760045"), ("Granada", "San Fernando"), "2"),
    _ColombianCity("Barranquilla", "Atlántico", ("080001", "080020"), ("El Prado", "Riomar"), "5"),
)
_COP_STREETS = ("Calle", "Carrera", "Avenida Calle", "Transversal", "Diagonal")


# -- money rules (pure functions) -------------------------------------------------------------------
def multiplied(cents: int, quantity: int, multiplier: float) -> int:
    """``cents × quantity × multiplier`` with the fraction of a cent dropped, as VTEX does (see the
    module docstring); exact integers when the multiplier is 1."""
    if multiplier == 1:
        return cents * quantity
    exact = Decimal(cents) * quantity * Decimal(str(multiplier))
    return int(exact.to_integral_value(rounding=ROUND_DOWN))


def selling_prices(total: int, quantity: int) -> list[dict[str, int]]:
    """``priceDefinition.sellingPrices``: ``total`` over ``quantity`` units, unit values one cent
    apart at most, the higher ones first (Σ value × quantity = total)."""
    base, extra = divmod(total, quantity)
    groups = [{"value": base + 1, "quantity": extra}, {"value": base, "quantity": quantity - extra}]
    return [group for group in groups if group["quantity"]]


def item_lines(item: dict[str, Any], quantity: int | None = None) -> tuple[int, int, int]:
    """(line price, line selling price, line tax) of ``quantity`` units (default: all) of an item."""
    units = item["quantity"] if quantity is None else quantity
    multiplier = item["unitMultiplier"]
    return (
        multiplied(item["price"], units, multiplier),
        multiplied(item["sellingPrice"], units, multiplier),
        multiplied(item["tax"], units, multiplier),
    )


def order_totals(
    items: list[dict[str, Any]], logistics: list[dict[str, Any]], names: tuple[str, ...]
) -> list[dict[str, Any]]:
    """``totals`` of an order of the real shapes (rules in the module docstring), before changes."""
    lines = [item_lines(item) for item in items]
    items_total = sum(price for price, _selling, _tax in lines)
    item_discounts = sum(selling - price for price, selling, _tax in lines)
    shipping_discounts = sum(info["sellingPrice"] - info["price"] for info in logistics)
    return [
        {"id": "Items", "name": names[0], "value": items_total},
        {"id": "Discounts", "name": names[1], "value": item_discounts + shipping_discounts},
        {"id": "Shipping", "name": names[2], "value": sum(info["price"] for info in logistics)},
        {"id": "Tax", "name": names[3], "value": sum(tax for _price, _selling, tax in lines)},
    ]


def removed_quantities(doc: dict[str, Any]) -> dict[int, int]:
    """Units removed by changes, by item index. ``itemsRemoved`` names the SKU, not the index: it
    is the first item with that SKU (the generator never repeats a SKU in one order)."""
    first_index: dict[str, int] = {}
    for index, item in enumerate(doc["items"]):
        first_index.setdefault(item["id"], index)
    removed: dict[int, int] = {}
    for change in (doc.get("changesAttachment") or {}).get("changesData") or []:
        for gone in change.get("itemsRemoved") or []:
            index = first_index.get(gone["id"])
            if index is not None:
                removed[index] = removed.get(index, 0) + gone["quantity"]
    return removed


def apply_change(
    doc: dict[str, Any],
    removals: list[tuple[int, int]],
    *,
    reason: str,
    date: str,
    receipt: str,
    change_total_name: str = "Total das mudanças",
) -> dict[str, Any]:
    """Remove ``removals`` [(item index, units)] from ``doc`` as a VTEX order change does, and
    return the new ``changesData`` entry (rules in the module docstring).

    Raises ``BadRequest`` for an unknown item, a quantity beyond what is left of the item, or a
    change that would leave the order worth nothing.
    """
    if not removals:
        raise BadRequest("A change must remove at least one item")
    already = removed_quantities(doc)
    asked: dict[int, int] = {}
    for index, units in removals:
        if not 0 <= index < len(doc["items"]):
            raise BadRequest(f"item_index {index} is not an item of order {doc['orderId']}")
        if units < 1:
            raise BadRequest("quantity must be a positive integer")
        asked[index] = asked.get(index, 0) + units
    items_removed, discount = [], 0
    for index, units in asked.items():
        item = doc["items"][index]
        left = item["quantity"] - already.get(index, 0)
        if units > left:
            raise BadRequest(
                f"Cannot remove {units} unit(s) of item {index} (SKU {item['id']}): only {left} left in the order"
            )
        _price_before, selling_before, tax_before = item_lines(item, left)
        _price_after, selling_after, tax_after = item_lines(item, left - units)
        discount += (selling_before - selling_after) + (tax_before - tax_after)
        items_removed.append(
            {
                "id": item["id"],
                "name": item["name"],
                "quantity": units,
                "price": item["sellingPrice"],
                "unitMultiplier": item["unitMultiplier"],
            }
        )
    if doc["value"] - discount <= 0:
        raise BadRequest("The value of the change exceeds the order's value")
    entry = {
        "reason": reason,
        "discountValue": discount,
        "incrementValue": 0,
        "itemsAdded": [],
        "itemsRemoved": items_removed,
        "receipt": {"date": date, "orderId": doc["orderId"], "receipt": receipt},
    }
    attachment = doc.get("changesAttachment") or {"id": "changeAttachment", "changesData": []}
    attachment["changesData"].append(entry)
    doc["changesAttachment"] = attachment
    change_total = sum(c["incrementValue"] - c["discountValue"] for c in attachment["changesData"])
    for total in doc["totals"]:
        if total["id"] == "Change":
            total["value"] = change_total
            break
    else:
        doc["totals"].append({"id": "Change", "name": change_total_name, "value": change_total})
    doc["value"] = sum(total["value"] for total in doc["totals"])
    return entry


def fulfilling_seller(doc: dict[str, Any]) -> str:
    """The id of the seller that fulfils ``doc`` ("1": the account itself)."""
    sellers = doc.get("sellers") or [{"id": "1"}]
    return sellers[0]["id"]


def cnpj_check_digits(first_twelve: str) -> str:
    """The two check digits of a CNPJ (Receita Federal's mod-11 rule)."""
    digits = [int(d) for d in first_twelve]
    for weights in ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return f"{digits[-2]}{digits[-1]}"


def is_valid_cnpj(cnpj: str) -> bool:
    numbers = "".join(ch for ch in cnpj if ch.isdigit())
    if len(numbers) != 14 or len(set(numbers)) == 1:
        return False
    return cnpj_check_digits(numbers[:12]) == numbers[12:]


def make_generator(*, seed: int | None, account: str, shapes: str = "default", currency: str = "BRL") -> Any:
    """The generator for a store: the default one (output frozen) or the real shapes."""
    if shapes not in SHAPES:
        raise ValueError(f"shapes must be one of {', '.join(SHAPES)}, not {shapes!r}")
    if currency not in CURRENCIES:
        raise ValueError(f"currency must be one of {', '.join(CURRENCIES)}, not {currency!r}")
    if shapes == "default" and currency == "BRL":
        return OrderGenerator(seed=seed, account=account)
    return ShapedOrderGenerator(seed=seed, account=account, shapes=shapes, currency=currency)


# -- the generator ----------------------------------------------------------------------------------
class ShapedOrderGenerator(OrderGenerator):
    """Orders of the real shapes (``shapes="mixed"``) and/or in another currency.

    With ``shapes="default"`` and another currency, orders have no feature but are still built
    here (``priceDefinition``, decimal multipliers, the currency's store preferences).
    """

    def __init__(self, *, seed: int | None, account: str, shapes: str = "mixed", currency: str = "BRL") -> None:
        super().__init__(seed=seed, account=account)
        self.shapes = shapes
        self.currency = CURRENCIES[currency]

    # -- public -------------------------------------------------------------------------------------
    def pick_features(self, *, allow_split: bool = True) -> frozenset[str]:
        """The features of the next purchase: each drawn on its own (always all drawn, so the
        sequence of draws does not depend on the results)."""
        if self.shapes != "mixed":
            return frozenset()
        picked = {feature for feature in FEATURES if self._rng.random() < _FEATURE_RATES[feature]}
        if not allow_split:
            picked.discard("split")
        if self.currency.code != "BRL":
            picked.discard("company")  # a CNPJ and an inscrição estadual are Brazilian
        return frozenset(picked)

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
        if features is None:
            chosen = self.pick_features(allow_split=allow_split)
        else:
            chosen = frozenset(features)
            unknown = chosen - set(FEATURES)
            if unknown:
                raise ValueError(f"unknown order features: {', '.join(sorted(unknown))} (known: {', '.join(FEATURES)})")
            if "company" in chosen and self.currency.code != "BRL":
                raise ValueError("company buyers (CNPJ) exist in BRL stores only")
        return self._purchase(sequence, created, status, last_change, chosen)

    # -- a purchase ---------------------------------------------------------------------------------
    def _purchase(
        self, sequence: int, created: datetime, status: str, last_change: datetime, features: frozenset[str]
    ) -> list[dict[str, Any]]:
        rng, currency = self._rng, self.currency
        group = self._new_order_group()
        customer = self._shaped_customer(company="company" in features)
        home = self._shaped_address(customer)
        sellers = [_Seller("1", self._merchant)]
        if "split" in features:
            sellers.append(rng.choice(_OTHER_SELLERS))
        parts = []
        for number, seller in enumerate(sellers, start=1):
            order_id = f"{group}-{number:02d}"
            own = number == 1
            order_features = features if own else frozenset()
            items = self._shaped_items(order_id, seller.id, order_features)
            if own and "pickup" in features:
                point = rng.choice(_PICKUP_POINTS[currency.country])
                address = self._pickup_address(point, customer)
                logistics = self._pickup_logistics(items, point, address, created)
            else:
                address = home
                logistics = self._delivery_logistics(items, address, created)
                if own and "shipping_discount" in features:
                    self._discount_shipping(items, logistics)
            totals = order_totals(items, logistics, currency.totals_names)
            parts.append((order_id, seller, items, address, logistics, totals))
        group_value = sum(total["value"] for part in parts for total in part[5])
        authorized = min(created + timedelta(seconds=rng.randint(20, 600)), last_change)
        payment_data = self._shaped_payment_data(group_value, customer, home, created, "two_cards" in features)
        affiliate_id, marketplace_order_id = self._affiliate(sequence)
        docs = []
        for offset, (order_id, seller, items, address, logistics, totals) in enumerate(parts):
            doc = self._document(
                order_id=order_id,
                group=group,
                sequence=sequence + offset,
                status=status,
                created=created,
                last_change=last_change,
                authorized=authorized,
                value=sum(total["value"] for total in totals),
                totals=totals,
                items=items,
                customer=copy.deepcopy(customer),
                address=address,
                logistics=logistics,
                payment_data=copy.deepcopy(payment_data),
                affiliate_id=affiliate_id,
                marketplace_order_id=marketplace_order_id,
            )
            self._finish_document(doc, seller)
            docs.append(doc)
        if "changed" in features:
            self._generated_change(docs[0], created, last_change)
        return docs

    def _finish_document(self, doc: dict[str, Any], seller: _Seller) -> None:
        """What ``_document`` writes for a Brazilian store of one seller, made right for this one."""
        doc["storePreferencesData"] = self.currency.store_preferences()
        doc["clientPreferencesData"]["locale"] = self.currency.locale
        if seller.id != "1":
            doc["sellerOrderId"] = f"{seller.id}-{doc['orderId']}"
            doc["sellers"] = [
                {
                    "id": seller.id,
                    "name": seller.name,
                    "logo": "",
                    "fulfillmentEndpoint": f"http://fulfillment.vtexcommerce.com.br/api/fulfillment?an={seller.id}",
                }
            ]
        for index, metadata in enumerate(doc["itemMetadata"]["Items"]):
            metadata["AssemblyOptions"] = self._assembly_options(doc["items"], index)

    def _generated_change(self, doc: dict[str, Any], created: datetime, last_change: datetime) -> None:
        """A change made between the purchase and the order's last change (e.g. an item out of
        stock): some units of one plain item removed."""
        rng = self._rng
        parents = {item["parentItemIndex"] for item in doc["items"]}
        removable = [
            index
            for index, item in enumerate(doc["items"])
            if not item["isGift"] and item["parentItemIndex"] is None and index not in parents and item["price"] > 0
        ]
        index = rng.choice(removable)
        units = rng.randint(1, doc["items"][index]["quantity"])
        when = min(created + timedelta(minutes=rng.randint(2, 25)), last_change)
        apply_change(
            doc,
            [(index, units)],
            reason=rng.choice(_CHANGE_REASONS),
            date=vtex_datetime(when),
            receipt=self._uuid(),
            change_total_name=self.currency.totals_names[4],
        )

    # -- customers and addresses --------------------------------------------------------------------
    def _shaped_customer(self, *, company: bool) -> dict[str, Any]:
        if self.currency.code == "COP":
            return self._colombian_customer()
        customer = self._customer()
        if company:
            rng = self._rng
            root = self._digits(8)
            while len(set(root)) == 1:
                root = self._digits(8)
            base = root + "0001"
            last = customer["lastName"]
            kind = rng.choice(("Comércio", "Distribuidora", "Serviços", "Indústria", "Importadora"))
            area = customer["phone"][3:5]
            customer.update(
                {
                    "email": f"compras.{_ascii_slug(last, '')}{rng.randint(1, 99)}@example.com.br",
                    "documentType": "cnpj",
                    "document": None,
                    "corporateName": f"{last} {kind} {rng.choice(('Ltda', 'S.A.', 'ME', 'EIRELI'))}",
                    "tradeName": f"{rng.choice(('Empório', 'Casa', 'Armazém', 'Mercado'))} {last}",
                    "corporateDocument": base + cnpj_check_digits(base),
                    "stateInscription": "Isento" if rng.random() < 0.3 else self._digits(rng.choice((9, 12))),
                    "corporatePhone": f"+55{area}3{self._digits(7)}",
                    "isCorporate": True,
                }
            )
        return customer

    def _colombian_customer(self) -> dict[str, Any]:
        rng = self._rng
        first, last = rng.choice(_COP_FIRST_NAMES), rng.choice(_COP_LAST_NAMES)
        return {
            "id": "clientProfileData",
            "email": f"{_ascii_slug(first, '.')}.{_ascii_slug(last, '.')}{rng.randint(1, 999)}@example.com.co",
            "firstName": first,
            "lastName": last,
            "documentType": "cedulaCOL",
            "document": str(rng.randint(10_000_000, 1_199_999_999)),
            "phone": f"+573{self._digits(9)}",
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

    def _shaped_address(self, customer: dict[str, Any]) -> dict[str, Any]:
        if self.currency.code != "COP":
            return self._address(customer)
        rng = self._rng
        city = rng.choice(_COP_CITIES)
        street = f"{rng.choice(_COP_STREETS)} {rng.randint(1, 120)} # {rng.randint(1, 99)}-{rng.randint(1, 99)}"
        return {
            "addressType": "residential",
            "receiverName": f"{customer['firstName']} {customer['lastName']}",
            "addressId": self._digits(13),
            "versionId": None,
            "entityId": None,
            "postalCode": rng.choice(city.postal_codes),
            "city": city.name,
            "state": city.state,
            "country": "COL",
            "street": street,
            "number": None,  # the number is part of the street in Colombian addresses
            "neighborhood": rng.choice(city.neighborhoods),
            "complement": rng.choice(("", "", "Apto 502", "Torre 2, apto 1104", "Casa 7")),
            "reference": None,
            "geoCoordinates": [],
        }

    def _pickup_address(self, point: _PickupPoint, customer: dict[str, Any]) -> dict[str, Any]:
        return {
            "addressType": "pickup",
            "receiverName": f"{customer['firstName']} {customer['lastName']}",
            "addressId": point.address_id,
            "versionId": None,
            "entityId": None,
            "postalCode": point.postal_code,
            "city": point.city,
            "state": point.state,
            "country": self.currency.country,
            "street": point.street,
            "number": point.number,
            "neighborhood": point.neighborhood,
            "complement": point.complement,
            "reference": None,
            "geoCoordinates": list(point.geo),
        }

    # -- items --------------------------------------------------------------------------------------
    def _shaped_items(self, order_id: str, seller_id: str, features: frozenset[str]) -> list[dict[str, Any]]:
        rng = self._rng
        # A change needs an item to remove and one to keep.
        products = rng.sample(_CATALOG, rng.randint(2 if "changed" in features else 1, 4))
        with_tax = self.currency.code == "BRL" and rng.random() < 0.15  # COP prices include IVA
        items = [self._shaped_item(product, order_id, seller_id, with_tax=with_tax) for product in products]
        if "weight" in features:
            for product in rng.sample(_BY_WEIGHT, rng.randint(1, 2)):
                multiplier = rng.choice(_WEIGHT_MULTIPLIERS)
                items.append(
                    self._shaped_item(
                        product,
                        order_id,
                        seller_id,
                        with_tax=with_tax,
                        quantity=rng.randint(1, 6),
                        multiplier=multiplier,
                        name=f"{product.name} {_grams(multiplier)}",
                    )
                )
        if "kit" in features:
            self._add_kit_and_warranty(items, order_id, seller_id)
        if "gift" in features:
            product = rng.choice(_GIFTS)
            items.append(self._shaped_item(product, order_id, seller_id, with_tax=False, quantity=1, gift=True))
        return items

    def _add_kit_and_warranty(self, items: list[dict[str, Any]], order_id: str, seller_id: str) -> None:
        rng, currency = self._rng, self.currency
        kit, parts = rng.choice(_KITS)
        by_sku = {product.sku: product for product in _CATALOG}
        quantity = rng.randint(1, 2)
        components = []
        for sku, per_kit in parts:
            product = by_sku[sku]
            list_price = currency.price(product.price)
            price = currency.amount(list_price * (100 - _KIT_DISCOUNT_PERCENT) / 100)
            component = self._shaped_item(
                product, order_id, seller_id, with_tax=False, quantity=per_kit * quantity, price=price, discount=False
            )
            component["listPrice"] = list_price
            components.append(component)
        kit_price = sum(c["price"] * c["quantity"] for c in components) // quantity
        kit_item = self._shaped_item(
            kit, order_id, seller_id, with_tax=False, quantity=quantity, price=kit_price, discount=False
        )
        kit_item["listPrice"] = sum(c["listPrice"] * c["quantity"] for c in components) // quantity
        kit_item["components"] = components
        message = rng.choice(_GIFT_MESSAGES)
        kit_item["attachments"] = [{"name": "Mensagem de presente", "content": {"Mensagem": message}}]
        items.append(kit_item)
        # The extended warranty is an assembly option of an electronics item: add one if needed.
        parent = next((i for i, item in enumerate(items) if item["id"] in _ELECTRONICS), None)
        if parent is None:
            product = by_sku[rng.choice(_ELECTRONICS)]
            items.append(self._shaped_item(product, order_id, seller_id, with_tax=False))
            parent = len(items) - 1
        parent_item = items[parent]
        warranty_price = currency.amount(parent_item["price"] * _WARRANTY_PERCENT / 100)
        warranty = self._shaped_item(
            _WARRANTY,
            order_id,
            seller_id,
            with_tax=False,
            quantity=parent_item["quantity"],
            price=warranty_price,
            discount=False,
        )
        warranty["parentItemIndex"] = parent
        warranty["parentAssemblyBinding"] = _WARRANTY_BINDING
        items.append(warranty)

    def _shaped_item(
        self,
        product: _Product,
        order_id: str,
        seller_id: str,
        *,
        with_tax: bool,
        quantity: int | None = None,
        multiplier: float = 1.0,
        name: str | None = None,
        price: int | None = None,
        discount: bool = True,
        gift: bool = False,
    ) -> dict[str, Any]:
        """One item (money rules in the module docstring). ``price`` overrides the catalog's
        (kits, components, warranties); ``gift`` makes it free."""
        rng, currency = self._rng, self.currency
        quantity = rng.randint(1, 3) if quantity is None else quantity
        catalog_price = currency.price(product.price) if product.price else 0
        unit_price = catalog_price if price is None else price
        list_price = unit_price
        if price is None and not gift and rng.random() >= 0.6:
            list_price = unit_price + currency.price(rng.choice((1000, 2000, 3001)))
        if gift:
            unit_price, list_price = 0, catalog_price
        unit_discount = 0
        if discount and not gift and rng.random() < 0.35:
            unit_discount = currency.amount(unit_price * rng.choice((5, 10, 12, 15, 20)) / 100)
        selling_price = unit_price - unit_discount
        unit_tax = round(selling_price * rng.choice((1, 2, 3)) / 100) if with_tax else 0
        line_price = multiplied(unit_price, quantity, multiplier)
        line_selling = multiplied(selling_price, quantity, multiplier)
        price_tags = self._discount_tags(line_selling - line_price)
        return self._item_document(
            product,
            order_id,
            quantity=quantity,
            price=unit_price,
            list_price=list_price,
            selling_price=selling_price,
            unit_tax=unit_tax,
            price_tags=price_tags,
            price_definition_key="priceDefinition",
            price_definition={
                "sellingPrices": selling_prices(line_selling, quantity),
                "calculatedSellingPrice": multiplied(selling_price, 1, multiplier),
                "total": line_selling,
                "reason": None,
            },
            seller=seller_id,
            name=name,
            measurement_unit="kg" if multiplier != 1 else "un",
            unit_multiplier=float(multiplier),
            is_gift=gift,
        )

    @staticmethod
    def _assembly_options(items: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
        """``itemMetadata.Items[].AssemblyOptions`` of item ``index``: its attachments and children."""
        options = []
        for attachment in items[index]["attachments"]:
            options.append(
                {
                    "Id": attachment["name"],
                    "Name": attachment["name"],
                    "Required": False,
                    "InputValues": {
                        key: {"MaximumNumberOfCharacters": 100, "Domain": []} for key in attachment["content"]
                    },
                    "Composition": None,
                }
            )
        for child in items:
            if child["parentItemIndex"] == index:
                options.append(
                    {
                        "Id": child["parentAssemblyBinding"],
                        "Name": child["name"],
                        "Required": False,
                        "InputValues": {},
                        "Composition": {
                            "minQuantity": 0,
                            "maxQuantity": 1,
                            "Items": [
                                {
                                    "Id": child["id"],
                                    "MinQuantity": 0,
                                    "MaxQuantity": 1,
                                    "InitialQuantity": 0,
                                    "PriceTable": "",
                                    "Seller": child["seller"],
                                }
                            ],
                        },
                    }
                )
        return options

    # -- shipping -----------------------------------------------------------------------------------
    def _delivery_logistics(
        self, items: list[dict[str, Any]], address: dict[str, Any], created: datetime
    ) -> list[dict[str, Any]]:
        carrier = self._rng.choice(_CARRIERS)
        currency = self.currency
        if currency.code != "BRL":
            carrier = dataclasses.replace(carrier, base_price=currency.price(carrier.base_price))
        logistics = self._logistics(items, carrier, address, created)
        # The per-unit surcharge and odd cents of the default generator are in BRL cents: make
        # each share a round price of this currency (BRL: unchanged).
        shares = [currency.rounded_price(info["price"]) for info in logistics]
        for info, share in zip(logistics, shares, strict=True):
            info["price"] = info["listPrice"] = info["sellingPrice"] = share
            info["slas"][0]["price"] = share
            info["shipsTo"] = [currency.country]
        return logistics

    def _discount_shipping(self, items: list[dict[str, Any]], logistics: list[dict[str, Any]]) -> None:
        """A shipping promotion: free shipping or a percentage off, on each item's shipping line
        (``sellingPrice`` below ``price``), with a ``discount@shipping`` tag on that item."""
        rng = self._rng
        percent = rng.choice((100, 100, 50, 30))
        promotion = self._uuid()
        for item, info in zip(items, logistics, strict=True):
            off = info["price"] if percent == 100 else self.currency.amount(info["price"] * percent / 100)
            if off <= 0:
                continue
            info["sellingPrice"] = info["price"] - off
            item["priceTags"].append(
                {
                    "name": f"discount@shipping-{promotion}#{self._uuid()}",
                    "value": -off,
                    "isPercentual": False,
                    "identifier": promotion,
                    "rawValue": -off / 100,
                }
            )

    def _pickup_logistics(
        self, items: list[dict[str, Any]], point: _PickupPoint, address: dict[str, Any], created: datetime
    ) -> list[dict[str, Any]]:
        rng = self._rng
        sla_id = f"Retirada na loja ({point.address_id})"
        store_info = {
            "additionalInfo": point.additional_info,
            "address": {**address, "receiverName": None},
            "dockId": f"dock-{point.address_id}",
            "friendlyName": point.friendly_name,
            "isPickupStore": True,
        }
        ready_in = rng.choice((0, 1, 2))
        distance = round(rng.uniform(0.5, 18.0), 2)
        return [
            {
                "itemIndex": index,
                "selectedSla": sla_id,
                "lockTTL": "10d",
                "price": 0,
                "listPrice": 0,
                "sellingPrice": 0,
                "deliveryWindow": None,
                "deliveryCompany": point.friendly_name,
                "shippingEstimate": f"{ready_in}bd",
                "shippingEstimateDate": vtex_datetime(created + timedelta(days=ready_in, hours=4)),
                "slas": [
                    {
                        "id": sla_id,
                        "name": sla_id,
                        "shippingEstimate": f"{ready_in}bd",
                        "deliveryWindow": None,
                        "price": 0,
                        "deliveryChannel": "pickup-in-point",
                        "pickupStoreInfo": copy.deepcopy(store_info),
                        "polygonName": None,
                        "lockTTL": "10d",
                        "pickupPointId": point.id,
                        "transitTime": "0bd",
                        "pickupDistance": distance,
                    }
                ],
                "shipsTo": [self.currency.country],
                "deliveryIds": [
                    {
                        "courierId": f"retirada-{point.address_id}",
                        "courierName": point.friendly_name,
                        "dockId": store_info["dockId"],
                        "quantity": item["quantity"],
                        "warehouseId": "1_1",
                        "accountCarrierName": self._account,
                        "kitItemDetails": [],
                    }
                ],
                "deliveryChannels": [{"id": "pickup-in-point", "stockBalance": 0}],
                "deliveryChannel": "pickup-in-point",
                "selectedDeliveryChannel": "pickup-in-point",
                "pickupStoreInfo": copy.deepcopy(store_info),
                "addressId": point.address_id,
                "versionId": None,
                "entityId": None,
                "polygonName": None,
                "pickupPointId": point.id,
                "transitTime": "0bd",
            }
            for index, item in enumerate(items)
        ]

    # -- payments -----------------------------------------------------------------------------------
    def _shaped_payment_data(
        self, value: int, customer: dict[str, Any], address: dict[str, Any], created: datetime, two_cards: bool
    ) -> dict[str, Any]:
        """One transaction for the whole purchase (every order of a group shows it)."""
        if self.currency.code == "BRL" and not two_cards:
            transaction, gift_cards = self._payment_data(value, customer, address, created)
            return {"giftCards": gift_cards, "transactions": [transaction]}
        if two_cards and value >= 200:
            first = self.currency.amount(self._rng.randint(value // 4, value * 3 // 4)) or value // 2
            payments = [
                self._card_payment(first, customer, address),
                self._card_payment(value - first, customer, address),
            ]
        else:  # cards only outside Brazil (no Pix, boleto or VTEX gift cards here)
            payments = [self._card_payment(value, customer, address)]
        transaction = {
            "isActive": True,
            "transactionId": self._hex(32),
            "merchantName": self._merchant.upper(),
            "payments": payments,
        }
        return {"giftCards": [], "transactions": [transaction]}


def _grams(multiplier: float) -> str:
    return f"{round(multiplier * 1000)} g"


__all__ = [
    "CURRENCIES",
    "FEATURES",
    "SHAPES",
    "ShapedOrderGenerator",
    "apply_change",
    "cnpj_check_digits",
    "fulfilling_seller",
    "is_valid_cnpj",
    "item_lines",
    "make_generator",
    "multiplied",
    "order_totals",
    "removed_quantities",
    "selling_prices",
]
