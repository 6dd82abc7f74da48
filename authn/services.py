"""Keeping local users in step with the Better Auth tokens that name them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from authn.models import User
from authn.tokens import storable

PROFILE_CLAIMS = {"email": 254, "name": 255}
# `last_seen_at` is written at most this often, so a busy user does not cost a write per request.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


def profile_from_claims(claims: dict[str, Any]) -> dict[str, str]:
    """The email and name a token carries, when present as strings; absent claims change nothing."""
    profile = {}
    for claim, max_length in PROFILE_CLAIMS.items():
        value = claims.get(claim)
        if isinstance(value, str) and len(value) <= max_length and storable(value):
            profile[claim] = value.strip()
    return profile


def user_from_claims(claims: dict[str, Any], *, now: datetime | None = None) -> User:
    """Return the local user for a verified token's `sub`, created on first sight and kept current.

    One indexed query when nothing changed; safe when two first requests of a new user race
    (`get_or_create` re-reads the row the other request inserted).
    """
    now = now or timezone.now()
    profile = profile_from_claims(claims)
    user, created = User.objects.get_or_create(
        better_auth_id=claims["sub"], defaults={**profile, "password": make_password(None), "last_seen_at": now}
    )
    if not created:
        changed: dict[str, Any] = {field: value for field, value in profile.items() if getattr(user, field) != value}
        if user.last_seen_at is None or now - user.last_seen_at >= LAST_SEEN_RESOLUTION:
            changed["last_seen_at"] = now
        if changed:
            User.objects.filter(pk=user.pk).update(**changed)
            for field, value in changed.items():
                setattr(user, field, value)
    return user
