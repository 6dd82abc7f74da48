"""System checks for the Better Auth configuration, each with a stable id."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core import checks

from authn.conf import MAX_LEEWAY_SECONDS, MAX_REFETCH_COOLDOWN_SECONDS, auth_settings

MIN_SECRET_LENGTH = 32
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


@checks.register(checks.Tags.security)
def check_better_auth_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    conf = auth_settings()
    messages: list[checks.CheckMessage] = []
    if not 0 <= conf.leeway_seconds <= MAX_LEEWAY_SECONDS:
        messages.append(
            checks.Error(
                f"BETTER_AUTH_LEEWAY_SECONDS must be between 0 and {MAX_LEEWAY_SECONDS}.",
                id="authn.E001",
            )
        )
    if not 1 <= conf.jwks_refetch_cooldown_seconds <= MAX_REFETCH_COOLDOWN_SECONDS:
        messages.append(
            checks.Error(
                f"BETTER_AUTH_JWKS_REFETCH_COOLDOWN_SECONDS must be between 1 and {MAX_REFETCH_COOLDOWN_SECONDS}: "
                "at least 1 so random key ids cannot force a fetch each, at most 30 so new keys are picked up.",
                id="authn.E002",
            )
        )
    for name, url in (("BETTER_AUTH_URL", conf.url), ("BETTER_AUTH_JWKS_URL", conf.jwks_url)):
        parts = urlsplit(url)
        if url and (parts.scheme not in {"http", "https"} or not parts.hostname):
            messages.append(checks.Error(f"{name} must be an http(s) URL, not {url!r}.", id="authn.E003"))
        elif url and parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            messages.append(
                checks.Warning(
                    f"{name} uses plain http to a non-loopback host: keys fetched that way can be forged.",
                    hint="Use https.",
                    id="authn.W004",
                )
            )
    if not conf.jwks_url and not conf.secrets:
        messages.append(
            checks.Warning(
                "Neither BETTER_AUTH_URL (or BETTER_AUTH_JWKS_URL) nor BETTER_AUTH_SECRET is set: "
                "every API token will be refused.",
                id="authn.W001",
            )
        )
    if conf.secrets and any(len(secret) < MIN_SECRET_LENGTH for secret in conf.secrets):
        messages.append(
            checks.Warning(
                f"BETTER_AUTH_SECRET (or a fallback) is shorter than {MIN_SECRET_LENGTH} characters.",
                hint="Generate one with: openssl rand -base64 32",
                id="authn.W002",
            )
        )
    if conf.jwks_url and not conf.url and not (conf.issuer and conf.audience):
        messages.append(
            checks.Warning(
                "BETTER_AUTH_JWKS_URL is set without BETTER_AUTH_URL, BETTER_AUTH_ISSUER and BETTER_AUTH_AUDIENCE: "
                "Better Auth tokens carry iss and aud, and tokens with an audience nobody configured are refused.",
                id="authn.W003",
            )
        )
    return messages
