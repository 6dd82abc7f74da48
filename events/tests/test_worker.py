"""The worker's loop: every job each round, a failing dependency logged once a minute while the others go on, and
its health check."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from authn.models import User
from events.models import Delivery, Event, WebhookEndpoint, WorkerBeat
from events.webhooks import deliver_due
from events.worker import LOOP, Worker

DEAD_BROKER = "amqp://guest:guest@127.0.0.1:1//"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def worker_with_clock(**kwargs: Any) -> tuple[Worker, FakeClock]:
    worker = Worker(**kwargs)
    clock = FakeClock()
    worker.clock = clock  # type: ignore[method-assign]
    return worker, clock


def test_a_round_dispatches_events_and_records_that_the_worker_is_alive(alice: User, alice_client: APIClient) -> None:
    WebhookEndpoint.objects.create(owner=alice, url="https://hooks.example/", events=["*"], secret="whsec_" + "A" * 43)
    alice_client.post("/api/tasks", {"title": "t"}, format="json")
    worker, _ = worker_with_clock(broker_url="")
    worker.pump.pump = lambda now: deliver_due(now=now)  # type: ignore[method-assign] (in this test's transaction)
    done = worker.run_once()
    assert done["dispatch"] == 1
    assert done["deliver"] == 1
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()
    assert Delivery.objects.count() == 1
    assert WorkerBeat.objects.get(job=LOOP).worker == worker.name


def test_a_broker_outage_is_logged_once_a_minute_and_the_other_jobs_go_on(
    alice: User, alice_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    worker, clock = worker_with_clock(broker_url=DEAD_BROKER)
    caplog.set_level(logging.WARNING, logger="events.worker")
    for round_ in range(3):
        alice_client.post("/api/tasks", {"title": f"t{round_}"}, format="json")
        done = worker.run_once()
        assert "publish" not in done
        assert done["dispatch"] == 1
        clock.now += 10
    assert len([r for r in caplog.records if "publish" in r.getMessage()]) == 1
    clock.now += 60
    worker.run_once()
    assert len([r for r in caplog.records if "publish" in r.getMessage()]) == 2
    assert Event.objects.filter(published_at__isnull=True).count() == 3  # kept for when the broker is back
    assert not any(record.exc_info for record in caplog.records)  # a line, not a traceback


def test_reminders_are_looked_for_once_a_tick(alice: User, settings: Any) -> None:
    from tasks.tests.factories import TaskFactory

    settings.REMINDER_TICK_SECONDS = 30
    worker, clock = worker_with_clock(broker_url="")
    assert "reminders" in worker.run_once()
    TaskFactory(owner=alice, remind_at=timezone.now() - timedelta(seconds=1))
    assert "reminders" not in worker.run_once()
    clock.now += 30
    assert worker.run_once()["reminders"] == 1


def test_worker_health_fails_without_a_recent_round_and_passes_after_one(db: Any) -> None:
    with pytest.raises(CommandError, match="No worker has run yet"):
        call_command("worker_health", stdout=StringIO())
    Worker(broker_url="").run_once()
    out = StringIO()
    call_command("worker_health", stdout=out)
    assert out.getvalue().startswith("ok:")
    WorkerBeat.objects.filter(job=LOOP).update(at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(CommandError, match="last worker round"):
        call_command("worker_health", stdout=StringIO())


def test_worker_health_fails_when_events_wait_too_long(alice: User) -> None:
    Worker(broker_url="").run_once()
    Event.objects.create(
        owner_id=alice.pk, type="task.created", subject="tasks/1", data={}, time=timezone.now() - timedelta(hours=1)
    )
    with pytest.raises(CommandError, match="Events are waiting"):
        call_command("worker_health", "--max-backlog", "60", stdout=StringIO())
