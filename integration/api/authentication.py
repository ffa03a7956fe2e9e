"""Who is calling: an erp-bridge user's token, sent as `Authorization: Bearer <key>` or `Token <key>`.

Both keywords take the same keys (DRF's authtoken table). `Token` is DRF's own and what the API
documented first; `Bearer` is what OpenAPI client generators send by default, so the schema
declares both schemes and either one satisfies an operation. Messages never repeat the key.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

KEYWORDS = ("Bearer", "Token")


class BearerOrTokenAuthentication(TokenAuthentication):
    messages = {
        "scheme": gettext_lazy(
            "The Authorization header must be “Bearer <token>” or “Token <token>”, with the key of an erp-bridge user."
        ),
        "missing": gettext_lazy("The Authorization header names a scheme but carries no token after it."),
        "malformed": gettext_lazy("The token in the Authorization header is one word of letters and digits."),
    }

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words:
            return None  # no credentials: NotAuthenticated (401 not_authenticated)
        scheme = words[0].decode("latin-1").lower()
        if scheme not in {keyword.lower() for keyword in KEYWORDS}:
            # Before, another scheme (Basic…) was ignored and answered "credentials were not provided",
            # which sent client teams looking in the wrong place.
            raise exceptions.AuthenticationFailed(self.messages["scheme"])
        if len(words) == 1:
            raise exceptions.AuthenticationFailed(self.messages["missing"])
        if len(words) > 2:
            raise exceptions.AuthenticationFailed(self.messages["malformed"])
        try:
            key = words[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(self.messages["malformed"]) from None
        if not key.isalnum():
            raise exceptions.AuthenticationFailed(self.messages["malformed"])
        return self.authenticate_credentials(key)

    def authenticate_header(self, request) -> str:
        # One challenge per accepted scheme (RFC 9110 §11.6.1); Bearer first, as generators expect it.
        return ", ".join(f'{keyword} realm="api"' for keyword in KEYWORDS)


class BearerOrTokenScheme(OpenApiAuthenticationExtension):
    """Declares the two schemes as alternatives (a list of requirements is an OR in OpenAPI)."""

    target_class = BearerOrTokenAuthentication
    name = ["bearerAuth", "tokenAuth"]

    def get_security_requirement(self, auto_schema):
        return [{"bearerAuth": []}, {"tokenAuth": []}]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "Authorization: Bearer <token>: the key of an erp-bridge user (drf_create_token).",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Authorization: Token <token>: the same keys, with DRF's keyword.",
            },
        ]
