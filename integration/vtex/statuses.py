"""VTEX's order statuses (the API strings of the OMS) and the groups erp-bridge's rules use.

The one place these strings are written: everything else names `VtexStatus.X` or a group, so
a grep for a member finds every rule that depends on it (VTEX-API.md §10).
"""

from __future__ import annotations

from enum import StrEnum


class VtexStatus(StrEnum):
    ORDER_CREATED = "order-created"
    ORDER_COMPLETED = "on-order-completed"
    ORDER_ACCEPTED = "order-accepted"
    WAITING_FOR_AUTHORIZATION = "waiting-for-authorization"
    WAITING_FOR_MANUAL_AUTHORIZATION = "waiting-for-manual-authorization"
    AUTHORIZE_FULFILLMENT = "authorize-fulfillment"
    WAITING_FFMT_AUTHORIZATION = "waiting-ffmt-authorization"
    PAYMENT_PENDING = "payment-pending"
    PAYMENT_APPROVED = "payment-approved"
    WINDOW_TO_CANCEL = "window-to-cancel"
    WINDOW_TO_CHANGE_SELLER = "window-to-change-seller"
    WINDOW_TO_CHANGE_PAYMENT = "window-to-change-payment"
    WAITING_FOR_SELLERS_CONFIRMATION = "waiting-for-sellers-confirmation"
    WAITING_FOR_SELLER_DECISION = "waiting-for-seller-decision"
    WAITING_FOR_FULFILLMENT = "waiting-for-fulfillment"
    READY_FOR_HANDLING = "ready-for-handling"
    START_HANDLING = "start-handling"
    HANDLING = "handling"
    READY_FOR_INVOICING = "ready-for-invoicing"
    INVOICE = "invoice"
    INVOICED = "invoiced"
    INVOICE_AFTER_CANCELLATION_DENY = "invoice-after-cancellation-deny"
    REQUEST_CANCEL = "request-cancel"
    CANCELLATION_REQUESTED = "cancellation-requested"
    CANCEL = "cancel"
    CANCELED = "canceled"
    REPLACED = "replaced"


#: Canceled at VTEX, or on its way there with no way back (`cancel` is automatic).
CANCELED = frozenset({VtexStatus.CANCEL, VtexStatus.CANCELED})

#: Start-handling already took effect: the order left ready-for-handling through it.
HANDLED = frozenset(
    {
        VtexStatus.START_HANDLING,
        VtexStatus.HANDLING,
        VtexStatus.INVOICE,
        VtexStatus.INVOICED,
        VtexStatus.CANCELLATION_REQUESTED,
        VtexStatus.CANCEL,
        VtexStatus.CANCELED,
    }
)

#: A start-handling (ours, or an earlier one whose answer was lost) shows as done in these.
START_HANDLING_TOOK_EFFECT = HANDLED - CANCELED - {VtexStatus.CANCELLATION_REQUESTED}


def start_handling_shown(status: str, *, stored: str) -> bool:
    """Does VTEX's `status` show that a start-handling took effect? Canceled alone does not say,
    but an order erp-bridge had `stored` past ready-for-handling before it was canceled had taken it."""
    return status in START_HANDLING_TOOK_EFFECT or (status in CANCELED and stored in START_HANDLING_TOOK_EFFECT)


#: Stored orders whose start-handling is retried until it is recorded.
START_HANDLING_RETRIED = START_HANDLING_TOOK_EFFECT | {VtexStatus.READY_FOR_HANDLING}

#: VTEX took a cancellation request (the order is on its way to canceled, or there).
CANCEL_TAKEN = CANCELED | {VtexStatus.CANCELLATION_REQUESTED}

#: VTEX cancels an order only before invoicing starts, and not in its automatic statuses
#: (order-created, cancel, invoice, start-handling) (VTEX-API.md §7, §10).
CANCELLABLE = frozenset(
    {
        VtexStatus.PAYMENT_PENDING,
        VtexStatus.PAYMENT_APPROVED,
        VtexStatus.WINDOW_TO_CANCEL,
        VtexStatus.READY_FOR_HANDLING,
        VtexStatus.HANDLING,
        VtexStatus.WAITING_FOR_SELLER_DECISION,
        VtexStatus.WAITING_FFMT_AUTHORIZATION,
    }
)

#: Invoicing began at VTEX (a partial invoice makes it `invoice`; the full total, `invoiced`).
INVOICING = frozenset({VtexStatus.INVOICE, VtexStatus.INVOICED})

#: What erp-bridge's Feed v3 and hook configurations ask VTEX for (VTEX-API.md §9):
#: ready-for-handling brings new orders; the others keep known orders in step with VTEX
#: (`replaced`: VTEX's newer change flow closes the order and a new one, which arrives as
#: ready-for-handling, carries the change).
FEED_FILTER = (
    VtexStatus.READY_FOR_HANDLING,
    VtexStatus.CANCELLATION_REQUESTED,
    VtexStatus.CANCEL,
    VtexStatus.CANCELED,
    VtexStatus.INVOICED,
    VtexStatus.REPLACED,
)
