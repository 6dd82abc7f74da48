"""The caller's profile JSON: `{id, email, name}`."""

from __future__ import annotations

from rest_framework import serializers


class MeSerializer(serializers.Serializer):
    """The caller as Better Auth knows them; `id` is the token's `sub`."""

    id = serializers.CharField(source="better_auth_id", read_only=True)
    email = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
