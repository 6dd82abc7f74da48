"""The outbox: every change of a task or list writes its event in the change's own transaction, and only then."""

from __future__ import annotations

import random
from datetime import UTC
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from authn.models import User
from events.cloudevents import cloudevent
from events.models import Event
from events.outbox import list_json, record_changes
from tasks.changes import task_saved
from tasks.models import ListTombstone, SyncState, Task, TaskList, TaskTombstone
from tasks.serializers import task_json
from tasks.services import task_create

OWN_EVENTS = ("task.", "list.")


def assert_every_change_has_its_event(user: User) -> None:
    """Each change number of the user's appears in one event at most; every task and list as it is now is the
    state its last event carries, and every deletion has its event."""
    events = [
        event for event in Event.objects.filter(owner_id=user.pk).order_by("id") if event.type.startswith(OWN_EVENTS)
    ]
    numbers = [event.data["change"] for event in events]
    assert numbers == sorted(set(numbers)), "two events for one change, or events out of their changes' order"
    by_number = {event.data["change"]: event for event in events}
    for task in Task.objects.filter(owner=user).select_related("owner"):
        event = by_number[task.change_seq]
        assert (event.type in {"task.created", "task.updated", "task.completed"}, event.subject) == (
            True,
            f"tasks/{task.pk}",
        )
        assert event.data["task"] == task_json(task, UTC)
        assert event.data["user_id"] == user.better_auth_id
    for task_list in TaskList.objects.filter(owner=user).select_related("owner"):
        event = by_number[task_list.change_seq]
        assert event.type in {"list.created", "list.updated"}
        assert event.data["list"] == list_json(task_list)
    for tombstone in TaskTombstone.objects.filter(owner=user):
        event = by_number[tombstone.change_seq]
        assert (event.type, event.data["task"]) == ("task.deleted", {"id": tombstone.task_id})
    for tombstone in ListTombstone.objects.filter(owner=user):
        event = by_number[tombstone.change_seq]
        assert (event.type, event.data["list"]) == ("list.deleted", {"id": tombstone.list_id})


def types(user: User) -> list[str]:
    return list(Event.objects.filter(owner_id=user.pk).order_by("id").values_list("type", flat=True))


def test_a_created_task_writes_one_task_created_event_with_what_the_api_answered(
    alice: User, alice_client: APIClient
) -> None:
    body = alice_client.post("/api/tasks", {"title": "Write", "tags": ["a"]}, format="json").json()
    event = Event.objects.get(owner_id=alice.pk)
    assert (event.type, event.subject, event.data["task"]) == ("task.created", f"tasks/{body['id']}", body)
    assert (event.dispatched_at, event.published_at) == (None, None)


def test_completing_reopening_and_deleting_write_completed_updated_and_deleted(
    alice: User, alice_client: APIClient
) -> None:
    task = alice_client.post("/api/tasks", {"title": "Write"}, format="json").json()
    alice_client.patch(f"/api/tasks/{task['id']}/complete")
    alice_client.patch(f"/api/tasks/{task['id']}", {"completed": False}, format="json")
    alice_client.patch(f"/api/tasks/{task['id']}", {"completed": True}, format="json")
    alice_client.delete(f"/api/tasks/{task['id']}")
    assert types(alice) == ["task.created", "task.completed", "task.updated", "task.completed", "task.deleted"]
    assert Event.objects.filter(owner_id=alice.pk, type="task.deleted").get().data["task"] == {"id": task["id"]}


def test_completing_a_recurring_task_tells_its_next_occurrence_and_subtasks_as_created(
    alice: User, alice_client: APIClient
) -> None:
    parent = alice_client.post(
        "/api/tasks",
        {"title": "Weekly", "due_at": "2027-01-04T09:00:00Z", "recurrence": {"freq": "weekly"}},
        format="json",
    ).json()
    alice_client.post("/api/tasks", {"title": "step", "parent_id": parent["id"]}, format="json")
    before = len(types(alice))
    alice_client.patch(f"/api/tasks/{parent['id']}/complete")
    # The completion first: its change was numbered before its next occurrence and that one's copied subtask.
    assert types(alice)[before:] == ["task.completed", "task.created", "task.created"]
    assert_every_change_has_its_event(alice)


@pytest.mark.parametrize("status", [400, 412])
def test_a_refused_write_writes_no_event(alice: User, alice_client: APIClient, status: int) -> None:
    task = alice_client.post("/api/tasks", {"title": "Write"}, format="json").json()
    body, headers = ({"title": ""}, {}) if status == 400 else ({"title": "x"}, {"HTTP_IF_MATCH": '"0-0"'})
    response = alice_client.patch(f"/api/tasks/{task['id']}", body, format="json", **headers)
    assert response.status_code == status
    assert types(alice) == ["task.created"]


