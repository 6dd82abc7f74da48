"""Rate limits: per user and per client IP, 429 with Retry-After, counters in the shared cache."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from authn.models import User
from authn.tokens import verified_tokens
from conftest import run_concurrently
from evotodo.tests.live import free_port
from evotodo.throttling import FailedAuthenticationThrottle, limiters


@pytest.fixture
def limited(settings: Any) -> Iterator[Any]:
    settings.API_THROTTLE_USER = "3/min"
    settings.API_THROTTLE_ANON = "2/min"
    limiters.clear()  # fresh counters in memory
    yield settings
    limiters.clear()


@pytest.fixture
def auth_failures_limited(limited: Any) -> Any:
    limited.API_THROTTLE_USER = "off"
    limited.API_THROTTLE_AUTH_FAILURES = "3/min"
    return limited


@pytest.fixture
def limited_in_redis(limited: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The limits kept in the machine's Redis, under counters of this test alone."""
    monkeypatch.setattr(limiters, "key_prefix", f"evotodo-test-{uuid.uuid4().hex}")
    limited.REDIS_URL = redis_url
    return limited


def statuses(client: APIClient, path: str, count: int, **headers: str) -> list[int]:
    return [client.get(path, **headers).status_code for _ in range(count)]


def test_a_user_over_the_rate_gets_429_with_retry_after(limited: Any, alice: User, alice_client: APIClient) -> None:
    assert statuses(alice_client, "/api/tasks", 3) == [200, 200, 200]
    response = alice_client.get("/api/tasks")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_one_users_limit_does_not_touch_another(
    limited: Any, alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    statuses(alice_client, "/api/tasks", 4)
    assert bob_client.get("/api/tasks").status_code == 200


def test_anonymous_callers_are_limited_per_ip(limited: Any, db: Any) -> None:
    client = APIClient()
    assert statuses(client, "/api/schema", 3, REMOTE_ADDR="203.0.113.7") == [200, 200, 429]
    assert client.get("/api/schema", REMOTE_ADDR="203.0.113.8").status_code == 200


def test_a_forged_forwarded_for_header_mints_no_fresh_bucket(limited: Any, db: Any) -> None:
    client = APIClient()
    results = [
        client.get("/api/schema", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(3)
    ]
    assert results == [200, 200, 429]


def test_behind_one_proxy_the_forwarded_client_is_counted(limited: Any, db: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = APIClient()
    for n in range(2):
        assert (
            client.get("/api/schema", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code == 200
        )
    assert client.get("/api/schema", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.0").status_code == 200
    assert client.get("/api/schema", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.0").status_code == 429


def test_off_disables_the_limit(settings: Any, alice: User, alice_client: APIClient) -> None:
    settings.API_THROTTLE_USER = "off"
    assert set(statuses(alice_client, "/api/tasks", 20)) == {200}


def test_a_cached_good_token_is_not_held_up_by_its_ips_refused_tokens(
    auth_failures_limited: Any, alice: User, alice_client: APIClient
) -> None:
    assert alice_client.get("/api/tasks").status_code == 200  # verified once: known good from now on
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert [bad.get("/api/tasks").json()["code"] for _ in range(4)] == ["token_malformed"] * 3 + ["throttled"]
    assert alice_client.get("/api/tasks").status_code == 200


def test_past_the_refused_token_limit_a_new_token_is_429_before_its_signature_is_checked(
    auth_failures_limited: Any, alice: User, token_for: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    statuses(bad, "/api/tasks", 3)
    verified: list[str] = []
    monkeypatch.setattr("authn.authentication.verify_token", lambda token: verified.append(token))
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}")
    response = fresh.get("/api/tasks")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert verified == []


def test_refused_tokens_are_counted_per_client_ip(auth_failures_limited: Any, db: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    statuses(client, "/api/tasks", 4, REMOTE_ADDR="203.0.113.20")
    assert client.get("/api/tasks", REMOTE_ADDR="203.0.113.21").json()["code"] == "token_malformed"


def test_with_redis_the_user_limit_is_exact_under_concurrent_requests(
    limited_in_redis: Any, transactional_db: Any, client_for: Callable[..., APIClient]
) -> None:
    from authn.tests.factories import UserFactory

    limited_in_redis.API_THROTTLE_USER = "60/min"
    carol = UserFactory()

    def one_client() -> list[int]:
        client = client_for(carol)
        return [client.get("/api/me").status_code for _ in range(25)]

    results = run_concurrently(one_client, 8)
    codes = [code for batch in results for code in batch]
    assert len(codes) == 200
    assert codes.count(200) == 60
    assert set(codes) == {200, 429}


def test_with_redis_the_counters_are_shared_by_every_process(
    limited_in_redis: Any, redis_url: str, alice: User, alice_client: APIClient
) -> None:
    import redis

    statuses(alice_client, "/api/tasks", 2)
    keys = redis.Redis.from_url(redis_url).keys(f"{limiters.key_prefix}*")
    assert [key for key in keys if f"/user/{alice.pk}/".encode() in key] == keys
    assert len(keys) == 1
    limiters.clear()  # another process: its own limiter, the same counters
    assert statuses(alice_client, "/api/tasks", 2) == [200, 429]


def test_with_redis_down_the_limits_fail_open_with_one_warning(
    limited: Any, alice: User, alice_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    limited.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="evotodo.shared_redis"):
        assert set(statuses(alice_client, "/api/tasks", 10)) == {200}
    warnings = [record for record in caplog.records if record.name == "evotodo.shared_redis"]
    assert len(warnings) == 1
    assert warnings[0].exc_info is None


def test_a_token_verified_by_another_process_passes_its_ips_refused_token_limit(
    auth_failures_limited: Any, redis_url: str, alice: User, alice_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FailedAuthenticationThrottle, "good_prefix", f"evotodo-test-{uuid.uuid4().hex}:good:")
    monkeypatch.setattr(limiters, "key_prefix", f"evotodo-test-{uuid.uuid4().hex}")
    auth_failures_limited.REDIS_URL = redis_url
    assert alice_client.get("/api/tasks").status_code == 200  # verified here, and announced
    verified_tokens.clear()  # another worker: it never verified alice's token itself
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    statuses(bad, "/api/tasks", 4)
    assert alice_client.get("/api/tasks").status_code == 200
    assert bad.get("/api/tasks").status_code == 429


def test_a_throttled_schema_request_is_answered_in_json(limited: Any, db: Any) -> None:
    client = APIClient()
    statuses(client, "/api/schema", 2, REMOTE_ADDR="203.0.113.30")
    response = client.get("/api/schema", REMOTE_ADDR="203.0.113.30")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "throttled"
