"""BetterAuthJWTAuthentication over HTTP: Bearer tokens in, local users out, clear 401s and 503s."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from authn.models import User
from conftest import OMIT, SigningKeyPair, better_auth_id, run_concurrently

INVALID_TOKEN_CHALLENGE = 'Bearer realm="api", error="invalid_token"'


def get_me(authorization: str | None) -> Any:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get("/api/me")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_scheme_is_case_insensitive(scheme: str, alice: User, token_for: Callable[..., str]) -> None:
    response = get_me(f"{scheme} {token_for(alice)}")
    assert response.status_code == 200
    assert response.json()["id"] == alice.better_auth_id


def test_no_credentials_is_401_not_authenticated_with_a_bearer_challenge(db: Any) -> None:
    response = get_me(None)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["", "   "])
def test_an_empty_header_is_not_authenticated(header: str, db: Any) -> None:
    response = get_me(header)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert not User.objects.exists()


# Another scheme, or a token with no scheme, used to be answered `not_authenticated` as if nothing had been sent,
# which hid the client's mistake; it is now `authorization_header_invalid`, saying how to send the token. Each
# token below is valid for a new user, so an acceptance would show as a user created.
WRONG_SCHEMES = ["{token}", "Basic {token}", "Token {token}", "JWT {token}", "Digest {token}", "Basic YWxpY2U6c2VjcmV0"]


@pytest.mark.parametrize("shape", WRONG_SCHEMES)
@pytest.mark.parametrize(("method", "path"), [("get", "/api/me"), ("get", "/api/tasks"), ("post", "/api/tasks")])
def test_a_token_without_the_bearer_scheme_is_401_authorization_header_invalid(
    shape: str, method: str, path: str, db: Any, claims_for: Callable[..., dict], signing_key: SigningKeyPair
) -> None:
    newcomer = User(better_auth_id=better_auth_id("dave"), email="dave@example.com", name="Dave")
    token = signing_key.sign(claims_for(newcomer))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=shape.format(token=token))
    response = client.post(path, {"title": "x"}, format="json") if method == "post" else client.get(path)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "The Authorization header must be 'Bearer <token>'.",
        "code": "authorization_header_invalid",
    }
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE
    assert token.rsplit(".", 1)[1] not in response.content.decode()
    assert not User.objects.exists()  # and so no task either: a task needs an owner


def test_a_bare_token_is_not_an_acceptance_for_an_existing_user_either(
    alice: User, token_for: Callable[..., str]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    stale = timezone.now() - timedelta(minutes=6)  # an acceptance would record a new last_seen_at
    User.objects.filter(pk=alice.pk).update(last_seen_at=stale)
    response = get_me(token_for(alice))
    assert (response.status_code, response.json()["code"]) == (401, "authorization_header_invalid")
    assert User.objects.get(pk=alice.pk).last_seen_at == stale


def test_a_basic_header_does_not_close_the_public_schema(db: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic YWxpY2U6c2VjcmV0")
    response = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer a, Bearer b"])
def test_bearer_header_without_exactly_one_token_is_refused(header: str, db: Any) -> None:
    response = get_me(header)
    assert response.status_code == 401
    assert response.json()["code"] == "authorization_header_invalid"
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("garbage", "token_malformed"),
        ("a.b.c.d.e", "token_malformed"),
        ("x" * 100_000, "token_malformed"),
        ("e30.e30.", "token_algorithm_not_allowed"),
        ("tökén.ä.ö", "token_malformed"),
    ],
)
def test_malformed_token_is_401_with_json_code_and_challenge(token: str, code: str, db: Any) -> None:
    response = get_me(f"Bearer {token}")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": response.json()["detail"], "code": code}
    assert response["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE


def test_expired_token_is_401_token_expired(alice: User, token_for: Callable[..., str]) -> None:
    import time

    response = get_me(f"Bearer {token_for(alice, exp=int(time.time()) - 60)}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_refusal_never_echoes_or_logs_the_token(
    alice: User, token_for: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    token = token_for(alice, iss="https://evil.example")
    with caplog.at_level(logging.DEBUG):
        response = get_me(f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_issuer_invalid"
    signature = token.rsplit(".", 1)[1]
    assert signature not in response.content.decode()
    assert all(signature not in record.getMessage() for record in caplog.records)
    assert any("token_issuer_invalid" in record.getMessage() for record in caplog.records)


def test_jwks_never_reachable_is_503_not_an_acceptance(alice: User, token_for: Callable[..., str], jwks: Any) -> None:
    jwks.fail(503)
    response = get_me(f"Bearer {token_for(alice)}")
    assert response.status_code == 503
    assert response.json()["code"] == "auth_unavailable"


def test_hs256_token_still_works_while_the_jwks_is_unreachable(
    alice: User, claims_for: Callable[..., dict], jwks: Any
) -> None:
    from conftest import hs256_token

    jwks.fail(503)
    response = get_me(f"Bearer {hs256_token(claims_for(alice))}")
    assert response.status_code == 200


def test_cached_key_keeps_working_when_the_jwks_goes_down(
    alice: User, token_for: Callable[..., str], jwks: Any
) -> None:
    assert get_me(f"Bearer {token_for(alice)}").status_code == 200
    jwks.fail(503)
    assert get_me(f"Bearer {token_for(alice)}").status_code == 200


def test_unknown_kid_with_cached_keys_is_401(
    alice: User,
    claims_for: Callable[..., dict],
    token_for: Callable[..., str],
    key_pairs: dict[str, SigningKeyPair],
    jwks: Any,
) -> None:
    assert get_me(f"Bearer {token_for(alice)}").status_code == 200
    jwks.fail(503)
    response = get_me(f"Bearer {key_pairs['ES256'].sign(claims_for(alice))}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_key_unknown"


def test_first_token_creates_the_local_user_from_its_claims(
    db: Any, claims_for: Callable[..., dict], signing_key: SigningKeyPair
) -> None:
    newcomer = User(better_auth_id=better_auth_id("dave"), email="dave@example.com", name="Dave")
    response = get_me(f"Bearer {signing_key.sign(claims_for(newcomer))}")
    assert response.status_code == 200
    user = User.objects.get(better_auth_id=newcomer.better_auth_id)
    assert (user.email, user.name, user.has_usable_password()) == ("dave@example.com", "Dave", False)
    assert response.json() == {"id": newcomer.better_auth_id, "email": "dave@example.com", "name": "Dave"}


def test_changed_email_and_name_are_kept_current(alice: User, token_for: Callable[..., str]) -> None:
    response = get_me(f"Bearer {token_for(alice, email='alice@new.example', name='Alice B.')}")
    assert response.json()["email"] == "alice@new.example"
    alice.refresh_from_db()
    assert (alice.email, alice.name) == ("alice@new.example", "Alice B.")


def test_claims_configured_away_leave_the_profile_as_it_was(alice: User, token_for: Callable[..., str]) -> None:
    assert get_me(f"Bearer {token_for(alice, email=OMIT, name=OMIT)}").status_code == 200
    alice.refresh_from_db()
    assert (alice.email, alice.name) == ("alice@example.com", "Alice")


def test_non_string_profile_claims_are_ignored(alice: User, token_for: Callable[..., str]) -> None:
    assert get_me(f"Bearer {token_for(alice, email=['x@example.com'], name={'first': 'A'})}").status_code == 200
    alice.refresh_from_db()
    assert (alice.email, alice.name) == ("alice@example.com", "Alice")


def test_known_user_costs_one_query_then_none_while_recently_seen(
    alice: User, token_for: Callable[..., str], django_assert_num_queries: Any
) -> None:
    token = token_for(alice)
    with django_assert_num_queries(1):
        assert get_me(f"Bearer {token}").status_code == 200
    with django_assert_num_queries(0):
        for _ in range(3):
            assert get_me(f"Bearer {token_for(alice)}").status_code == 200


def test_disabled_user_is_refused(alice: User, token_for: Callable[..., str]) -> None:
    User.objects.filter(pk=alice.pk).update(is_active=False)
    response = get_me(f"Bearer {token_for(alice)}")
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_of_a_new_user_both_succeed(
    claims_for: Callable[..., dict], signing_key: SigningKeyPair
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locking; SQLite serialises writers on one file")
    newcomer = User(better_auth_id=better_auth_id("erin"), email="erin@example.com", name="Erin")
    token = signing_key.sign(claims_for(newcomer))
    get_me(f"Bearer {token}")  # warm the key cache so both requests race on the user row only
    User.objects.all().delete()
    statuses = run_concurrently(lambda: get_me(f"Bearer {token}").status_code, 2)
    assert statuses == [200, 200]
    assert User.objects.filter(better_auth_id=newcomer.better_auth_id).count() == 1


def test_me_is_whoever_the_token_names(alice: User, bob: User, alice_client: APIClient, bob_client: APIClient) -> None:
    assert alice_client.get("/api/me").json()["id"] == alice.better_auth_id
    assert bob_client.get("/api/me").json() == {"id": bob.better_auth_id, "email": "bob@example.com", "name": "Bob"}


def test_last_seen_is_recorded_at_most_every_few_minutes(alice: User, token_for: Callable[..., str]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    stale = timezone.now() - timedelta(minutes=6)
    User.objects.filter(pk=alice.pk).update(last_seen_at=stale)
    assert get_me(f"Bearer {token_for(alice)}").status_code == 200
    seen = User.objects.get(pk=alice.pk).last_seen_at
    assert seen > stale
    assert get_me(f"Bearer {token_for(alice)}").status_code == 200
    assert User.objects.get(pk=alice.pk).last_seen_at == seen


@pytest.mark.parametrize("name", ["lone \ud800 surrogate", "nul\x00byte"])
def test_profile_claims_a_database_cannot_store_are_ignored(
    name: str, alice: User, token_for: Callable[..., str]
) -> None:
    response = get_me(f"Bearer {token_for(alice, name=name)}")
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.name == "Alice"


@pytest.mark.parametrize("sub", ["nul\x00sub", "surrogate\udfffsub"])
def test_sub_a_database_cannot_store_is_refused(
    sub: str, db: Any, signing_key: SigningKeyPair, claims_for: Callable[..., dict]
) -> None:
    token = signing_key.sign(claims_for(User(better_auth_id=sub, email="x@example.com", name="X")))
    response = get_me(f"Bearer {token}")
    assert (response.status_code, response.json()["code"]) == (401, "token_claims_invalid")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("claim", "value"),
    [("exp", True), ("nbf", True), ("exp", False), ("iat", True), ("exp", [4102444800]), ("nbf", "0"), ("iat", {})],
)
def test_a_time_claim_that_is_no_number_is_an_invalid_claim_not_an_expired_or_malformed_token(
    db: Any, signing_key: SigningKeyPair, claims_for: Callable[..., dict], claim: str, value: bool
) -> None:
    claims = claims_for(User(better_auth_id="booleans", email="x@example.com", name="X"))
    claims[claim] = value
    response = get_me(f"Bearer {signing_key.sign(claims)}")
    assert (response.status_code, response.json()["code"]) == (401, "token_claims_invalid")
    assert claim in response.json()["detail"]
    assert not User.objects.exists()