def test_a_batch_that_fails_midway_leaves_no_event_of_its_earlier_operations(
    alice: User, alice_client: APIClient
) -> None:
    response = alice_client.post(
        "/api/batch",
        {
            "operations": [
                {"op": "create", "type": "list", "data": {"name": "Work"}},
                {"op": "create", "type": "task", "data": {"title": "would be made"}},
                {"op": "create", "type": "task", "data": {"title": ""}},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    assert not Event.objects.exists()
    assert not Task.objects.exists()


def test_an_event_rolls_back_with_its_change(alice: User) -> None:
    def write_then_crash() -> None:
        with transaction.atomic():
            task_create(owner=alice, data={"title": "never"})
            assert Event.objects.filter(type="task.created").count() == 1
            raise RuntimeError("crash after the write, before the commit")

    with pytest.raises(RuntimeError):
        write_then_crash()
    assert not Event.objects.exists()
    assert not Task.objects.exists()


def test_deleting_a_list_with_its_tasks_moved_tells_each_task_then_the_list(
    alice: User, alice_client: APIClient
) -> None:
    work = alice_client.post("/api/lists", {"name": "Work"}, format="json").json()
    for title in ("a", "b"):
        alice_client.post("/api/tasks", {"title": title, "list_id": work["id"]}, format="json")
    before = len(types(alice))
    assert alice_client.delete(f"/api/lists/{work['id']}?tasks=move_to_inbox").status_code == 204
    assert types(alice)[before:] == ["task.updated", "task.updated", "list.deleted"]
    assert all(event.data["task"]["list_id"] is None for event in Event.objects.filter(type="task.updated"))
    assert_every_change_has_its_event(alice)


def test_events_are_cloudevents_with_stable_unique_ids(alice: User, alice_client: APIClient) -> None:
    for n in range(3):
        alice_client.post("/api/tasks", {"title": f"t{n}"}, format="json")
    rendered = [cloudevent(event) for event in Event.objects.order_by("id")]
    assert len({event["id"] for event in rendered}) == 3
    for event in rendered:
        assert event["specversion"] == "1.0"
        assert event["type"] == "com.evotodo.task.created"
        assert event["source"] == "/evotodo"
        assert event["subject"].startswith("tasks/")
        assert event["time"].endswith("Z")
        assert event["datacontenttype"] == "application/json"
    assert [cloudevent(event)["id"] for event in Event.objects.order_by("id")] == [e["id"] for e in rendered]


def test_every_kind_of_write_leaves_every_change_with_its_event(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    """A seeded random walk over the API's writes (tasks, subtasks, lists, moves, completions of recurring
    tasks, deletions of both kinds, batches, an import): afterwards every change has exactly its event."""
    rng = random.Random(20261205)  # noqa: S311 (a reproducible walk, not a secret)
    client = alice_client

    def ids(path: str) -> list[int]:
        return [item["id"] for item in client.get(path).json()]

    def post(path: str, body: dict[str, Any]) -> Any:
        return client.post(path, body, format="json")

    lists = [post("/api/lists", {"name": name}).json()["id"] for name in ("Work", "Home", "Shop")]
    for step in range(120):
        tasks = ids("/api/tasks?limit=200")
        choice = rng.randrange(10)
        if choice < 3 or not tasks:
            body: dict[str, Any] = {"title": f"t{step}"}
            if rng.random() < 0.3 and tasks:
                body["parent_id"] = rng.choice(tasks)
            elif rng.random() < 0.5:
                body["list_id"] = rng.choice(lists)
            if rng.random() < 0.3:
                body.update(due_at="2027-03-01T10:00:00Z", recurrence={"freq": "daily"})
            post("/api/tasks", body)
        elif choice == 3:
            client.patch(f"/api/tasks/{rng.choice(tasks)}/complete")
        elif choice == 4:
            client.patch(f"/api/tasks/{rng.choice(tasks)}", {"title": f"u{step}", "tags": ["x"]}, format="json")
        elif choice == 5:
            post(f"/api/tasks/{rng.choice(tasks)}/move", {"list_id": rng.choice([*lists, None]), "after": None})
        elif choice == 6:
            client.delete(f"/api/tasks/{rng.choice(tasks)}")
        elif choice == 7:
            post("/api/batch", {"operations": [{"op": "create", "type": "task", "data": {"title": "b"}}]})
        elif choice == 8 and len(lists) > 1:
            gone = lists.pop(rng.randrange(len(lists)))
            client.delete(f"/api/lists/{gone}?tasks={rng.choice(['move_to_inbox', 'delete'])}")
        else:
            lists.append(post("/api/lists", {"name": f"L{step}"}).json()["id"])
    document = client.get("/api/export").json()
    assert bob_client.post("/api/import", document, format="json").status_code in (200, 201)
    assert_every_change_has_its_event(alice)
    assert_every_change_has_its_event(bob)
    assert Event.objects.filter(owner_id=alice.pk).count() > 120
    # Every change number of theirs has its event: a consumer that finds a gap has lost one.
    for user in (alice, bob):
        numbers = sorted(
            e.data["change"] for e in Event.objects.filter(owner_id=user.pk, type__regex=r"^(task|list)\.")
        )
        assert numbers == list(range(1, SyncState.objects.get(owner=user).seq + 1))


def test_one_changes_event_is_the_row_a_batchs_insert_writes(alice: User) -> None:
    """One change's event goes through the compiled INSERT, several through `bulk_create`: the rows are alike."""
    task = task_create(owner=alice, data={"title": "ß\u2028🙂", "tags": ["Ä"], "priority": 3})
    change = task_saved(task, "created")
    with transaction.atomic():
        record_changes([change])
        record_changes([change, change])
    own = ("id", "event_id", "time")  # each event's, and each call's moment
    columns = [field.attname for field in Event._meta.concrete_fields if field.attname not in own]
    one, *batch = Event.objects.filter(owner_id=alice.pk).order_by("id").values(*columns)[1:]
    assert batch == [one, one]
    assert one["data"]["task"] == task_json(task, UTC)
    assert Event.objects.filter(owner_id=alice.pk).values("event_id").distinct().count() == 4


def test_a_lists_event_carries_the_list_as_the_api_shows_it_but_its_counts(
    alice: User, alice_client: APIClient
) -> None:
    shown = alice_client.post("/api/lists", {"name": "Work", "color": "#3366ff"}, format="json").json()
    event = Event.objects.get(owner_id=alice.pk, type="list.created")
    assert event.data["list"] == {key: value for key, value in shown.items() if key not in ("task_count", "open_count")}
