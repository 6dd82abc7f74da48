"""Plain-words diagnosis of the Better Auth setup, for operators (the `jwks` command)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from authn.conf import auth_settings
from authn.jwks import JWKSFetchError, SigningKey, jwk_thumbprint
from authn.tokens import TokenError, configured_jwks_client, verify_token


class DiagnosisFailed(Exception):
    """The setup or the token does not work; the message says why in plain words."""


@dataclass(frozen=True)
class KeyReport:
    kid: str
    algorithm: str
    key: str
    thumbprint: str


def describe_key(key: SigningKey) -> KeyReport:
    """kid, algorithm, curve or RSA size, and RFC 7638 thumbprint of one published key."""
    shape = key.data.get("crv") or f"RSA {key.jwk.key.key_size} bits"
    return KeyReport(kid=key.kid, algorithm=key.algorithm, key=shape, thumbprint=jwk_thumbprint(key.data))


def published_keys() -> tuple[str, list[KeyReport]]:
    """Fetch the JWKS now with the API's own client; return its URL and the usable keys."""
    conf = auth_settings()
    if not conf.jwks_url:
        raise DiagnosisFailed("No JWKS to check: set BETTER_AUTH_URL (or BETTER_AUTH_JWKS_URL).")
    try:
        keys = configured_jwks_client(conf).refresh()
    except JWKSFetchError as e:
        raise DiagnosisFailed(f"Could not fetch the JWKS from {conf.jwks_url}: {e}.") from e
    return conf.jwks_url, [describe_key(key) for key in keys.values()]


def check_token(token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Verify `token` exactly as the API does; return its claims or raise DiagnosisFailed explaining why."""
    try:
        return verify_token(token)
    except TokenError as e:
        raise DiagnosisFailed(f"{explain(e, now=now)} ({e.code})") from e


def explain(error: TokenError, *, now: datetime | None = None) -> str:
    """The first failure of a token, in plain words, with the values involved."""
    context = error.context
    now = now or datetime.now(UTC)
    if error.code == "token_expired" and isinstance(context.get("exp"), int | float):
        expired = datetime.fromtimestamp(context["exp"], UTC)
        return f"The token expired at {expired:%Y-%m-%d %H:%M:%S} UTC, {age(now - expired)} ago."
    if error.code == "token_issuer_invalid":
        return f"The token was issued by {context.get('got')!r}, but this service expects {context.get('expected')!r}."
    if error.code == "token_audience_invalid":
        return f"The token is meant for {context.get('got')!r}, but this service accepts {context.get('expected')!r}."
    if error.code == "token_key_unknown":
        return f"The token was signed with key {context.get('kid')!r}, which the JWKS does not publish."
    if error.code == "token_algorithm_not_allowed" and context:
        return (
            f"The token says it is signed with {context.get('header_alg')!r}, "
            f"but its key is for {context.get('key_alg')!r}."
        )
    return error.message


def age(delta: Any) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} hours"
