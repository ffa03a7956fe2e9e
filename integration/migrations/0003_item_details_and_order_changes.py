"""Issue 15, items and changes: what VTEX says of each item (gift, kit, assembly option, unit
multiplier, price tags, priceDefinition, its total, its quantity after the order's changes) and the
changes themselves (OrderChange), with the staff groups' view permission on them.

Not released: folded into 0001 at merge (view_orderchange then goes to 0002's Back office list).
"""

import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models
from django.db.models import F

GROUPS = ("Back office", "Integration admin")


def fill_items(apps, schema_editor):
    # Rows stored before these fields: nothing changed them, and their total is what it was.
    OrderItem = apps.get_model("integration", "OrderItem")
    OrderItem.objects.update(quantity_after_changes=F("quantity"), total_cents=F("selling_price_cents") * F("quantity"))


def grant_view(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="integration", codename="view_orderchange")
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0002_staff_groups"),
    ]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="state",
            field=models.CharField(
                choices=[
                    ("received", "Received (VTEX not yet told)"),
                    ("handling", "Handling"),
                    ("partially_invoiced", "Partially invoiced"),
                    ("invoiced", "Invoiced"),
                    ("shipped", "Shipped"),
                    ("delivered", "Delivered"),
                    ("cancellation_requested", "Cancellation requested"),
                    ("canceled", "Canceled"),
                    ("replaced", "Replaced (VTEX moved it to another order)"),
                ],
                db_index=True,
                default="received",
                max_length=32,
                verbose_name="state",
            ),
        ),
        migrations.AddField(
            model_name="orderitem",
            name="quantity_after_changes",
            field=models.PositiveIntegerField(
                default=0,
                help_text="What is left of the item once the order's changes at VTEX removed or added units.",
                verbose_name="quantity after changes",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="orderitem",
            name="total_cents",
            field=models.BigIntegerField(
                default=0,
                help_text="VTEX's value of the whole line (all units ordered): its priceDefinition total when VTEX "
                "sent one, else price × quantity × unit multiplier with the item's price tags.",
                verbose_name="total cents",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill_items, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="orderitem",
            name="unit_multiplier",
            field=models.DecimalField(
                decimal_places=6,
                default=1,
                help_text="Items sold by weight or pack: one unit is this many of the measurement unit.",
                max_digits=15,
                verbose_name="unit multiplier",
            ),
        ),
        migrations.AddField(
            model_name="orderitem",
            name="parent_item_index",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="parent item index"),
        ),
        migrations.AddField(
            model_name="orderitem",
            name="parent_assembly_binding",
            field=models.CharField(blank=True, max_length=100, verbose_name="parent assembly binding"),
        ),
        migrations.AddField(
            model_name="orderitem",
            name="components",
            field=models.JSONField(blank=True, default=list, verbose_name="components"),
        ),
        migrations.AddField(
            model_name="orderitem",
            name="attachments",
            field=models.JSONField(blank=True, default=list, verbose_name="attachments"),
        ),
        migrations.AddField(
            model_name="orderitem",
            name="price_tags",
            field=models.JSONField(blank=True, default=list, verbose_name="price tags"),
        ),
        migrations.AddField(
            model_name="orderitem",
            name="price_definition",
            field=models.JSONField(blank=True, default=dict, verbose_name="price definition"),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("imported", "Imported"),
                    ("updated", "Updated from VTEX"),
                    ("refreshed", "Refreshed from VTEX"),
                    ("refresh_failed", "Refresh from VTEX failed"),
                    ("intake_failed", "Intake failed"),
                    ("acknowledged", "Start-handling confirmed"),
                    ("ack_failed", "Start-handling failed"),
                    ("edited", "Edited by staff"),
                    ("invoice_added", "Invoice entered"),
                    ("tracking_added", "Tracking entered"),
                    ("delivered", "Delivered"),
                    ("cancellation_requested", "Cancellation requested"),
                    ("sent", "Sent to VTEX"),
                    ("send_failed", "Sending to VTEX failed"),
                    ("send_retry", "Send retried"),
                    ("status_changed", "VTEX status changed"),
                    ("changed", "Order changed at VTEX"),
                    ("replaced", "Order replaced at VTEX"),
                    ("erp_received", "Received by the ERP"),
                    ("note", "Note"),
                ],
                max_length=32,
                verbose_name="kind",
            ),
        ),
        migrations.CreateModel(
            name="OrderChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("change", "Changed at VTEX"),
                            ("replaced_by", "Replaced by another order"),
                            ("replaces", "Replaces another order"),
                        ],
                        default="change",
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                (
                    "position",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Position in VTEX's changesData[] (0 for a replacement).",
                        verbose_name="position",
                    ),
                ),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                ("discount_cents", models.BigIntegerField(default=0, verbose_name="discount cents")),
                ("increment_cents", models.BigIntegerField(default=0, verbose_name="increment cents")),
                ("items_removed", models.JSONField(blank=True, default=list, verbose_name="items removed")),
                ("items_added", models.JSONField(blank=True, default=list, verbose_name="items added")),
                ("receipt", models.CharField(blank=True, max_length=100, verbose_name="VTEX receipt")),
                ("changed_at", models.DateTimeField(blank=True, null=True, verbose_name="changed at")),
                (
                    "other_order_id",
                    models.CharField(
                        blank=True,
                        help_text="For a replacement: the other VTEX order id.",
                        max_length=64,
                        verbose_name="other order",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="recorded at")),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="integration.order",
                        verbose_name="order",
                    ),
                ),
            ],
            options={
                "verbose_name": "order change",
                "verbose_name_plural": "order changes",
                "ordering": ["order", "kind", "position"],
                "indexes": [models.Index(fields=["other_order_id"], name="orderchange_other_order_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("order", "kind", "position"), name="orderchange_unique_position")
                ],
            },
        ),
        migrations.RunPython(grant_view, migrations.RunPython.noop),
    ]
