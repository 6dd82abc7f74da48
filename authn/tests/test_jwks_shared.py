"""The last good JWKS is shared by every worker and node through Redis, and refetches are coordinated."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authn.conf import ASYMMETRIC_ALGORITHMS
from authn.jwks import JWKSClient, JWKSUnavailable, RedisKeySets, SigningKeyNotFound
from authn.tokens import shared_key_sets
from conftest import FakeTimer, JWKSServer, JWKSState, SigningKeyPair
from evotodo.tests.live import LiveDatabase, LiveServer, free_port


@pytest.fixture
def shared(settings: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> RedisKeySets:
    """The machine's Redis, under keys of this test alone."""
    settings.REDIS_URL = redis_url
    monkeypatch.setattr(RedisKeySets, "prefix", f"evotodo-test-{uuid.uuid4().hex}:jwks:")
    return RedisKeySets()


@pytest.fixture
def worker(jwks_server: JWKSServer, jwks: JWKSState, shared: RedisKeySets, settings: Any) -> Callable[[], JWKSClient]:
    """A new worker's client: its own memory, its own clock, the deployment's store."""
    clock = FakeTimer()

    def start() -> JWKSClient:
        client = JWKSClient(
            jwks_server.jwks_url,
            algorithms=ASYMMETRIC_ALGORITHMS,
            cache_seconds=300,
            refetch_cooldown_seconds=10,
            timeout_seconds=2,
            shared=shared,
        )
        client.timer = clock  # type: ignore[method-assign]
        client.wall_clock = clock  # type: ignore[method-assign]  # the shared copies age with the same clock
        return client

    def wait(seconds: float) -> None:
        """Let `seconds` pass for every worker: their clocks, and the deployment-wide fetch cooldown in Redis."""
        clock.advance(seconds)
        if seconds >= 10:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL)
            client.delete(*client.keys(shared.prefix + "*:fetch") or ["none"])

    start.wait = wait  # type: ignore[attr-defined]
    return start


def test_a_worker_started_during_an_outage_verifies_with_the_last_good_keys(
    worker: Callable[[], JWKSClient], jwks: JWKSState, signing_key: SigningKeyPair
) -> None:
    worker().get_signing_key(signing_key.kid)
    jwks.fail(503)
    jwks.hits = 0
    late = worker()
    worker.wait(3600)  # type: ignore[attr-defined]  # long stale: still the last good keys
    assert late.get_signing_key(signing_key.kid).kid == signing_key.kid
    assert jwks.hits <= 1


def test_a_set_fetched_by_one_worker_serves_the_others_without_a_fetch(
    worker: Callable[[], JWKSClient], jwks: JWKSState, signing_key: SigningKeyPair
) -> None:
    worker().get_signing_key(signing_key.kid)
    others = [worker() for _ in range(5)]
    for client in others:
        assert client.get_signing_key(signing_key.kid).kid == signing_key.kid
    assert jwks.hits == 1


def test_stale_workers_refetch_once_between_them(
    worker: Callable[[], JWKSClient], jwks: JWKSState, signing_key: SigningKeyPair
) -> None:
    clients = [worker() for _ in range(5)]
    clients[0].get_signing_key(signing_key.kid)
    for client in clients[1:]:
        client.get_signing_key(signing_key.kid)
    worker.wait(301)  # type: ignore[attr-defined]
    for client in clients:
        client.get_signing_key(signing_key.kid)
    assert jwks.hits == 2


def test_a_flood_of_unknown_kids_makes_one_fetch_per_cooldown_across_workers(
    worker: Callable[[], JWKSClient], jwks: JWKSState, signing_key: SigningKeyPair
) -> None:
    clients = [worker() for _ in range(5)]
    clients[0].get_signing_key(signing_key.kid)
    jwks.fail(503)
    jwks.hits = 0
    worker.wait(10)  # type: ignore[attr-defined]  # the first fetch's cooldown is over
    for n in range(50):
        with pytest.raises(SigningKeyNotFound):
            clients[n % 5].get_signing_key(f"unknown-{n}")
    assert jwks.hits == 1


