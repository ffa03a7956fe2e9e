"""Forms of the invoicing and cancellation pages.

They only turn what staff type into Python values (times in the store's zone, R$ amounts into
integer cents); every rule is the services'. Most fields are therefore optional here: an empty
invoice number reaches invoice_create, whose message then shows beside the field, so staff read
the same words the API returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integration.models import Invoice
from integration.selectors.money import MoneyParseError, parse_money_cents
from integration.services.cancellation import REASON_MAX_LENGTH, REASON_MIN_LENGTH
from integration.services.errors import ServiceError, ValidationFailed
from integration.services.invoicing import InvoiceInput, ItemQuantities, item_unit_cents
from integration.services.nfe import MAX_NFE_BYTES
from integration.services.tracking import TrackingEventInput

# ---- money -----------------------------------------------------------------------------------------


class MoneyField(forms.CharField):
    """An amount in R$, cleaned to integer cents (or None when left empty)."""

    def clean(self, value):
        text = super().clean(value)
        try:
            return parse_money_cents(text)
        except MoneyParseError as exc:
            raise forms.ValidationError(str(exc), code="money") from None


# ---- date and time -----------------------------------------------------------------------------------

#: The browser's datetime-local value first; the others for typing by hand (or an old browser).
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
]


class LocalDateTimeInput(forms.DateTimeInput):
    """The browser's own date-and-time picker: keyboard friendly and without admin JavaScript."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _store_time_help(help_text: str) -> str:
    zone = timezone.get_default_timezone_name()
    return " ".join(filter(None, [str(help_text), gettext("Store time (%(zone)s).") % {"zone": zone}]))


def local_datetime_field(label: str, *, help_text: str = "", required: bool = False) -> forms.DateTimeField:
    """A time typed in the store's zone (TIME_ZONE); Django makes it aware, the database keeps UTC.

    `label` and `help_text` are lazy (the fields are built at import): the help is put together
    when a page shows it, in that page's language.
    """
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=LocalDateTimeInput(),
        input_formats=DATETIME_INPUT_FORMATS,
        help_text=lazy(_store_time_help, str)(help_text),
    )


def now_to_the_minute() -> datetime:
    """Now in the store's zone, to the minute the picker shows (so never ahead of the real now)."""
    return timezone.localtime().replace(second=0, microsecond=0)


# ---- service errors on forms -----------------------------------------------------------------------------


def add_service_error(form: forms.BaseForm, error: ServiceError, field_for: Callable[[str], str | None]) -> None:
    """Show a service's refusal on the form: each field's messages beside that field, the rest on top.

    `field_for` maps a service field key ("number", "items[2]") to a form field name, or None when
    the form has no such field. A ValidationFailed's own message is the generic "correct the errors
    below", which the admin template already says, so only its field messages are shown.
    """
    for key, problems in error.fields.items():
        name = field_for(key)
        target = name if name in form.fields else None
        for problem in problems:
            form.add_error(target, problem)
    if not (isinstance(error, ValidationFailed) and error.fields):
        form.add_error(None, error.message)


# ---- focus on the first error -----------------------------------------------------------------------------


class FocusBoundField(forms.BoundField):
    """A field that takes the page's focus (autofocus) when it is its form's first field in error,
    and gives up its own autofocus when another field is in error: done when the page is rendered,
    so errors added after validation (a service's refusal) count too, and it needs no JavaScript."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        focus = self.form.first_error_field()
        if focus is not None:
            attrs["autofocus"] = self.name == focus  # False: not rendered, even if the widget sets it
        return attrs


class FocusFirstErrorMixin:
    """After a refused submission, the keyboard lands on the first field in error, in the order the
    page shows the fields (`focus_order`); without field errors the form's own autofocus stays."""

    bound_field_class = FocusBoundField

    def focus_order(self) -> list[str]:
        return list(self.fields)

    def first_error_field(self) -> str | None:
        if not self.is_bound or not self.errors:
            return None
        return next((name for name in self.focus_order() if name in self.errors), None)


