import sys

from django.core.management.base import BaseCommand, CommandError

from integration.infra.vtex_client import vtex_client
from integration.services.outbox import PushSummary, outbox_send_due
from integration.vtex import VtexConfigurationError


class Command(BaseCommand):
    help = "Send every due outbox message (invoices, tracking, cancellations) to VTEX now."

    def handle(self, *args, **options):
        interactive = self.stdout.isatty()

        def progress(summary: PushSummary) -> None:
            if interactive:
                self.stdout.write(
                    f"\rsent {summary.sent}, retrying {summary.retrying}, failed {summary.failed}", ending=""
                )
                self.stdout.flush()

        try:
            summary = outbox_send_due(client=vtex_client(), progress=progress)
        except VtexConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        if interactive:
            self.stdout.write("")
        line = f"sent: {summary.sent}  retrying later: {summary.retrying}  failed: {summary.failed}"
        if summary.failed:
            self.stdout.write(self.style.ERROR(line + "  (see the outbox in the admin for VTEX's answers)"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(line))
