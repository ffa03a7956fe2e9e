"""The VTEX client package. Nothing here imports Django models."""

from integration.vtex.client import CallRecord, VtexClient, VtexConfig
from integration.vtex.errors import (
    VtexBadRequest,
    VtexConfigurationError,
    VtexConflict,
    VtexConnectionError,
    VtexError,
    VtexForbidden,
    VtexHTTPError,
    VtexInvalidResponse,
    VtexNotFound,
    VtexRateLimited,
    VtexServerError,
    VtexTimeout,
    VtexTransportError,
    VtexUnauthorized,
)

__all__ = [
    "CallRecord",
    "VtexBadRequest",
    "VtexClient",
    "VtexConfig",
    "VtexConfigurationError",
    "VtexConflict",
    "VtexConnectionError",
    "VtexError",
    "VtexForbidden",
    "VtexHTTPError",
    "VtexInvalidResponse",
    "VtexNotFound",
    "VtexRateLimited",
    "VtexServerError",
    "VtexTimeout",
    "VtexTransportError",
    "VtexUnauthorized",
]
