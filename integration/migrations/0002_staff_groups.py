"""The two staff groups: "Back office" enters invoices, tracking and cancellations; "Integration
admin" also retries failed sends and sees the integration's own bookkeeping (the outbox, VTEX
calls, leases, the rate budget, the feed, hook notifications and drifts). Logins that django-axes
locked out are unlocked by a superuser (Axes → Access attempts)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

BACK_OFFICE = {
    "integration": [
        "view_order",
        "change_order",
        "view_orderitem",
        "view_payment",
        "view_orderevent",
        "view_orderchange",
        "view_invoice",
        "add_invoice",
        "change_invoice",
        "view_invoiceitem",
        "view_trackingevent",
        "add_trackingevent",
        "enter_invoices",
        "view_cancellationrequest",
        "add_cancellationrequest",
        "request_cancellation",
    ],
}
INTEGRATION_ADMIN_EXTRA = {
    "integration": [
        "view_outboxmessage",
        "retry_sends",
        "view_vtexcall",
        "view_lease",
        "view_ratebudget",
        "view_feedstate",
        "view_hooknotification",
        "view_drift",
    ],
    "django_q": ["view_schedule", "view_success", "view_failure", "view_ormq"],
}
GROUPS = {
    "Back office": BACK_OFFICE,
    "Integration admin": {
        app: BACK_OFFICE.get(app, []) + INTEGRATION_ADMIN_EXTRA.get(app, [])
        for app in {*BACK_OFFICE, *INTEGRATION_ADMIN_EXTRA}
    },
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codenames in wanted.items():
            permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            missing = set(codenames) - set(permissions.values_list("codename", flat=True))
            if missing:
                raise RuntimeError(f"permissions not found for group {name!r}: {sorted(missing)}")
            group.permissions.add(*permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
