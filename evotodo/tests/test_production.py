"""Production settings pass Django's deployment checks; responses carry security headers and request ids."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from authn.models import User

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k7#Qz!p2Lw9@vR4xT8&mN3$bY6^cF1*hJ5(gD0)sA-eU+iO=lK~oP[rS]tW{yX}zV",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DJANGO_HSTS_PRELOAD": "true",
    "DATABASE_URL": "postgres://evotodo:secret@db.internal:5432/evotodo",
    "BETTER_AUTH_URL": "https://app.example.com",
    "CORS_ALLOWED_ORIGINS": "https://app.example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BETTER_AUTH_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "evotodo.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_reports_no_issues_with_production_values() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_ssl_redirect_turned_off_without_a_proxy_header() -> None:
    result = manage("check", "--deploy", **{**PRODUCTION_ENV, "DJANGO_SECURE_SSL_REDIRECT": "false"})
    assert "security.W008" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "DJANGO_SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"), [("DJANGO_DEBUG", "maybe"), ("API_THROTTLE_USER", "lots"), ("LOG_FORMAT", "xml")]
)
def test_junk_settings_are_refused_at_start(name: str, value: str) -> None:
    result = manage("check", **{**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_api_responses_carry_security_headers(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/tasks")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response["Cache-Control"] == "private, no-cache"


def test_every_response_has_a_request_id_and_a_sane_incoming_one_is_kept(db: Any) -> None:
    client = APIClient()
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="edge-1234abcd")["X-Request-ID"] == "edge-1234abcd"
    assert (
        client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nforged log line")["X-Request-ID"] != "bad id\nforged log line"
    )


def test_auth_failures_are_logged_as_json_with_code_and_request_id_never_the_token(
    db: Any, token_for: Any, alice: User, capsys: pytest.CaptureFixture[str]
) -> None:
    token = token_for(alice, iss="https://evil.example")
    handler = logging.getLogger().handlers[0]
    stream = handler.stream  # type: ignore[attr-defined]
    import io

    buffer = io.StringIO()
    handler.stream = buffer  # type: ignore[attr-defined]
    try:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.get("/api/me", HTTP_X_REQUEST_ID="req-0000test")
    finally:
        handler.stream = stream  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    refused = [line for line in lines if "token refused" in line["message"]]
    assert response.status_code == 401
    assert refused
    assert refused[0]["request_id"] == "req-0000test"
    assert "token_issuer_invalid" in refused[0]["message"]
    assert token.split(".")[2] not in buffer.getvalue()
