"""/healthz, /readyz and /metrics. No login, no session, no cookie: integration.ops.middleware
answers them before the rest of the stack (docs/operations.md "Health checks and metrics")."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client.exposition import choose_encoder

from integration.ops.health import CHECKS, readiness
from integration.ops.metrics import metrics_registry

logger = logging.getLogger(__name__)

_NO_CACHE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _headers(response: HttpResponse) -> HttpResponse:
    for name, value in _NO_CACHE.items():
        response[name] = value
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers. Touches nothing else (no database): for liveness probes."""
    return _headers(JsonResponse({"status": "ok"}))


def readyz(request: HttpRequest) -> HttpResponse:
    """Every check (or those named by ?checks=database,migrations): 200 when all pass, else 503,
    each with its verdict and why."""
    names = None
    if request.GET.get("checks"):
        names = [name.strip() for name in request.GET["checks"].split(",") if name.strip()]
        unknown = sorted(set(names) - set(CHECKS))
        if unknown:
            return _headers(
                JsonResponse(
                    {"status": "fail", "error": f"unknown checks: {', '.join(unknown)}", "checks_known": list(CHECKS)},
                    status=400,
                )
            )
    now = timezone.now()
    results = readiness(names=names, now=now)
    ok = all(result.ok for result in results)
    body = {
        "status": "ok" if ok else "fail",
        "time": now.isoformat(),
        "failing": [result.name for result in results if not result.ok],
        "checks": {result.name: result.as_json() for result in results},
    }
    return _headers(JsonResponse(body, status=200 if ok else 503))


def metrics_access(request: HttpRequest) -> int | None:
    """None when the caller may read the metrics, else the status to answer: 404 while neither a
    token nor an allow-list is set (the endpoint is off), 403 when a set condition is not met
    (both must be when both are set)."""
    token = settings.METRICS_TOKEN
    networks = settings.METRICS_ALLOW
    if not token and not networks:
        return 404
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return 403
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return 403
        if getattr(address, "ipv4_mapped", None):
            address = address.ipv4_mapped
        if not any(address in network for network in networks):
            return 403
    return None


def metrics(request: HttpRequest) -> HttpResponse:
    refused = metrics_access(request)
    if refused == 404:
        return _headers(HttpResponse("Not found.\n", status=404, content_type="text/plain"))
    if refused is not None:
        logger.warning("metrics refused to %s", request.META.get("REMOTE_ADDR", "?"))
        return _headers(HttpResponse("Forbidden.\n", status=403, content_type="text/plain"))
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return _headers(HttpResponse(encoder(metrics_registry()), content_type=content_type))
