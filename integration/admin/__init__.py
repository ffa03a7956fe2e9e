"""The back office. Importing the modules registers their ModelAdmins on the default site.

Laid out as dj-stripe lays out its admin: one module per group of ModelAdmins (orders, invoices,
outbox, cancellations, reconciliation, sync, background, health), and what they share beside
them: actions, views (the custom pages and buttons), forms, filters, inlines, links,
permissions, base (read-only building blocks), money, exports, timeline.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from integration.admin import (  # noqa: F401  (registration happens on import)
    background,
    cancellations,
    health,
    invoices,
    orders,
    outbox,
    reconciliation,
    sync,
)

admin.site.site_header = "erp-bridge"
admin.site.site_title = "erp-bridge"
admin.site.index_title = _("VTEX orders back office")
