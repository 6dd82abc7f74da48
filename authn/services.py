"""Keeping local users in step with the Better Auth tokens that name them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from authn.models import User
from authn.tokens import storable
from authn.user_cache import LAST_SEEN_RESOLUTION, forget_user, recent_users

PROFILE_CLAIMS = {"email": 254, "name": 255}


def profile_from_claims(claims: dict[str, Any]) -> dict[str, str]:
    """The email and name a token carries, when present as strings; absent claims change nothing."""
    profile = {}
    for claim, max_length in PROFILE_CLAIMS.items():
        value = claims.get(claim)
        if isinstance(value, str) and len(value) <= max_length and storable(value):
            profile[claim] = value.strip()
    return profile


@receiver([post_save, post_delete], sender=User)
def _forget_changed_user(sender: type[User], instance: User, **kwargs: Any) -> None:
    # On commit: a process that read the user before the change committed could otherwise cache it again.
    # Also now, for this process's own later reads within the transaction.
    recent_users.forget(instance.better_auth_id)
    sub = instance.better_auth_id
    transaction.on_commit(lambda: forget_user(sub))


def user_from_claims(claims: dict[str, Any], *, now: datetime | None = None) -> User:
    """Return the local user for a verified token's `sub`, created on first sight and kept current.

    No query for a user seen in the last few minutes (`recent_users`), otherwise one indexed query when
    nothing changed; safe when two first requests of a new user race (`get_or_create` re-reads the row
    the other request inserted).
    """
    profile = profile_from_claims(claims)
    cached = recent_users.get(claims["sub"], profile)
    if cached is not None:
        return cached
    read_at = recent_users.generation
    user, created = _user_from_database(claims["sub"], profile, now or timezone.now())
    if created:
        # The row is this request's own write: remember it only once it is committed, or a request that
        # fails and rolls back would leave every later one in this process a user that does not exist.
        transaction.on_commit(lambda: recent_users.put(user, read_at=read_at))
    else:
        recent_users.put(user, read_at=read_at)
    return user


def _user_from_database(sub: str, profile: dict[str, str], now: datetime) -> tuple[User, bool]:
    user, created = User.objects.get_or_create(
        better_auth_id=sub, defaults={**profile, "password": make_password(None), "last_seen_at": now}
    )
    if not created:
        changed: dict[str, Any] = {field: value for field, value in profile.items() if getattr(user, field) != value}
        if user.last_seen_at is None or now - user.last_seen_at >= LAST_SEEN_RESOLUTION:
            changed["last_seen_at"] = now
        if changed:
            User.objects.filter(pk=user.pk).touch(**changed)
            for field, value in changed.items():
                setattr(user, field, value)
    return user, created
