"""Writes on events that are not a task's or list's change: keeping the outbox from growing without end."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from events.models import Delivery, Event


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
