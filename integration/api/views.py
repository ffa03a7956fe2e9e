"""One view per use case: parse the input with the view's InputSerializer, call one service, answer.

Business rules live in integration.services; errors become {"error": {...}} in integration.api.errors.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.api import schema
from integration.api.authentication import BearerOrTokenAuthentication
from integration.api.errors import RequestTooLarge, VtexUnavailable
from integration.api.fields import SPACE, AwareDateTimeField, Boolean, Integer, QueryBoolean, Text
from integration.api.pagination import (
    INVALID_CURSOR,
    Cursor,
    PageParametersSerializer,
    decode_cursor,
    paginate,
    same_filters_message,
)
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
from integration.services.cancellation import REASON_MAX_LENGTH, REASON_MIN_LENGTH, cancellation_request_create
from integration.services.errors import Conflict, NotAllowed, ServiceError
from integration.services.invoicing import InvoiceInput, invoice_create, invoice_find_same, order_item_quantities
from integration.services.nfe import MAX_NFE_BYTES, nfe_import
from integration.services.orders import order_record_erp_receipt, order_start_handling_now
from integration.services.tracking import (
    EVENTS_PER_REQUEST,
    TrackingEventInput,
    invoice_set_tracking,
    tracking_events_add,
)
from integration.vtex.statuses import VtexStatus

#: An address the carrier's or the ERP's site answers: the schema says http(s) and no spaces; the
#: service checks the rest (a host name Django's URLValidator takes).
HTTP_ADDRESS: dict[str, Any] = {
    "pattern": rf"^https?://[^{SPACE}\x00]+\Z",
    "pattern_message": gettext_lazy("Enter a full http(s) address."),
}

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
        except exceptions.ParseError as exc:
            # DRF says "JSON parse error - <the decoder's words>"; a sentence that stands alone instead.
            problem = exc.__context__ if isinstance(exc.__context__, ValueError) else exc.detail
            raise exceptions.ParseError(
                gettext("The request body is not valid JSON (%(problem)s).") % {"problem": problem}
            ) from None


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
    """Base of every endpoint: a token (Bearer or Token), the permission named in `required_permission`
    and throttling (both from settings.REST_FRAMEWORK), JSON bodies up to the size limit."""

    authentication_classes = [BearerOrTokenAuthentication]
    parser_classes = [SizeLimitedJSONParser]
    required_permission: str = ""


# ---- orders --------------------------------------------------------------------------------------------


class OrderListApi(ApiView):
    required_permission = VIEW_ORDERS

    @extend_schema_serializer(component_name="OrderFilters")
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            required=False, choices=[(s.value, s.value) for s in VtexStatus], help_text="VTEX's status."
        )
        state = serializers.ChoiceField(required=False, choices=Order.State.choices, help_text="Local state.")
        updated_since = AwareDateTimeField(
            required=False,
            stored=False,
            help_text="Only orders changed here at or after this time (ISO 8601 with offset). To resume a poll "
            "without repeating the orders of that very instant, use the last answer's resume_cursor instead.",
        )
        order_id = Text(required=False, max_length=64, help_text="One VTEX orderId.")
        erp_received = QueryBoolean(
            required=False, help_text="true: the ERP confirmed receipt (POST …/ack/); false: not yet."
        )

    @extend_schema(parameters=[FilterSerializer, PageParametersSerializer, schema.RETRY_AFTER], **schema.ORDER_LIST)
    def get(self, request: Request) -> Response:
        cursor, wanted = self._walk(request.query_params.dict())
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
        page = paginate(orders, cursor)
        return Response(
            {
                **page.links(request),
                "next_cursor": page.next_cursor,
                "previous_cursor": page.previous_cursor,
                "resume_cursor": page.resume_cursor,
                "results": OrderSummarySerializer(page.results, many=True).data,
            }
        )

    def _walk(self, params: dict[str, str]) -> tuple[Cursor, dict[str, Any]]:
        """The cursor to read from and the filters in force: the cursor's own when one is sent
        (filters sent with it must be the same), else those sent. Every problem in one 400."""
        sent = {name: value for name, value in params.items() if name in self.FilterSerializer().fields}
        filters = self.FilterSerializer(data=sent)
        paging = PageParametersSerializer(data=params)
        errors: dict[str, Any] = {}
        if not filters.is_valid():
            errors.update(filters.errors)
        if not paging.is_valid():
            errors.update(paging.errors)
        if errors:
            raise serializers.ValidationError(errors)
        wanted = dict(filters.validated_data)
        cursor = Cursor(position=None, filters=sent)
        if "cursor" in paging.validated_data:
            cursor = decode_cursor(paging.validated_data["cursor"])
            carried = self.FilterSerializer(data=cursor.filters)
            if not carried.is_valid() or set(cursor.filters) - set(carried.fields):
                raise serializers.ValidationError({"cursor": [INVALID_CURSOR]})
            differing = [name for name, value in wanted.items() if carried.validated_data.get(name, ...) != value]
            if differing:
                raise serializers.ValidationError({name: [same_filters_message(name)] for name in differing})
            wanted = dict(carried.validated_data)
        if "page_size" in paging.validated_data:
            cursor = replace(cursor, page_size=paging.validated_data["page_size"])
        return cursor, wanted


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
            item_index = Integer(min_value=0, max_value=MAX_QUANTITY)
            quantity = Integer(min_value=1, max_value=MAX_QUANTITY)

        number = Text(
            max_length=50,
            # The service refuses "/" (VTEX puts the number in its addresses) and a number of dots only;
            # stated here as a pattern, so the schema says it.
            pattern=rf"^[^\x00/]*[^{SPACE}\x00/.][^\x00/]*\Z",
            pattern_message=gettext_lazy(
                "The invoice number must not contain '/' (VTEX uses it in its addresses) nor be only dots."
            ),
            help_text="Unique per order; no '/', not only dots.",
        )
        issued_at = AwareDateTimeField()
        type = serializers.ChoiceField(choices=Invoice.Kind.choices, default=Invoice.Kind.OUTPUT)
        key = Text(
            required=False,
            allow_blank=True,
            trim_whitespace=False,
            max_length=44,
            pattern=r"^[0-9]{44}\Z",
            pattern_message=gettext_lazy("The NF-e access key has exactly 44 digits."),
            help_text="NF-e access key: 44 digits.",
        )
        url = Text(required=False, allow_blank=True, max_length=500, **HTTP_ADDRESS)
        value = Integer(
            required=False,
            allow_null=True,
            min_value=1,
            max_value=MAX_SAFE_INTEGER,
            help_text="In cents. When absent: the items at their selling price, and for the invoice that "
            "completes the order the remainder of the order total (shipping, discounts).",
        )
        courier = Text(required=False, allow_blank=True, max_length=100)
        tracking_number = Text(required=False, allow_blank=True, max_length=100)
        tracking_url = Text(required=False, allow_blank=True, max_length=500, **HTTP_ADDRESS)
        items = ItemSerializer(many=True, allow_empty=False, min_length=1)

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
        tracking_number = Text(max_length=100)
        tracking_url = Text(required=False, allow_blank=True, max_length=500, default="", **HTTP_ADDRESS)
        courier = Text(required=False, allow_blank=True, max_length=100, default="")
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
            description = Text(max_length=300)
            city = Text(required=False, allow_blank=True, max_length=100, default="")
            state = Text(required=False, allow_blank=True, max_length=50, default="")

        events = EventSerializer(many=True, required=False, default=list, max_length=EVENTS_PER_REQUEST)
        delivered = Boolean(required=False, default=False)
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
        reason = Text(
            max_length=REASON_MAX_LENGTH,
            min_trimmed=REASON_MIN_LENGTH,
            help_text="Why; 5 to 500 characters (not counting spaces around them). Sent to VTEX.",
        )

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
