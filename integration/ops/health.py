"""The readiness checks behind /readyz: each says ok or not, and why, in words and figures.

Nothing here writes, and no answer carries a secret: a failing database is named by its error's
class (the full message, which may name hosts and users, goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Max
from django.utils import timezone
from django_q.models import Task
from django_q.status import Stat

from integration.models import OutboxMessage, VtexCall
from integration.selectors.health import BACKLOG_STATES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    #: Figures behind the verdict (ages in seconds, counts, thresholds), for monitors to graph.
    data: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"status": "ok" if self.ok else "fail", "detail": self.detail, **self.data}


# ---- the checks ------------------------------------------------------------------------------------


def check_database(now: datetime) -> CheckResult:
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means the same: not reachable
        logger.warning("readiness: the database is unreachable: %s", error)
        return CheckResult("database", False, f"the database is unreachable ({type(error).__name__})")
    return CheckResult("database", True, f"reachable ({connection.vendor})")


#: Set once every migration was seen applied: new migrations come with new code, which restarts
#: the process, so a positive answer holds for the process's life (a negative one is asked again).
_migrations_applied = False


def check_migrations(now: datetime) -> CheckResult:
    global _migrations_applied
    if _migrations_applied:
        return CheckResult("migrations", True, "all applied")
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return CheckResult(
            "migrations", False, f"{len(names)} not applied: {shown}; run manage.py migrate", {"unapplied": len(names)}
        )
    _migrations_applied = True
    return CheckResult("migrations", True, "all applied")


def forget_migrations_applied() -> None:
    """Ask the database again at the next check (tests)."""
    global _migrations_applied
    _migrations_applied = False


@dataclass(frozen=True)
class ClusterHeartbeat:
    cluster_id: str
    host: str
    status: str
    at: datetime


def cluster_heartbeats() -> list[ClusterHeartbeat]:
    """The clusters that reported in the last seconds. django-q2 keeps each cluster's status in the
    cache (Stat, refreshed twice a second, expiring after 3 s); a process sees the clusters of other
    processes only when the cache is shared (DJANGO_CACHE_URL redis:// or db://)."""
    try:
        stats = Stat.get_all()
    except Exception as error:  # the cache (Redis) is down: no heartbeat to read
        logger.warning("readiness: cannot read django-q2's cluster heartbeats: %s", error)
        return []
    return [
        ClusterHeartbeat(
            cluster_id=str(stat.cluster_id), host=str(stat.host), status=str(stat.status), at=stat.timestamp
        )
        for stat in stats
    ]


def last_task_finished_at() -> datetime | None:
    """When a cluster last finished a task (successful or not); django-q2 saves them in the database."""
    return Task.objects.aggregate(last=Max("stopped"))["last"]


def check_qcluster(now: datetime) -> CheckResult:
    max_age = settings.READY_CLUSTER_MAX_AGE_S
    heartbeats = [beat for beat in cluster_heartbeats() if (now - beat.at).total_seconds() <= max_age]
    if heartbeats:
        hosts = ", ".join(sorted({beat.host for beat in heartbeats}))
        return CheckResult(
            "qcluster", True, f"{len(heartbeats)} cluster(s) reporting ({hosts})", {"clusters": len(heartbeats)}
        )
    last = last_task_finished_at()
    data: dict = {"max_age_s": max_age, "last_task_age_s": _age(now, last)}
    if last is not None and (now - last).total_seconds() <= max_age:
        return CheckResult("qcluster", True, f"a task finished {_ago(now, last)}", data)
    since = f"the last task finished {_ago(now, last)}" if last else "no task has ever finished"
    return CheckResult("qcluster", False, f"no cluster seen within {max_age} s: {since}", data)


#: The client operation whose successful answer shows each intake source working.
SOURCE_OPERATIONS = {"feed": "read_feed", "list": "list_orders"}


def last_successful_read(source: str) -> datetime | None:
    """The last 2xx answer to the source's read (feed read or List orders), from the call log every
    process writes (also when pull_orders runs by hand). The dashboard's rule
    (integration.selectors.health.intake_status), asked per source newest first so the database
    walks the call log's created_at index back to the first match instead of grouping the table."""
    return (
        VtexCall.objects.filter(operation=SOURCE_OPERATIONS[source], status_code__gte=200, status_code__lt=300)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def check_intake(now: datetime) -> CheckResult:
    """The last successful read of the intake's source (VTEX_INTAKE)."""
    source = settings.VTEX_INTAKE
    max_age = settings.READY_INTAKE_MAX_AGE_S
    last = last_successful_read(source)
    data = {"source": source, "max_age_s": max_age, "last_success_age_s": _age(now, last)}
    if last is None:
        return CheckResult("intake", False, f"no successful {source} read from VTEX yet", data)
    if (now - last).total_seconds() > max_age:
        return CheckResult(
            "intake", False, f"the last successful {source} read was {_ago(now, last)} (limit {max_age} s)", data
        )
    return CheckResult("intake", True, f"last successful {source} read {_ago(now, last)}", data)


def check_outbox(now: datetime) -> CheckResult:
    limit = settings.READY_OUTBOX_MAX
    counts = {state.value: 0 for state in BACKLOG_STATES}
    counts.update(
        OutboxMessage.objects.filter(state__in=BACKLOG_STATES)
        .values("state")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("state", "n")
    )
    total = sum(counts.values())
    data = {"backlog": total, "max": limit, **counts}
    if total > limit:
        return CheckResult(
            "outbox",
            False,
            f"{total} sends owed to VTEX (pending {counts['pending']}, sending {counts['sending']}, "
            f"failed {counts['failed']}), above {limit}",
            data,
        )
    return CheckResult("outbox", True, f"{total} sends owed to VTEX (limit {limit})", data)


def _age(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else max(0, int((now - then).total_seconds()))


def _ago(now: datetime, then: datetime | None) -> str:
    return "never" if then is None else f"{_age(now, then)} s ago"


# ---- all of them ---------------------------------------------------------------------------------------

CHECKS: dict[str, Callable[[datetime], CheckResult]] = {
    "database": check_database,
    "migrations": check_migrations,
    "qcluster": check_qcluster,
    "intake": check_intake,
    "outbox": check_outbox,
}


def readiness(*, names: list[str] | None = None, now: datetime | None = None) -> list[CheckResult]:
    """The checks named (all by default), in CHECKS' order. A check that raises fails with the
    error's class; when the database is unreachable the checks that need it are not run."""
    now = now or timezone.now()
    wanted = [name for name in CHECKS if names is None or name in names]
    database = _run(check_database, "database", now)
    results: list[CheckResult] = []
    for name in wanted:
        if name == "database":
            results.append(database)
        elif not database.ok:
            results.append(CheckResult(name, False, "not checked: the database is unreachable"))
        else:
            results.append(_run(CHECKS[name], name, now))
    return results


def _run(check: Callable[[datetime], CheckResult], name: str, now: datetime) -> CheckResult:
    try:
        return check(now)
    except DatabaseError as error:
        # Typically a table missing while migrations are pending: one line, not a traceback per poll.
        logger.warning("readiness check %s: %s: %s", name, type(error).__name__, error)
        return CheckResult(name, False, f"the check raised {type(error).__name__} (see the log)")
    except Exception as error:
        logger.exception("readiness check %s raised", name)
        return CheckResult(name, False, f"the check raised {type(error).__name__} (see the log)")
