"""Keeping local users in step with the Better Auth tokens that name them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password

from authn.models import User

PROFILE_CLAIMS = {"email": 254, "name": 255}


def profile_from_claims(claims: dict[str, Any]) -> dict[str, str]:
    """The email and name a token carries, when present as strings; absent claims change nothing."""
    profile = {}
    for claim, max_length in PROFILE_CLAIMS.items():
        value = claims.get(claim)
        if isinstance(value, str) and len(value) <= max_length:
            profile[claim] = value.strip()
    return profile


def user_from_claims(claims: dict[str, Any]) -> User:
    """Return the local user for a verified token's `sub`, created on first sight and kept current.

    One indexed query when nothing changed; safe when two first requests of a new user race
    (`get_or_create` re-reads the row the other request inserted).
    """
    profile = profile_from_claims(claims)
    user, created = User.objects.get_or_create(
        better_auth_id=claims["sub"], defaults={**profile, "password": make_password(None)}
    )
    if not created:
        changed = {field: value for field, value in profile.items() if getattr(user, field) != value}
        if changed:
            User.objects.filter(pk=user.pk).update(**changed)
            for field, value in changed.items():
                setattr(user, field, value)
    return user
