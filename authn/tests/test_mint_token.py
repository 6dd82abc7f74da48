"""mint_token: a Better-Auth-shaped HS256 token for a local user, for development only."""

from __future__ import annotations

import time
from io import StringIO
from typing import Any

import jwt
import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from authn.models import User
from conftest import TEST_SECRET


def mint(*args: str) -> str:
    out = StringIO()
    call_command("mint_token", *args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture(autouse=True)
def debug_on(settings: Any) -> None:
    settings.DEBUG = True


def test_token_carries_better_auth_claims_and_is_accepted_by_the_api(alice: User, settings: Any) -> None:
    token = mint(alice.better_auth_id)
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], audience=settings.BETTER_AUTH["URL"])
    assert set(claims) == {"sub", "iss", "aud", "iat", "exp", "email", "name"}
    assert (claims["sub"], claims["email"], claims["name"]) == (alice.better_auth_id, "alice@example.com", "Alice")
    assert claims["iss"] == claims["aud"] == settings.BETTER_AUTH["URL"]
    assert claims["exp"] - claims["iat"] == 900
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/me").json()["id"] == alice.better_auth_id


def test_user_can_be_named_by_email(alice: User) -> None:
    claims = jwt.decode(mint("ALICE@example.com"), options={"verify_signature": False})  # test-side inspection
    assert claims["sub"] == alice.better_auth_id


def test_ttl_sets_the_lifetime(alice: User) -> None:
    claims = jwt.decode(mint(alice.better_auth_id, "--ttl", "60"), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
    assert abs(claims["iat"] - time.time()) < 60


def test_refuses_without_a_secret(alice: User, settings: Any) -> None:
    settings.BETTER_AUTH = {**settings.BETTER_AUTH, "SECRET": ""}
    with pytest.raises(CommandError, match="BETTER_AUTH_SECRET"):
        mint(alice.better_auth_id)


def test_refuses_in_production_unless_forced(alice: User, settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        mint(alice.better_auth_id)
    assert mint(alice.better_auth_id, "--force").count(".") == 2


@pytest.mark.parametrize("name", ["nobody", "nobody@example.com"])
def test_unknown_user_is_refused(alice: User, name: str) -> None:
    with pytest.raises(CommandError, match="no Better Auth user"):
        mint(name)


def test_staff_account_without_better_auth_id_cannot_get_a_token(db: Any) -> None:
    User.objects.create_superuser("root", "root@example.com", "pw-0123456789")
    with pytest.raises(CommandError):
        mint("root@example.com")


@pytest.mark.parametrize("ttl", ["0", "-5", "86401"])
def test_ttl_out_of_range_is_refused(alice: User, ttl: str) -> None:
    with pytest.raises(CommandError, match="--ttl"):
        mint(alice.better_auth_id, "--ttl", ttl)
