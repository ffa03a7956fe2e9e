"""Every way a VTEX call can fail, as one hierarchy. Callers catch VtexError, never requests.*."""

from __future__ import annotations


class VtexError(Exception):
    """Base class. `message` is safe to show to staff: it never contains credentials."""

    #: Worth trying again later (rate limit, server error, network trouble).
    transient = False
    #: For a write: VTEX may or may not have applied it; read back before sending again.
    outcome_unknown = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        method: str = "",
        path: str = "",
        body: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.method = method
        self.path = path
        self.body = body

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        status = f"HTTP {self.status} " if self.status else ""
        code = f"[{self.code}] " if self.code else ""
        return f"{where}{status}{code}{self.message}"


class VtexConfigurationError(VtexError):
    """erp-bridge is not configured to reach VTEX (missing URL or credentials)."""


class VtexTransportError(VtexError):
    """No HTTP answer: the request may have reached VTEX."""

    transient = True
    outcome_unknown = True


class VtexTimeout(VtexTransportError):
    pass


class VtexConnectionError(VtexTransportError):
    pass


class VtexInvalidResponse(VtexError):
    """VTEX answered 2xx with a body that is not the JSON we expect."""


class VtexHTTPError(VtexError):
    """VTEX answered with an error status."""


class VtexBadRequest(VtexHTTPError):
    pass


class VtexUnauthorized(VtexHTTPError):
    pass


class VtexForbidden(VtexHTTPError):
    pass


class VtexNotFound(VtexHTTPError):
    pass


class VtexConflict(VtexHTTPError):
    """409; `code` holds VTEX's code, e.g. OMS003 (order not in ready-for-handling)."""


class VtexRateLimited(VtexHTTPError):
    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class VtexServerError(VtexHTTPError):
    transient = True


STATUS_ERRORS: dict[int, type[VtexHTTPError]] = {
    400: VtexBadRequest,
    401: VtexUnauthorized,
    403: VtexForbidden,
    404: VtexNotFound,
    409: VtexConflict,
    429: VtexRateLimited,
}


def error_class_for_status(status: int) -> type[VtexHTTPError]:
    if status >= 500:
        return VtexServerError
    return STATUS_ERRORS.get(status, VtexHTTPError)
