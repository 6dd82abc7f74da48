"""Webhook JSON: an endpoint (its secret only when it is made or rotated), a delivery, and the request bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import URLValidator
from rest_framework import serializers

from events.models import Delivery, WebhookEndpoint
from events.relay import EVENT_TYPES
from events.services import DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS
from events.webhooks import refused_host
from tasks.serializers import StrictBooleanField, StrictCharField, StrictFieldsMixin, StrictIntegerField

URL_MAX_LENGTH = 2000
DESCRIPTION_MAX_LENGTH = 500
ALL_EVENTS = "*"


class WebhookURLField(StrictCharField):
    """An absolute http or https URL of at most 2000 characters, without credentials in it; unless
    WEBHOOK_ALLOW_PRIVATE, not an address literal that is not public, nor localhost (a name is checked each
    time it is resolved, when delivering)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=URL_MAX_LENGTH, **kwargs)
        self.validators.append(URLValidator(schemes=["http", "https"], message="Must be an http or https URL."))

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            parts = urlsplit(value)
            port = parts.port  # a port out of range raises here, not when delivering
        except ValueError:
            raise serializers.ValidationError("Must be an http or https URL.", code="invalid") from None
        if port == 0:
            raise serializers.ValidationError("Port 0 reaches nothing: give a port from 1 to 65535.", code="invalid")
        if parts.username is not None or parts.password is not None:
            raise serializers.ValidationError("Must not hold a user name or password.", code="credentials")
        reason = refused_host(parts.hostname or "")
        if reason is not None and not settings.WEBHOOK_ALLOW_PRIVATE:
            raise serializers.ValidationError(
                f"Must reach a public address, not a {reason} one.", code="private_address"
            )
        return value


class WebhookSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A webhook endpoint of the caller's; the secret is never shown here."""

    url = WebhookURLField(help_text="Where events are POSTed: http or https, at most 2000 characters.")
    events = serializers.ListField(
        child=StrictCharField(),
        min_length=1,
        help_text=f'The event types sent ({", ".join(EVENT_TYPES)}), or ["*"] for all; duplicates are dropped.',
    )
    description = StrictCharField(max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, required=False)
    active = StrictBooleanField(
        required=False, help_text="false: nothing is sent. Setting it true again clears disabled_reason."
    )
    disabled_reason = serializers.CharField(
        read_only=True, help_text='Why the server turned it off: "gone" (it answered 410), "failing", or "".'
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "description", "active", "disabled_reason", "created_at", "updated_at"]
        read_only_fields = ["id", "disabled_reason", "created_at", "updated_at"]

    def validate_events(self, value: list[str]) -> list[str]:
        types: list[str] = []
        for name in value:
            if name not in (*EVENT_TYPES, ALL_EVENTS):
                raise serializers.ValidationError(f"{name!r} is not an event type.", code="invalid_choice")
            if name not in types:
                types.append(name)
        if ALL_EVENTS in types and len(types) > 1:
            raise serializers.ValidationError('Give "*" alone: it means every type.', code="invalid")
        return types


class WebhookWithSecretSerializer(WebhookSerializer):
    """An endpoint just made, or whose secret was just rotated: the only times its secret is shown."""

    secret = serializers.CharField(read_only=True, help_text="whsec_…: verify the webhook-signature header with it.")
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Until then the secret it replaced signs too."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret", "previous_secret_expires_at"]
        read_only_fields = [*WebhookSerializer.Meta.read_only_fields, "secret", "previous_secret_expires_at"]


class RotateSecretSerializer(StrictFieldsMixin, serializers.Serializer):
    """Body of POST /api/webhooks/{id}/rotate-secret."""

    grace_seconds = StrictIntegerField(
        min_value=0,
        max_value=MAX_GRACE_SECONDS,
        default=DEFAULT_GRACE_SECONDS,
        help_text="How long the old secret keeps signing beside the new one (default a day, at most a week).",
    )


class EmptySerializer(StrictFieldsMixin, serializers.Serializer):
    """A body that carries nothing (ping, retry): any member is unknown."""


class DeliverySerializer(serializers.ModelSerializer):
    """One event sent to one endpoint: its attempts so far and the last one's outcome."""

    event_id = serializers.UUIDField(source="event.event_id", read_only=True, help_text="The webhook-id sent.")
    event_type = serializers.CharField(source="event.type", read_only=True)
    status = serializers.ChoiceField(choices=Delivery.STATUSES, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "response_status",
            "duration_ms",
            "error",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields
