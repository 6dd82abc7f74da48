"""Which users each process may serve without a query, and how every process hears that one changed."""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import redis
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.backoff import NoBackoff
from redis.retry import Retry

from evotodo.shared_redis import REDIS_ERRORS, RedisUnavailable, SharedRedis, shared_redis

if TYPE_CHECKING:  # the user model's module imports this one: name its base class instead
    from django.contrib.auth.base_user import AbstractBaseUser as User

# A cached user is kept this long while invalidations are heard; `last_seen_at` is written at most this often.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


class UserInvalidations:
    """Tells every process of every node that a user changed, through the shared Redis' pub/sub.

    `publish(sub)` is called by whatever saves, updates or deletes a user, in any process (the API, the
    admin, `seed_demo`, a shell). Each process that serves requests listens in a background thread and drops
    the user from its `recent_users` within milliseconds. The thread pings Redis every PING_SECONDS; `live`
    is true only while the subscription answered within HEALTHY_SECONDS, and each time the subscription is
    (re)made the cache is cleared, since messages sent while it was down are lost. Without REDIS_URL, or
    while Redis is down or stalled, nothing is live, and `recent_users` keeps a user for one second only.
    """

    CHANNEL = "evotodo:users:changed"
    PING_SECONDS = 0.5
    HEALTHY_SECONDS = 1.5
    RETRY_SECONDS = 1.0
    timer: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listener: tuple[int, str, threading.Thread] | None = None
        self._confirmed_at: float | None = None

    @property
    def live(self) -> bool:
        """Whether invalidations reach this process now (starting its listener when Redis is configured)."""
        shared = shared_redis()
        if shared is None:
            return False
        self._ensure_listener(shared)
        confirmed = self._confirmed_at
        return confirmed is not None and self.timer() - confirmed < self.HEALTHY_SECONDS

    def publish(self, sub: str | None) -> None:
        """Tell every process to forget `sub` (this one at once, the others through Redis when it answers)."""
        if not sub:
            return
        recent_users.forget(sub)
        shared = shared_redis()
        if shared is not None:
            # When Redis fails, the listeners cannot hear from it either: their caches keep users one second.
            with contextlib.suppress(RedisUnavailable):
                shared.call(lambda client: client.publish(self.CHANNEL, sub))

    def stop(self) -> None:
        """Stop listening (the thread ends within PING_SECONDS); the next `live` starts again if configured."""
        with self._lock:
            self._listener, self._confirmed_at = None, None

    def _ensure_listener(self, shared: SharedRedis) -> None:
        listener = self._listener
        if listener is not None and listener[0] == os.getpid() and listener[1] == shared.url:
            return
        with self._lock:
            listener = self._listener
            if listener is not None and listener[0] == os.getpid() and listener[1] == shared.url:
                return
            self._confirmed_at = None
            thread = threading.Thread(target=self._listen, args=(shared,), name="user-invalidations", daemon=True)
            self._listener = (os.getpid(), shared.url, thread)
            thread.start()

    def _current(self, shared: SharedRedis) -> bool:
        listener = self._listener
        return listener is not None and listener[0] == os.getpid() and listener[1] == shared.url

    def _listen(self, shared: SharedRedis) -> None:
        while self._current(shared):
            pubsub = redis.Redis.from_url(
                shared.url,
                socket_connect_timeout=shared.timeout,
                socket_timeout=self.HEALTHY_SECONDS,
                retry=Retry(NoBackoff(), 0),
            ).pubsub()
            try:
                self._serve(shared, pubsub)
            except (*REDIS_ERRORS, OSError):
                pass
            finally:
                self._confirmed_at = None
                recent_users.clear()  # what was cached may have been invalidated while nobody listened
                with contextlib.suppress(*REDIS_ERRORS, OSError):
                    pubsub.close()
            time.sleep(self.RETRY_SECONDS)

    def _serve(self, shared: SharedRedis, pubsub: Any) -> None:
        pubsub.subscribe(self.CHANNEL)
        pinged_at = 0.0
        while self._current(shared):
            message = pubsub.get_message(timeout=self.PING_SECONDS / 2)
            now = self.timer()
            if message is not None:
                if message["type"] == "subscribe":
                    recent_users.clear()  # invalidations sent before now were not heard
                    self._confirmed_at = now
                elif message["type"] == "message":
                    recent_users.forget(message["data"].decode())
                elif message["type"] == "pong":
                    self._confirmed_at = now
            if now - pinged_at >= self.PING_SECONDS:
                pubsub.ping()
                pinged_at = now
            confirmed = self._confirmed_at
            if confirmed is not None and now - confirmed >= self.HEALTHY_SECONDS:
                return  # Redis stopped answering: start over, and meanwhile keep users one second only


