"""Writes on webhook endpoints and their deliveries, each in one transaction (the views speak HTTP only), and
the purge that keeps the outbox from growing without end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from authn.models import User
from events.models import Delivery, Event, WebhookEndpoint
from events.relay import PING
from events.webhooks import close_pending, new_secret

# The most endpoints one user may have.
MAX_WEBHOOKS = 20
# How long a rotated-out secret keeps signing beside the new one, by default and at most (seconds).
DEFAULT_GRACE_SECONDS = 86_400
MAX_GRACE_SECONDS = 7 * 86_400


class TooManyWebhooks(Exception):
    """The user has MAX_WEBHOOKS endpoints already."""


class RotationInProgress(Exception):
    """A rotation's grace period is still running: another one would drop the secret receivers may still use."""


class WebhookInactive(Exception):
    """The endpoint is turned off: nothing would be sent to it."""


def owned_webhooks(owner_id: int) -> QuerySet[WebhookEndpoint]:
    """The endpoints of the user with this id: every webhook view's queryset."""
    return WebhookEndpoint.objects.filter(owner_id=owner_id)


def webhook_create(*, owner: User, data: dict[str, Any]) -> WebhookEndpoint:
    """A new endpoint with a fresh secret; TooManyWebhooks past MAX_WEBHOOKS (counted under the owner's row lock,
    so two creates at once cannot both take the last place)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).exists()
        if owned_webhooks(owner.pk).count() >= MAX_WEBHOOKS:
            raise TooManyWebhooks()
        return WebhookEndpoint.objects.create(owner=owner, secret=new_secret(), **data)


def webhook_update(*, endpoint: WebhookEndpoint, data: dict[str, Any], now: datetime | None = None) -> WebhookEndpoint:
    """Change an endpoint. Turned off by its owner, its pending deliveries are closed (events.webhooks says why);
    `active: true` clears why the server turned it off and its count of failures in a row."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        was_active = endpoint.active
        for field, value in data.items():
            setattr(endpoint, field, value)
        if data.get("active") is True:
            endpoint.disabled_reason = ""
            endpoint.failed_in_a_row = 0
        endpoint.save()
        if was_active and not endpoint.active:
            close_pending(endpoint, now)
    return endpoint


def webhook_rotate_secret(
    *, endpoint: WebhookEndpoint, grace_seconds: int = DEFAULT_GRACE_SECONDS, now: datetime | None = None
) -> WebhookEndpoint:
    """A new secret; the one it replaces keeps signing beside it for `grace_seconds` (0: not at all). Two sign
    at most: while a grace period runs, another rotation with one is RotationInProgress (a double click must not
    drop the secret receivers still use); one with `grace_seconds` 0 ends every old secret at once (a leak)."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        expires = endpoint.previous_secret_expires_at
        if grace_seconds and endpoint.previous_secret and expires is not None and expires > now:
            raise RotationInProgress()
        endpoint.previous_secret = endpoint.secret if grace_seconds else ""
        endpoint.previous_secret_expires_at = now + timedelta(seconds=grace_seconds) if grace_seconds else None
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


def delivery_resend(*, delivery: Delivery, now: datetime | None = None) -> Delivery:
    """Send a delivery's event again: a new pending delivery of it to the same endpoint, due now. The first one
    stays as it was, in the log."""
    if not delivery.endpoint.active:
        raise WebhookInactive()
    return Delivery.objects.create(
        endpoint=delivery.endpoint,
        event=delivery.event,
        subject=delivery.subject,
        next_attempt_at=now or timezone.now(),
    )


def webhook_ping(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> Delivery:
    """A `webhook.ping` event for this endpoint alone, and its pending delivery. The event is marked dispatched
    and published already: the relay neither fans it out nor sends it to the broker."""
    if not endpoint.active:
        raise WebhookInactive()
    now = now or timezone.now()
    with transaction.atomic():
        event = Event.objects.create(
            owner_id=endpoint.owner_id,
            type=PING,
            subject=f"webhooks/{endpoint.pk}",
            time=now,
            data={"user_id": endpoint.owner.better_auth_id, "webhook": {"id": endpoint.pk, "url": endpoint.url}},
            dispatched_at=now,
            published_at=now,
        )
        return Delivery.objects.create(endpoint=endpoint, event=event, subject=event.subject, next_attempt_at=now)


def purge_events(*, before: datetime) -> tuple[int, int]:
    """Delete finished deliveries created before `before`, then the events before it that are dispatched, sent
    to the broker (where one is configured) and have no delivery left pending. Returns (events, deliveries)."""
    with transaction.atomic():
        deliveries, _ = Delivery.objects.filter(created_at__lt=before).exclude(status=Delivery.PENDING).delete()
        old = Event.objects.filter(time__lt=before, dispatched_at__isnull=False)
        if settings.BROKER_URL:
            old = old.filter(published_at__isnull=False)
        old = old.exclude(Q(deliveries__status=Delivery.PENDING))
        events = Event.objects.filter(pk__in=old.values("pk")).delete()[1].get("events.Event", 0)
    return events, deliveries
