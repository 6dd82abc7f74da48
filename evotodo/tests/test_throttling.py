"""Rate limits: per user and per client IP, 429 with Retry-After, counters in the shared cache."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from authn.models import User


@pytest.fixture
def limited(settings: Any) -> Any:
    settings.API_THROTTLE_USER = "3/min"
    settings.API_THROTTLE_ANON = "2/min"
    return settings


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


def test_counters_live_in_the_configured_cache(limited: Any, alice: User, alice_client: APIClient) -> None:
    alice_client.get("/api/tasks")
    assert cache.get(f"throttle_user_{alice.pk}") is not None


def test_with_redis_url_the_counters_are_shared_through_redis(
    limited: Any, redis_url: str, alice: User, alice_client: APIClient
) -> None:
    import redis

    prefix = f"evotodo-test-{uuid.uuid4().hex}"
    backend = "django.core.cache.backends.redis.RedisCache"
    limited.CACHES = {"default": {"BACKEND": backend, "LOCATION": redis_url, "KEY_PREFIX": prefix}}
    alice_client.get("/api/tasks")
    keys = redis.Redis.from_url(redis_url).keys(f"{prefix}*throttle_user_{alice.pk}")
    assert len(keys) == 1
