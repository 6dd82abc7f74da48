"""Keeping local users in step with the Better Auth tokens that name them."""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
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


class RecentUsers:
    """A bounded per-process cache of `sub` -> user, for users seen within LAST_SEEN_RESOLUTION.

    A hit costs no query. An entry is skipped when the token's email or name differ from it, dropped when
    the user is saved or deleted in this process, and expires after LAST_SEEN_RESOLUTION, so `last_seen_at`
    keeps being written and an admin's change reaches every worker within that time. `timer` is for tests.
    """

    timer: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.lifetime = LAST_SEEN_RESOLUTION.total_seconds()
        self._entries: OrderedDict[str, tuple[float, User]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sub: str, profile: dict[str, str]) -> User | None:
        with self._lock:
            entry = self._entries.get(sub)
            if entry is None:
                return None
            stored_at, user = entry
            if self.timer() - stored_at >= self.lifetime or any(getattr(user, f) != v for f, v in profile.items()):
                del self._entries[sub]
                return None
            self._entries.move_to_end(sub)
        return copy.copy(user)  # each request gets its own instance

    def put(self, user: User) -> None:
        with self._lock:
            self._entries[user.better_auth_id] = (self.timer(), copy.copy(user))  # type: ignore[index]
            self._entries.move_to_end(user.better_auth_id)  # type: ignore[arg-type]
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, sub: str | None) -> None:
        with self._lock:
            self._entries.pop(sub, None)  # type: ignore[arg-type]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


recent_users = RecentUsers(max_entries=10_000)


@receiver([post_save, post_delete], sender=User)
def _forget_changed_user(sender: type[User], instance: User, **kwargs: Any) -> None:
    recent_users.forget(instance.better_auth_id)


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
    user, created = _user_from_database(claims["sub"], profile, now or timezone.now())
    if created:
        # The row is this request's own write: remember it only once it is committed, or a request that
        # fails and rolls back would leave every later one in this process a user that does not exist.
        transaction.on_commit(lambda: recent_users.put(user))
    else:
        recent_users.put(user)
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
            User.objects.filter(pk=user.pk).update(**changed)
            for field, value in changed.items():
                setattr(user, field, value)
    return user, created
