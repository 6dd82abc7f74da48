"""The test suite is hermetic: a developer's `.env` and shell variables do not reach the settings it runs on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from evotodo.test_settings import HERMETIC_PREFIXES

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "LOG_FORMAT": settings.LOG_FORMAT,
    "CACHE": settings.CACHES["default"]["BACKEND"],
    "BETTER_AUTH_URL": settings.BETTER_AUTH["URL"],
    "API_MAX_BODY_BYTES": settings.API_MAX_BODY_BYTES,
    "API_THROTTLE_USER": settings.API_THROTTLE_USER,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "DATABASE_ENGINE": settings.DATABASES["default"]["ENGINE"],
}))
"""
HOSTILE = {
    "DJANGO_DEBUG": "true",
    "DJANGO_ALLOWED_HOSTS": "evil.example",
    "LOG_FORMAT": "plain",
    "LOG_LEVEL": "ERROR",
    "API_THROTTLE_USER": "1/min",
    "API_MAX_BODY_BYTES": "2048",
    "REDIS_URL": "redis://192.0.2.1:1/0",
    "BETTER_AUTH_URL": "https://auth.example",
    "BETTER_AUTH_SECRET": "a-developers-own-secret",
}


def test_a_developers_env_file_and_shell_variables_do_not_reach_the_test_settings(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_DEBUG=true\nLOG_FORMAT=plain\nBETTER_AUTH_URL=https://from-the-env-file.example\n")
    env = {
        **os.environ,
        **HOSTILE,
        "EVOTODO_ENV_FILE": str(env_file),
        "DJANGO_SETTINGS_MODULE": "evotodo.test_settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/evotodo",
    }
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(result.stdout)
    assert seen == {
        "DEBUG": False,
        "LOG_FORMAT": "json",
        "CACHE": "django.core.cache.backends.locmem.LocMemCache",
        "BETTER_AUTH_URL": "",
        "API_MAX_BODY_BYTES": 262_144,
        "API_THROTTLE_USER": "off",
        "ALLOWED_HOSTS": ["localhost", "127.0.0.1", "[::1]"],
        # DATABASE_URL alone passes through: it picks the database the same tests run on.
        "DATABASE_ENGINE": "evotodo.postgresql",
    }


def test_the_same_variables_do_reach_the_real_settings(tmp_path: Path) -> None:
    """The control: without the test settings, the same environment does change the settings."""
    env = {**os.environ, **HOSTILE, "DJANGO_SECRET_KEY": "x" * 60, "DJANGO_SETTINGS_MODULE": "evotodo.settings"}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )
    assert json.loads(result.stdout)["LOG_FORMAT"] == "plain"


def test_every_documented_variable_is_one_the_test_settings_clear() -> None:
    documented = set(re.findall(r"^([A-Z_]+)=", (settings.BASE_DIR / ".env.example").read_text(), re.MULTILINE))
    assert documented
    assert {name for name in documented if not name.startswith(HERMETIC_PREFIXES)} == {"DATABASE_URL"}
