"""Priority, tags, due and reminder dates, recurrence and completed_at on the task JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Priority, Task, TaskTag
from tasks.tests.factories import TaskFactory


def create(client: APIClient, **body: Any) -> Any:
    return client.post("/api/tasks", {"title": "Plan", **body}, format="json")


def test_new_fields_default_sanely_for_core_clients(alice: User, alice_client: APIClient) -> None:
    body = create(alice_client).json()
    assert (body["priority"], body["tags"], body["due_at"], body["remind_at"], body["recurrence"]) == (
        "none",
        [],
        None,
        None,
        None,
    )
    assert body["completed_at"] is None
    task = Task.objects.get()
    assert (task.priority, task.tags, task.recurrence) == (Priority.NONE, [], None)


def test_every_field_is_stored_and_returned(alice: User, alice_client: APIClient) -> None:
    response = create(
        alice_client,
        priority="high",
        tags=["Work", "q3"],
        due_at="2027-03-10T17:00:00+01:00",
        remind_at="2027-03-10T16:00:00+01:00",
        recurrence={"freq": "weekly", "interval": 2, "until": "2027-06-30"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["priority"] == "high"
    assert body["tags"] == ["Work", "q3"]
    assert datetime.fromisoformat(body["due_at"]) == datetime.fromisoformat("2027-03-10T17:00:00+01:00")
    assert body["recurrence"] == {
        "freq": "weekly",
        "interval": 2,
        "until": "2027-06-30",
        "byweekday": None,
        "count": None,
        "basis": "due",
    }
    task = Task.objects.get()
    assert task.priority == Priority.HIGH
    assert task.recurrence["anchor"] == "2027-03-10T17:00:00+01:00"
    assert sorted(TaskTag.objects.filter(task=task).values_list("key", flat=True)) == ["q3", "work"]


def test_tags_are_trimmed_deduplicated_case_insensitively_in_order(alice: User, alice_client: APIClient) -> None:
    body = create(alice_client, tags=["  Home ", "work", "HOME", "Work", "errands"]).json()
    assert body["tags"] == ["Home", "work", "errands"]
    assert TaskTag.objects.count() == 3


def test_replacing_tags_replaces_their_keys(alice: User, alice_client: APIClient) -> None:
    task_id = create(alice_client, tags=["a", "b"]).json()["id"]
    alice_client.patch(f"/api/tasks/{task_id}", {"tags": ["B", "c"]}, format="json")
    assert Task.objects.get(pk=task_id).tags == ["B", "c"]
    assert sorted(TaskTag.objects.values_list("key", "name")) == [("b", "B"), ("c", "c")]


CAFE_COMPOSED, CAFE_DECOMPOSED = "Caf\u00e9", "Cafe\u0301"


def test_a_tag_is_stored_composed_and_its_decomposed_spelling_is_the_same_tag(
    alice: User, alice_client: APIClient
) -> None:
    body = create(alice_client, tags=[CAFE_DECOMPOSED, "CAF\u00c9", "cafe"]).json()
    assert body["tags"] == [CAFE_COMPOSED, "cafe"]
    assert Task.objects.get().tags == [CAFE_COMPOSED, "cafe"]
    assert sorted(TaskTag.objects.values_list("key", "name")) == [("cafe", "cafe"), ("caf\u00e9", CAFE_COMPOSED)]


def test_a_tags_and_a_list_names_limits_count_the_composed_form(alice: User, alice_client: APIClient) -> None:
    decomposed = "e\u0301"
    body = create(alice_client, tags=[decomposed * 50])
    assert body.status_code == 201, body.content
    assert Task.objects.get().tags == ["\u00e9" * 50]
    named = alice_client.post("/api/lists", {"name": decomposed * 100}, format="json")
    assert named.status_code == 201, named.content
    assert named.json()["name"] == "\u00e9" * 100
    assert create(alice_client, tags=[decomposed * 51]).status_code == 400


def test_a_tag_that_grows_past_the_limit_when_composed_is_400(alice: User, alice_client: APIClient) -> None:
    # U+0958 (DEVANAGARI LETTER QA) is excluded from composition: NFC writes it as two characters.
    response = create(alice_client, tags=["\u0958" * 26])
    assert response.status_code == 400
    assert "tags" in response.json()["errors"]
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"priority": 3}, "priority"),
        ({"tags": ["t"] * 21}, "tags"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"tags": "work"}, "tags"),
        ({"due_at": "2027-03-10T17:00:00"}, "due_at"),
        ({"due_at": "next tuesday"}, "due_at"),
        ({"due_at": "2027-03-10T17:00:00Z", "remind_at": "2027-03-10T18:00:00Z"}, "remind_at"),
        ({"recurrence": {"freq": "daily"}}, "recurrence"),
        ({"due_at": "2027-03-10T17:00:00Z", "recurrence": {"freq": "hourly"}}, "recurrence"),
        ({"due_at": "2027-03-10T17:00:00Z", "recurrence": {"freq": "daily", "interval": 0}}, "recurrence"),
        ({"due_at": "2027-03-10T17:00:00Z", "recurrence": {"freq": "daily", "interval": 366}}, "recurrence"),
        ({"due_at": "2027-03-10T17:00:00Z", "recurrence": {"freq": "daily", "until": "soon"}}, "recurrence"),
    ],
)
def test_invalid_planning_fields_are_400_and_nothing_is_stored(
    body: dict[str, Any], field: str, alice: User, alice_client: APIClient
) -> None:
    response = create(alice_client, **body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Task.objects.exists()


def test_patch_cannot_leave_a_recurring_task_without_a_due_date(alice: User, alice_client: APIClient) -> None:
    task_id = create(alice_client, due_at="2027-03-10T17:00:00Z", recurrence={"freq": "daily"}).json()["id"]
    response = alice_client.patch(f"/api/tasks/{task_id}", {"due_at": None}, format="json")
    assert response.status_code == 400
    assert Task.objects.get(pk=task_id).due_at is not None


def test_patch_remind_at_after_the_stored_due_date_is_400(alice: User, alice_client: APIClient) -> None:
    task_id = create(alice_client, due_at="2027-03-10T17:00:00Z").json()["id"]
    response = alice_client.patch(f"/api/tasks/{task_id}", {"remind_at": "2027-03-11T09:00:00Z"}, format="json")
    assert response.status_code == 400
    assert Task.objects.get(pk=task_id).remind_at is None


def test_completed_at_is_set_on_completion_and_cleared_on_reopening(alice: User, alice_client: APIClient) -> None:
    task = TaskFactory(owner=alice)
    done = alice_client.patch(f"/api/tasks/{task.pk}/complete").json()
    assert done["completed_at"] is not None
    assert Task.objects.get(pk=task.pk).completed_at is not None
    reopened = alice_client.patch(f"/api/tasks/{task.pk}", {"completed": False}, format="json").json()
    assert reopened["completed_at"] is None
    assert Task.objects.get(pk=task.pk).completed_at is None


def test_put_from_a_core_client_keeps_the_planning_fields(alice: User, alice_client: APIClient) -> None:
    task_id = create(alice_client, priority="low", tags=["x"], due_at="2027-03-10T17:00:00Z").json()["id"]
    response = alice_client.put(f"/api/tasks/{task_id}", {"title": "Renamed", "completed": False}, format="json")
    assert response.status_code == 200
    task = Task.objects.get(pk=task_id)
    assert (task.title, task.priority, task.tags) == ("Renamed", Priority.LOW, ["x"])
    assert task.due_at is not None


def test_completed_at_is_read_only(alice: User, alice_client: APIClient) -> None:
    create(alice_client, completed_at="2001-01-01T00:00:00Z")
    assert Task.objects.get().completed_at is None


@pytest.mark.parametrize("tag", ["ß" * 50, "ﬃ" * 20])
def test_tag_whose_case_folded_key_is_too_long_is_400(tag: str, alice: User, alice_client: APIClient) -> None:
    response = create(alice_client, tags=[tag])
    assert response.status_code == 400
    assert "tags" in response.json()["errors"]
    assert not Task.objects.exists()


def test_write_checked_against_a_row_that_changed_meanwhile_is_a_conflict(alice: User) -> None:
    from datetime import UTC

    from tasks.services import TaskConflict, task_update

    task = TaskFactory(owner=alice, due_at=datetime(2030, 1, 1, tzinfo=UTC))
    read_by_the_view = Task.objects.get(pk=task.pk)
    Task.objects.filter(pk=task.pk).update(due_at=None)  # a concurrent PATCH {"due_at": null} commits first
    # The service joins the caller's transaction without a savepoint: a caller that goes on after a failure
    # (as this test does) takes its own.
    with pytest.raises(TaskConflict), transaction.atomic():
        task_update(task=read_by_the_view, data={"recurrence": {"freq": "daily", "interval": 1, "until": None}})
    stored = Task.objects.get(pk=task.pk)
    assert (stored.due_at, stored.recurrence, stored.version) == (None, None, 1)


def test_the_fast_representation_matches_drfs_field_by_field_output(alice: User, alice_client: APIClient) -> None:
    from rest_framework import serializers

    from tasks.serializers import TaskSerializer

    create(alice_client)
    create(
        alice_client,
        priority="medium",
        tags=["Ünïcode", "b"],
        due_at="2027-01-31T23:00:00-05:00",
        remind_at="2027-01-31T20:30:00-05:00",
        recurrence={"freq": "monthly", "interval": 2, "until": "2027-12-31"},
        completed=True,
    )
    for task in Task.objects.select_related("owner"):
        serializer = TaskSerializer(task)
        assert serializer.data == serializers.ModelSerializer.to_representation(serializer, task)
