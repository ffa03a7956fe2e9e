from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from integration.views import vtex_hook

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("vtex/hook/", vtex_hook, name="vtex-hook"),
    path("api/", include("integration.api.urls")),
]
