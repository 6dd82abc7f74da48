"""Subtasks: `parent_id`, at most three levels, no cycles (under concurrency too), in the parent's list; deleting a
parent deletes its subtasks with tombstones; a recurring parent's next occurrence copies them, reopened."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task, TaskTombstone


def create(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/tasks", {"title": "a task", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def patch(client: APIClient, task: dict[str, Any], **body: Any) -> Any:
    return client.patch(f"/api/tasks/{task['id']}", body, format="json")


def tree(client: APIClient) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A task, its subtask, and that one's subtask: three levels, the most there can be."""
    top = create(client, title="top")
    middle = create(client, title="middle", parent_id=top["id"])
    bottom = create(client, title="bottom", parent_id=middle["id"])
    return top, middle, bottom


def test_a_subtask_is_created_under_its_parent_in_the_parents_list(alice: User, alice_client: APIClient) -> None:
    work = alice_client.post("/api/lists", {"name": "Work"}, format="json").json()
    parent = create(alice_client, list_id=work["id"])
    child = create(alice_client, parent_id=parent["id"])
    assert (child["parent_id"], child["list_id"]) == (parent["id"], work["id"])
    stored = Task.objects.get(pk=child["id"])
    assert (stored.parent_id, stored.task_list_id) == (parent["id"], work["id"])
    subtasks = alice_client.get(f"/api/tasks/{parent['id']}/subtasks")
    assert [task["id"] for task in subtasks.json()] == [child["id"]]
    assert [task["id"] for task in alice_client.get("/api/tasks?parent=none").json()] == [parent["id"]]
    assert [task["id"] for task in alice_client.get(f"/api/tasks?parent={parent['id']}").json()] == [child["id"]]
    assert alice_client.get("/api/tasks?parent=top").status_code == 400


def test_a_subtask_in_another_list_than_its_parents_is_refused(alice: User, alice_client: APIClient) -> None:
    work = alice_client.post("/api/lists", {"name": "Work"}, format="json").json()
    parent = create(alice_client)
    response = alice_client.post(
        "/api/tasks", {"title": "t", "parent_id": parent["id"], "list_id": work["id"]}, format="json"
    )
    assert response.status_code == 400
    assert "list_id" in response.json()["errors"]
    assert Task.objects.count() == 1


