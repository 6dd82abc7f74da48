"""Reminders: exactly one `reminder.due` per reminder that passes while its task is open, re-armed by a new time."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from authn.models import User
from events.models import Event
from events.reminders import fire_due_reminders
from tasks.models import Task
from tasks.tests.factories import TaskFactory


def reminders(user: User | None = None) -> list[Event]:
    found = Event.objects.filter(type="reminder.due").order_by("id")
    return list(found.filter(owner_id=user.pk) if user else found)


def test_a_passed_reminder_fires_once_with_the_task_and_leaves_the_task_unchanged(alice: User) -> None:
    now = timezone.now()
    task = TaskFactory(owner=alice, remind_at=now - timedelta(seconds=5))
    assert fire_due_reminders(now=now) == (1, 0)
    assert fire_due_reminders(now=now + timedelta(seconds=30)) == (0, 0)
    (event,) = reminders(alice)
    assert event.subject == f"tasks/{task.pk}"
    assert event.data["task"]["id"] == task.pk
    assert event.data["user_id"] == alice.better_auth_id
    assert event.data["late_seconds"] == 5
    fired = Task.objects.get(pk=task.pk)
    assert fired.reminder_fired_at == now
    assert (fired.version, fired.change_seq, fired.updated_at) == (task.version, task.change_seq, task.updated_at)


def test_reminders_not_due_of_completed_or_deleted_tasks_do_not_fire(alice: User) -> None:
    now = timezone.now()
    TaskFactory(owner=alice, remind_at=now + timedelta(seconds=1))
    TaskFactory(owner=alice, remind_at=now - timedelta(seconds=1), completed=True)
    TaskFactory(owner=alice, remind_at=now - timedelta(seconds=1)).delete()
    assert fire_due_reminders(now=now) == (0, 0)
    assert reminders() == []


def test_a_reminder_later_than_the_limit_is_dropped_not_fired(alice: User, settings: Any) -> None:
    settings.REMINDER_MAX_LATE_SECONDS = 3600
    now = timezone.now()
    kept = TaskFactory(owner=alice, remind_at=now - timedelta(seconds=3599))
    dropped = TaskFactory(owner=alice, remind_at=now - timedelta(seconds=3601))
    assert fire_due_reminders(now=now) == (1, 1)
    assert [event.subject for event in reminders()] == [f"tasks/{kept.pk}"]
    assert Task.objects.get(pk=dropped.pk).reminder_fired_at == now  # never fired later either
    assert fire_due_reminders(now=now + timedelta(hours=1)) == (0, 0)


def test_a_worker_back_after_an_outage_fires_what_it_missed_in_time_order(alice: User) -> None:
    now = timezone.now()
    late = [TaskFactory(owner=alice, remind_at=now - timedelta(minutes=minutes)) for minutes in (5, 50, 20)]
    assert fire_due_reminders(now=now) == (3, 0)
    assert [event.subject for event in reminders()] == [f"tasks/{late[i].pk}" for i in (1, 2, 0)]


def test_editing_remind_at_rearms_it_and_the_same_value_does_not(alice: User, alice_client: APIClient) -> None:
    now = timezone.now()
    task = TaskFactory(owner=alice, remind_at=now - timedelta(seconds=1))
    fire_due_reminders(now=now)
    same = alice_client.patch(f"/api/tasks/{task.pk}", {"remind_at": task.remind_at.isoformat()}, format="json")
    assert same.status_code == 200
    assert fire_due_reminders(now=now + timedelta(seconds=1)) == (0, 0)
    moved = (now + timedelta(minutes=10)).isoformat()
    assert alice_client.patch(f"/api/tasks/{task.pk}", {"remind_at": moved}, format="json").status_code == 200
    assert Task.objects.get(pk=task.pk).reminder_fired_at is None
    assert fire_due_reminders(now=now + timedelta(minutes=9)) == (0, 0)
    assert fire_due_reminders(now=now + timedelta(minutes=10)) == (1, 0)
    assert len(reminders()) == 2


def test_completing_the_task_first_disarms_it(alice: User, alice_client: APIClient) -> None:
    now = timezone.now()
    task = TaskFactory(owner=alice, remind_at=now + timedelta(minutes=1))
    alice_client.patch(f"/api/tasks/{task.pk}/complete")
    assert fire_due_reminders(now=now + timedelta(minutes=2)) == (0, 0)


def test_a_recurring_tasks_next_occurrence_has_its_own_reminder(alice: User, alice_client: APIClient) -> None:
    now = timezone.now().replace(microsecond=0)
    body = alice_client.post(
        "/api/tasks",
        {
            "title": "Daily",
            "due_at": (now + timedelta(hours=1)).isoformat(),
            "remind_at": (now - timedelta(seconds=10)).isoformat(),
            "recurrence": {"freq": "daily"},
        },
        format="json",
    ).json()
    assert fire_due_reminders(now=now) == (1, 0)
    alice_client.patch(f"/api/tasks/{body['id']}/complete")
    following = Task.objects.exclude(pk=body["id"]).get(owner=alice)
    assert following.remind_at == now + timedelta(days=1) - timedelta(seconds=10)
    assert following.reminder_fired_at is None
    assert fire_due_reminders(now=following.remind_at) == (1, 0)
    assert [event.subject for event in reminders()][-1] == f"tasks/{following.pk}"


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_on_postgresql_fire_each_reminder_exactly_once(alice: User) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL: set DATABASE_URL to a PostgreSQL server to run this")
    now = timezone.now()
    TaskFactory.create_batch(300, owner=alice, remind_at=now - timedelta(seconds=1))
    results: list[tuple[int, int]] = []
    start = threading.Barrier(4)

    def tick() -> None:
        try:
            start.wait()
            while True:
                fired = fire_due_reminders(now=now, limit=20)
                results.append(fired)
                if fired == (0, 0):
                    return
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    subjects = [event.subject for event in reminders()]
    assert len(subjects) == len(set(subjects)) == 300
    assert sum(fired for fired, _ in results) == 300
    assert not Task.objects.filter(reminder_fired_at__isnull=True).exists()
