"""Evo-TODO against a real Better Auth 1.7 server: its tokens, its JWKS, its key rotation and outages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from authn.models import User
from interop.tests.better_auth_fixture import INTEROP_SECRET, BetterAuthServer, EvoTodoAPI
from tasks.models import Task

pytestmark = [pytest.mark.interop, pytest.mark.django_db(transaction=True)]

ALGORITHMS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]


def wait_for(condition: Callable[[], Any], *, seconds: float, what: str) -> Any:
    """Poll the Better Auth server (whose clock we cannot inject) until `condition` holds, or fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds}s waiting for {what}")


def kid_of(token: str) -> str:
    import jwt

    return jwt.get_unverified_header(token)["kid"]  # only to tell keys apart in the test; never in the app


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_real_tokens_of_each_algorithm_serve_each_user_only_their_tasks(
    algorithm: str, better_auth_servers: Callable[..., BetterAuthServer], use_better_auth: Any, api: EvoTodoAPI
) -> None:
    server = better_auth_servers(JWT_ALG=algorithm)
    use_better_auth(server)
    alice, bob = server.sign_up("Alice"), server.sign_up("Bob")
    alice_token, bob_token = server.token(alice), server.token(bob)
    assert [key["alg"] for key in server.jwks()["keys"]] == [algorithm]
    assert len(alice.id) == 32

    created = api.call("POST", "/api/tasks", alice_token, {"title": f"Alice's {algorithm} task"})
    assert created.status == 201, created.body
    task_id = created.json()["id"]
    assert created.json()["user_id"] == alice.id
    assert api.call("POST", f"/api/{bob.id}/tasks", bob_token, {"title": "Bob's"}).status == 201

    assert [t["title"] for t in api.call("GET", "/api/tasks", alice_token).json()] == [f"Alice's {algorithm} task"]
    assert [t["title"] for t in api.call("GET", f"/api/{bob.id}/tasks", bob_token).json()] == ["Bob's"]
    assert api.call("GET", f"/api/tasks/{task_id}", bob_token).status == 404
    assert api.call("DELETE", f"/api/{bob.id}/tasks/{task_id}", bob_token).status == 404
    assert api.call("GET", f"/api/{alice.id}/tasks", bob_token).status == 403
    assert api.call("GET", f"/api/{alice.id}/tasks/{task_id}", alice_token).json()["user_id"] == alice.id
    assert Task.objects.get(pk=task_id).owner.better_auth_id == alice.id


def test_token_from_the_get_session_header_is_accepted(
    better_auth_servers: Callable[..., BetterAuthServer], use_better_auth: Any, api: EvoTodoAPI
) -> None:
    server = better_auth_servers(JWT_ALG="EdDSA")
    use_better_auth(server)
    carol = server.sign_up("Carol")
    response = api.call("GET", "/api/me", server.session_header_token(carol))
    assert response.status == 200
    assert response.json()["id"] == carol.id


def test_email_and_name_from_real_tokens_land_on_the_local_user(
    better_auth_servers: Callable[..., BetterAuthServer], use_better_auth: Any, api: EvoTodoAPI
) -> None:
    server = better_auth_servers(JWT_ALG="EdDSA")
    use_better_auth(server)
    dave = server.sign_up("Dave")
    assert api.call("GET", "/api/me", server.token(dave)).json() == {"id": dave.id, "email": dave.email, "name": "Dave"}
    user = User.objects.get(better_auth_id=dave.id)
    assert (user.email, user.name) == (dave.email, "Dave")


@pytest.fixture
def custom_claims_server(better_auth_servers: Callable[..., BetterAuthServer]) -> BetterAuthServer:
    return better_auth_servers(
        JWT_ISSUER="https://auth.evotodo.test", JWT_AUDIENCE="https://api.evotodo.test,https://mobile.evotodo.test"
    )


def test_custom_issuer_and_audience_list_configured_on_both_sides_are_accepted(
    custom_claims_server: BetterAuthServer, use_better_auth: Any, api: EvoTodoAPI
) -> None:
    use_better_auth(custom_claims_server, ISSUER="https://auth.evotodo.test", AUDIENCE=["https://api.evotodo.test"])
    erin = custom_claims_server.sign_up("Erin")
    assert api.call("GET", "/api/me", custom_claims_server.token(erin)).status == 200


def test_audience_mismatch_is_401(
    custom_claims_server: BetterAuthServer, use_better_auth: Any, api: EvoTodoAPI
) -> None:
    use_better_auth(custom_claims_server, ISSUER="https://auth.evotodo.test", AUDIENCE=["https://other.evotodo.test"])
    response = api.call("GET", "/api/me", custom_claims_server.token(custom_claims_server.sign_up("Frank")))
    assert response.status == 401
    assert response.json()["code"] == "token_audience_invalid"


def test_issuer_mismatch_is_401(custom_claims_server: BetterAuthServer, use_better_auth: Any, api: EvoTodoAPI) -> None:
    use_better_auth(custom_claims_server)  # expects the origin of the URL, as Better Auth's defaults would write
    response = api.call("GET", "/api/me", custom_claims_server.token(custom_claims_server.sign_up("Grace")))
    assert response.status == 401
    assert response.json()["code"] == "token_issuer_invalid"
    assert not User.objects.exists()


