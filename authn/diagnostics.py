"""Plain-words diagnosis of the Better Auth setup, for operators (the `jwks` command)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from authn.conf import ASYMMETRIC_ALGORITHMS, SHARED_SECRET_ALGORITHM, AuthSettings, auth_settings
from authn.jwks import JWKSFetchError, SigningKey, jwk_thumbprint
from authn.tokens import TokenError, VerificationUnavailable, configured_jwks_client, verify_token

JWKS_SETTINGS = "BETTER_AUTH_URL (or BETTER_AUTH_JWKS_URL)"


class DiagnosisFailed(Exception):
    """The setup or the token does not work; the message says why in plain words."""


@dataclass(frozen=True)
class KeyReport:
    kid: str
    algorithm: str
    key: str
    thumbprint: str


@dataclass(frozen=True)
class VerificationSetup:
    """What tokens are checked with: the JWKS (empty `jwks_url` when none) and how many shared secrets.

    Only the number of secrets is kept, so nothing built from this can print one.
    """

    jwks_url: str
    keys: list[KeyReport]
    secrets: int


def describe_key(key: SigningKey) -> KeyReport:
    """kid, algorithm, curve or RSA size, and RFC 7638 thumbprint of one published key."""
    shape = key.data.get("crv") or f"RSA {key.jwk.key.key_size} bits"
    return KeyReport(kid=key.kid, algorithm=key.algorithm, key=shape, thumbprint=jwk_thumbprint(key.data))


def verification_setup() -> VerificationSetup:
    """Fetch the JWKS now (when one is configured) with the API's own client, and count the shared secrets.

    Raise DiagnosisFailed when the JWKS cannot be fetched, or when nothing at all could verify a token.
    """
    conf = auth_settings()
    if not conf.jwks_url and not conf.secrets:
        raise DiagnosisFailed(
            f"Nothing to verify tokens with: set {JWKS_SETTINGS} for Better Auth's JWKS, "
            "or BETTER_AUTH_SECRET for HS256 tokens."
        )
    keys = published_keys(conf) if conf.jwks_url else []
    return VerificationSetup(jwks_url=conf.jwks_url, keys=keys, secrets=len(conf.secrets))


def published_keys(conf: AuthSettings) -> list[KeyReport]:
    """Fetch the configured JWKS now, ignoring the cache; return its usable keys."""
    try:
        keys = configured_jwks_client(conf).refresh()
    except JWKSFetchError as e:
        raise DiagnosisFailed(f"Could not fetch the JWKS from {conf.jwks_url}: {e}.") from e
    return [describe_key(key) for key in keys.values()]


def check_token(token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Verify `token` exactly as the API does; return its claims or raise DiagnosisFailed explaining why."""
    try:
        return verify_token(token)
    except TokenError as e:
        raise DiagnosisFailed(f"{explain(e, now=now)} ({e.code})") from e
    except VerificationUnavailable as e:
        raise DiagnosisFailed(
            f"The JWKS could not be fetched, so the API would answer 503 auth_unavailable: {e}."
        ) from e


def explain(error: TokenError, *, now: datetime | None = None) -> str:
    """The first failure of a token, in plain words, with the values involved."""
    context = error.context
    now = now or datetime.now(UTC)
    if error.code == "token_expired" and isinstance(context.get("exp"), int | float):
        expired = datetime.fromtimestamp(context["exp"], UTC)
        return f"The token expired at {expired:%Y-%m-%d %H:%M:%S} UTC, {age(now - expired)} ago."
    if error.code == "token_issuer_invalid":
        return f"The token was issued by {context.get('got')!r}, but this service expects {context.get('expected')!r}."
    if error.code == "token_audience_invalid" and not context.get("expected"):
        return (
            f"The token is meant for {context.get('got')!r}, but this service expects no audience: "
            "set BETTER_AUTH_AUDIENCE (or BETTER_AUTH_URL) to accept it."
        )
    if error.code == "token_audience_invalid":
        return f"The token is meant for {context.get('got')!r}, but this service accepts {context.get('expected')!r}."
    if error.code == "token_key_unknown":
        return f"The token was signed with key {context.get('kid')!r}, which the JWKS does not publish."
    if error.code == "token_algorithm_not_allowed" and "key_alg" in context:
        return (
            f"The token says it is signed with {context.get('header_alg')!r}, "
            f"but its key is for {context.get('key_alg')!r}."
        )
    if error.code == "token_algorithm_not_allowed" and "accepted" in context:
        return algorithm_refused(context.get("header_alg"), context["accepted"])
    if error.code == "token_signature_invalid" and context.get("secrets_tried"):
        return secrets_refused(context["secrets_tried"])
    return error.message


def algorithm_refused(algorithm: Any, accepted: tuple[str, ...]) -> str:
    """Why a token's `alg` was refused, and which setting would accept it if any."""
    said = f"The token says it is signed with {algorithm!r}"
    if algorithm == SHARED_SECRET_ALGORITHM:
        return f"{said}, which is only accepted when BETTER_AUTH_SECRET is set."
    if algorithm in ASYMMETRIC_ALGORITHMS:
        return f"{said}, which is checked against Better Auth's JWKS: set {JWKS_SETTINGS}."
    return f"{said}, but this service accepts only {', '.join(accepted) or 'no algorithm at all'}."


def secrets_refused(tried: int) -> str:
    """An HS256 signature that no configured secret made; says how many were tried, never what they are."""
    if tried == 1:
        return "The token is signed HS256, but not with BETTER_AUTH_SECRET (and no fallback is set)."
    fallbacks = f"{tried - 1} fallback{'s' if tried > 2 else ''}"
    return f"The token is signed HS256, but with neither BETTER_AUTH_SECRET nor its {fallbacks}."


def age(delta: Any) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} hours"
