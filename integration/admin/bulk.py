"""The bulk import pages (issue 19): tracking codes (linked from the invoice and order lists) and
invoices with their access keys (from the order list).

One page, three steps, each a service call (services/bulk_entry.py):
1. GET: the upload form (a file, or columns pasted from a spreadsheet) and the columns it takes.
2. POST "_preview": bulk_sheet_read + bulk_preview: every row with its outcome; nothing is saved.
   The sheet goes back to the browser signed (sheet_sign), in the confirmation form.
3. POST "_confirm": sheet_unsign + bulk_apply (which judges the rows again), then a redirect to
   the page of every row's result (kept in the session for that one page). Confirming the same
   preview twice is harmless: the rows saved the first time are "already stored".
Staff with "enter invoices" (the permission of the invoice and tracking forms) only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integration.admin.links import invoice_url, order_url
from integration.admin.money import format_cents
from integration.admin.permissions import can_enter_invoices
from integration.services.bulk_entry import (
    HEADERS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    BulkKind,
    Outcome,
    Preview,
    Result,
    RowPreview,
    RowResult,
    bulk_apply,
    bulk_preview,
    bulk_sheet_read,
    column_label,
    required_columns,
    sheet_sign,
    sheet_unsign,
)
from integration.services.errors import ValidationFailed


class BulkUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet file"),
        required=False,
        help_text=_("CSV (separated by ; or ,) or XLSX; the first line names the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt,text/csv"}),
    )
    pasted = forms.CharField(
        label=_("Or paste the columns"),
        required=False,
        help_text=_("Copied from a spreadsheet (columns separated by tabs or ;), with the header line."),
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80, "spellcheck": "false"}),
    )


def import_tracking(request: HttpRequest, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    return _bulk_page(request, model_admin, BulkKind.TRACKING)


def import_invoices(request: HttpRequest, *, model_admin: admin.ModelAdmin) -> HttpResponse:
    return _bulk_page(request, model_admin, BulkKind.INVOICES)


#: Where the confirmation leaves its results for the page it redirects to (post/redirect/get):
#: the outcome of each row, not the sheet; read once, then dropped.
RESULTS_SESSION_KEY = "integration.bulk_entry.results"


def _bulk_page(request: HttpRequest, model_admin: admin.ModelAdmin, kind: str) -> HttpResponse:
    if not can_enter_invoices(request):
        raise PermissionDenied
    context: dict[str, object] = {}
    form = BulkUploadForm()
    if request.method == "POST" and "_confirm" in request.POST:
        try:
            sheet = sheet_unsign(request.POST.get("sheet", ""), kind=kind)
        except ValidationFailed as error:
            messages.error(request, error.message)
        else:
            results = bulk_apply(sheet=sheet, actor=request.user)
            columns = _columns_shown(kind, [result.row for result in results])
            request.session[RESULTS_SESSION_KEY] = {
                "kind": kind,
                "columns": columns,
                "lines": [_line(result.row, columns, result) for result in results],
            }
            return HttpResponseRedirect(f"{request.path}?results=1")
    elif request.method == "POST":
        form = BulkUploadForm(request.POST, request.FILES)
        if form.is_valid():
            preview, token = _preview(form, kind)
            if preview is not None:
                columns = _columns_shown(kind, preview.rows)
                context.update(
                    preview=preview,
                    sheet_token=token,
                    table=[_line(row, columns) for row in preview.rows],
                    columns=columns,
                )
    elif "results" in request.GET:
        stored = request.session.pop(RESULTS_SESSION_KEY, None)
        if stored and stored.get("kind") == kind:
            lines = stored["lines"]
            saved = sum(line["result"] == Result.SAVED for line in lines)
            context.update(
                results=True, table=lines, columns=stored["columns"], saved=saved, not_saved=len(lines) - saved
            )
    if context.get("table"):
        # The rows that need the clerk, listed above the table: in 500 rows they are easy to miss.
        key = "result" if context.get("results") else "outcome"
        done = Result.SAVED if context.get("results") else Outcome.READY
        context["attention"] = [line for line in context["table"] if line[key] != done]
    context = _page_context(request, model_admin, kind, form, context)
    return TemplateResponse(request, "admin/integration/bulk_entry.html", context)


def _preview(form: BulkUploadForm, kind: str) -> tuple[Preview | None, str]:
    upload = form.cleaned_data["file"]
    if upload is not None and upload.size > MAX_FILE_BYTES:
        # Refused before reading it; bulk_sheet_read says the same of content it is handed.
        form.add_error(
            "file",
            gettext("The file has more than %(kb)s kB; split it into smaller files.") % {"kb": MAX_FILE_BYTES // 1024},
        )
        return None, ""
    try:
        sheet = bulk_sheet_read(
            kind=kind,
            upload=upload.read(MAX_FILE_BYTES + 1) if upload is not None else None,
            filename=upload.name if upload is not None else "",
            pasted=form.cleaned_data["pasted"],
        )
        token = sheet_sign(sheet)
    except ValidationFailed as error:
        for name, problems in error.fields.items():
            for problem in problems:
                form.add_error(name if name in form.fields else None, problem)
        return None, ""
    return bulk_preview(sheet=sheet), token


def _columns_shown(kind: str, rows: list[RowPreview]) -> list[str]:
    """The sheet's columns that hold anything, in the page's order."""
    present = {name for row in rows for name, value in row.values.items() if value}
    return [name for name in HEADERS[kind] if name in present]


#: The colour of each outcome's badge (the text says it; the colour helps to scan 500 rows).
OUTCOME_TONES = {
    Outcome.READY: "success",
    Outcome.UNKNOWN: "warning",
    Outcome.DUPLICATE_IN_FILE: "warning",
    Outcome.ALREADY_STORED: "neutral",
    Outcome.INVALID: "danger",
    Outcome.NOT_ALLOWED: "danger",
}
RESULT_TONES = {Result.SAVED: "success", Result.SKIPPED: "neutral", Result.FAILED: "danger"}


def _line(row: RowPreview, columns: list[str], result: RowResult | None = None) -> dict[str, object]:
    """One line of the page's table, as plain values: the results page reads it from the session."""
    line: dict[str, object] = {
        "line": row.line,
        "cells": [(name, row.values.get(name, "")) for name in columns],
        "outcome": row.outcome,
        "outcome_label": row.outcome_label,
        "tone": OUTCOME_TONES[row.outcome],
        "details": [f"{column}: {text}" if column else text for column, text in row.problems] + row.notes,
        "order_id": row.order.order_id if row.order else "",
        "order_url": order_url(row.order) if row.order else "",
        "invoice_number": row.invoice.number if row.invoice else "",
        "invoice_url": invoice_url(row.invoice) if row.invoice else "",
        "new_invoice": gettext("NF %(number)s") % {"number": row.invoice_data.number} if row.invoice_data else "",
        "value": format_cents(row.value_cents, row.order.currency_code) if row.value_cents and row.order else "",
        "result": "",
    }
    if result is not None:
        line.update(result=result.result, result_label=result.result_label, result_tone=RESULT_TONES[result.result])
        if result.result == Result.FAILED:
            line["details"].append(result.message)
    return line


def _page_context(
    request: HttpRequest, model_admin: admin.ModelAdmin, kind: str, form: BulkUploadForm, extra: dict
) -> dict[str, object]:
    columns = extra.pop("columns", ())
    required = required_columns(kind)
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "kind": kind,
        "is_tracking": kind == BulkKind.TRACKING,
        "title": gettext("Import tracking codes") if kind == BulkKind.TRACKING else gettext("Import invoices"),
        "form": form,
        "column_headers": [(name, column_label(name)) for name in columns],
        "accepted": [
            (column_label(name), name in required, ", ".join(aliases)) for name, aliases in HEADERS[kind].items()
        ],
        "max_rows": MAX_ROWS,
        "max_kb": MAX_FILE_BYTES // 1024,
        "changelist_url": reverse(f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist"),
        **extra,
    }
