"""Production settings pass Django's deployment checks; responses carry security headers and request ids."""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from authn.models import User

STRONG_SECRET_KEY = "k7#Qz!p2Lw9@vR4xT8&mN3$bY6^cF1*hJ5(gD0)sA-eU+iO=lK~oP[rS]tW{yX}zV"


def readme_production_env() -> dict[str, str]:
    """The variables that the README's Production section exports, with a real secret for its `...`."""
    section = (settings.BASE_DIR / "README.md").read_text().split("\n## Production", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    env: dict[str, str] = {}
    for line in block.splitlines():
        if line.startswith("export "):
            env.update(item.split("=", 1) for item in shlex.split(line)[1:])
    assert env, "the README's Production section exports no variables any more"
    return {**env, "DJANGO_SECRET_KEY": STRONG_SECRET_KEY} if env.get("DJANGO_SECRET_KEY") == "..." else env


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BETTER_AUTH_", "DATABASE_"))}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean_environment(), "DJANGO_SETTINGS_MODULE": "evotodo.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def collected_static_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A STATIC_ROOT with collectstatic's manifest in it, as after the README's deployment steps."""
    root = tmp_path_factory.mktemp("static")
    (root / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    return str(root)


@pytest.fixture
def production_env(collected_static_root: str) -> dict[str, str]:
    return {**readme_production_env(), "DJANGO_STATIC_ROOT": collected_static_root}


def test_check_deploy_with_the_readmes_production_values_reports_only_the_hsts_preload_choice(
    production_env: dict[str, str],
) -> None:
    result = manage("check", "--deploy", **production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "security.W021" in result.stderr
    assert "System check identified 1 issue" in result.stderr


def test_check_deploy_reports_no_issues_once_hsts_preload_is_chosen(production_env: dict[str, str]) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env, DJANGO_HSTS_PRELOAD="true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_says_to_collect_static_files_when_they_are_missing(
    production_env: dict[str, str], tmp_path: Any
) -> None:
    result = manage("check", "--deploy", **{**production_env, "DJANGO_STATIC_ROOT": str(tmp_path)})
    assert result.returncode != 0
    assert "evotodo.E001" in result.stderr
    assert "collectstatic --noinput" in result.stderr


def test_gunicorn_refuses_to_start_without_collected_static_files(
    production_env: dict[str, str], tmp_path: Any
) -> None:
    env = {
        **clean_environment(),
        **production_env,
        "DJANGO_SETTINGS_MODULE": "evotodo.settings",
        "DJANGO_STATIC_ROOT": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "evotodo.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Static files have not been collected" in result.stderr


def test_check_deploy_flags_ssl_redirect_turned_off_without_a_proxy_header(production_env: dict[str, str]) -> None:
    result = manage("check", "--deploy", **{**production_env, "DJANGO_SECURE_SSL_REDIRECT": "false"})
    assert "security.W008" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(production_env: dict[str, str]) -> None:
    env = {key: value for key, value in production_env.items() if key != "DJANGO_SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("DJANGO_DEBUG", "maybe"), ("API_THROTTLE_USER", "lots"), ("LOG_FORMAT", "xml"), ("DATABASE_POOLER", "pgpool")],
)
def test_junk_settings_are_refused_at_start(name: str, value: str, production_env: dict[str, str]) -> None:
    result = manage("check", **{**production_env, name: value})
    assert result.returncode != 0
    assert name in result.stderr


PRINT_DATABASE = """
import json, django
django.setup()
from django.conf import settings
database = settings.DATABASES["default"]
print(json.dumps({"cursors": database["DISABLE_SERVER_SIDE_CURSORS"], "options": database["OPTIONS"]}))
"""


def print_database(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRINT_DATABASE],
        cwd=settings.BASE_DIR,
        env={**clean_environment(), "DJANGO_SETTINGS_MODULE": "evotodo.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_pgbouncer_pooling_turns_off_server_side_cursors_and_prepared_statements(
    production_env: dict[str, str],
) -> None:
    pooled = print_database(**{**production_env, "DATABASE_POOLER": "pgbouncer"})
    direct = print_database(**{**production_env, "DATABASE_POOLER": "none"})
    pooled_database, direct_database = json.loads(pooled.stdout), json.loads(direct.stdout)
    assert pooled_database["cursors"] is True
    assert pooled_database["options"]["prepare_threshold"] is None
    assert direct_database["cursors"] is False
    assert direct_database["options"]["prepare_threshold"] == 5
    assert (
        pooled_database["options"]["server_side_binding"] is direct_database["options"]["server_side_binding"] is True
    )

    # Everything else about the connection is the same either way.
    def others(options: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in options.items() if k != "prepare_threshold"}

    assert others(pooled_database["options"]) == others(direct_database["options"])


def test_pgbouncer_pooling_is_refused_without_postgresql(production_env: dict[str, str]) -> None:
    sqlite = {"DATABASE_URL": "sqlite:///pooled.sqlite3", "DATABASE_POOLER": "pgbouncer"}
    result = manage("check", **{**production_env, **sqlite})
    assert result.returncode != 0
    assert "DATABASE_POOLER=pgbouncer needs a postgres:// DATABASE_URL" in result.stderr


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
