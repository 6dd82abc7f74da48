"""The Redis that every worker and node shares (REDIS_URL): short timeouts, and a breaker so an outage is cheap.

Redis holds only what makes several processes act as one service (rate-limit counters, the last good JWKS,
user invalidations): none of it is data. So every caller fails soft: while Redis is down or stalled, a call
raises `RedisUnavailable` at once (the breaker is open) instead of waiting, the caller falls back (rate limits
open, caches local), one WARNING is logged per interval instead of a traceback per request, and the first call
after `retry_seconds` tries again, so everything recovers by itself.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Anything Redis can fail with: down, stalled or restarting (connection errors and timeouts), and answering
# with an error (out of memory under `noeviction`, a read-only replica after a failover, a password changed):
# each is Redis unable to do its part, and the API falls back the same way.
REDIS_ERRORS = (redis.exceptions.RedisError,)


class RedisUnavailable(Exception):
    """Redis did not answer in time, or recently did not: fall back."""


class SharedRedis:
    """One process's client of the shared Redis, with a circuit breaker.

    `call(fn)` runs `fn(client)`; a connection error or timeout (each bounded by `timeout` seconds, never
    retried) opens the breaker for `retry_seconds`, during which calls raise `RedisUnavailable` without
    touching the network. Failures are logged at most once per `log_interval` seconds. `timer` is for tests.
    """

    timer: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, url: str, *, timeout: float, retry_seconds: float, log_interval: float = 60.0) -> None:
        self.url = url
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.log_interval = log_interval
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._logged_at: float | None = None
        self._failures_since_log = 0

    @property
    def available(self) -> bool:
        """False while the breaker is open (Redis failed within the last `retry_seconds`)."""
        return self.timer() >= self._open_until

    def call(self, fn: Callable[[redis.Redis], T]) -> T:
        if not self.available:
            raise RedisUnavailable("Redis failed recently; not retried yet")
        try:
            result = fn(self.client)
        except REDIS_ERRORS as e:
            self._trip(e)
            raise RedisUnavailable(str(e) or type(e).__name__) from e
        if self._logged_at is not None:
            self._recovered()
        return result

    def _trip(self, error: Exception) -> None:
        now = self.timer()
        with self._lock:
            self._open_until = now + self.retry_seconds
            self._failures_since_log += 1
            if self._logged_at is not None and now - self._logged_at < self.log_interval:
                return
            failures, self._failures_since_log, self._logged_at = self._failures_since_log, 0, now
        logger.warning(
            "Redis unavailable (%s: %s); %d failure(s) since the last report, falling back for %.1f s at a time",
            type(error).__name__,
            error,
            failures,
            self.retry_seconds,
        )

    def _recovered(self) -> None:
        with self._lock:
            if self._logged_at is None:
                return
            self._logged_at, self._failures_since_log = None, 0
        logger.warning("Redis available again")

    def status(self) -> str:
        """ "ok" when Redis answers a PING now, else "degraded" (for /readyz)."""
        try:
            self.call(lambda client: client.ping())
        except RedisUnavailable:
            return "degraded"
        return "ok"


_shared: dict[tuple[int, str], SharedRedis] = {}
_shared_lock = threading.Lock()


def shared_redis() -> SharedRedis | None:
    """This process's client of `settings.REDIS_URL`, or None when no Redis is configured.

    One per process (keyed by pid too: a client made before gunicorn forks its workers is never shared with
    them, as a socket shared by two processes would mix their replies).
    """
    url = settings.REDIS_URL
    if not url:
        return None
    key = (os.getpid(), url)
    client = _shared.get(key)
    if client is None:
        with _shared_lock:
            client = _shared.get(key)
            if client is None:
                client = SharedRedis(
                    url, timeout=settings.REDIS_TIMEOUT_MS / 1000, retry_seconds=settings.REDIS_RETRY_SECONDS
                )
                _shared[key] = client
    return client


def reset_shared_redis() -> None:
    """Forget the clients (tests, and after REDIS_URL changes)."""
    with _shared_lock:
        _shared.clear()


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: object) -> None:
    if setting in {"REDIS_URL", "REDIS_TIMEOUT_MS", "REDIS_RETRY_SECONDS"}:
        reset_shared_redis()
