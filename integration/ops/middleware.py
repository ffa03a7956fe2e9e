"""Answers /healthz, /readyz and /metrics ahead of the rest of the middleware.

Why not plain URL routes: Django checks the Host header against DJANGO_ALLOWED_HOSTS (400
otherwise) and, in production, redirects plain HTTP to HTTPS (301). A load balancer or Docker
probes a container by its address over HTTP, and Prometheus scrapes it the same way, so these three
answer before either rule applies. They set no cookie and read no session; only GET and HEAD.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from integration.ops.views import healthz, metrics, readyz

ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics,
}


class OpsEndpointsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = ENDPOINTS.get(request.path_info.rstrip("/") or "/")
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        response = view(request)
        # A failing /readyz is an answer, not an error of the site: Django would log every 503 (and
        # Sentry report it) each time a monitor polls. The checks log their own problems.
        response._has_been_logged = True
        if request.method == "HEAD":
            response.content = b""
        return response
