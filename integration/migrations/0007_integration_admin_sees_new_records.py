"""Grant "Integration admin" the view permissions of the records added after its group was made
(feed state, hook notifications, drifts)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

NEW_VIEW_PERMISSIONS = ["view_feedstate", "view_hooknotification", "view_drift"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Integration admin")
    permissions = Permission.objects.filter(content_type__app_label="integration", codename__in=NEW_VIEW_PERMISSIONS)
    if permissions.count() != len(NEW_VIEW_PERMISSIONS):
        raise RuntimeError(f"permissions not found: {NEW_VIEW_PERMISSIONS}")
    group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Integration admin"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="integration", codename__in=NEW_VIEW_PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [("integration", "0006_drifts"), ("integration", "0003_staff_groups")]

    operations = [migrations.RunPython(grant, revoke)]