def test_expired_real_token_is_401_token_expired(
    better_auth_servers: Callable[..., BetterAuthServer], use_better_auth: Any, api: EvoTodoAPI
) -> None:
    server = better_auth_servers(JWT_EXPIRATION="-60s")
    use_better_auth(server)
    response = api.call("GET", "/api/me", server.token(server.sign_up("Heidi")))
    assert response.status == 401
    assert response.json()["code"] == "token_expired"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_key_rotation_is_followed_without_a_restart(
    fresh_better_auth: Callable[..., BetterAuthServer], use_better_auth: Any, api: EvoTodoAPI
) -> None:
    server = fresh_better_auth(JWKS_ROTATION_INTERVAL="2", JWKS_GRACE_PERIOD="2")
    clock = use_better_auth(server)
    ivan = server.sign_up("Ivan")
    old_token = server.token(ivan)
    assert api.call("GET", "/api/me", old_token).status == 200

    def token_with_a_new_key() -> str | None:
        token = server.token(ivan)
        return token if kid_of(token) != kid_of(old_token) else None

    new_token = wait_for(token_with_a_new_key, seconds=15, what="Better Auth to sign with a new key")
    clock.advance(10)  # past the refetch cooldown: the unknown kid may trigger a fetch
    assert api.call("GET", "/api/me", new_token).status == 200
    assert api.call("GET", "/api/me", old_token).status == 200  # still published, still cached

    wait_for(
        lambda: kid_of(old_token) not in [key["kid"] for key in server.jwks()["keys"]],
        seconds=15,
        what="the old key to leave the JWKS",
    )
    clock.advance(300)  # the cache expires
    response = api.call("GET", "/api/me", old_token)
    assert response.status == 401
    assert response.json()["code"] == "token_key_unknown"
    assert api.call("GET", "/api/me", new_token).status == 200


def test_outage_keeps_cached_keys_and_recovers_without_a_restart(
    fresh_better_auth: Callable[..., BetterAuthServer],
    better_auth_servers: Callable[..., BetterAuthServer],
    use_better_auth: Any,
    api: EvoTodoAPI,
) -> None:
    server = fresh_better_auth()
    stranger_server = better_auth_servers(JWT_ALG="ES256")
    stranger_token = stranger_server.token(stranger_server.sign_up("Stranger"))
    clock = use_better_auth(server)
    judy = server.sign_up("Judy")
    token = server.token(judy)
    assert api.call("GET", "/api/me", token).status == 200

    server.stop()
    assert api.call("GET", "/api/me", token).status == 200
    clock.advance(301)  # cache expired, refresh fails: the last good keys keep working
    assert api.call("GET", "/api/me", token).status == 200
    clock.advance(10)
    unknown = api.call("GET", "/api/me", stranger_token)
    assert (unknown.status, unknown.json()["code"]) == (401, "token_key_unknown")

    server.start()  # same port, same database: same keys
    clock.advance(10)
    assert api.call("GET", "/api/me", server.token(judy)).status == 200


def test_never_fetched_keys_during_an_outage_are_503_then_recover(
    fresh_better_auth: Callable[..., BetterAuthServer], use_better_auth: Any, api: EvoTodoAPI
) -> None:
    server = fresh_better_auth()
    kim = server.sign_up("Kim")
    token = server.token(kim)
    server.stop()
    clock = use_better_auth(server)
    response = api.call("GET", "/api/me", token)
    assert (response.status, response.json()["code"]) == (503, "auth_unavailable")
    assert not User.objects.exists()

    server.start()
    clock.advance(10)
    assert api.call("GET", "/api/me", token).status == 200


def test_shared_secret_hs256_tokens_are_accepted_when_the_secret_is_configured(
    better_auth_servers: Callable[..., BetterAuthServer], use_better_auth: Any, api: EvoTodoAPI
) -> None:
    server = better_auth_servers(JWT_ALG="EdDSA")
    use_better_auth(server, SECRET=INTEROP_SECRET)
    leo = server.sign_up("Leo")
    token = server.shared_secret_token(leo)
    response = api.call("GET", "/api/me", token)
    assert response.status == 200
    assert response.json() == {"id": leo.id, "email": leo.email, "name": "Leo"}


def test_shared_secret_hs256_tokens_are_refused_without_the_secret(
    better_auth_servers: Callable[..., BetterAuthServer], use_better_auth: Any, api: EvoTodoAPI
) -> None:
    server = better_auth_servers(JWT_ALG="EdDSA")
    use_better_auth(server)
    response = api.call("GET", "/api/me", server.shared_secret_token(server.sign_up("Mia")))
    assert (response.status, response.json()["code"]) == (401, "token_algorithm_not_allowed")
    assert not User.objects.exists()


def test_fixture_reports_its_effective_configuration(better_auth_servers: Callable[..., BetterAuthServer]) -> None:
    server = better_auth_servers(JWT_ALG="ES512", JWT_AUDIENCE="https://a.test,https://b.test")
    health = server.health()
    assert (health["algorithm"], health["issuer"], health["audience"]) == (
        "ES512",
        server.base_url,
        ["https://a.test", "https://b.test"],
    )
