"""A fresh database for every scenario, of the engine the settings name; never the user's.

- SQLite: a migrated template file in a temporary folder, copied for each scenario (migrating
  once and copying takes milliseconds); the folder is deleted at the end.
- PostgreSQL: the database DATABASE_URL names, created if missing and migrated once, then
  flushed before each scenario. The bench empties it, so its name must contain "bench".
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections


class BenchDatabaseError(RuntimeError):
    pass


def _point_default_at(name) -> None:
    connections.close_all()
    # The settings dict, the handler's and the connection's are one object today; set all three
    # so that a Django that copies them still switches (worker threads read connections.settings).
    for settings_dict in (settings.DATABASES["default"], connections.settings["default"], connection.settings_dict):
        settings_dict["NAME"] = name


class BenchDatabase:
    def __init__(self, log: Callable[[str], None] = print) -> None:
        self.log = log
        self.vendor = connection.vendor
        self._original_name = settings.DATABASES["default"]["NAME"]
        self._tmpdir: Path | None = None
        self.current: str = ""
        if self.vendor == "sqlite":
            self._tmpdir = Path(tempfile.mkdtemp(prefix="erp-bridge-bench-"))
            self._template = self._tmpdir / "template.sqlite3"
            _point_default_at(str(self._template))
            self.log("migrating a template SQLite database")
            call_command("migrate", interactive=False, verbosity=0)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connections.close_all()
        elif self.vendor == "postgresql":
            name = str(self._original_name)
            if "bench" not in name:
                raise BenchDatabaseError(
                    f"The bench empties its database before every scenario; DATABASE_URL names {name!r}. "
                    "Point it at a database used for nothing else, with 'bench' in its name, e.g. "
                    "postgres://postgres@127.0.0.1:5432/erp_bridge_bench (created if missing)."
                )
            self._create_if_missing(name)
            self.log(f"migrating the PostgreSQL database {name}")
            call_command("migrate", interactive=False, verbosity=0)
        else:
            raise BenchDatabaseError(f"the bench knows SQLite and PostgreSQL, not {self.vendor}")

    @staticmethod
    def _create_if_missing(name: str) -> None:
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")

    def fresh(self, label: str) -> str:
        """Point the default connection at an empty, migrated database; returns its name."""
        if self.vendor == "sqlite":
            assert self._tmpdir is not None
            for old in self._tmpdir.glob("scenario-*"):
                old.unlink(missing_ok=True)  # one scenario's database at a time on disk
            path = self._tmpdir / f"scenario-{label}.sqlite3"
            connections.close_all()
            shutil.copyfile(self._template, path)
            _point_default_at(str(path))
            self.current = str(path)
        else:
            connections.close_all()
            call_command("flush", interactive=False, verbosity=0)
            self.current = str(self._original_name)
        return self.current

    def child_env(self) -> dict[str, str]:
        """Environment for a child process that must use the current scenario's database."""
        if self.vendor == "sqlite":
            return {"DATABASE_URL": f"sqlite:///{self.current}"}
        return {}  # DATABASE_URL is inherited: the same bench database

    def analyze(self) -> None:
        """PostgreSQL's autovacuum vacuums and analyses a table soon after bulk inserts; do it now
        (the vacuum's visibility map lets COUNT(*) read the index only, as in production). SQLite
        only uses statistics after an explicit ANALYZE, which nothing in erp-bridge runs."""
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

    def describe(self) -> dict[str, str]:
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute("SELECT sqlite_version()")
                version = cursor.fetchone()[0]
                return {"engine": "sqlite", "version": version, "name": "temporary files"}
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        return {"engine": "postgresql", "version": version, "name": str(self._original_name)}

    def close(self) -> None:
        connections.close_all()
        if self.vendor == "sqlite":
            _point_default_at(self._original_name)
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
        elif self.vendor == "postgresql":
            call_command("flush", interactive=False, verbosity=0)  # leave no 100k orders behind
            connections.close_all()
