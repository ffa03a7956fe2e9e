"""One view per use case: parse the input with the view's InputSerializer, call one service, answer.

Business rules live in integration.services; errors become {"error": {...}} in integration.api.errors.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.api import schema
from integration.api.errors import RequestTooLarge, VtexUnavailable
from integration.api.permissions import ACKNOWLEDGE_ORDERS, ENTER_INVOICES, REQUEST_CANCELLATION, VIEW_ORDERS
from integration.api.serializers import (
    AckResultSerializer,
    CancellationRequestSerializer,
    InvoiceSerializer,
    OrderDetailSerializer,
    OrderSummarySerializer,
)
from integration.infra.vtex_client import vtex_client
from integration.models import Invoice, InvoiceItem, Order, OrderEvent
from integration.selectors.sellers import order_siblings
from integration.selectors.start_handling import start_handling_prefetch
from integration.services.cancellation import cancellation_request_create
from integration.services.errors import Conflict, NotAllowed, ServiceError
from integration.services.invoicing import InvoiceInput, invoice_create, invoice_find_same, order_item_quantities
from integration.services.nfe import MAX_NFE_BYTES, nfe_import
from integration.services.orders import order_record_erp_receipt, order_start_handling_now
from integration.services.tracking import TrackingEventInput, invoice_set_tracking, tracking_events_add

#: JSON numbers above this lose precision in JavaScript clients; no amount in cents gets near it.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_QUANTITY = 2**31 - 1
ORDER_ID_MAX_LENGTH = Order._meta.get_field("order_id").max_length


# ---- request plumbing ---------------------------------------------------------------------------------


class SizeLimitedJSONParser(JSONParser):
    """JSON bodies up to settings.DATA_UPLOAD_MAX_MEMORY_SIZE; larger ones get 413.

    The DRF installed here reads JSON through request.body, where Django's own check raises
    RequestDataTooBig (errors.py answers 413); a DRF that reads the request stream instead bypasses
    that check, so this parser enforces the limit too.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        meta = request.META if request is not None else {}
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise RequestTooLarge(
                gettext("The request body has %(size)s bytes; the limit is %(limit)s bytes.")
                % {"size": declared, "limit": limit}
            )
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestTooLarge(
                gettext("The request body is larger than the limit of %(limit)s bytes.") % {"limit": limit}
            )
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:  # nested deeper than the parser's stack: a bad body, not a bug
            raise exceptions.ParseError(gettext("The JSON body is nested too deeply.")) from None


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset ("Z" or "-03:00"): a time without one is ambiguous between systems.

    Times that are stored must be from EARLIEST on: an earlier one is a typo, and shown in the store's
    time zone it would carry a local-mean-time offset with seconds, which is not valid ISO 8601.
    """

    EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
    default_error_messages = {
        "naive": gettext_lazy(
            "Give the time with its UTC offset, e.g. 2024-05-02T15:00:00-03:00 or 2024-05-02T18:00:00Z."
        ),
        "too_early": gettext_lazy("The time must be from 2000-01-01 on."),
    }

    def __init__(self, *, stored: bool = True, **kwargs: Any) -> None:
        self.stored = stored
        super().__init__(default_timezone=UTC, **kwargs)

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        value = super().enforce_timezone(value)  # to UTC; a year-10000 overflow is a 400 "overflow"
        if self.stored and value < self.EARLIEST:
            self.fail("too_early")
        return value


class OrderCursorPagination(CursorPagination):
    """Oldest change first, so an ERP can walk every change and later resume with updated_since."""

    ordering = ("updated_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    template = None
    invalid_cursor_message = gettext_lazy("Invalid cursor: pass the cursor of a next/previous link unchanged.")

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            cursor = None
            valid = False
        else:
            valid = cursor is None or cursor.position is None or _aware_datetime(cursor.position)
        if not valid:
            raise exceptions.ValidationError({"cursor": [self.invalid_cursor_message]})
        return cursor


def _aware_datetime(text: str) -> bool:
    """A cursor position the database can compare with updated_at (aware, and within UTC's years)."""
    try:
        moment = parse_datetime(text)
        return moment is not None and timezone.is_aware(moment) and bool(moment.astimezone(UTC))
    except (ValueError, OverflowError):
        return False


def _orders() -> QuerySet[Order]:
    receipts = OrderEvent.objects.filter(order=OuterRef("pk"), kind=OrderEvent.Kind.ERP_RECEIVED).order_by(
        "created_at", "id"
    )
    return Order.objects.annotate(erp_received_at=Subquery(receipts.values("created_at")[:1])).prefetch_related(
        start_handling_prefetch()
    )


def get_order(order_id: str, queryset: QuerySet[Order] | None = None) -> Order:
    order = None
    if len(order_id) <= ORDER_ID_MAX_LENGTH and "\x00" not in order_id:
        order = (queryset if queryset is not None else _orders()).filter(order_id=order_id).first()
    if order is None:
        raise exceptions.NotFound(gettext("There is no order %(order)r.") % {"order": order_id})
    return order


def get_invoice(order: Order, number: str) -> Invoice:
    invoice = None
    if "\x00" not in number:
        invoice = (
            Invoice.objects.select_related("order")
            .prefetch_related("items__order_item", "tracking_events")
            .filter(order=order, number=number)
            .first()
        )
    if invoice is None:
        raise exceptions.NotFound(
            gettext("Order %(order)s has no invoice numbered %(number)r.") % {"order": order.order_id, "number": number}
        )
    return invoice


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    fresh = Invoice.objects.prefetch_related("items__order_item", "tracking_events").get(pk=invoice.pk)
    return InvoiceSerializer(fresh).data


class ApiView(APIView):
    """Base of every endpoint: token auth, the permission named in `required_permission`, throttling
    (all three from settings.REST_FRAMEWORK), JSON bodies up to the size limit."""

    parser_classes = [SizeLimitedJSONParser]
    required_permission: str = ""


# ---- orders --------------------------------------------------------------------------------------------


class OrderListApi(ApiView):
    required_permission = VIEW_ORDERS

    @extend_schema_serializer(component_name="OrderFilters")
    class FilterSerializer(serializers.Serializer):
        status = serializers.CharField(required=False, max_length=64, help_text="VTEX status, e.g. handling.")
        state = serializers.ChoiceField(required=False, choices=Order.State.choices, help_text="Local state.")
        updated_since = AwareDateTimeField(
            required=False,
            stored=False,
            help_text="Only orders changed here at or after this time (ISO 8601 with offset).",
        )
        order_id = serializers.CharField(required=False, max_length=64, help_text="One VTEX orderId.")
        erp_received = serializers.BooleanField(
            required=False, help_text="true: the ERP confirmed receipt (POST …/ack/); false: not yet."
        )

    @extend_schema(parameters=[FilterSerializer, *schema.PAGE_PARAMETERS], **schema.ORDER_LIST)
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        orders = _orders()
        if "status" in wanted:
            orders = orders.filter(vtex_status=wanted["status"])
        if "state" in wanted:
            orders = orders.filter(state=wanted["state"])
        if "updated_since" in wanted:
            orders = orders.filter(updated_at__gte=wanted["updated_since"])
        if "order_id" in wanted:
            orders = orders.filter(order_id=wanted["order_id"])
        if "erp_received" in wanted:
            orders = orders.filter(erp_received_at__isnull=not wanted["erp_received"])
        paginator = OrderCursorPagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderSummarySerializer(page, many=True).data)


