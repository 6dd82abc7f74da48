"""Events as CloudEvents 1.0 in structured JSON mode: what the broker, webhooks and any other consumer get."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import orjson
from django.conf import settings

from events.models import Event
from tasks.serializers import iso_datetime

# A CloudEvent's `type` is this and the event's own ("task.completed").
TYPE_PREFIX = "com.evotodo."
CONTENT_TYPE = "application/cloudevents+json"


def cloudevent(event: Event) -> dict[str, Any]:
    """The event as a CloudEvent (https://github.com/cloudevents/spec, v1.0): `id` is stable, so consumers
    deduplicate by it."""
    return {
        "specversion": "1.0",
        "id": str(event.event_id),
        "source": settings.EVENTS_SOURCE,
        "type": TYPE_PREFIX + event.type,
        "subject": event.subject,
        "time": iso_datetime(event.time, UTC),
        "datacontenttype": "application/json",
        "data": event.data,
    }


def cloudevent_bytes(event: Event) -> bytes:
    """The CloudEvent as sent: compact UTF-8 JSON."""
    return orjson.dumps(cloudevent(event))
