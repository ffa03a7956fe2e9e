"""Building blocks shared by the admin pages."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class ReadOnlyMixin:
    """Viewable by whoever has the view permission; the rows are written by erp-bridge only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


class ReadOnlyTabularInline(ReadOnlyMixin, admin.TabularInline):
    """A table of related rows on a page, read only.

    With no rows it says so (`empty_text`) instead of showing a table of headers only; the
    "read-only-inline" class (integration/static/integration/admin.css) hides the caption Django
    puts above each row, the row's str(), which repeats the row (and shows its times in UTC).
    """

    extra = 0
    can_delete = False
    classes = ("read-only-inline",)
    template = "admin/integration/edit_inline/read_only_tabular.html"
    #: What the section says when there is nothing to list.
    empty_text = _("None yet.")