class OrderDetailApi(ApiView):
    required_permission = VIEW_ORDERS

    @extend_schema(**schema.ORDER_DETAIL)
    def get(self, request: Request, order_id: str) -> Response:
        order = get_order(
            order_id,
            _orders().prefetch_related(
                "items",
                "payments",
                "sellers",
                "item_fulfillments",
                "cancellation_requests",
                "changes",
                Prefetch(
                    "invoices",
                    queryset=Invoice.objects.prefetch_related(
                        Prefetch("items", queryset=InvoiceItem.objects.select_related("order_item")),
                        "tracking_events",
                    ),
                ),
            ),
        )
        context = {
            "quantities": order_item_quantities(order),
            "fulfillments": {row.item_index: row for row in order.item_fulfillments.all()},
            "sibling_order_ids": order_siblings(order).values_list("order_id", flat=True),
        }
        return Response(OrderDetailSerializer(order, context=context).data)


class OrderAckApi(ApiView):
    required_permission = ACKNOWLEDGE_ORDERS

    @extend_schema(**schema.ORDER_ACK)
    def post(self, request: Request, order_id: str) -> Response:
        order = get_order(order_id)
        mode = settings.VTEX_START_HANDLING
        if not order.is_complete:
            raise NotAllowed(gettext("The order was never read in full from VTEX; acknowledge it once it has been."))
        order_record_erp_receipt(order=order, actor=request.user)
        if mode != "on_erp_ack":
            message = gettext(
                "Receipt recorded. This installation sends start-handling to VTEX when it imports an order "
                "(VTEX_START_HANDLING=on_import)."
            )
        else:
            result = order_start_handling_now(client=vtex_client(), order=order, actor=request.user)
            if result.reason in ("incomplete", "not_ready", "other_seller"):
                raise NotAllowed(result.text())
            if result.reason == "vtex":
                raise VtexUnavailable(result.text())
            if result.reason == "busy":  # the intake or an admin action is sending it right now
                raise Conflict(gettext("%(detail)s Try again in a minute.") % {"detail": result.text()})
            # The service's message (stored in English) is shown in the client's language.
            message = result.text()
        order = get_order(order_id)
        body = {"order_id": order.order_id, "mode": mode, "vtex_status": order.vtex_status, "message": message}
        return Response(AckResultSerializer({**body, "ack": order}).data)


