import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integration.services.intake import IntakeResult, intake_run
from integration.vtex import VtexConfigurationError


class Command(BaseCommand):
    help = "Run one order intake cycle now: import VTEX's ready-for-handling orders and acknowledge them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--source",
            choices=["list", "feed", "sweep", "hook"],
            default=None,
            help="Where new orders come from: VTEX's List orders, the Feed v3 queue, a list sweep of recent "
            "orders (the feed's safety net) or pending hook notifications (default: the VTEX_INTAKE setting).",
        )

    def handle(self, *args, source: str | None, **options):
        source = source or settings.VTEX_INTAKE
        interactive = self.stdout.isatty()

        def progress(result: IntakeResult) -> None:
            if interactive:
                self.stdout.write(f"\r{result.summary()}", ending="")
                self.stdout.flush()

        try:
            result = intake_run(source=source, progress=progress)
        except VtexConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        if interactive:
            self.stdout.write("")
        if result.skipped_reason:
            self.stdout.write(self.style.WARNING(f"Nothing done: {result.skipped_reason}."))
            return
        for order_id, reason in result.failures:
            self.stderr.write(f"  failed {order_id}: {reason}")
        line = (
            f"imported: {result.imported}  already known: {result.already_known}  updated: {result.updated}  "
            f"acknowledged: {result.acknowledged}  failed: {result.failed}"
        )
        if options["verbosity"] > 1:
            self.stdout.write(f"VTEX calls in flight: up to {result.peak_threads} threads; target {result.in_flight}")
        if result.ok:
            self.stdout.write(self.style.SUCCESS(line))
        else:
            self.stdout.write(self.style.ERROR(line))
            sys.exit(1)
