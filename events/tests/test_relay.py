"""The relay: events to webhooks' deliveries and to RabbitMQ (a real broker: 127.0.0.1:5672, or BROKER_TEST_URL)."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from kombu import Connection, Exchange, Queue
from kombu.exceptions import KombuError
from rest_framework.test import APIClient

from authn.models import User
from events.models import Delivery, Event, WebhookEndpoint
from events.relay import BrokerUnavailable, Publisher, dispatch, publish

BROKER_URL = os.environ.get("BROKER_TEST_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture(scope="session")
def broker() -> str:
    """The machine's RabbitMQ; a test that needs it is skipped (with how to run it) without one, and fails in CI."""
    try:
        with Connection(BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
    except (KombuError, OSError):
        if os.environ.get("CI"):
            pytest.fail(f"CI needs RabbitMQ at {BROKER_URL}")
        pytest.skip(f"no RabbitMQ at {BROKER_URL}: start one (rabbitmq-server -detached) or set BROKER_TEST_URL")
    return BROKER_URL


@pytest.fixture
def exchanges(broker: str, settings: Any) -> Iterator[tuple[str, str]]:
    """Exchanges of this test's own, deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    settings.EVENTS_EXCHANGE, settings.REMINDERS_EXCHANGE = f"task-events-{suffix}", f"reminders-{suffix}"
    yield settings.EVENTS_EXCHANGE, settings.REMINDERS_EXCHANGE
    with Connection(BROKER_URL) as conn:
        for name in (settings.EVENTS_EXCHANGE, settings.REMINDERS_EXCHANGE):
            Exchange(name)(conn.default_channel).delete()


def bound_queue(conn: Connection, exchange: str, key: str) -> Queue:
    queue = Queue(
        f"q-{uuid.uuid4().hex[:8]}", Exchange(exchange, type="topic", durable=True), routing_key=key, auto_delete=True
    )
    queue(conn.default_channel).declare()
    return queue


def drain(conn: Connection, queue: Queue) -> list[tuple[dict[str, Any], Any]]:
    got = []
    bound = queue(conn.default_channel)
    while (message := bound.get(no_ack=True)) is not None:
        got.append((json.loads(message.body), message))
    return got


def test_task_events_reach_the_topic_exchange_in_order_as_cloudevents(
    alice: User, alice_client: APIClient, exchanges: tuple[str, str]
) -> None:
    with Connection(BROKER_URL) as conn:
        Publisher(BROKER_URL)._producer()  # declares the exchanges
        everything = bound_queue(conn, exchanges[0], "task.*")
        completed_only = bound_queue(conn, exchanges[0], "task.completed")
        task = alice_client.post("/api/tasks", {"title": "Ship"}, format="json").json()
        alice_client.patch(f"/api/tasks/{task['id']}/complete")
        alice_client.delete(f"/api/tasks/{task['id']}")
        publisher = Publisher(BROKER_URL)
        try:
            assert publish(publisher) == 3
        finally:
            publisher.close()
        received = drain(conn, everything)
        assert [body["type"] for body, _ in received] == [
            "com.evotodo.task.created",
            "com.evotodo.task.completed",
            "com.evotodo.task.deleted",
        ]
        assert [body["type"] for body, _ in drain(conn, completed_only)] == ["com.evotodo.task.completed"]
    first, message = received[0]
    assert first["specversion"] == "1.0"
    assert first["data"]["task"] == task
    assert first["id"] == str(Event.objects.order_by("id").first().event_id)
    assert message.content_type == "application/cloudevents+json"
    assert message.properties["delivery_mode"] == 2
    assert not Event.objects.filter(published_at__isnull=True).exists()


def test_reminders_go_to_their_own_exchange(alice: User, exchanges: tuple[str, str]) -> None:
    Event.objects.create(owner_id=alice.pk, type="reminder.due", subject="tasks/1", data={"task": {"id": 1}})
    publisher = Publisher(BROKER_URL)
    with Connection(BROKER_URL) as conn:
        publisher._producer()
        queue = bound_queue(conn, exchanges[1], "reminder.due")
        try:
            assert publish(publisher) == 1
        finally:
            publisher.close()
        assert [body["type"] for body, _ in drain(conn, queue)] == ["com.evotodo.reminder.due"]


def test_a_broker_that_is_down_marks_nothing_sent_and_says_so(alice: User, alice_client: APIClient) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    alice_client.post("/api/tasks", {"title": "Ship"}, format="json")
    publisher = Publisher(f"amqp://guest:guest@127.0.0.1:{port}//")
    with pytest.raises(BrokerUnavailable):
        publish(publisher)
    assert Event.objects.filter(published_at__isnull=True).count() == 1


def test_events_written_while_the_broker_was_down_are_sent_when_it_is_back(
    alice: User, alice_client: APIClient, exchanges: tuple[str, str]
) -> None:
    alice_client.post("/api/tasks", {"title": "during the outage"}, format="json")
    with pytest.raises(BrokerUnavailable):
        publish(Publisher("amqp://guest:guest@127.0.0.1:1//"))
    publisher = Publisher(BROKER_URL)
    with Connection(BROKER_URL) as conn:
        publisher._producer()
        queue = bound_queue(conn, exchanges[0], "#")
        try:
            assert publish(publisher) == 1
        finally:
            publisher.close()
        assert [body["data"]["task"]["title"] for body, _ in drain(conn, queue)] == ["during the outage"]


def test_dispatch_makes_a_delivery_per_subscribed_active_endpoint_of_the_owner_only(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    every = WebhookEndpoint.objects.create(owner=alice, url="https://a.example/1", events=["*"], secret="whsec_a")
    created = WebhookEndpoint.objects.create(
        owner=alice, url="https://a.example/2", events=["task.created"], secret="whsec_b"
    )
    WebhookEndpoint.objects.create(owner=alice, url="https://a.example/3", events=["*"], secret="x", active=False)
    bobs = WebhookEndpoint.objects.create(owner=bob, url="https://b.example/", events=["*"], secret="whsec_c")
    task = alice_client.post("/api/tasks", {"title": "Ship"}, format="json").json()
    alice_client.patch(f"/api/tasks/{task['id']}/complete")
    assert dispatch(now=timezone.now()) == 2
    assert dispatch() == 0
    assert sorted(Delivery.objects.values_list("endpoint_id", "event__type")) == sorted(
        [(every.pk, "task.created"), (every.pk, "task.completed"), (created.pk, "task.created")]
    )
    assert not Delivery.objects.filter(endpoint=bobs).exists()
    assert set(Delivery.objects.values_list("subject", flat=True)) == {f"tasks/{task['id']}"}


def test_an_exchange_deleted_under_the_relay_is_declared_again_and_nothing_is_lost(
    alice: User, alice_client: APIClient, exchanges: tuple[str, str]
) -> None:
    publisher = Publisher(BROKER_URL)
    try:
        alice_client.post("/api/tasks", {"title": "before"}, format="json")
        assert publish(publisher) == 1
        with Connection(BROKER_URL) as conn:
            Exchange(exchanges[0])(conn.default_channel).delete()
        alice_client.post("/api/tasks", {"title": "after"}, format="json")
        with pytest.raises(BrokerUnavailable):
            publish(publisher)  # the broker closes the channel: nothing marked sent
        assert Event.objects.filter(published_at__isnull=True).count() == 1
        with Connection(BROKER_URL) as conn:
            queue = bound_queue(conn, exchanges[0], "#")  # declares the exchange, as a consumer would
            assert publish(publisher) == 1
            assert [body["data"]["task"]["title"] for body, _ in drain(conn, queue)] == ["after"]
    finally:
        publisher.close()