# ---- invoices and tracking ---------------------------------------------------------------------------------

#: The services name some inputs as the admin form does; the API's names for them.
_SERVICE_TO_API_FIELD = {"kind": "type", "access_key": "key", "value_cents": "value", "lines": "items"}


def _api_error(exc: ServiceError, *, positions: dict[int, int] | None = None) -> ServiceError:
    """The service's error with field names as the API client sent them.

    Invoice services name an item "items[<item_index>]"; the API names "items[<position in the
    request's list>]", as its own validation errors do ("items[0].quantity").
    """
    fields: dict[str, list[str]] = {}
    for name, problems in exc.fields.items():
        api_name = _SERVICE_TO_API_FIELD.get(name, name)
        if positions is not None and name.startswith("items[") and name.endswith("]"):
            index = name[len("items[") : -1]
            if index.isdigit() and int(index) in positions:
                api_name = f"items[{positions[int(index)]}]"
        fields.setdefault(api_name, []).extend(problems)
    return type(exc)(exc.message, fields=fields, code=exc.code)


class InvoiceCreateApi(ApiView):
    required_permission = ENTER_INVOICES

    @extend_schema_serializer(component_name="NewInvoice")
    class InputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="NewInvoiceItem")
        class ItemSerializer(serializers.Serializer):
            item_index = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)
            quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)

        number = serializers.CharField(max_length=50, help_text="Unique per order; no '/'.")
        issued_at = AwareDateTimeField()
        type = serializers.ChoiceField(choices=Invoice.Kind.choices, default=Invoice.Kind.OUTPUT)
        key = serializers.RegexField(
            r"^[0-9]{44}$",
            required=False,
            allow_blank=True,
            max_length=44,
            help_text="NF-e access key: 44 digits.",
            error_messages={"invalid": gettext_lazy("The NF-e access key has exactly 44 digits.")},
        )
        url = serializers.CharField(required=False, allow_blank=True, max_length=500)
        value = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            max_value=MAX_SAFE_INTEGER,
            help_text="In cents. When absent: the items at their selling price, and for the invoice that "
            "completes the order the remainder of the order total (shipping, discounts).",
        )
        courier = serializers.CharField(required=False, allow_blank=True, max_length=100)
        tracking_number = serializers.CharField(required=False, allow_blank=True, max_length=100)
        tracking_url = serializers.CharField(required=False, allow_blank=True, max_length=500)
        items = ItemSerializer(many=True, allow_empty=False)

        def validate_items(self, items: list[dict[str, int]]) -> list[dict[str, int]]:
            seen: dict[int, int] = {}
            errors: list[dict[str, list[str]]] = [{} for _ in items]
            for position, item in enumerate(items):
                first = seen.setdefault(item["item_index"], position)
                if first != position:
                    errors[position] = {
                        "item_index": [
                            gettext("Item %(index)s is also at items[%(first)s]; give its quantity once.")
                            % {"index": item["item_index"], "first": first}
                        ]
                    }
            if any(errors):
                raise serializers.ValidationError(errors)
            return items

        def invoice_input(self) -> InvoiceInput:
            data = self.validated_data
            return InvoiceInput(
                number=data["number"],
                issued_at=data["issued_at"],
                lines=[(item["item_index"], item["quantity"]) for item in data["items"]],
                kind=data["type"],
                value_cents=data.get("value"),
                access_key=data.get("key", ""),
                url=data.get("url", ""),
                courier=data.get("courier", ""),
                tracking_number=data.get("tracking_number", ""),
                tracking_url=data.get("tracking_url", ""),
            )

    @extend_schema(request=InputSerializer, **schema.INVOICE_CREATE)
    def post(self, request: Request, order_id: str) -> Response:
        order = get_order(order_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.invoice_input()
        positions = {index: position for position, (index, _) in enumerate(data.lines)}

        replay = self._replay(order, data)
        if replay is not None:
            return replay
        try:
            invoice = invoice_create(order=order, data=data, actor=request.user, via="api")
        except ServiceError as exc:
            # The same invoice may have been stored by a concurrent request a moment ago.
            replay = self._replay(order, data)
            if replay is not None:
                return replay
            raise _api_error(exc, positions=positions) from exc
        return Response(invoice_data(invoice), status=status.HTTP_201_CREATED)

    @staticmethod
    def _replay(order: Order, data: InvoiceInput) -> Response | None:
        existing, same = invoice_find_same(order=order, data=data)
        if existing is None:
            return None
        if not same:
            raise Conflict(
                gettext(
                    "Order %(order)s already has an invoice numbered %(number)r with other content "
                    "(type, items, value, key or issue date). An invoice cannot be changed; a new one needs a new "
                    "number."
                )
                % {"order": order.order_id, "number": existing.number},
                fields={"number": [gettext("Already used on this order for another invoice.")]},
            )
        return Response(invoice_data(existing), status=status.HTTP_200_OK)


class NfeXmlParser(BaseParser):
    """The NF-e as the body, untouched bytes (services/nfe.py parses it, safely), up to MAX_NFE_BYTES."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        body = stream.read(MAX_NFE_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_NFE_BYTES:
            raise RequestTooLarge(
                gettext("The request body is larger than the limit of %(limit)s bytes.") % {"limit": MAX_NFE_BYTES}
            )
        return body


class TextXmlParser(NfeXmlParser):
    media_type = "text/xml"


class InvoiceFromNfeApi(ApiView):
    """The invoice made from the NF-e the ERP issued: the XML is the body."""

    required_permission = ENTER_INVOICES
    parser_classes = [NfeXmlParser, TextXmlParser]

    @extend_schema(**schema.INVOICE_FROM_NFE)
    def post(self, request: Request, order_id: str) -> Response:
        order = get_order(order_id)
        invoice, created = nfe_import(order=order, raw=request.data or b"", actor=request.user, via="api")
        return Response(invoice_data(invoice), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class InvoiceTrackingApi(ApiView):
    required_permission = ENTER_INVOICES

    @extend_schema_serializer(component_name="TrackingInput")
    class InputSerializer(serializers.Serializer):
        tracking_number = serializers.CharField(max_length=100)
        tracking_url = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
        courier = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
        dispatched_at = AwareDateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(request=InputSerializer, **schema.INVOICE_TRACKING)
    def post(self, request: Request, order_id: str, number: str) -> Response:
        invoice = get_invoice(get_order(order_id), number)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A replay (the same tracking again) is a success that changes nothing: the service says so.
        invoice_set_tracking(invoice=invoice, actor=request.user, via="api", **serializer.validated_data)
        return Response(invoice_data(invoice))


class InvoiceTrackingEventsApi(ApiView):
    required_permission = ENTER_INVOICES

    @extend_schema_serializer(component_name="TrackingEventsInput")
    class InputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="NewTrackingEvent")
        class EventSerializer(serializers.Serializer):
            date = AwareDateTimeField()
            description = serializers.CharField(max_length=300)
            city = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
            state = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")

        events = EventSerializer(many=True, required=False, default=list)
        delivered = serializers.BooleanField(required=False, default=False)
        delivered_at = AwareDateTimeField(
            required=False, allow_null=True, default=None, help_text="With delivered=true; default: now."
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs["delivered_at"] is not None and not attrs["delivered"]:
                raise serializers.ValidationError(
                    {"delivered_at": [gettext("Give delivered_at only with delivered=true.")]}
                )
            if not attrs["events"] and not attrs["delivered"]:
                raise serializers.ValidationError({"events": [gettext("Send at least one event, or delivered=true.")]})
            return attrs

    @extend_schema(request=InputSerializer, **schema.INVOICE_TRACKING_EVENTS)
    def post(self, request: Request, order_id: str, number: str) -> Response:
        invoice = get_invoice(get_order(order_id), number)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        events = [
            TrackingEventInput(occurred_at=e["date"], description=e["description"], city=e["city"], state=e["state"])
            for e in data["events"]
        ]
        # A replay (what the invoice has already, delivered or not) is a success: the service adds nothing.
        tracking_events_add(
            invoice=invoice,
            events=events,
            delivered=data["delivered"],
            delivered_at=data["delivered_at"],
            actor=request.user,
            via="api",
        )
        return Response(invoice_data(invoice))


# ---- cancellation ------------------------------------------------------------------------------------------------


class CancellationRequestApi(ApiView):
    required_permission = REQUEST_CANCELLATION

    @extend_schema_serializer(component_name="CancellationInput")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500, help_text="Why; 5 to 500 characters. Sent to VTEX.")

    @extend_schema(request=InputSerializer, **schema.CANCELLATION)
    def post(self, request: Request, order_id: str) -> Response:
        order = get_order(order_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cancellation = cancellation_request_create(
            order=order, reason=serializer.validated_data["reason"], actor=request.user, via="api"
        )
        return Response(CancellationRequestSerializer(cancellation).data, status=status.HTTP_202_ACCEPTED)


class NotFoundApi(ApiView):
    """Unknown addresses under /api/v1/ answer 404 in the error shape instead of Django's HTML page."""

    permission_classes: list = []
    throttle_classes: list = []
    authentication_classes: list = []
    schema = None  # not an endpoint

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound(
            gettext("No endpoint at %(path)s. Paths end with a slash, e.g. /api/v1/orders/; see /api/docs/.")
            % {"path": request.path}
        )
