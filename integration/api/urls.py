"""/api/: version 1 of the API, its OpenAPI schema and the browsable documentation."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from integration.api import views

v1 = [
    path("orders/", views.OrderListApi.as_view(), name="orders"),
    path("orders/<str:order_id>/", views.OrderDetailApi.as_view(), name="order"),
    path("orders/<str:order_id>/ack/", views.OrderAckApi.as_view(), name="order-ack"),
    path("orders/<str:order_id>/invoices/", views.InvoiceCreateApi.as_view(), name="order-invoices"),
    path("orders/<str:order_id>/invoices/nfe/", views.InvoiceFromNfeApi.as_view(), name="order-invoice-nfe"),
    path(
        "orders/<str:order_id>/invoices/<str:number>/tracking/",
        views.InvoiceTrackingApi.as_view(),
        name="invoice-tracking",
    ),
    path(
        "orders/<str:order_id>/invoices/<str:number>/tracking-events/",
        views.InvoiceTrackingEventsApi.as_view(),
        name="invoice-tracking-events",
    ),
    path("orders/<str:order_id>/cancellation/", views.CancellationRequestApi.as_view(), name="order-cancellation"),
    re_path(r"^.*$", views.NotFoundApi.as_view(), name="not-found"),
]

app_name = "api"
urlpatterns = [
    path("v1/", include((v1, "v1"))),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from drf-spectacular-sidecar's static files. No Redoc page: its template loads
    # fonts from Google's CDN.
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
