"""The back office. Importing the modules registers their ModelAdmins on the default site."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from integration.admin import (  # noqa: F401  (registration happens on import)
    background,
    health,
    invoicing,
    orders,
    reconciliation,
    sync,
)
from integration.admin.login import ThrottledAdminAuthenticationForm

admin.site.site_header = "erp-bridge"
admin.site.site_title = "erp-bridge"
admin.site.index_title = _("VTEX orders back office")
admin.site.login_form = ThrottledAdminAuthenticationForm
