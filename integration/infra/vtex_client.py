"""Wiring of the one VTEX client of this process: settings, the shared budget, the call log."""

from __future__ import annotations

import threading

from django.conf import settings

from integration.infra.rate_budget import DatabaseRateBudget
from integration.models import VtexCall
from integration.vtex import CallRecord, VtexClient, VtexConfig
from integration.vtex.budget import tokens_per_second
from integration.vtex.concurrency import InFlightTarget

_client: VtexClient | None = None
_target: InFlightTarget | None = None
_client_lock = threading.Lock()

# Threads of an intake worker pool buffer their call records; the pool's owner writes them in
# batches (see integration.infra.workers), so worker threads stay off the database writer.
_buffering = threading.local()


class CallLog:
    """Recorder that turns client CallRecords into VtexCall rows."""

    def __init__(self) -> None:
        self._pending: list[VtexCall] = []
        self._lock = threading.Lock()

    def __call__(self, record: CallRecord) -> None:
        row = VtexCall(**record.__dict__)
        if getattr(_buffering, "active", False):
            with self._lock:
                self._pending.append(row)
            return
        row.save()

    def flush(self) -> int:
        with self._lock:
            rows, self._pending = self._pending, []
        if rows:
            VtexCall.objects.bulk_create(rows, batch_size=500)
        return len(rows)


call_log = CallLog()


def buffer_calls_in_this_thread() -> None:
    _buffering.active = True


def vtex_config_from_settings() -> VtexConfig:
    return VtexConfig(
        oms_url=settings.VTEX_OMS_URL,
        payments_url=settings.VTEX_PAYMENTS_URL,
        app_key=settings.VTEX_APP_KEY,
        app_token=settings.VTEX_APP_TOKEN,
        connect_timeout=settings.VTEX_CONNECT_TIMEOUT_S,
        read_timeout=settings.VTEX_READ_TIMEOUT_S,
        get_attempts=settings.VTEX_GET_ATTEMPTS,
        max_retry_after=settings.VTEX_MAX_RETRY_AFTER_S,
        # One keep-alive connection per thread that can be on the wire (the cap, or the override).
        pool_size=max(10, settings.VTEX_CONCURRENCY or settings.VTEX_MAX_CONCURRENCY),
        other_secrets=tuple(secret for secret in (settings.VTEX_HOOK_SECRET,) if secret),
    )


def _in_flight_target_from_settings() -> InFlightTarget:
    return InFlightTarget(
        per_second=tokens_per_second(settings.VTEX_RATE_LIMIT_RPM),
        cap=settings.VTEX_MAX_CONCURRENCY,
        fixed=settings.VTEX_CONCURRENCY,
    )


def vtex_in_flight_target() -> InFlightTarget:
    """How many calls this process keeps in flight (integration.vtex.concurrency): fed by every
    answer the process's client records, read by the thread pools (infra.workers)."""
    global _target
    with _client_lock:
        if _target is None:
            _target = _in_flight_target_from_settings()
        return _target


def _record_call(record: CallRecord) -> None:
    vtex_in_flight_target().observe(record.duration_ms / 1000)
    call_log(record)


def vtex_client() -> VtexClient:
    """The process's client: one requests.Session (one keep-alive pool) for every caller."""
    global _client
    with _client_lock:
        if _client is None:
            _client = VtexClient(
                vtex_config_from_settings(),
                budget=DatabaseRateBudget(settings.VTEX_RATE_LIMIT_RPM),
                recorder=_record_call,
            )
        return _client


def reset_vtex_client() -> None:
    """Forget the process's client and its measured answer times (settings changed; tests, the demo)."""
    global _client, _target
    with _client_lock:
        if _client is not None:
            _client.session.close()
        _client, _target = None, None
