"""Waits until the database answers (the container's entry point runs it before anything else)."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError


class Command(BaseCommand):
    help = "Wait until the database accepts connections; exit 1 after --timeout seconds."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait at most (default 60)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between tries (default 1)")

    def handle(self, *args, timeout: float, interval: float, **options):
        connection = connections[DEFAULT_DB_ALIAS]
        deadline = time.monotonic() + timeout
        tries = 0
        while True:
            tries += 1
            try:
                connection.ensure_connection()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except OperationalError as error:
                connection.close()
                if time.monotonic() + interval > deadline:
                    # The driver's message names the host and the reason (never the password).
                    raise CommandError(f"the database did not answer within {timeout:g} s: {error}") from error
                if tries == 1:
                    self.stderr.write(f"waiting for the database ({type(error).__name__})…")
                time.sleep(interval)
                continue
            self.stdout.write(f"the database answers ({connection.vendor}, after {tries} tries)")
            return
