# The stuck counts and filters of the order list read a handful of rows through these partial
# indexes instead of every order or every invoice sent (issue 7, admin at 100k orders).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0010_admin_labels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                condition=models.Q(
                    ("delivered_at__isnull", True), ("kind", "output"), ("send_state", "sent"), ("tracking_number", "")
                ),
                fields=["tracking_number", "issued_at"],
                name="invoice_awaiting_tracking_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("intake_error", ""), _negated=True),
                fields=["intake_failed_at"],
                name="order_intake_failed_idx",
            ),
        ),
    ]
