"""The DRF authentication class for Better Auth JWTs, on simplejwt's header pipeline."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from authn.models import User
from authn.services import user_from_claims
from authn.tokens import TokenError, VerificationUnavailable, is_known_good, token_digest, verify_token
from evotodo.logs import OncePerInterval
from evotodo.throttling import FailedAuthenticationThrottle

logger = logging.getLogger(__name__)
# While Better Auth's keys have never been fetchable, every asymmetric token is a 503: one warning a minute.
unavailable_log = OncePerInterval(logger)


class AuthenticationUnavailable(APIException):
    """Token keys could not be fetched yet: the request can be neither accepted nor refused."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Token verification is temporarily unavailable; try again shortly."
    default_code = "auth_unavailable"


class BetterAuthJWTAuthentication(JWTAuthentication):
    """Authenticate `Authorization: Bearer <jwt>` (scheme case-insensitive) signed by Better Auth.

    `request.user` is the local user for the token's `sub`; `request.auth` is the verified claims.
    Every refusal is a 401 with a stable `code`; the token itself is never logged or echoed.
    """

    keyword = b"bearer"
    failures = FailedAuthenticationThrottle()
    user_model = User

    def __init__(self) -> None:
        """DRF makes one per request: nothing to look up (simplejwt's would resolve the user model each time;
        `get_user` below finds users itself)."""

    def authenticate(self, request: Request) -> tuple[User, dict[str, Any]] | None:
        """simplejwt's pipeline, with refused tokens counted per client IP: past the limit, a token not already
        known to be good is a 429 before its signature is checked."""
        header = self.get_header(request)
        if header is None:
            return None
        try:
            raw_token = self.get_raw_token(header)
            if raw_token is None:
                return None
            digest = token_digest(raw_token)
            known_good = is_known_good(digest)
            if not known_good:
                self.failures.check(request, digest)
            validated_token = self.get_validated_token(raw_token)
        except InvalidToken:
            self.failures.record(request)
            raise
        if not known_good:
            self.failures.remember_good(digest, float(validated_token["exp"]))
        return self.get_user(validated_token), validated_token

    def get_raw_token(self, header: bytes) -> str | None:
        parts = header.split()
        if not parts:
            return None  # an empty header is no credentials at all: not_authenticated
        # A bare token or another scheme (Basic, Token, ...) is a client sending credentials wrongly, not an
        # anonymous request: say how to send them. This is the only authentication class, so no other could
        # accept the header; the token part is never echoed, as a bare one is the first part.
        if parts[0].lower() != self.keyword or len(parts) != 2:
            raise InvalidToken(
                "The Authorization header must be 'Bearer <token>'.", code="authorization_header_invalid"
            )
        try:
            return parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise InvalidToken("The token is not a well-formed JWT.", code="token_malformed") from None

    def get_validated_token(self, raw_token: str) -> dict[str, Any]:  # type: ignore[override]
        try:
            return verify_token(raw_token)
        except TokenError as e:
            logger.info("bearer token refused: %s", e.code)
            raise InvalidToken(e.message, code=e.code) from e
        except VerificationUnavailable as e:
            unavailable_log.warning("bearer tokens not checked: %s", e)
            raise AuthenticationUnavailable() from e

    def get_user(self, validated_token: dict[str, Any]) -> User:  # type: ignore[override]
        user = user_from_claims(validated_token)
        if not user.is_active:
            raise AuthenticationFailed("This user account is disabled.", code="user_inactive")
        return user

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
