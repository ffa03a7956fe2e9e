from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from integration.views import nfe_danfe, vtex_hook

# /healthz, /readyz and /metrics are answered by integration.ops.middleware, ahead of the host check
# and the HTTPS redirect (load balancers and Prometheus call by address, over HTTP).
urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # The admin's language switch posts to set_language (i18n/setlang/), which keeps the choice in a cookie.
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("vtex/hook/", vtex_hook, name="vtex-hook"),
    # The shopper's link to an NF-e's DANFE (ERP_BRIDGE_PUBLIC_BASE_URL): signed, expiring, no login.
    path("nfe/danfe/<str:token>/", nfe_danfe, name="nfe-danfe"),
    path("api/", include("integration.api.urls")),
]