def test_a_new_key_is_fetched_though_the_shared_set_is_fresh(
    worker: Callable[[], JWKSClient], jwks: JWKSState, key_pairs: dict[str, SigningKeyPair]
) -> None:
    first, rotated = key_pairs["EdDSA"], key_pairs["ES256"]
    worker().get_signing_key(first.kid)
    jwks.publish(first, rotated)
    worker.wait(11)  # type: ignore[attr-defined]  # past the cooldown of the first fetch
    assert worker().get_signing_key(rotated.kid).kid == rotated.kid


def test_without_redis_each_worker_fetches_for_itself(
    worker: Callable[[], JWKSClient], jwks: JWKSState, signing_key: SigningKeyPair, settings: Any
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # down
    worker().get_signing_key(signing_key.kid)
    worker().get_signing_key(signing_key.kid)
    assert jwks.hits == 2
    jwks.fail(503)
    with pytest.raises(JWKSUnavailable):
        worker().get_signing_key(signing_key.kid)


@pytest.fixture
def live_database(tmp_path: Path) -> Iterator[LiveDatabase]:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the suite runs on SQLite: set DATABASE_URL to a PostgreSQL server to run this there too")
    database = LiveDatabase("postgresql", tmp_path)
    yield database
    database.drop()


def test_gunicorn_started_while_better_auth_is_down_accepts_tokens(
    live_database: LiveDatabase,
    static_root: Path,
    tmp_path: Path,
    jwks_server: JWKSServer,
    jwks: JWKSState,
    redis_url: str,
    settings: Any,
    token_for: Callable[..., str],
) -> None:
    import redis

    from authn.tests.factories import UserFactory

    settings.REDIS_URL = redis_url
    redis.Redis.from_url(redis_url).delete(shared_key_sets._key(jwks_server.jwks_url))  # no earlier run's copy
    env = {"BETTER_AUTH_URL": jwks_server.base_url, "REDIS_URL": redis_url}
    token = token_for(UserFactory.build(better_auth_id="live-jwks-outage-user", email="o@example.com", name="O"))

    def serve_once() -> int:
        server = LiveServer(live_database, static_root, tmp_path / "gunicorn.log", **env)
        try:
            return server.call("GET", "/api/tasks", token)[0]
        finally:
            server.stop()

    assert serve_once() == 200  # fetched, and shared
    jwks.fail(503)
    assert serve_once() == 200  # new workers, Better Auth down: the shared last good keys
    assert shared_key_sets.load(jwks_server.jwks_url) is not None


def test_a_worker_with_no_keys_fetches_while_another_holds_the_fetch_claim(
    worker: Callable[[], JWKSClient],
    jwks_server: JWKSServer,
    jwks: JWKSState,
    shared: RedisKeySets,
    signing_key: SigningKeyPair,
) -> None:
    # Another worker claimed this cooldown's fetch and has not shared a set (still fetching, or it died):
    # a new worker has nothing to verify with, so it fetches rather than answer 503.
    assert shared.claim_fetch(jwks_server.jwks_url, 10)
    assert worker().get_signing_key(signing_key.kid).kid == signing_key.kid
    assert jwks.hits == 1
    assert shared.load(jwks_server.jwks_url) is not None


def test_a_worker_with_keys_leaves_the_claimed_fetch_to_the_other(
    worker: Callable[[], JWKSClient],
    jwks_server: JWKSServer,
    jwks: JWKSState,
    shared: RedisKeySets,
    signing_key: SigningKeyPair,
) -> None:
    client = worker()
    client.get_signing_key(signing_key.kid)
    worker.wait(11)  # type: ignore[attr-defined]  # past the first fetch's cooldown
    assert shared.claim_fetch(jwks_server.jwks_url, 10)  # another worker's turn
    jwks.hits = 0
    with pytest.raises(SigningKeyNotFound):
        client.get_signing_key("unknown-kid")
    assert jwks.hits == 0
