"""Rate limits: per user when authenticated, per client IP otherwise; rates read at call time."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


def configured_rate(scope: str) -> str | None:
    """`API_THROTTLE_USER` / `API_THROTTLE_ANON`, e.g. "600/min"; "off" disables the limit."""
    rate = getattr(settings, f"API_THROTTLE_{scope.upper()}")
    return None if rate == "off" else rate


class UserThrottle(UserRateThrottle):
    """Requests per authenticated user (the anonymous fall back to their IP, as in DRF)."""

    def get_rate(self) -> str | None:
        return configured_rate("user")


class AnonThrottle(AnonRateThrottle):
    """Requests per client IP for unauthenticated callers; X-Forwarded-For counts only as far as NUM_PROXIES."""

    def get_rate(self) -> str | None:
        return configured_rate("anon")
