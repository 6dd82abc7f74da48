"""A write of a task it locks first takes its change number in its lock's statement, and, when it is the write's one
change, writes its event in its UPDATE's statement (tasks.services.save_locked_version): the same rows as when the
event is written after the UPDATE, told in the order of their change numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import pre_save
from rest_framework.test import APIClient

from authn.models import User
from events.models import Event
from tasks.models import SyncState, Task

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="on SQLite the number, the lock, the UPDATE and the event are statements of their own: set DATABASE_URL "
    "to a PostgreSQL server",
)

# What differs between two tasks written the same way: their identity and clocks.
PER_ROW = {"id", "created_at", "updated_at", "completed_at", "position"}


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.startswith(("SAVEPOINT", "RELEASE")):  # the test's own transaction around the request's
            seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


@contextmanager
def outbox_heard() -> Iterator[list[str]]:
    """Somebody listening to an event's saving: the outbox then writes after the UPDATE, as Django saves."""
    heard: list[str] = []

    def listener(sender: Any, instance: Event, **kwargs: Any) -> None:
        heard.append(instance.type)

    pre_save.connect(listener, sender=Event)
    try:
        yield heard
    finally:
        pre_save.disconnect(listener, sender=Event)


def told(task_id: int) -> list[dict[str, Any]]:
    """The task's events after its creation, in the outbox's order, without what differs between two tasks."""
    task = Task.objects.get(pk=task_id)
    events = list(Event.objects.filter(subject=f"tasks/{task_id}").exclude(type="task.created").order_by("id"))
    assert events[-1].data["change"] == task.change_seq
    return [
        {
            "type": event.type,
            "owner_id": event.owner_id,
            "data": {
                **event.data,
                "change": None,
                "task": {k: v for k, v in event.data["task"].items() if k not in PER_ROW},
            },
        }
        for event in events
    ]


def counter(user: User) -> int:
    return SyncState.objects.get(owner=user).seq


@pytest.mark.django_db
def test_a_completion_writes_its_event_in_its_update_as_it_would_after_it(alice: User, alice_client: APIClient) -> None:
    body = {"title": "Same", "tags": ["a", "B"], "priority": "high", "due_at": "2030-01-01T10:00:00+05:30"}
    ids = [alice_client.post("/api/tasks", body, format="json").json()["id"] for _ in range(2)]
    for toggle in range(2):  # completed, then reopened
        with statements() as fast:
            first = alice_client.patch(f"/api/tasks/{ids[0]}/complete")
        with outbox_heard() as heard, statements() as slow:
            second = alice_client.patch(f"/api/tasks/{ids[1]}/complete")
        assert (first.status_code, second.status_code) == (200, 200)
        assert heard == ["task.completed" if toggle == 0 else "task.updated"]
        assert [sql.split(None, 1)[0] for sql in fast] == ["WITH", "WITH"]
        assert "events_event" in fast[1]
        assert "events_event" not in slow[1]
        assert len(slow) == 3
        assert {k: v for k, v in first.json().items() if k not in PER_ROW} == {
            k: v for k, v in second.json().items() if k not in PER_ROW
        }
    assert told(ids[0]) == told(ids[1])
    assert [event["type"] for event in told(ids[0])] == ["task.completed", "task.updated"]
    # Each event's change is its task's at the time, and each UPDATE took one number.
    events = Event.objects.filter(subject__in=[f"tasks/{pk}" for pk in ids]).order_by("id")
    changes = [event.data["change"] for event in events]
    assert changes == sorted(changes)
    assert len(set(changes)) == len(changes)
    assert max(changes) == counter(alice)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "suffix", "body"), [("patch", "/complete", None), ("patch", "", {"completed": True, "title": "Done"})]
)
def test_completing_a_recurring_task_tells_the_completion_then_its_next_occurrence(
    alice: User, alice_client: APIClient, method: str, suffix: str, body: Any
) -> None:
    created = alice_client.post(
        "/api/tasks",
        {"title": "Daily", "due_at": "2030-01-01T09:00:00Z", "recurrence": {"freq": "daily"}},
        format="json",
    ).json()
    with statements() as sent:
        response = getattr(alice_client, method)(f"/api/tasks/{created['id']}{suffix}", body, format="json")
    assert response.status_code == 200
    completed = Task.objects.get(pk=created["id"])
    following = Task.objects.get(pk=completed.next_occurrence_id)
    assert completed.change_seq < following.change_seq == counter(alice)
    assert not any("events_event" in sql and "UPDATE" in sql for sql in sent)  # told in order, after the UPDATE
    events = list(Event.objects.exclude(subject=f"tasks/{created['id']}", type="task.created").order_by("id"))
    assert [(event.type, event.subject, event.data["change"]) for event in events] == [
        ("task.completed", f"tasks/{completed.pk}", completed.change_seq),
        ("task.created", f"tasks/{following.pk}", following.change_seq),
    ]


@pytest.mark.django_db
def test_a_write_of_another_users_task_is_a_404_that_changes_nothing(
    alice: User, bob: User, alice_client: APIClient, client_for: Any
) -> None:
    task = alice_client.post("/api/tasks", {"title": "Mine"}, format="json").json()
    before = (Task.objects.values().get(pk=task["id"]), Event.objects.count(), counter(alice))
    bobs = client_for(bob)
    answers = [
        bobs.patch(f"/api/tasks/{task['id']}/complete").status_code,
        bobs.patch(f"/api/tasks/{task['id']}", {"title": "His"}, format="json").status_code,
        bobs.post(f"/api/tasks/{task['id']}/move", {"after": None}, format="json").status_code,
        bobs.delete(f"/api/tasks/{task['id']}").status_code,
    ]
    assert answers == [404, 404, 404, 404]
    assert (Task.objects.values().get(pk=task["id"]), Event.objects.count(), counter(alice)) == before
    assert not SyncState.objects.filter(owner=bob).exists()


@pytest.mark.django_db
def test_an_update_of_the_task_alone_writes_its_event_in_its_update_as_it_would_after_it(
    alice: User, alice_client: APIClient
) -> None:
    body = {"title": "Same", "tags": ["a"], "due_at": "2030-01-01T10:00:00Z", "recurrence": {"freq": "weekly"}}
    ids = [alice_client.post("/api/tasks", body, format="json").json()["id"] for _ in range(2)]
    changes = [
        {"title": "Renamed ✓", "description": "", "priority": "low"},
        {"tags": ["B", "c"], "remind_at": "2030-01-01T09:00:00Z"},
        {"due_at": "9999-12-30T00:00:00+14:00", "recurrence": None},
        {"completed": False},
    ]
    for change in changes:
        with statements() as fast:
            first = alice_client.patch(f"/api/tasks/{ids[0]}", change, format="json")
        with outbox_heard() as heard, statements() as slow:
            second = alice_client.patch(f"/api/tasks/{ids[1]}", change, format="json")
        assert (first.status_code, second.status_code) == (200, 200), (first.json(), second.json())
        assert heard == ["task.updated"]
        assert sum("events_event" in sql for sql in fast) == 1
        assert any(sql.startswith('WITH beside_0 AS (INSERT INTO "events_event"') for sql in fast)
        assert not any(sql.startswith("WITH beside_0") for sql in slow)
        assert {k: v for k, v in first.json().items() if k not in PER_ROW} == {
            k: v for k, v in second.json().items() if k not in PER_ROW
        }
    assert told(ids[0]) == told(ids[1])
    assert len(told(ids[0])) == len(changes)
