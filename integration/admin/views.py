"""The admin's own pages and buttons, beside the ModelAdmins' list and change pages.

Each is `view(request, object_id, *, model_admin)`, wired by its ModelAdmin's get_urls through
base.admin_page. Thin by design (STYLE.md §3.1, §3.7): a POST is one service call; a
ServiceError means nothing was changed, and its messages are shown beside the fields they
name; a success redirects back to the page (post/redirect/get).

Order page: Refresh from VTEX, Retry start-handling, Add invoice, Import NF-e XML, Request cancellation.
Invoice page: its tracking, events and delivery forms, Retry of a send, the DANFE and the NF-e XML.
Invoice list: Import NF-e files (several, or ZIPs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.forms import BoundField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET

from integration.admin.actions import (
    acknowledge_one,
    cancellation_page,
    refresh_one,
    retry_outbox_message,
    vtex_available,
)
from integration.admin.forms import (
    DeliveredForm,
    InvoiceForm,
    NfeFilesForm,
    NfeUploadForm,
    TrackingEventFormSet,
    TrackingForm,
    add_events_service_error,
    item_field_name,
    now_to_the_minute,
    tracking_events_from,
)
from integration.admin.links import invoice_url, order_url
from integration.admin.money import money_format
from integration.admin.permissions import (
    ENTER_INVOICES,
    RETRY_SENDS,
    can_enter_invoices,
    can_request_cancellation,
)
from integration.admin.queue import changelist_url, list_pks, next_pk, with_list_filters
from integration.infra.vtex_client import vtex_client
from integration.models import Invoice, Order
from integration.selectors.queue import order_delivery
from integration.services.errors import ServiceError
from integration.services.invoicing import (
    ItemQuantities,
    invoice_create,
    invoice_kinds_open,
    invoice_plan,
    invoice_validate,
    invoices_with_number_elsewhere,
    item_line_cents,
    item_unit_cents,
    order_invoicing_blocker,
    order_item_quantities,
)
from integration.services.nfe import nfe_danfe_pdf, nfe_import, nfe_import_files
from integration.services.tracking import invoice_mark_delivered, invoice_set_tracking, tracking_events_add


def nothing_left_to_invoice() -> str:
    """Why an order without a blocker takes no invoice (invoice_kinds_open() is empty); the order
    page says it after "No invoice possible:"."""
    return gettext("every item was invoiced and returned; there is nothing left to invoice or return.")


# ---- the order page's buttons ---------------------------------------------------------------------------


def order_refresh(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    return _order_button(request, object_id, model_admin, refresh_one)


def order_acknowledge(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    return _order_button(request, object_id, model_admin, acknowledge_one)


def _order_button(request: HttpRequest, object_id: str, model_admin: admin.ModelAdmin, run: Callable) -> HttpResponse:
    """A button on the order page: POST only (admin_view adds CSRF), then back to the page."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    order = model_admin.get_object(request, unquote(object_id))
    if order is None:
        messages.warning(
            request, gettext("There is no order with ID %(id)r; nothing was sent to VTEX.") % {"id": object_id}
        )
        return HttpResponseRedirect(reverse("admin:integration_order_changelist"))
    if not model_admin.has_change_permission(request, order):
        raise PermissionDenied
    if vtex_available(request):
        run(request, order, vtex_client())
    return HttpResponseRedirect(with_list_filters(request, model_admin, order_url(order)))


def _order_or_none(request: HttpRequest, object_id: str, model_admin: admin.ModelAdmin) -> Order | None:
    order = model_admin.get_object(request, unquote(object_id))
    if order is None:
        messages.warning(request, gettext("There is no order with ID %(id)r.") % {"id": object_id})
    return order


# ---- Add invoice -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    """One order item on the add-invoice page: its quantities, its quantity field and line value.

    `quantity` is what was typed, even when refused (more than is left), so the row shows the value
    of what staff typed, marked invalid; None when it is not a whole number.
    """

    entry: ItemQuantities
    field: BoundField
    quantity: int | None

    @property
    def invalid(self) -> bool:
        return bool(self.field.errors) or self.quantity is None

    @property
    def unit_cents(self) -> int:
        """One unit's value as VTEX counts it (for an item sold by weight: one pack, not one kg)."""
        return item_unit_cents(self.entry.item, max(self.entry.item.quantity, 1))

    @property
    def line_cents(self) -> int | None:
        if self.quantity is None:
            return None
        return item_line_cents(self.entry.item, self.quantity)