def test_another_users_task_is_no_parent_and_its_subtasks_are_a_404(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    theirs = create(bob_client)
    missing = theirs["id"] + 1000
    under_theirs = alice_client.post("/api/tasks", {"title": "t", "parent_id": theirs["id"]}, format="json")
    under_nothing = alice_client.post("/api/tasks", {"title": "t", "parent_id": missing}, format="json")
    assert under_theirs.status_code == under_nothing.status_code == 400
    assert under_theirs.json() == under_nothing.json()
    assert alice_client.get(f"/api/tasks/{theirs['id']}/subtasks").status_code == 404
    assert not Task.objects.filter(parent_id=theirs["id"]).exists()


def test_subtasks_nest_three_levels_deep_and_no_deeper(alice: User, alice_client: APIClient) -> None:
    top, middle, bottom = tree(alice_client)
    response = alice_client.post("/api/tasks", {"title": "too deep", "parent_id": bottom["id"]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "too_deep"
    # Moving a two-level subtree under a subtask would make four levels too.
    other = create(alice_client, title="other")
    create(alice_client, title="under other", parent_id=other["id"])
    moved = patch(alice_client, other, parent_id=middle["id"])
    assert moved.json()["code"] == "too_deep"
    assert Task.objects.get(pk=other["id"]).parent_id is None
    assert patch(alice_client, other, parent_id=top["id"]).status_code == 200  # three levels: fine


def test_a_task_cannot_go_under_itself_or_its_descendants(alice: User, alice_client: APIClient) -> None:
    top, middle, bottom = tree(alice_client)
    for new_parent in (top, middle, bottom):
        response = patch(alice_client, top, parent_id=new_parent["id"])
        assert response.status_code == 400
        assert response.json()["code"] == "cycle"
    assert Task.objects.get(pk=top["id"]).parent_id is None
    assert Task.objects.get(pk=top["id"]).version == 1


def test_a_task_moved_to_another_list_takes_its_subtasks_and_a_subtask_moved_alone_leaves_its_parent(
    alice: User, alice_client: APIClient
) -> None:
    work = alice_client.post("/api/lists", {"name": "Work"}, format="json").json()
    top, middle, bottom = tree(alice_client)
    token = alice_client.get("/api/sync").json()["next_token"]
    assert patch(alice_client, top, list_id=work["id"]).status_code == 200
    assert {task.task_list_id for task in Task.objects.all()} == {work["id"]}
    changed = alice_client.get("/api/sync", {"token": token}).json()["changes"]
    assert sorted(change["task"]["id"] for change in changed) == sorted([top["id"], middle["id"], bottom["id"]])
    alone = patch(alice_client, bottom, list_id=None).json()
    assert (alone["parent_id"], alone["list_id"]) == (None, None)
    assert Task.objects.get(pk=middle["id"]).task_list_id == work["id"]
    back = patch(alice_client, bottom, parent_id=top["id"]).json()  # under a parent: into its list
    assert (back["parent_id"], back["list_id"]) == (top["id"], work["id"])
    top_level = patch(alice_client, back, parent_id=None).json()
    assert (top_level["parent_id"], top_level["list_id"]) == (None, work["id"])


def test_deleting_a_task_deletes_its_subtasks_each_with_a_tombstone(alice: User, alice_client: APIClient) -> None:
    top, middle, bottom = tree(alice_client)
    kept = create(alice_client, title="kept")
    token = alice_client.get("/api/sync").json()["next_token"]
    assert alice_client.delete(f"/api/tasks/{top['id']}").status_code == 204
    assert list(Task.objects.values_list("id", flat=True)) == [kept["id"]]
    assert set(TaskTombstone.objects.values_list("task_id", flat=True)) == {top["id"], middle["id"], bottom["id"]}
    changes = alice_client.get("/api/sync", {"token": token}).json()["changes"]
    assert [(change["type"], change["id"]) for change in changes] == [
        ("task_deleted", bottom["id"]),
        ("task_deleted", middle["id"]),
        ("task_deleted", top["id"]),
    ]


def test_deleting_a_list_with_its_tasks_numbers_their_tombstones_deepest_first_as_a_task_delete_does(
    alice: User, alice_client: APIClient
) -> None:
    work = alice_client.post("/api/lists", {"name": "Work"}, format="json").json()
    lone = create(alice_client, title="lone", list_id=work["id"])
    top = create(alice_client, title="top", list_id=work["id"])
    middle = create(alice_client, title="middle", parent_id=top["id"])
    bottom = create(alice_client, title="bottom", parent_id=middle["id"])
    other = create(alice_client, title="other", parent_id=top["id"])
    token = alice_client.get("/api/sync").json()["next_token"]
    assert alice_client.delete(f"/api/lists/{work['id']}?tasks=delete").status_code == 204
    changes = alice_client.get("/api/sync", {"token": token}).json()["changes"]
    assert [(change["type"], change["id"]) for change in changes] == [
        ("task_deleted", bottom["id"]),
        ("task_deleted", middle["id"]),
        ("task_deleted", other["id"]),
        ("task_deleted", lone["id"]),
        ("task_deleted", top["id"]),
        ("list_deleted", work["id"]),
    ]
    numbers = dict(TaskTombstone.objects.values_list("task_id", "change_seq"))
    assert numbers[bottom["id"]] < numbers[middle["id"]] < numbers[top["id"]]
    assert not Task.objects.exists()


def test_completing_a_parent_leaves_its_subtasks_as_they_are(alice: User, alice_client: APIClient) -> None:
    top, middle, _ = tree(alice_client)
    response = alice_client.patch(f"/api/tasks/{top['id']}/complete")
    assert response.json()["completed"] is True
    assert not Task.objects.get(pk=middle["id"]).completed


def test_a_recurring_tasks_next_occurrence_copies_its_subtasks_reopened(alice: User, alice_client: APIClient) -> None:
    work = alice_client.post("/api/lists", {"name": "Work"}, format="json").json()
    due = "2027-03-01T09:00:00+01:00"
    parent = create(alice_client, title="weekly review", due_at=due, recurrence={"freq": "weekly"}, list_id=work["id"])
    first = create(alice_client, title="inbox zero", parent_id=parent["id"], due_at="2027-03-01T08:00:00+01:00")
    second = create(alice_client, title="plan", parent_id=parent["id"], tags=["Focus"])
    create(alice_client, title="calendar", parent_id=second["id"])
    alice_client.patch(f"/api/tasks/{first['id']}/complete")
    following = alice_client.patch(f"/api/tasks/{parent['id']}/complete").json()["next"]
    assert following["list_id"] == work["id"]
    copies = alice_client.get(f"/api/tasks/{following['id']}/subtasks").json()
    assert [(c["title"], c["completed"], c["list_id"]) for c in copies] == [
        ("inbox zero", False, work["id"]),
        ("plan", False, work["id"]),
    ]
    assert copies[0]["due_at"] == "2027-03-08T07:00:00Z"  # moved a week, as its parent
    assert copies[1]["tags"] == ["Focus"]
    grandchildren = alice_client.get(f"/api/tasks/{copies[1]['id']}/subtasks").json()
    assert [c["title"] for c in grandchildren] == ["calendar"]
    # The originals are untouched.
    assert Task.objects.get(pk=first["id"]).completed
    assert Task.objects.filter(parent_id=parent["id"]).count() == 2


def test_a_recurring_subtasks_copies_have_no_rule_so_completing_them_repeats_nothing(
    alice: User, alice_client: APIClient
) -> None:
    parent = create(alice_client, title="P", due_at="2026-05-10T12:00:00Z", recurrence={"freq": "weekly"})
    subtask = create(
        alice_client,
        title="S",
        parent_id=parent["id"],
        due_at="2026-05-01T12:00:00Z",
        recurrence={"freq": "daily", "count": 3},
    )
    while subtask is not None:  # its three occurrences, all done
        subtask = alice_client.patch(f"/api/tasks/{subtask['id']}/complete").json()["next"]
    following = alice_client.patch(f"/api/tasks/{parent['id']}/complete").json()["next"]
    copies = alice_client.get(f"/api/tasks/{following['id']}/subtasks").json()
    assert [(c["due_at"], c["completed"], c["recurrence"]) for c in copies] == [
        ("2026-05-08T12:00:00Z", False, None),
        ("2026-05-09T12:00:00Z", False, None),
        ("2026-05-10T12:00:00Z", False, None),
    ]
    for copy in copies:
        assert alice_client.patch(f"/api/tasks/{copy['id']}/complete").json()["next"] is None
    assert Task.objects.filter(parent_id=following["id"]).count() == 3


def test_a_subtask_copied_past_year_9999_has_no_due_date_and_no_reminder(alice: User, alice_client: APIClient) -> None:
    parent = create(alice_client, title="P", due_at="9998-06-01T00:00:00Z", recurrence={"freq": "yearly"})
    create(
        alice_client,
        title="S",
        parent_id=parent["id"],
        due_at="9999-03-01T00:00:00Z",
        remind_at="9998-12-01T00:00:00Z",
    )
    undated = create(alice_client, title="U", parent_id=parent["id"], remind_at="9998-07-01T00:00:00Z")
    following = alice_client.patch(f"/api/tasks/{parent['id']}/complete").json()["next"]
    copies = {c["title"]: c for c in alice_client.get(f"/api/tasks/{following['id']}/subtasks").json()}
    assert (copies["S"]["due_at"], copies["S"]["remind_at"]) == (None, None)
    assert Task.objects.get(pk=copies["S"]["id"]).remind_at is None
    # A reminder of a subtask without a due date moves with its parent.
    assert (copies["U"]["due_at"], copies["U"]["remind_at"]) == (None, "9999-07-01T00:00:00Z")
    assert undated["remind_at"] == "9998-07-01T00:00:00Z"


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_never_make_a_cycle(alice: User, client_for: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent transactions; SQLite serialises writers on one file")
    from conftest import run_concurrently

    for _ in range(5):
        a, b = create(client_for(alice), title="a"), create(client_for(alice), title="b")
        moves = iter([(a, b), (b, a)])

        def move(moves: Any = moves) -> int:
            task, parent = next(moves)
            return patch(client_for(alice), task, parent_id=parent["id"]).status_code

        statuses = run_concurrently(move, 2)
        assert sorted(statuses) == [200, 400]
        parents = dict(Task.objects.filter(pk__in=[a["id"], b["id"]]).values_list("id", "parent_id"))
        assert None in parents.values()  # one of them stayed at the top: no cycle