def own_copy(user: User) -> User:
    """A model instance's copy as `copy.copy` makes it (its attributes, and its own model state and cache of
    related objects: Model.__getstate__), without the detour through pickling's protocol (nor the Django version
    that protocol leaves as an attribute)."""
    clone = object.__new__(type(user))
    clone.__dict__.update(user.__dict__)
    state = clone._state = copy.copy(user._state)
    if "fields_cache" in state.__dict__:
        state.fields_cache = state.fields_cache.copy()
    return clone


class RecentUsers:
    """A bounded per-process cache of `sub` -> user, so a user seen recently costs no query.

    Other processes and nodes invalidate it through `user_invalidations` (a user saved, updated or deleted
    anywhere is dropped everywhere within milliseconds); an entry lives LAST_SEEN_RESOLUTION while those
    invalidations are heard, and UNHEARD_LIFETIME (one second) while they are not (no REDIS_URL, or Redis
    down), so a user disabled, deleted or recreated is served correctly everywhere within about a second
    either way. An entry is also skipped when the token's email or name differ from it. `timer` is for tests.
    """

    UNHEARD_LIFETIME = 1.0
    timer: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, User]] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0  # bumped by every forget and clear
        self._cleared_at = 0
        self._forgotten_at: OrderedDict[str, int] = OrderedDict()  # the latest forgets, bounded

    @property
    def lifetime(self) -> float:
        return LAST_SEEN_RESOLUTION.total_seconds() if user_invalidations.live else self.UNHEARD_LIFETIME

    def get(self, sub: str, profile: dict[str, str]) -> User | None:
        lifetime = self.lifetime
        with self._lock:
            entry = self._entries.get(sub)
            if entry is None:
                return None
            stored_at, user = entry
            if self.timer() - stored_at >= lifetime or any(getattr(user, f) != v for f, v in profile.items()):
                del self._entries[sub]
                return None
            self._entries.move_to_end(sub)
        return own_copy(user)  # each request gets its own instance

    def put(self, user: User, *, read_at: int) -> None:
        """Remember `user`, read from the database when `generation` was `read_at`: unless it was forgotten
        since (an invalidation that raced the read, which would make the row just read stale)."""
        sub: str = user.better_auth_id  # type: ignore[assignment]
        with self._lock:
            if self._cleared_at > read_at or self._forgotten_at.get(sub, -1) > read_at:
                return
            self._entries[user.better_auth_id] = (self.timer(), own_copy(user))  # type: ignore[index]
            self._entries.move_to_end(user.better_auth_id)  # type: ignore[arg-type]
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, sub: str | None) -> None:
        if sub is None:
            return
        with self._lock:
            self.generation += 1
            self._entries.pop(sub, None)
            self._forgotten_at[sub] = self.generation
            self._forgotten_at.move_to_end(sub)
            while len(self._forgotten_at) > self.max_entries:
                self._forgotten_at.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._cleared_at = self.generation
            self._entries.clear()

    def __contains__(self, sub: str) -> bool:
        return sub in self._entries


recent_users = RecentUsers(max_entries=10_000)
user_invalidations = UserInvalidations()


@receiver(setting_changed)
def _stop_listening_on_settings_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "REDIS_URL":
        user_invalidations.stop()


def forget_user(sub: str | None) -> None:
    """Drop the user with this `sub` from every process's cache (after it was changed outside `User.save`)."""
    user_invalidations.publish(sub)