def order_add_invoice(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """GET: the form, prefilled (for `?kind=`, else the kind the order takes now; the carrier VTEX
    chose). POST "_preview": the server's figures and any refusal; POST "_save": invoice_create,
    then back to the order; "_save_next": the same, then the next order of the list the clerk came
    from (its filters travel in "_changelist_filters", integration.admin.queue).

    An invoice number another order already has is a warning, not a refusal: the page says where,
    and saving again with the same number (the hidden "_same_number_ok") saves it.
    """
    if not can_enter_invoices(request):
        raise PermissionDenied
    order = _order_or_none(request, object_id, model_admin)
    if order is None:
        return HttpResponseRedirect(changelist_url(request, model_admin))
    quantities = order_item_quantities(order)
    kinds_open = invoice_kinds_open(order, quantities=quantities)
    default_kind = kinds_open[0] if kinds_open else Invoice.Kind.OUTPUT
    checked = False
    number_elsewhere: list[Invoice] = []
    if request.method == "POST":
        form = InvoiceForm(request.POST, quantities=quantities, kind=default_kind)
        going_next = "_save_next" in request.POST
        saving = going_next or "_save" in request.POST
        if form.is_valid():
            data = form.invoice_input()
            number_elsewhere = invoices_with_number_elsewhere(order=order, number=data.number)
            # Saved only once a warning about the number was seen (the page posts it back).
            warned = not number_elsewhere or request.POST.get("_same_number_ok") == data.number.strip()
            saving = saving and warned
            try:
                if saving:
                    queue_before = list_pks(request, model_admin) if going_next else []
                    invoice = invoice_create(order=order, data=data, actor=request.user, via="admin")
                else:
                    invoice_validate(order=order, data=data.cleaned())
            except ServiceError as error:
                form.add_service_error(error)
            else:
                if saving:
                    messages.success(
                        request,
                        gettext("Invoice %(number)s saved; it will be sent to VTEX.") % {"number": invoice.number},
                    )
                    if going_next:
                        return _to_next_order(request, model_admin, order, queue_before)
                    return HttpResponseRedirect(with_list_filters(request, model_admin, order_url(order)))
                checked = warned  # a preview, or a save held back by the warning (not "checked")
    else:
        kind = request.GET.get("kind")
        kind = kind if kind in Invoice.Kind.values else default_kind
        initial = {"kind": kind, "issued_at": now_to_the_minute(), "courier": order_delivery(order).carrier}
        form = InvoiceForm(quantities=quantities, kind=kind, initial=initial)
    kind = form.chosen_kind()
    plan = invoice_plan(
        order=order, kind=kind, quantities_by_index=form.chosen_quantities(), value_cents=form.chosen_value_cents()
    )
    rows = [
        ItemRow(entry=entry, field=form[item_field_name(index)], quantity=form.typed_quantity(index))
        for index, entry in sorted(quantities.items())
    ]
    other_kind = Invoice.Kind.INPUT if kind == Invoice.Kind.OUTPUT else Invoice.Kind.OUTPUT
    blocker = order_invoicing_blocker(order) or ("" if kinds_open else capfirst(nothing_left_to_invoice()))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Add an invoice to order %(order)s") % {"order": order.order_id},
        "order": order,
        "original": order,
        "has_view_permission": model_admin.has_view_permission(request, order),
        "form": form,
        "rows": rows,
        # A refused quantity leaves the server's figures without its item: they are not shown.
        "quantities_invalid": any(row.invalid for row in rows),
        "plan": plan,
        "kind": kind,
        "is_output": kind == Invoice.Kind.OUTPUT,
        "checked": checked,
        "blocker": blocker,
        "other_kind_text": (
            gettext("Enter a return (input) invoice instead")
            if other_kind == Invoice.Kind.INPUT
            else gettext("Enter a sale (output) invoice instead")
        ),
        "other_kind_url": (
            with_list_filters(request, model_admin, request.path + "?" + urlencode({"kind": other_kind}))
            if other_kind in kinds_open
            else ""
        ),
        "order_url": with_list_filters(request, model_admin, order_url(order)),
        "changelist_url": changelist_url(request, model_admin),
        "number_elsewhere": [(invoice, order_url(invoice.order)) for invoice in number_elsewhere],
        "vtex_delivery": order_delivery(order),
        # The live estimate writes amounts as format_cents does, in the page's language.
        "money": money_format(order.currency_code),
    }
    return TemplateResponse(request, "admin/integration/order/add_invoice.html", context)


# ---- Import NF-e XML ------------------------------------------------------------------------------------------


