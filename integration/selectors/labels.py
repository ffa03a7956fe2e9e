"""What staff read for the codes VTEX sends and for the timeline's actors, in their language.

VTEX's order statuses are named as VTEX's own admin names them (Help Center, "Order flow and
status" / "Fluxo e status de pedidos", its table of Admin and API statuses), so a clerk who also
works in VTEX's admin reads the same words: `handling` is "Handling shipping" / "Preparando
entrega". The API string stays beside the name (`status_text`), because that is what VTEX's API,
the logs and this project's documentation say. Statuses VTEX's admin does not show (the table
gives them as API strings only: order-created, ready-for-invoicing...) get a plain description,
marked below. A code not listed here (VTEX adds statuses and payment groups) is shown as it came.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from integration.vtex.statuses import VtexStatus

VTEX_STATUS_NAMES: dict[str, Promise] = {
    # "context" keeps a status that reads like a word used elsewhere ("Canceled" of our own order
    # state) its own catalog entry: VTEX's admin may word it differently.
    VtexStatus.ORDER_CREATED: pgettext_lazy("VTEX status", "Order created"),  # API only
    VtexStatus.ORDER_COMPLETED: pgettext_lazy("VTEX status", "Order completed"),  # API only
    VtexStatus.ORDER_ACCEPTED: pgettext_lazy("VTEX status", "Order accepted"),
    VtexStatus.WAITING_FOR_AUTHORIZATION: pgettext_lazy("VTEX status", "Waiting for seller confirmation"),
    VtexStatus.WAITING_FOR_MANUAL_AUTHORIZATION: pgettext_lazy("VTEX status", "Waiting for fulfillment authorization"),
    VtexStatus.AUTHORIZE_FULFILLMENT: pgettext_lazy("VTEX status", "Authorize fulfillment"),
    VtexStatus.WAITING_FFMT_AUTHORIZATION: pgettext_lazy("VTEX status", "Awaiting the marketplace's authorization"),
    VtexStatus.PAYMENT_PENDING: pgettext_lazy("VTEX status", "Payment pending"),
    VtexStatus.PAYMENT_APPROVED: pgettext_lazy("VTEX status", "Payment approved"),
    VtexStatus.WINDOW_TO_CANCEL: pgettext_lazy("VTEX status", "Cancellation window"),
    VtexStatus.WINDOW_TO_CHANGE_SELLER: pgettext_lazy("VTEX status", "Window to change seller"),
    VtexStatus.WINDOW_TO_CHANGE_PAYMENT: pgettext_lazy("VTEX status", "Window to change payment"),
    VtexStatus.WAITING_FOR_SELLERS_CONFIRMATION: pgettext_lazy("VTEX status", "Waiting for the sellers' confirmation"),
    VtexStatus.WAITING_FOR_SELLER_DECISION: pgettext_lazy("VTEX status", "Waiting for the seller decision"),
    VtexStatus.WAITING_FOR_FULFILLMENT: pgettext_lazy("VTEX status", "Waiting for fulfillment"),  # API only
    VtexStatus.READY_FOR_HANDLING: pgettext_lazy("VTEX status", "Ready for handling"),
    VtexStatus.START_HANDLING: pgettext_lazy("VTEX status", "Start handling"),
    VtexStatus.HANDLING: pgettext_lazy("VTEX status", "Handling shipping"),
    VtexStatus.READY_FOR_INVOICING: pgettext_lazy("VTEX status", "Ready for invoicing"),  # API only
    VtexStatus.INVOICE: pgettext_lazy("VTEX status", "Verifying invoice"),
    VtexStatus.INVOICED: pgettext_lazy("VTEX status", "Invoiced"),
    VtexStatus.INVOICE_AFTER_CANCELLATION_DENY: pgettext_lazy("VTEX status", "Invoice after a denied cancellation"),
    VtexStatus.REQUEST_CANCEL: pgettext_lazy("VTEX status", "Cancellation requested"),
    VtexStatus.CANCELLATION_REQUESTED: pgettext_lazy("VTEX status", "Cancellation requested"),
    VtexStatus.CANCEL: pgettext_lazy("VTEX status", "Canceling"),
    VtexStatus.CANCELED: pgettext_lazy("VTEX status", "Canceled"),
    VtexStatus.REPLACED: pgettext_lazy("VTEX status", "Replaced"),
}


def vtex_status_name(status: str) -> str:
    """VTEX's admin name of the status in the active language; an unknown code as it came."""
    name = VTEX_STATUS_NAMES.get(status)
    return str(name) if name is not None else status


