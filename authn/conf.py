"""The one accessor for the Better Auth settings, read at call time so `override_settings` works."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# What Better Auth's jwt plugin can sign with; HS256 is only ever checked against the shared secret.
ASYMMETRIC_ALGORITHMS: tuple[str, ...] = ("EdDSA", "ES256", "ES512", "RS256", "PS256")
SHARED_SECRET_ALGORITHM = "HS256"
MAX_LEEWAY_SECONDS = 60
MAX_REFETCH_COOLDOWN_SECONDS = 30
JWKS_PATH = "/api/auth/jwks"

DEFAULTS: dict[str, Any] = {
    "URL": "",
    "JWKS_URL": "",
    "ISSUER": "",
    "AUDIENCE": [],
    "SECRET": "",
    "SECRET_FALLBACKS": [],
    "LEEWAY_SECONDS": 10,
    "JWKS_CACHE_SECONDS": 300,
    "JWKS_REFETCH_COOLDOWN_SECONDS": 10,
    "JWKS_TIMEOUT_SECONDS": 3,
    "MAX_TOKEN_BYTES": 8192,
}


@dataclass(frozen=True)
class AuthSettings:
    """The effective Better Auth configuration, with the defaults derived from `URL` filled in."""

    url: str
    jwks_url: str
    issuer: str
    audience: tuple[str, ...]
    secrets: tuple[str, ...]
    leeway_seconds: int
    jwks_cache_seconds: int
    jwks_refetch_cooldown_seconds: int
    jwks_timeout_seconds: int
    max_token_bytes: int

    @property
    def accepts_shared_secret(self) -> bool:
        return bool(self.secrets)

    @property
    def accepted_algorithms(self) -> tuple[str, ...]:
        """The `alg`s a token may have: HS256 with a shared secret, the asymmetric ones with a JWKS."""
        shared = (SHARED_SECRET_ALGORITHM,) if self.secrets else ()
        return shared + (ASYMMETRIC_ALGORITHMS if self.jwks_url else ())


def url_origin(url: str) -> str:
    """`https://app.example.com/some/path` -> `https://app.example.com`, what Better Auth puts in iss and aud."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _as_tuple(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item and item.strip())


@lru_cache(maxsize=1)
def auth_settings() -> AuthSettings:
    """Return the effective settings; cached until `settings.BETTER_AUTH` changes."""
    raw = {**DEFAULTS, **getattr(settings, "BETTER_AUTH", {})}
    url = str(raw["URL"]).strip().rstrip("/")
    jwks_url = str(raw["JWKS_URL"]).strip() or (url + JWKS_PATH if url else "")
    issuer = str(raw["ISSUER"]).strip() or url_origin(url)
    audience = _as_tuple(raw["AUDIENCE"]) or ((url_origin(url),) if url_origin(url) else ())
    secrets = _as_tuple([raw["SECRET"], *_as_tuple(raw["SECRET_FALLBACKS"])]) if raw["SECRET"] else ()
    return AuthSettings(
        url=url,
        jwks_url=jwks_url,
        issuer=issuer,
        audience=audience,
        secrets=secrets,
        leeway_seconds=int(raw["LEEWAY_SECONDS"]),
        jwks_cache_seconds=int(raw["JWKS_CACHE_SECONDS"]),
        jwks_refetch_cooldown_seconds=int(raw["JWKS_REFETCH_COOLDOWN_SECONDS"]),
        jwks_timeout_seconds=int(raw["JWKS_TIMEOUT_SECONDS"]),
        max_token_bytes=int(raw["MAX_TOKEN_BYTES"]),
    )


@receiver(setting_changed)
def _reload_auth_settings(*, setting: str, **kwargs: Any) -> None:
    # Only this module's cache: what was derived from the settings elsewhere (the verified tokens in
    # tokens.py) is cleared by a receiver beside it, so this module imports nothing of authn.
    if setting == "BETTER_AUTH":
        auth_settings.cache_clear()
