"""Rate limits: per user when authenticated, per client IP otherwise, and per IP on refused tokens.

The counters are moving windows kept by the `limits` library: in the shared Redis when REDIS_URL is set, so
"60/min" means at most 60 requests in any 60 seconds across every worker of every node (each hit is one
atomic Lua script: no read-then-write race between concurrent requests); in this process's memory otherwise.
When Redis is down or stalled, the limits fail open (the API keeps serving; `evotodo.shared_redis` logs
one warning per interval) and are enforced again as soon as it answers.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from evotodo.shared_redis import RedisUnavailable, shared_redis

UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
UNITS |= {"d": 86400, "day": 86400}


def configured_rate(scope: str) -> RateLimitItem | None:
    """`API_THROTTLE_<SCOPE>`, e.g. "600/min", as a limit; None when it is "off"."""
    rate = getattr(settings, f"API_THROTTLE_{scope.upper()}")
    if rate == "off":
        return None
    count, unit = rate.split("/")
    return RateLimitItemPerSecond(int(count), UNITS[unit])


class _Limiters:
    """This process's moving-window limiter over its storage (Redis or memory), rebuilt when the settings change.

    `key_prefix` names the counters in Redis (tests give each run its own)."""

    key_prefix = "evotodo"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: tuple[Any, MovingWindowRateLimiter] | None = None

    def get(self) -> MovingWindowRateLimiter:
        shared = shared_redis()
        built = self._built
        if built is not None and built[0] is shared:
            return built[1]
        with self._lock:
            storage: Storage
            if shared is not None:
                storage = RedisStorage(
                    shared.url, connection_pool=shared.client.connection_pool, key_prefix=self.key_prefix
                )
            else:
                storage = MemoryStorage()
            limiter = MovingWindowRateLimiter(storage)
            self._built = (shared, limiter)
            return limiter

    def clear(self) -> None:
        with self._lock:
            self._built = None


limiters = _Limiters()


@receiver(setting_changed)
def _rebuild_limiters(*, setting: str, **kwargs: Any) -> None:
    if setting in {"REDIS_URL", "REDIS_TIMEOUT_MS", "REDIS_RETRY_SECONDS"}:
        limiters.clear()


def _shared_call(fn: Any) -> Any:
    """Run a limiter call through the shared Redis' breaker when there is one (RedisUnavailable when not)."""
    shared = shared_redis()
    return shared.call(lambda _client: fn()) if shared is not None else fn()


def hit(limit: RateLimitItem, *identifiers: str) -> float | None:
    """Count one request; None when it is within the limit (or Redis is unavailable: fail open), else the
    seconds until the window lets the next one through."""
    return _limited(limit, identifiers, count=True)


def over(limit: RateLimitItem, *identifiers: str) -> float | None:
    """Without counting: None when one more would be within the limit (or Redis is unavailable), else the wait."""
    return _limited(limit, identifiers, count=False)


def _limited(limit: RateLimitItem, identifiers: tuple[str, ...], *, count: bool) -> float | None:
    limiter = limiters.get()
    check = limiter.hit if count else limiter.test
    try:
        if _shared_call(lambda: check(limit, *identifiers)):
            return None
        return _wait(limiter, limit, *identifiers)
    except RedisUnavailable:
        return None


def _wait(limiter: MovingWindowRateLimiter, limit: RateLimitItem, *identifiers: str) -> float:
    reset_at = _shared_call(lambda: limiter.get_window_stats(limit, *identifiers).reset_time)
    return max(1.0, reset_at - time.time())


class _MovingWindowThrottle(BaseThrottle):
    """A DRF throttle over `hit`; subclasses say which scope's rate applies and whom a request counts for."""

    scope = ""

    def identity(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        limit = configured_rate(self.scope)
        identity = self.identity(request) if limit is not None else None
        if limit is None or identity is None:
            return True
        self._wait = hit(limit, self.scope, identity)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class UserThrottle(_MovingWindowThrottle):
    """Requests per authenticated user (`API_THROTTLE_USER`); anonymous requests are AnonThrottle's."""

    scope = "user"

    def identity(self, request: Request) -> str | None:
        user = request.user
        return str(user.pk) if user and user.is_authenticated else None


class AnonThrottle(_MovingWindowThrottle):
    """Requests per client IP for unauthenticated callers (`API_THROTTLE_ANON`); X-Forwarded-For counts only
    as far as NUM_PROXIES."""

    scope = "anon"

    def identity(self, request: Request) -> str | None:
        user = request.user
        return None if user and user.is_authenticated else self.get_ident(request)


class FailedAuthenticationThrottle(BaseThrottle):
    """Refused tokens per client IP (`API_THROTTLE_AUTH_FAILURES`, e.g. "30/min"). Past the limit, a request
    whose token is not known to be good is a 429 before its signature is checked, so a flood of bad tokens
    costs a counter lookup each rather than a signature verification. A token verified by any worker of any
    node is known good (`remember_good`, through Redis), so people who share an IP with an attacker (behind
    a NAT) keep working with the tokens they had; a new token from that IP waits out the window."""

    scope = "auth_failures"
    good_prefix = "evotodo:good-token:"

    def check(self, request: Request, token_digest: bytes) -> None:
        """Raise Throttled when this client has had too many tokens refused lately, unless this token is good."""
        limit = configured_rate(self.scope)
        if limit is not None:
            wait = over(limit, self.scope, self.get_ident(request))
            if wait is not None and not self._known_good(token_digest):
                raise Throttled(wait=wait)

    def remember_good(self, token_digest: bytes, expires_at: float) -> None:
        """Tell every process that this token verified (until its `exp`), when the limit is on and Redis is there."""
        shared = shared_redis()
        seconds = int(expires_at - time.time())
        if shared is None or configured_rate(self.scope) is None or seconds <= 0:
            return
        key = self.good_prefix + token_digest.hex()
        with contextlib.suppress(RedisUnavailable):  # then only the processes that verified it know it
            shared.call(lambda client: client.set(key, 1, ex=seconds, nx=True))

    def _known_good(self, token_digest: bytes) -> bool:
        shared = shared_redis()
        if shared is None:
            return False
        key = self.good_prefix + token_digest.hex()
        try:
            return bool(shared.call(lambda client: client.exists(key)))
        except RedisUnavailable:
            return False

    def record(self, request: Request) -> None:
        """Count one refused token for this client."""
        limit = configured_rate(self.scope)
        if limit is not None:
            hit(limit, self.scope, self.get_ident(request))
