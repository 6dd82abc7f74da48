"""`purge_events`: old events that are sent, and finished deliveries, are forgotten; nothing still owed is."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from authn.models import User
from events.models import Delivery, Event, WebhookEndpoint


def test_purge_forgets_old_sent_events_and_keeps_what_is_still_owed(alice: User, settings: Any) -> None:
    settings.BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
    old = timezone.now() - timedelta(days=settings.EVENTS_RETENTION_DAYS + 1)
    endpoint = WebhookEndpoint.objects.create(owner=alice, url="https://a.example/", events=["*"], secret="whsec_a")

    def event(**fields: Any) -> Event:
        return Event.objects.create(owner_id=alice.pk, type="task.created", subject="tasks/1", data={}, **fields)

    sent = event(time=old, dispatched_at=old, published_at=old)
    Delivery.objects.create(endpoint=endpoint, event=sent, subject="tasks/1", status="delivered", created_at=old)
    unpublished = event(time=old, dispatched_at=old)
    owed = event(time=old, dispatched_at=old, published_at=old)
    Delivery.objects.create(endpoint=endpoint, event=owed, subject="tasks/1", created_at=old)
    recent = event(dispatched_at=timezone.now(), published_at=timezone.now())
    out = StringIO()
    call_command("purge_events", stdout=out)
    assert "Purged 1 events and 1 deliveries." in out.getvalue()
    assert set(Event.objects.values_list("pk", flat=True)) == {unpublished.pk, owed.pk, recent.pk}
    assert Delivery.objects.get().event_id == owed.pk
