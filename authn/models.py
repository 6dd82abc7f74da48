"""The local user: one row per Better Auth user (keyed by the token's `sub`), plus staff accounts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models, transaction
from django.dispatch import Signal
from django.utils import timezone

from authn.user_cache import forget_user

# Sent inside the transaction that deletes users, before the deletion reads anything, with `user_ids`: an app
# whose writes first lock something per user (tasks' change counter) takes the same lock here. Writes in flight
# then commit before the deletion looks for their rows, and later ones wait for it and then fail as writes of
# a user who no longer exists (a 409 to the client), instead of making the deletion fail.
users_deleting = Signal()


class UserQuerySet(models.QuerySet["User"]):
    """Users; a bulk `update` is heard by every process's user cache, like a `save` (authn.services), and a
    bulk `delete` is safe against the users' concurrent writes (`users_deleting`)."""

    def delete(self) -> tuple[int, dict[str, int]]:
        with transaction.atomic(using=self.db):
            users_deleting.send(sender=self.model, user_ids=sorted(self.values_list("pk", flat=True)))
            return super().delete()

    def update(self, **kwargs: Any) -> int:
        subs = list(self.exclude(better_auth_id=None).values_list("better_auth_id", flat=True))
        count = super().update(**kwargs)
        for sub in subs:
            transaction.on_commit(lambda sub=sub: forget_user(sub))
        return count

    def touch(self, **kwargs: Any) -> int:
        """An update that other processes need not hear of: `last_seen_at`, or the email and name that every
        token carries anyway (a cached user whose token says otherwise is read again)."""
        return super().update(**kwargs)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    """Creates staff accounts for the Django admin; API users are created from token claims."""

    use_in_migrations = True

    def create_user(self, username: str, email: str = "", password: str | None = None, **extra: Any) -> User:
        if not username:
            raise ValueError("A staff account needs a username.")
        user = self.model(username=username, email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, email: str = "", password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(username, email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: a Better Auth user (`better_auth_id` set) or an admin signing in with a Django password."""

    better_auth_id = models.CharField(
        "Better Auth id",
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text="The `sub` of this user's Better Auth tokens.",
    )
    username = models.CharField(
        max_length=150,
        unique=True,
        null=True,
        blank=True,
        validators=[UnicodeUsernameValidator()],
        help_text="Only for staff who sign in to the admin with a Django password.",
    )
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=255, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the admin.")
    is_active = models.BooleanField(default=True, help_text="Inactive users are refused by the API too.")
    date_joined = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="Last authenticated API request (updated at most every few minutes)."
    )

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email or self.username or self.better_auth_id or f"user {self.pk}"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Delete the user and everything they own, safely against their concurrent writes (`users_deleting`)."""
        with transaction.atomic(using=kwargs.get("using")):
            users_deleting.send(sender=type(self), user_ids=[self.pk])
            return super().delete(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name
