"""System checks on the Better Auth configuration, by stable id."""

from __future__ import annotations

from typing import Any

import pytest

from authn.checks import check_better_auth_settings

GOOD = {"URL": "https://app.example.com", "SECRET": "s" * 32}


def ids(settings: Any, **better_auth: Any) -> set[str]:
    settings.BETTER_AUTH = better_auth
    return {message.id for message in check_better_auth_settings()}


def test_a_complete_configuration_passes(settings: Any) -> None:
    assert ids(settings, **GOOD) == set()


@pytest.mark.parametrize("leeway", [-1, 61, 3600])
def test_leeway_outside_0_to_60_is_an_error(settings: Any, leeway: int) -> None:
    assert "authn.E001" in ids(settings, **GOOD, LEEWAY_SECONDS=leeway)


def test_refetch_cooldown_over_30_seconds_is_an_error(settings: Any) -> None:
    assert "authn.E002" in ids(settings, **GOOD, JWKS_REFETCH_COOLDOWN_SECONDS=31)


@pytest.mark.parametrize("url", ["app.example.com", "ftp://app.example.com", "file:///etc/jwks.json"])
def test_url_that_is_not_http_is_an_error(settings: Any, url: str) -> None:
    assert "authn.E003" in ids(settings, URL=url)


def test_nothing_to_verify_with_is_a_warning(settings: Any) -> None:
    assert ids(settings) == {"authn.W001"}


def test_short_secret_is_a_warning(settings: Any) -> None:
    assert ids(settings, SECRET="short") == {"authn.W002"}


def test_short_fallback_secret_is_a_warning(settings: Any) -> None:
    assert ids(settings, **GOOD, SECRET_FALLBACKS=["old"]) == {"authn.W002"}


def test_jwks_url_without_issuer_and_audience_is_a_warning(settings: Any) -> None:
    assert ids(settings, JWKS_URL="https://app.example.com/api/auth/jwks") == {"authn.W003"}


def test_plain_http_to_a_remote_host_is_a_warning(settings: Any) -> None:
    assert ids(settings, URL="http://app.example.com") == {"authn.W004"}


def test_plain_http_on_loopback_is_fine(settings: Any) -> None:
    assert ids(settings, URL="http://127.0.0.1:3000") == set()


def test_refetch_cooldown_of_zero_is_an_error(settings: Any) -> None:
    assert "authn.E002" in ids(settings, **GOOD, JWKS_REFETCH_COOLDOWN_SECONDS=0)
