"""rotate_secret: new secret in front, old ones as fallbacks, the env file rewritten atomically."""

from __future__ import annotations

import os
import stat
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from authn.envfile import read_values
from authn.tokens import TokenSignatureInvalid, verify_token
from conftest import hs256_token

OLD = "old-better-auth-secret-0123456789-abcdefghijklmn"
OLDER = "older-better-auth-secret-0123456789-abcdefghijkl"
ENV = f"""# Evo-TODO settings
export DJANGO_DEBUG=true
DJANGO_SECRET_KEY='old-django-key'

# the shared secret
BETTER_AUTH_SECRET="{OLD}"
BETTER_AUTH_SECRET_FALLBACKS={OLDER}
DATABASE_URL=postgres://postgres@127.0.0.1:5432/evotodo  # local db
"""


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text(ENV)
    path.chmod(0o600)
    return path


def rotate(env_file: Path, *args: str) -> str:
    out = StringIO()
    call_command("rotate_secret", "--env-file", str(env_file), *args, stdout=out)
    return out.getvalue()


def values(env_file: Path) -> dict[str, str]:
    return read_values(env_file.read_text().splitlines())


def test_rotation_puts_a_new_secret_in_front_and_the_old_one_first_in_the_fallbacks(env_file: Path) -> None:
    rotate(env_file)
    after = values(env_file)
    assert after["BETTER_AUTH_SECRET"] not in (OLD, OLDER)
    assert len(after["BETTER_AUTH_SECRET"]) >= 64
    assert after["BETTER_AUTH_SECRET_FALLBACKS"] == f"{OLD},{OLDER}"
    assert after["DJANGO_SECRET_KEY"] == "old-django-key"


def test_keep_limits_the_fallbacks(env_file: Path) -> None:
    rotate(env_file, "--keep", "1")
    assert values(env_file)["BETTER_AUTH_SECRET_FALLBACKS"] == OLD


def test_every_other_line_comment_and_the_file_mode_are_kept(env_file: Path) -> None:
    rotate(env_file)
    before, after = ENV.splitlines(), env_file.read_text().splitlines()
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert [before[i].split("=")[0] for i in changed] == ["BETTER_AUTH_SECRET", "BETTER_AUTH_SECRET_FALLBACKS"]
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_django_flag_rotates_the_django_secret_key_too(env_file: Path) -> None:
    rotate(env_file, "--django")
    after = values(env_file)
    assert after["DJANGO_SECRET_KEY"] != "old-django-key"
    assert after["DJANGO_SECRET_KEY_FALLBACKS"] == "old-django-key"
    assert "export DJANGO_DEBUG=true" in env_file.read_text()


def test_prune_drops_the_fallbacks_and_keeps_the_secret(env_file: Path) -> None:
    out = rotate(env_file, "--prune")
    after = values(env_file)
    assert (after["BETTER_AUTH_SECRET"], after["BETTER_AUTH_SECRET_FALLBACKS"]) == (OLD, "")
    assert "1 dropped" in out


def test_dry_run_writes_nothing(env_file: Path) -> None:
    mtime = env_file.stat().st_mtime_ns
    out = rotate(env_file, "--dry-run")
    assert env_file.read_text() == ENV
    assert env_file.stat().st_mtime_ns == mtime
    assert "would be rotated" in out


def test_secrets_are_never_printed_unless_shown(env_file: Path) -> None:
    out = rotate(env_file)
    new = values(env_file)["BETTER_AUTH_SECRET"]
    assert new not in out
    assert OLD not in out
    env_file.write_text(ENV)
    shown = rotate(env_file, "--show")
    assert values(env_file)["BETTER_AUTH_SECRET"] in shown


def test_a_failed_rewrite_leaves_the_file_as_it_was_and_no_temporary_file(
    env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        rotate(env_file)
    assert env_file.read_text() == ENV
    assert sorted(p.name for p in env_file.parent.iterdir()) == [".env"]


def test_missing_variables_are_appended(tmp_path: Path) -> None:
    path = tmp_path / "prod.env"
    path.write_text("DJANGO_DEBUG=false")
    rotate(path)
    after = values(path)
    assert after["DJANGO_DEBUG"] == "false"
    assert after["BETTER_AUTH_SECRET"]
    assert after["BETTER_AUTH_SECRET_FALLBACKS"] == ""


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        rotate(tmp_path / "absent.env")


def test_tokens_signed_with_the_old_secret_keep_working_until_pruned(env_file: Path, settings: Any) -> None:
    token = hs256_token({"sub": "user-0123456789abcdefghijklmnopqr", "exp": int(time.time()) + 600}, OLD)

    def load(path: Path) -> None:
        loaded = values(path)
        settings.BETTER_AUTH = {
            "SECRET": loaded["BETTER_AUTH_SECRET"],
            "SECRET_FALLBACKS": loaded["BETTER_AUTH_SECRET_FALLBACKS"].split(","),
        }

    rotate(env_file)
    load(env_file)
    assert verify_token(token)["sub"] == "user-0123456789abcdefghijklmnopqr"
    rotate(env_file, "--prune")
    load(env_file)
    with pytest.raises(TokenSignatureInvalid):
        verify_token(token)
