"""auth_settings(): the effective configuration, derived from BETTER_AUTH_URL unless overridden."""

from __future__ import annotations

from typing import Any

from authn.conf import auth_settings


def test_url_gives_jwks_issuer_and_audience(settings: Any) -> None:
    settings.BETTER_AUTH = {"URL": "https://app.example.com/"}
    conf = auth_settings()
    assert conf.jwks_url == "https://app.example.com/api/auth/jwks"
    assert conf.issuer == "https://app.example.com"
    assert conf.audience == ("https://app.example.com",)
    assert conf.secrets == ()


def test_issuer_and_audience_are_the_origin_even_when_the_url_has_a_path(settings: Any) -> None:
    settings.BETTER_AUTH = {"URL": "https://example.com/auth"}
    conf = auth_settings()
    assert (conf.issuer, conf.audience) == ("https://example.com", ("https://example.com",))
    assert conf.jwks_url == "https://example.com/auth/api/auth/jwks"


def test_overrides_win_and_audience_may_be_a_comma_list(settings: Any) -> None:
    settings.BETTER_AUTH = {
        "URL": "https://app.example.com",
        "JWKS_URL": "https://keys.example.com/jwks",
        "ISSUER": "https://issuer.example.com",
        "AUDIENCE": "https://a.example.com, https://b.example.com",
    }
    conf = auth_settings()
    assert conf.jwks_url == "https://keys.example.com/jwks"
    assert conf.issuer == "https://issuer.example.com"
    assert conf.audience == ("https://a.example.com", "https://b.example.com")


def test_secret_comes_before_its_fallbacks(settings: Any) -> None:
    settings.BETTER_AUTH = {"SECRET": "new", "SECRET_FALLBACKS": ["old", " ", "older"]}
    assert auth_settings().secrets == ("new", "old", "older")


def test_fallbacks_alone_accept_nothing(settings: Any) -> None:
    settings.BETTER_AUTH = {"SECRET_FALLBACKS": ["old"]}
    assert auth_settings().secrets == ()


def test_settings_are_reread_when_they_change(settings: Any) -> None:
    settings.BETTER_AUTH = {"URL": "https://one.example"}
    assert auth_settings().issuer == "https://one.example"
    settings.BETTER_AUTH = {"URL": "https://two.example"}
    assert auth_settings().issuer == "https://two.example"
