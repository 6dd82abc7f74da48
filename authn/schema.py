"""drf-spectacular: document the Better Auth bearer JWT as the API's security scheme."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class BetterAuthJWTScheme(OpenApiAuthenticationExtension):
    target_class = "authn.authentication.BetterAuthJWTAuthentication"
    name = "BetterAuthJWT"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme = build_bearer_security_scheme_object(
            header_name="AUTHORIZATION", token_prefix="Bearer", bearer_format="JWT"
        )
        scheme["description"] = "The JWT from Better Auth's `jwt` plugin (GET /api/auth/token)."
        return scheme
