"""The shared Redis fails soft: bounded waits, a breaker, one warning per interval, recovery by itself."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from authn.models import User
from conftest import FakeTimer
from evotodo.shared_redis import RedisUnavailable, SharedRedis
from evotodo.tests.live import free_port
from evotodo.tests.redis_server import OwnRedis, own_redis
from tasks.models import Task


@pytest.fixture
def redis_server() -> Iterator[OwnRedis]:
    with own_redis() as server:
        yield server


def breaker(url: str, clock: FakeTimer) -> SharedRedis:
    shared = SharedRedis(url, timeout=0.05, retry_seconds=2, log_interval=60)
    shared.timer = clock  # type: ignore[method-assign]
    return shared


def test_a_refused_connection_opens_the_breaker_and_later_calls_do_not_touch_the_network() -> None:
    clock = FakeTimer()
    shared = breaker(f"redis://127.0.0.1:{free_port()}/0", clock)
    calls: list[int] = []
    with pytest.raises(RedisUnavailable):
        shared.call(lambda client: calls.append(1) or client.ping())
    with pytest.raises(RedisUnavailable):
        shared.call(lambda client: calls.append(1) or client.ping())
    assert calls == [1]
    assert not shared.available


def test_the_breaker_tries_again_after_retry_seconds_and_recovers(redis_server: OwnRedis) -> None:
    clock = FakeTimer()
    shared = breaker(redis_server.url, clock)
    redis_server.kill()
    with pytest.raises(RedisUnavailable):
        shared.call(lambda client: client.ping())
    redis_server.start()
    with pytest.raises(RedisUnavailable):
        shared.call(lambda client: client.ping())  # still open: Redis is left alone for a while
    clock.advance(2)
    assert shared.call(lambda client: client.ping()) is True
    assert shared.available


def test_an_outage_logs_one_warning_per_interval_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeTimer()
    shared = SharedRedis(f"redis://127.0.0.1:{free_port()}/0", timeout=0.05, retry_seconds=0.1, log_interval=60)
    shared.timer = clock  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="evotodo.shared_redis"):
        for _ in range(100):
            clock.advance(0.2)  # the breaker lets every call try: the worst case for the log
            with pytest.raises(RedisUnavailable):
                shared.call(lambda client: client.ping())
        clock.advance(60)
        with pytest.raises(RedisUnavailable):
            shared.call(lambda client: client.ping())
    records = [record for record in caplog.records if record.name == "evotodo.shared_redis"]
    assert len(records) == 2
    assert all(record.exc_info is None for record in records)
    assert "100 failure(s)" in records[1].getMessage()


def test_a_stalled_redis_costs_one_timeout_then_nothing_until_retry(redis_server: OwnRedis) -> None:
    clock = FakeTimer()
    shared = breaker(redis_server.url, clock)
    assert shared.call(lambda client: client.ping()) is True
    redis_server.pause()
    started = time.monotonic()
    with pytest.raises(RedisUnavailable):
        shared.call(lambda client: client.ping())
    for _ in range(50):
        with pytest.raises(RedisUnavailable):
            shared.call(lambda client: client.ping())
    assert time.monotonic() - started < 1.0  # one 50 ms timeout, not 51
    redis_server.resume()
    clock.advance(2)
    assert shared.call(lambda client: client.ping()) is True


def test_the_api_serves_through_a_stalled_redis(
    redis_server: OwnRedis, settings: Any, alice: User, alice_client: APIClient
) -> None:
    settings.REDIS_URL = redis_server.url
    settings.API_THROTTLE_USER = "600/min"
    settings.API_THROTTLE_AUTH_FAILURES = "30/min"
    assert alice_client.get("/api/tasks").status_code == 200
    redis_server.pause()
    started = time.monotonic()
    answers = [alice_client.get("/api/tasks").status_code for _ in range(20)]
    answers += [
        APIClient().get("/api/schema").status_code,
        alice_client.post("/api/tasks", {"title": "x"}, format="json").status_code,
    ]
    assert answers == [200] * 21 + [201]
    assert time.monotonic() - started < 2.0
    assert APIClient().get("/readyz").json()["checks"]["redis"] == "degraded"
    assert Task.objects.filter(owner=alice, title="x").count() == 1


@pytest.mark.parametrize(
    "fault",
    [("config", "set", "maxmemory", "1"), ("replicaof", "127.0.0.1", "1")],
    ids=["full, refusing writes", "a read-only replica after a failover"],
)
def test_the_api_serves_through_a_redis_that_answers_with_errors(
    redis_server: OwnRedis, settings: Any, alice: User, alice_client: APIClient, fault: tuple[str, ...]
) -> None:
    import redis

    settings.REDIS_URL = redis_server.url
    settings.API_THROTTLE_USER = "600/min"
    settings.API_THROTTLE_AUTH_FAILURES = "30/min"
    redis.Redis.from_url(redis_server.url).execute_command(*fault)
    answers = [alice_client.get("/api/tasks").status_code for _ in range(5)]
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    answers.append(bad.get("/api/tasks").status_code)
    assert answers == [200] * 5 + [401]
    assert APIClient().get("/readyz").json()["checks"]["redis"] == "degraded"
