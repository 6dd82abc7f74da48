"""The user cache is coherent across processes: invalidations through Redis, one second without them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from authn.models import User
from authn.services import user_from_claims
from authn.user_cache import UserInvalidations, recent_users, user_invalidations
from conftest import FakeTimer


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTimer:
    timer = FakeTimer()
    monkeypatch.setattr(recent_users, "timer", timer)
    return timer


@pytest.fixture
def listening(settings: Any, redis_url: str) -> Iterator[None]:
    """This process hears invalidations through the machine's Redis."""
    settings.REDIS_URL = redis_url
    deadline = time.monotonic() + 5
    while not user_invalidations.live:
        assert time.monotonic() < deadline, "the invalidation listener did not subscribe"
        time.sleep(0.02)
    yield
    user_invalidations.stop()


def test_without_redis_a_user_is_cached_one_second(
    alice: User, claims_for: Callable[..., dict], clock: FakeTimer, django_assert_num_queries: Any
) -> None:
    user_from_claims(claims_for(alice))
    clock.advance(0.9)
    with django_assert_num_queries(0):
        user_from_claims(claims_for(alice))
    clock.advance(0.2)
    with django_assert_num_queries(1):
        user_from_claims(claims_for(alice))


def test_while_invalidations_are_heard_a_user_is_cached_five_minutes(
    listening: None, alice: User, claims_for: Callable[..., dict], clock: FakeTimer, django_assert_num_queries: Any
) -> None:
    user_from_claims(claims_for(alice))
    clock.advance(299)
    with django_assert_num_queries(0):
        user_from_claims(claims_for(alice))


def test_an_invalidation_published_by_another_process_drops_the_user_at_once(
    listening: None, alice: User, claims_for: Callable[..., dict], redis_url: str
) -> None:
    user_from_claims(claims_for(alice))
    assert alice.better_auth_id in recent_users
    redis.Redis.from_url(redis_url).publish(UserInvalidations.CHANNEL, alice.better_auth_id)
    deadline = time.monotonic() + 2
    while alice.better_auth_id in recent_users:
        assert time.monotonic() < deadline, "the invalidation did not arrive within 2 s"
        time.sleep(0.01)


def test_a_bulk_update_is_announced_once_committed(
    alice: User, redis_url: str, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REDIS_URL = redis_url
    subscriber = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe(UserInvalidations.CHANNEL)
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.filter(pk=alice.pk).update(is_active=False)
    heard = []
    deadline = time.monotonic() + 2
    while alice.better_auth_id.encode() not in heard and time.monotonic() < deadline:
        message = subscriber.get_message(timeout=0.1)
        if message:
            heard.append(message["data"])
    subscriber.close()
    assert alice.better_auth_id.encode() in heard


def test_a_user_read_before_an_invalidation_is_not_cached_after_it(alice: User) -> None:
    read_at = recent_users.generation
    recent_users.forget(alice.better_auth_id)  # announced while the row was being read
    recent_users.put(alice, read_at=read_at)
    assert alice.better_auth_id not in recent_users
    recent_users.forget("someone-else")  # another user's change does not matter
    recent_users.put(alice, read_at=recent_users.generation - 1)
    assert alice.better_auth_id in recent_users


def test_a_disabled_user_is_refused_though_it_was_cached(
    alice: User, alice_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert alice_client.get("/api/me").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        User.objects.filter(pk=alice.pk).update(is_active=False)
    assert alice_client.get("/api/me").json()["code"] == "user_inactive"


def test_each_request_gets_its_own_copy_of_a_cached_user(
    alice: User, claims_for: Callable[..., dict], clock: FakeTimer, django_assert_num_queries: Any
) -> None:
    claims = claims_for(alice)
    user_from_claims(claims)  # read and cached
    cached = recent_users._entries[alice.better_auth_id][1]
    cached._state.fields_cache["marker"] = "in the cache"  # what a related object read once would leave there
    with django_assert_num_queries(0):  # served from the cache, each time copied
        first, second = user_from_claims(claims), user_from_claims(claims)
    assert first is not second
    assert first.pk == second.pk == alice.pk
    assert (first._state.adding, first._state.db) == (False, "default")
    assert first._state is not second._state
    assert first._state.fields_cache == {"marker": "in the cache"}
    assert first._state.fields_cache is not cached._state.fields_cache
    first.name = "changed by one request"
    first._state.fields_cache["marker"] = "changed by one request"
    with django_assert_num_queries(0):
        third = user_from_claims(claims)
    assert third.name == alice.name  # neither the cache nor the next request sees it
    assert third._state.fields_cache == {"marker": "in the cache"}
    assert cached.name == alice.name