def order_import_nfe(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """GET: the upload form. POST: nfe_import (every check, then invoice_create: one outbox row), then
    the invoice's page; a refusal is shown above the form with each problem it names."""
    if not can_enter_invoices(request):
        raise PermissionDenied
    order = _order_or_none(request, object_id, model_admin)
    if order is None:
        return HttpResponseRedirect(reverse("admin:integration_order_changelist"))
    if request.method == "POST":
        form = NfeUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                invoice, created = nfe_import(order=order, raw=form.content(), actor=request.user, via="admin")
            except ServiceError as error:
                form.add_service_error(error)
            else:
                values = {"number": invoice.number}
                if created:
                    text = gettext("Invoice %(number)s imported from the NF-e; it will be sent to VTEX.") % values
                    messages.success(request, text)
                else:
                    messages.info(request, gettext("This NF-e was imported before: it is invoice %(number)s.") % values)
                return HttpResponseRedirect(invoice_url(invoice))
    else:
        form = NfeUploadForm()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Import an NF-e XML into order %(order)s") % {"order": order.order_id},
        "order": order,
        "original": order,
        "has_view_permission": model_admin.has_view_permission(request, order),
        "form": form,
        "blocker": order_invoicing_blocker(order),
        "order_url": order_url(order),
    }
    return TemplateResponse(request, "admin/integration/order/import_nfe.html", context)


def invoice_import_nfe_files(request: HttpRequest, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """GET: the upload form. POST: each file imported on the order it names or fits; a table of what
    happened to each (its invoice, or why none), on this page."""
    if not can_enter_invoices(request):
        raise PermissionDenied
    results = []
    if request.method == "POST":
        form = NfeFilesForm(request.POST, request.FILES)
        if form.is_valid():
            results = nfe_import_files(files=form.contents(), actor=request.user, via="admin")
            form = NfeFilesForm()
    else:
        form = NfeFilesForm()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Import NF-e XML files"),
        "form": form,
        "results": results,
        "imported": sum(1 for result in results if result.created),
    }
    return TemplateResponse(request, "admin/integration/invoice/import_nfe_files.html", context)


