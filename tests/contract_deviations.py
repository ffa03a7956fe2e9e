"""Where VTEX's OpenAPI files (../shared/vtex-openapi) are wrong or cannot be met, each with its reason.

Keys are ``(method, path_template, part)``. ``part`` is one of:

- ``"path"``: the route is not in the spec at all;
- ``"request"`` or ``"response <status>"``: that whole body does not follow the spec;
- ``"request: <field>"`` or ``"response <status>: <field>"``: only that field does not. ``<field>`` is a
  dotted path of property names; ``name[]`` steps into the items of the array ``name``.

Field-level entries are applied with ``relaxed_spec()``, which returns a copy of the spec in which
exactly those schemas accept anything, so everything else is still validated strictly. Whole-body
and path entries are for the test to look up (the field-level ones need no look-up).
"""

from __future__ import annotations

import copy
from typing import Any

SPEC_DEVIATIONS: dict[tuple[str, str, str], str] = {
    ("GET", "/api/oms/pvt/orders/{orderId}", "response 200: items[].priceTags[]"): (
        "The schema types priceTags items as strings; VTEX sends objects {name, value (cents, negative for a "
        "discount), isPercentual, identifier, rawValue} (VTEX-API.md §2)."
    ),
    (
        "GET",
        "/api/oms/pvt/orders/{orderId}",
        "response 200: packageAttachment.packages[].courierStatus.deliveredDate",
    ): (
        "Typed as a non-null string, but an invoice in transit has no delivery date yet: the tracking PUT "
        "itself sends deliveredDate null until delivery (VTEX-API.md §6)."
    ),
    ("GET", "/api/oms/pvt/orders/{orderId}/payment-transaction", "response 200: payments[].firstDigits"): (
        "Typed as a non-null string, but Pix, boleto and gift-card payments have no card digits; the same "
        "payment object in Get order marks the field nullable."
    ),
    ("GET", "/api/oms/pvt/orders/{orderId}/payment-transaction", "response 200: payments[].lastDigits"): (
        "As firstDigits: null for payments that are not made by card."
    ),
    ("GET", "/api/pvt/transactions/{transactionId}/payments", "path"): (
        "The spec only has .../payments/{paymentId} (with an optional path parameter, which is invalid "
        "OpenAPI); without paymentId VTEX answers an array of that single-payment object (VTEX-API.md §8)."
    ),
    ("POST", "/api/orders/hook/config", "response 200"): (
        "The spec's 200 schema is the hook notification body (Domain, OrderId, State...), not an answer to "
        "saving a hook configuration; the sandbox answers the saved configuration."
    ),
    ("POST", "/api/orders/hook/config", "request: hook.headers"): (
        "The schema requires a header literally named 'key' (copied from its example); hook.headers is any "
        "map of header names to values (VTEX-API.md §9)."
    ),
    ("POST", "/api/oms/pvt/orders/{orderId}/invoice", "request: invoiceValue"): (
        "Typed as a string of cents; the PII-version spec and the order's packages use an integer. Both are "
        "cents without a decimal separator, and the sandbox accepts both (VTEX-API.md §4, §12.2)."
    ),
}


def relaxed_spec(spec: dict[str, Any], deviations: dict[tuple[str, str, str], str] = SPEC_DEVIATIONS) -> dict[str, Any]:
    """A deep copy of ``spec`` where every field-level deviation's schema accepts anything.

    Raises KeyError when a deviation names a route or field the spec does not have, so the list
    cannot silently go stale. Entries for other files' paths are skipped.
    """
    relaxed = copy.deepcopy(spec)
    for method, path, part in deviations:
        where, _, field_path = part.partition(": ")
        if not field_path or path not in relaxed["paths"]:
            continue
        operation = relaxed["paths"][path][method.lower()]
        if where == "request":
            holder, key = operation, "requestBody"
        else:
            holder, key = _inline(relaxed, operation, "responses"), where.split()[1]
        for content in _inline(relaxed, holder, key)["content"].values():
            _relax_field(relaxed, content, "schema", field_path.split("."))
    return relaxed


def _inline(spec: dict[str, Any], container: Any, key: Any) -> Any:
    """Replace ``container[key]`` by a private copy of what it refers to, so that a change does
    not leak into the other operations that share a ``$ref``."""
    node = container[key]
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for step in node["$ref"].removeprefix("#/").split("/"):
            target = target[step.replace("~1", "/").replace("~0", "~")]
        node = target
    container[key] = copy.deepcopy(node)
    return container[key]


def _relax_field(spec: dict[str, Any], container: Any, key: Any, steps: list[str]) -> None:
    if not steps:
        container[key] = {}
        return
    schema = _inline(spec, container, key)
    name = steps[0].removesuffix("[]")
    properties = schema["properties"]
    if name not in properties:
        raise KeyError(f"the spec has no field {name!r} here")
    if steps[0].endswith("[]"):
        array = _inline(spec, properties, name)
        _relax_field(spec, array, "items", steps[1:])
    else:
        _relax_field(spec, properties, name, steps[1:])