# ---- the invoice of an order -------------------------------------------------------------------------------

_ITEM_KEY = re.compile(r"items\[(\d+)\]")


def item_field_name(item_index: int) -> str:
    return f"item_{item_index}"


class InvoiceForm(FocusFirstErrorMixin, forms.Form):
    """An invoice of an order: its header and one quantity per order item.

    `quantities` are the order's items with what was invoiced and returned so far
    (order_item_quantities); each becomes a quantity field prefilled for `kind`: the remainder for a
    sale (output), 0 for a return (input), whose limit is shown beside it.
    """

    number = forms.CharField(
        label=_("Invoice number"),
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"autofocus": True, "required": True, "size": 20, "autocomplete": "off"}),
        help_text=_("As printed on the NF-e; unique in this order; no '/'."),
    )
    kind = forms.ChoiceField(label=_("Type"), choices=Invoice.Kind.choices)
    issued_at = local_datetime_field(_("Issued at"))
    access_key = forms.CharField(
        label=_("NF-e access key"),
        required=False,
        widget=forms.TextInput(attrs={"size": 50, "inputmode": "numeric", "autocomplete": "off"}),
        help_text=_("The 44 digits of the chave de acesso."),
    )
    series = forms.CharField(
        label=_("Series"),
        required=False,
        widget=forms.TextInput(attrs={"size": 4, "inputmode": "numeric", "autocomplete": "off"}),
        help_text=_("Optional: checked against the series inside the access key."),
    )
    url = forms.CharField(label=_("Invoice URL"), required=False, widget=forms.URLInput(attrs={"size": 60}))
    embedded_xml = forms.CharField(
        label=_("Embedded XML"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=_("Optional: the NF-e XML, sent to VTEX as it is."),
    )
    courier = forms.CharField(label=_("Courier"), required=False)
    tracking_number = forms.CharField(label=_("Tracking number"), required=False)
    tracking_url = forms.CharField(label=_("Tracking URL"), required=False, widget=forms.URLInput(attrs={"size": 60}))
    value = MoneyField(
        label=_("Value override (R$)"),
        required=False,
        widget=forms.TextInput(attrs={"size": 14, "inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("Leave empty to use the computed value. 1234,56 or 1.234,56 or 1234.56."),
    )

    def __init__(self, *args, quantities: dict[int, ItemQuantities], kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.quantities = quantities
        self.fields["kind"].initial = kind
        for index, entry in sorted(quantities.items()):
            item = entry.item
            self.fields[item_field_name(index)] = forms.IntegerField(
                label=gettext("Quantity of %(name)s (SKU %(sku)s)") % {"name": item.name, "sku": item.sku_id},
                required=False,
                min_value=0,
                initial=max(entry.remaining, 0) if kind == Invoice.Kind.OUTPUT else 0,
                widget=forms.NumberInput(
                    attrs={
                        "min": 0,
                        "step": 1,
                        "class": "invoice-quantity",
                        # One unit's value as VTEX counts it (unit multiplier, VTEX's total):
                        # the live estimate multiplies it; the server's figures are exact.
                        "data-price": item_unit_cents(item, max(item.quantity, 1)),
                        # The most this item can take, per type: the live estimate marks a
                        # quantity above it as invalid instead of computing with it.
                        "data-remaining": entry.remaining,
                        "data-returnable": entry.returnable,
                        "style": "width: 6em",
                    }
                ),
            )

    def focus_order(self) -> list[str]:
        """As the page shows them: the header and shipping, each item's quantity, then the value."""
        names = [name for name in self.fields if name != "value"]
        return [*names, "value"]

    # ---- reading what was typed (valid fields only: the preview works on a half-right form too) ----

    def _value(self, name: str, default=None):
        cleaned = getattr(self, "cleaned_data", None)
        if cleaned is None:  # unbound: the initial values
            field = self.fields[name]
            return self.get_initial_for_field(field, name)
        return cleaned.get(name, default)

    def chosen_kind(self) -> str:
        kind = self._value("kind")
        return kind if kind in Invoice.Kind.values else self.fields["kind"].initial

    def chosen_quantities(self) -> dict[int, int]:
        """item_index → quantity above 0, from the fields that hold a whole number."""
        chosen = {}
        for index in self.quantities:
            quantity = self._value(item_field_name(index))
            if isinstance(quantity, int) and quantity > 0:
                chosen[index] = quantity
        return chosen

    def typed_quantity(self, index: int) -> int | None:
        """What was typed for an item, as a whole number ≥ 0 even when refused (too many for what is
        left); None when it is not one. Empty is 0, as the form reads it."""
        name = item_field_name(index)
        if not self.is_bound:
            value = self._value(name)
            return value if isinstance(value, int) else 0
        text = str(self[name].value() or "").strip()
        if not text:
            return 0
        return int(text) if text.isascii() and text.isdigit() else None

    def chosen_value_cents(self) -> int | None:
        value = self._value("value")
        return value if isinstance(value, int) else None

    def invoice_input(self) -> InvoiceInput:
        data = self.cleaned_data
        return InvoiceInput(
            number=data["number"],
            issued_at=data["issued_at"],
            lines=sorted(self.chosen_quantities().items()),
            kind=data["kind"],
            value_cents=data["value"],
            access_key=data["access_key"],
            series=data["series"],
            url=data["url"],
            embedded_xml=data["embedded_xml"],
            courier=data["courier"],
            tracking_number=data["tracking_number"],
            tracking_url=data["tracking_url"],
        )

    def add_service_error(self, error: ServiceError) -> None:
        add_service_error(self, error, self.field_for)

    @staticmethod
    def field_for(key: str) -> str | None:
        match = _ITEM_KEY.fullmatch(key)
        if match:
            return item_field_name(int(match[1]))
        return None if key == "items" else key


# ---- tracking of an invoice ---------------------------------------------------------------------------------


class TrackingForm(FocusFirstErrorMixin, forms.Form):
    tracking_number = forms.CharField(
        label=_("Tracking number"), required=False, widget=forms.TextInput(attrs={"required": True})
    )
    tracking_url = forms.CharField(label=_("Tracking URL"), required=False, widget=forms.URLInput(attrs={"size": 60}))
    courier = forms.CharField(label=_("Courier"), required=False)
    dispatched_at = local_datetime_field(_("Dispatched at"))

    def add_service_error(self, error: ServiceError) -> None:
        add_service_error(self, error, lambda key: key)


class TrackingEventForm(FocusFirstErrorMixin, forms.Form):
    occurred_at = local_datetime_field(_("Date and time"))
    city = forms.CharField(label=_("City"), required=False)
    state = forms.CharField(label=_("State (UF)"), required=False, widget=forms.TextInput(attrs={"size": 4}))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.TextInput(attrs={"size": 50}))

    def event_input(self) -> TrackingEventInput:
        data = self.cleaned_data
        return TrackingEventInput(
            occurred_at=data["occurred_at"], description=data["description"], city=data["city"], state=data["state"]
        )


#: Blank rows are skipped (empty_permitted), so staff fill as many as they have events.
TrackingEventFormSet = forms.formset_factory(TrackingEventForm, extra=3)

_EVENT_KEY = re.compile(r"events\[(\d+)\]\.(\w+)")
#: The service's names of an event's parts → the form's fields.
_EVENT_FIELDS = {"date": "occurred_at", "description": "description", "city": "city", "state": "state"}


def tracking_events_from(formset) -> tuple[list[TrackingEventInput], list[forms.Form]]:
    """The filled rows of a valid formset, and the form each event came from (for its errors)."""
    filled = [form for form in formset.forms if form.has_changed()]
    return [form.event_input() for form in filled], filled


def add_events_service_error(filled: list[forms.Form], error: ServiceError) -> list[str]:
    """Put events[n].date etc. beside the field of the n-th filled row; returns what goes above the rows."""
    top: list[str] = [] if isinstance(error, ValidationFailed) and error.fields else [error.message]
    for key, problems in error.fields.items():
        match = _EVENT_KEY.fullmatch(key)
        name = _EVENT_FIELDS.get(match[2]) if match else None
        if name and int(match[1]) < len(filled):
            for problem in problems:
                filled[int(match[1])].add_error(name, problem)
        else:
            top.extend(problems)
    return top


class DeliveredForm(FocusFirstErrorMixin, forms.Form):
    delivered_at = local_datetime_field(_("Delivered at"))

    def add_service_error(self, error: ServiceError) -> None:
        add_service_error(self, error, lambda key: key)


# ---- cancellation ------------------------------------------------------------------------------------------


def _reason_help() -> str:
    return gettext(
        "Why the order is canceled: at least %(min)s characters, at most %(max)s. "
        "It is sent to VTEX and kept on the order's timeline."
    ) % {"min": REASON_MIN_LENGTH, "max": REASON_MAX_LENGTH}


class CancellationForm(FocusFirstErrorMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "autofocus": True}),
        help_text=lazy(_reason_help, str)(),
    )

    def add_service_error(self, error: ServiceError) -> None:
        add_service_error(self, error, lambda key: key)


# ---- NF-e XML files ----------------------------------------------------------------------------------------


class NfeUploadForm(FocusFirstErrorMixin, forms.Form):
    """One NF-e XML file for the order page's "Import NF-e XML"."""

    xml = forms.FileField(
        label=_("NF-e XML file"),
        help_text=_("The NF-e your ERP issued (nfeProc with SEFAZ's protocol, or NFe), at most 2 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xml,application/xml,text/xml", "autofocus": True}),
    )

    def clean_xml(self):
        upload = self.cleaned_data["xml"]
        if upload.size > MAX_NFE_BYTES:
            raise forms.ValidationError(gettext("The file is larger than %(max)s MB: it is not an NF-e.") % {"max": 2})
        return upload

    def content(self) -> bytes:
        return self.cleaned_data["xml"].read(MAX_NFE_BYTES + 1)

    def add_service_error(self, error: ServiceError) -> None:
        """The refusal above the form, each named problem (an NF-e item, the recipient, the value) under it."""
        self.add_error(None, error.message)
        for problems in error.fields.values():
            for problem in problems:
                if problem != error.message:
                    self.add_error(None, problem)


class _MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class _MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern): each checked as FileField checks one."""

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(_MultipleFileField, self).clean(upload, initial) for upload in files]


class NfeFilesForm(FocusFirstErrorMixin, forms.Form):
    """Several NF-e XML files, or ZIPs of them, for the invoice list's bulk import."""

    #: The whole upload, as Django's own upload limit would see it, before unpacking.
    MAX_TOTAL_BYTES = 50 * 1024 * 1024

    files = _MultipleFileField(
        label=_("NF-e XML files or ZIP"),
        help_text=_("Several NF-e XML files, or ZIP files of them. Each is matched to its order."),
        widget=_MultipleFileInput(attrs={"accept": ".xml,.zip,application/xml,text/xml,application/zip"}),
    )

    def clean_files(self):
        uploads = [upload for upload in self.cleaned_data["files"] if upload]
        if sum(upload.size for upload in uploads) > self.MAX_TOTAL_BYTES:
            raise forms.ValidationError(gettext("The files are larger than %(max)s MB together.") % {"max": 50})
        return uploads

    def contents(self) -> list[tuple[str, bytes]]:
        return [(upload.name, upload.read()) for upload in self.cleaned_data["files"]]