@require_GET
def invoice_danfe(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """The DANFE of an invoice imported from its NF-e, as a PDF download."""
    invoice = _invoice_to_view(request, object_id, model_admin)
    try:
        pdf = nfe_danfe_pdf(invoice)
    except ServiceError as error:
        messages.warning(request, error.message)
        return HttpResponseRedirect(invoice_url(invoice))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="DANFE-{invoice.access_key or invoice.pk}.pdf"'
    return response


@require_GET
def invoice_nfe_xml(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    """The NF-e XML kept with the invoice, as it was received."""
    invoice = _invoice_to_view(request, object_id, model_admin)
    if not invoice.nfe_xml:
        raise Http404
    response = HttpResponse(invoice.nfe_xml.encode(), content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="NFe-{invoice.access_key or invoice.pk}.xml"'
    return response


def _invoice_to_view(request: HttpRequest, object_id: str, model_admin: admin.ModelAdmin) -> Invoice:
    invoice = model_admin.get_object(request, unquote(object_id))
    if invoice is None:
        raise Http404
    if not model_admin.has_view_or_change_permission(request, invoice):
        raise PermissionDenied
    return invoice


def _to_next_order(
    request: HttpRequest, model_admin: admin.ModelAdmin, order: Order, queue_before: list[int]
) -> HttpResponse:
    """After "Save and go to the next": the next order of the same list, on its invoice form when
    it takes one (else its page, which says why); the list itself past its last order."""
    following = next_pk(queue_before, list_pks(request, model_admin), order.pk)
    upcoming = Order.objects.filter(pk=following).first() if following is not None else None
    if upcoming is None:
        messages.info(request, gettext("That was the last order of this list."))
        return HttpResponseRedirect(changelist_url(request, model_admin))
    if invoice_kinds_open(upcoming):
        url = reverse("admin:integration_order_add_invoice", args=[quote(upcoming.pk)])
    else:
        url = order_url(upcoming)
    return HttpResponseRedirect(with_list_filters(request, model_admin, url))


# ---- Request cancellation -----------------------------------------------------------------------------------


def order_request_cancellation(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    if not can_request_cancellation(request):
        raise PermissionDenied
    order = _order_or_none(request, object_id, model_admin)
    if order is None:
        return HttpResponseRedirect(reverse("admin:integration_order_changelist"))
    return cancellation_page(request, [order], model_admin=model_admin, done_url=order_url(order), from_action=False)


# ---- the invoice page's forms --------------------------------------------------------------------------------


def _invoice_for_post(
    request: HttpRequest, object_id: str, model_admin: admin.ModelAdmin, permission: str
) -> Invoice | HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm(permission):
        raise PermissionDenied
    invoice = model_admin.get_object(request, unquote(object_id))
    if invoice is None:
        messages.warning(
            request, gettext("There is no invoice with ID %(id)r; nothing was changed.") % {"id": object_id}
        )
        return HttpResponseRedirect(reverse("admin:integration_invoice_changelist"))
    return invoice


def invoice_tracking(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    invoice = _invoice_for_post(request, object_id, model_admin, ENTER_INVOICES)
    if isinstance(invoice, HttpResponse):
        return invoice
    form = TrackingForm(request.POST)
    if form.is_valid():
        try:
            changed = invoice_set_tracking(invoice=invoice, actor=request.user, via="admin", **form.cleaned_data)
        except ServiceError as error:
            form.add_service_error(error)
        else:
            values = {"number": invoice.number}
            if changed:
                text = gettext("Tracking of invoice %(number)s saved; it will be sent to VTEX.") % values
                messages.success(request, text)
            else:
                messages.info(request, gettext("Tracking of invoice %(number)s unchanged; nothing to send.") % values)
            return HttpResponseRedirect(with_list_filters(request, model_admin, invoice_url(invoice)))
    return model_admin.invoice_page(request, object_id, invoice, {"tracking_form": form})


def invoice_tracking_events(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    invoice = _invoice_for_post(request, object_id, model_admin, ENTER_INVOICES)
    if isinstance(invoice, HttpResponse):
        return invoice
    formset = TrackingEventFormSet(request.POST, prefix="events")
    errors: list[str] = []
    if formset.is_valid():
        events, filled = tracking_events_from(formset)
        if not events:
            errors = [gettext("Fill in at least one event: its date and time and what happened.")]
        else:
            try:
                created = tracking_events_add(invoice=invoice, events=events, actor=request.user, via="admin")
            except ServiceError as error:
                errors = add_events_service_error(filled, error)
            else:
                _report_events_added(request, invoice, added=len(created), ignored=len(events) - len(created))
                return HttpResponseRedirect(with_list_filters(request, model_admin, invoice_url(invoice)))
    return model_admin.invoice_page(request, object_id, invoice, {"events_formset": formset, "events_errors": errors})


def _report_events_added(request: HttpRequest, invoice: Invoice, *, added: int, ignored: int) -> None:
    values = {"count": added, "number": invoice.number, "ignored": ignored}
    if added and ignored:
        text = ngettext(
            "%(count)s tracking event added to invoice %(number)s (%(ignored)s already there, "
            "ignored); it will be sent to VTEX.",
            "%(count)s tracking events added to invoice %(number)s (%(ignored)s already there, "
            "ignored); they will be sent to VTEX.",
            added,
        )
        messages.success(request, text % values)
    elif added:
        text = ngettext(
            "%(count)s tracking event added to invoice %(number)s; it will be sent to VTEX.",
            "%(count)s tracking events added to invoice %(number)s; they will be sent to VTEX.",
            added,
        )
        messages.success(request, text % values)
    else:
        messages.info(request, gettext("Nothing added to invoice %(number)s: every event was there.") % values)


def invoice_delivered(request: HttpRequest, object_id: str, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    invoice = _invoice_for_post(request, object_id, model_admin, ENTER_INVOICES)
    if isinstance(invoice, HttpResponse):
        return invoice
    form = DeliveredForm(request.POST)
    if form.is_valid():
        try:
            invoice_mark_delivered(
                invoice=invoice, delivered_at=form.cleaned_data["delivered_at"], actor=request.user, via="admin"
            )
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                gettext("Invoice %(number)s marked delivered; it will be sent to VTEX.") % {"number": invoice.number},
            )
            return HttpResponseRedirect(with_list_filters(request, model_admin, invoice_url(invoice)))
    return model_admin.invoice_page(request, object_id, invoice, {"delivered_form": form})


def invoice_retry(
    request: HttpRequest, object_id: str, message_id: int, *, model_admin: admin.ModelAdmin
) -> HttpResponse:
    invoice = _invoice_for_post(request, object_id, model_admin, RETRY_SENDS)
    if isinstance(invoice, HttpResponse):
        return invoice
    message = invoice.outbox_messages.select_related("order", "invoice").filter(pk=message_id).first()
    if message is None:
        messages.warning(
            request,
            gettext("Invoice %(number)s has no send with ID %(id)s.") % {"number": invoice.number, "id": message_id},
        )
    else:
        retry_outbox_message(request, message)
    return HttpResponseRedirect(with_list_filters(request, model_admin, invoice_url(invoice)))
