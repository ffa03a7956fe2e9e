from django.core.management.base import BaseCommand, CommandError

from integration.infra.vtex_client import vtex_client
from integration.services.reconciliation import reconciliation_run
from integration.vtex import VtexConfigurationError


class Command(BaseCommand):
    help = "Compare erp-bridge's orders with VTEX now and list every drift (also shown in the admin)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="Orders changed in this many days (default: setting)."
        )

    def handle(self, *args, days: int | None, **options):
        try:
            result = reconciliation_run(client=vtex_client(), days=days)
        except VtexConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        for finding in result.found:
            self.stdout.write(f"  {finding.order_id}  {finding.kind}: {finding.detail}")
        for order_id, error in result.errors:
            self.stderr.write(f"  could not read {order_id}: {error}")
        style = self.style.SUCCESS if not result.found and not result.errors else self.style.WARNING
        self.stdout.write(style(result.summary()))
