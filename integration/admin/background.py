"""django-q2's task pages, with "Resubmit" limited to users who may change tasks.

django-q2 attaches its resubmit action with no permission, so anyone who may only *view* the task
lists (the Integration admin group) could re-run any stored task with its arguments.
"""

from django.contrib import admin
from django_q.admin import FailAdmin, TaskAdmin
from django_q.models import Failure, Success


class _ResubmitNeedsChange:
    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            actions.pop("resubmit_task", None)
        return actions


class GuardedTaskAdmin(_ResubmitNeedsChange, TaskAdmin):
    pass


class GuardedFailAdmin(_ResubmitNeedsChange, FailAdmin):
    pass


for model, model_admin in ((Success, GuardedTaskAdmin), (Failure, GuardedFailAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
