"""The relay: the outbox's events out to the users' webhooks (as deliveries) and to the broker, each in the order
they were written, each at least once (a crash between sending and marking sends again: consumers deduplicate
by the event's id)."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from amqp.exceptions import AMQPError
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu import Connection, Exchange, Producer
from kombu.exceptions import KombuError

from events.cloudevents import CONTENT_TYPE, cloudevent_bytes
from events.models import Delivery, Event, WebhookEndpoint, WorkerBeat

logger = logging.getLogger(__name__)

# Types a webhook can subscribe to (or "*": all of them). A ping goes only to the endpoint it tests, and never to
# the broker: it is written dispatched and published.
EVENT_TYPES = (
    "task.created",
    "task.updated",
    "task.completed",
    "task.deleted",
    "list.created",
    "list.updated",
    "list.deleted",
    "reminder.due",
    "webhook.disabled",
)
PING = "webhook.ping"
# The row whose lock makes one relay at a time publish, so the broker gets one task's events in order.
PUBLISH_LOCK = "publish"


class BrokerUnavailable(Exception):
    """The broker refused a connection or a message; what was confirmed before is marked sent."""


def takes(endpoint: WebhookEndpoint, event_type: str) -> bool:
    """Whether the endpoint subscribed to this type of event."""
    return "*" in endpoint.events or event_type in endpoint.events


def dispatch(*, limit: int = 500, now: datetime | None = None) -> int:
    """Turn events not dispatched yet into deliveries, one per active endpoint of their owner that takes them;
    several workers may run this at once (each takes other events). Returns how many events it took."""
    now = now or timezone.now()
    if not Event.objects.filter(dispatched_at__isnull=True).exists():
        return 0  # the usual answer, without a write transaction (on SQLite, the database's write lock)
    with transaction.atomic():
        events = list(
            Event.objects.select_for_update(skip_locked=True).filter(dispatched_at__isnull=True).order_by("id")[:limit]
        )
        if not events:
            return 0
        endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
        for endpoint in WebhookEndpoint.objects.filter(owner_id__in={event.owner_id for event in events}, active=True):
            endpoints[endpoint.owner_id].append(endpoint)
        Delivery.objects.bulk_create(
            Delivery(endpoint=endpoint, event=event, subject=event.subject, next_attempt_at=now)
            for event in events
            for endpoint in endpoints[event.owner_id]
            if takes(endpoint, event.type)
        )
        Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    return len(events)


def exchange_for(event_type: str) -> Exchange:
    """Reminders go to their own topic exchange, everything else to the task events' (routing key: the type)."""
    name = settings.REMINDERS_EXCHANGE if event_type.startswith("reminder.") else settings.EVENTS_EXCHANGE
    return Exchange(name, type="topic", durable=True)


class Publisher:
    """Sends CloudEvents to the broker (RabbitMQ through kombu), each persistent and confirmed by the broker
    before it counts as sent. One connection, opened when first needed and again after a failure."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection: Connection | None = None
        self.producer: Producer | None = None

    def _producer(self) -> Producer:
        if self.producer is None:
            timeout = settings.BROKER_TIMEOUT_SECONDS
            self.connection = Connection(
                self.url,
                connect_timeout=timeout,
                transport_options={"confirm_publish": True, "read_timeout": timeout, "write_timeout": timeout},
            )
            self.connection.ensure_connection(max_retries=1)
            self.producer = Producer(self.connection.default_channel)
            for name in (settings.EVENTS_EXCHANGE, settings.REMINDERS_EXCHANGE):
                Exchange(name, type="topic", durable=True)(self.connection.default_channel).declare()
        return self.producer

    def send(self, event: Event) -> None:
        """Publish one event; BrokerUnavailable when the broker did not take it."""
        try:
            self._producer().publish(
                cloudevent_bytes(event),
                exchange=exchange_for(event.type),
                routing_key=event.type,
                content_type=CONTENT_TYPE,
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=str(event.event_id),
                retry=False,
            )
        except (KombuError, AMQPError, OSError) as e:
            # The broker is down, refused the message, or closed the channel (an exchange deleted under us): the
            # next round connects again and declares the exchanges again.
            self.close()
            raise BrokerUnavailable(f"{type(e).__name__}: {e}") from e

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.release()
            except (KombuError, AMQPError, OSError):
                logger.debug("closing the broker connection failed", exc_info=True)
        self.connection = self.producer = None


def publish(publisher: Publisher, *, limit: int = 200, now: datetime | None = None) -> int:
    """Send events not yet on the broker, in the order they were written; one relay at a time does (the others
    return 0 at once). Returns how many it sent; BrokerUnavailable after marking those it sent before."""
    now = now or timezone.now()
    if not Event.objects.filter(published_at__isnull=True).exists():
        return 0
    with transaction.atomic():
        WorkerBeat.objects.get_or_create(job=PUBLISH_LOCK, defaults={"at": now})
        if not WorkerBeat.objects.select_for_update(skip_locked=True).filter(job=PUBLISH_LOCK).exists():
            return 0  # another worker is publishing
        events = list(Event.objects.filter(published_at__isnull=True).order_by("id")[:limit])
        sent: list[int] = []
        failure: BrokerUnavailable | None = None
        for event in events:
            try:
                publisher.send(event)
            except BrokerUnavailable as e:
                failure = e
                break
            sent.append(event.pk)
        Event.objects.filter(pk__in=sent).update(published_at=now)
        WorkerBeat.objects.filter(job=PUBLISH_LOCK).update(at=now)
    if failure is not None:
        raise failure
    return len(sent)


def backlog(now: datetime | None = None) -> dict[str, Any]:
    """How far behind the relay is: the age in seconds of the oldest event not dispatched (and not published,
    where a broker is configured), or None when there is none."""
    now = now or timezone.now()

    def oldest(**pending: Any) -> float | None:
        first = Event.objects.filter(**pending).order_by("id").values_list("time", flat=True).first()
        return None if first is None else max((now - first).total_seconds(), 0.0)

    ages = {"undispatched_seconds": oldest(dispatched_at__isnull=True)}
    if settings.BROKER_URL:
        ages["unpublished_seconds"] = oldest(published_at__isnull=True)
    return ages
