"""Several workers delivering at once on PostgreSQL: no delivery is sent twice, and none is left behind."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from authn.models import User
from conftest import run_concurrently
from events.models import Delivery
from events.tests.conftest import Receiver, make_delivery, make_endpoint, make_event
from events.webhooks import deliver_due

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SKIP LOCKED: SQLite runs one writer at a time, so nothing races"
    ),
]


def test_two_workers_at_once_never_send_one_delivery_twice(alice: User, receiver: Receiver) -> None:
    endpoints = [make_endpoint(alice, receiver.url) for _ in range(3)]
    now = timezone.now()
    for n in range(30):
        make_delivery(endpoints[n % 3], make_event(alice, f"tasks/{n}"), next_attempt_at=now)

    counts = run_concurrently(lambda: deliver_due(now=now, limit=20), 2)

    assert sum(counts) == 30
    sent = Counter((request.path, request.headers["webhook-id"]) for request in receiver.requests)
    assert len(sent) == 30
    assert max(sent.values()) == 1
    assert set(Delivery.objects.values_list("status", "attempts")) == {("delivered", 1)}


def test_a_worker_skips_the_deliveries_another_holds_at_the_claim(alice: User, receiver: Receiver) -> None:
    """Deterministic: the test holds one delivery's row lock, as a worker in the middle of its claim does."""
    endpoint = make_endpoint(alice, receiver.url)
    now = timezone.now()
    held = make_delivery(endpoint, make_event(alice, "tasks/1"), next_attempt_at=now)
    free = make_delivery(endpoint, make_event(alice, "tasks/2"), next_attempt_at=now)
    results: list[Any] = []

    with transaction.atomic():
        Delivery.objects.select_for_update().get(pk=held.pk)
        results = run_concurrently(lambda: deliver_due(now=now), 1)

    assert results == [1]
    assert receiver.ids() == [str(free.event.event_id)]
    held.refresh_from_db()
    assert (held.status, held.attempts, held.leased_until) == ("pending", 0, None)
    assert deliver_due(now=now) == 1
    held.refresh_from_db()
    assert held.status == "delivered"