def vtex_status_text(status: str) -> str:
    """ "Preparando entrega (handling)": the name and, beside it, the API string; "-" when none."""
    if not status:
        return "-"
    name = VTEX_STATUS_NAMES.get(status)
    if name is None:
        return status
    return gettext("%(name)s (%(status)s)") % {"name": name, "status": status}


def vtex_status_choices() -> list[tuple[str, str]]:
    """(code, "name (code)") of every status, for filters and forms."""
    return [(str(status), vtex_status_text(status)) for status in VtexStatus]


#: payments[].group: how the buyer paid (VTEX's groups; the payment system's own name, "Visa",
#: "Pix", "Boleto Bancário", is VTEX's and shown as it came).
PAYMENT_GROUPS: dict[str, Promise] = {
    "creditCard": _("Credit card"),
    "debitCard": _("Debit card"),
    "instantPayment": _("Instant payment (Pix)"),
    "bankInvoice": _("Bank slip (boleto)"),
    "giftCard": _("Gift card"),
    "promissory": _("Promissory"),
    "custom": _("Custom payment"),
    "MercadoPagoPro": _("Mercado Pago"),
}

#: The Payments API's statuses of a payment and of its transaction.
PAYMENT_STATUSES: dict[str, Promise] = {
    "approved": pgettext_lazy("payment status", "Approved"),
    "authorized": pgettext_lazy("payment status", "Authorized"),
    "finished": pgettext_lazy("payment status", "Finished"),
    "cancelled": pgettext_lazy("payment status", "Canceled"),
    "canceled": pgettext_lazy("payment status", "Canceled"),
    "denied": pgettext_lazy("payment status", "Denied"),
    "pending": pgettext_lazy("payment status", "Pending"),
    "started": pgettext_lazy("payment status", "Started"),
    "undefined": pgettext_lazy("payment status", "Undefined"),
    "refunded": pgettext_lazy("payment status", "Refunded"),
}

#: clientProfileData.documentType.
DOCUMENT_TYPES: dict[str, Promise] = {
    "cpf": _("CPF"),
    "cnpj": _("CNPJ"),
    "passport": _("Passport"),
    "cedulaCOL": _("Colombian ID (cédula)"),
    "rut": _("RUT (Chile)"),
    "dni": _("DNI"),
}

#: OrderEvent.actor_label when no user acted.
ACTORS: dict[str, Promise] = {
    "system": pgettext_lazy("actor", "system"),
    "intake": pgettext_lazy("actor", "intake"),
    "api": pgettext_lazy("actor", "ERP (API)"),
    "erp": pgettext_lazy("actor", "ERP"),
    "vtex": pgettext_lazy("actor", "VTEX"),
    "admin": pgettext_lazy("actor", "staff"),
    "import": pgettext_lazy("actor", "bulk import"),
}


def coded_text(code: str, names: dict[str, Promise]) -> str:
    """A code's name with the code beside it ("Cartão de crédito (creditCard)"), the code alone
    when it has no name here, "-" when empty."""
    if not code:
        return "-"
    name = names.get(code) or names.get(code.lower())
    if name is None:
        return code
    if str(name).casefold() == code.casefold():
        return str(name)  # "CPF (cpf)" says nothing more
    return gettext("%(name)s (%(status)s)") % {"name": name, "status": code}


def actor_text(label: str) -> str:
    """Who did it, when it was not a user: in the reader's language; any other label as stored."""
    name = ACTORS.get(label)
    return str(name) if name is not None else label
