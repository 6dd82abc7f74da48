"""POST /api/batch: up to 100 writes in one transaction, all or nothing, with temp ids, If-Match per operation and
one Idempotency-Key for the whole batch."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task, TaskList, TaskTombstone


def batch(client: APIClient, *operations: dict[str, Any], **headers: Any) -> Any:
    return client.post("/api/batch", {"operations": list(operations)}, format="json", **headers)


def test_an_offline_clients_batch_creates_and_links_with_temp_ids_in_one_go(
    alice: User, alice_client: APIClient
) -> None:
    response = batch(
        alice_client,
        {"op": "create", "type": "list", "temp_id": "work", "data": {"name": "Work"}},
        {"op": "create", "type": "task", "temp_id": "t1", "data": {"title": "Plan", "list_id": "work"}},
        {"op": "create", "type": "task", "temp_id": "t2", "data": {"title": "Step", "parent_id": "t1"}},
        {"op": "create", "type": "task", "temp_id": "t3", "data": {"title": "First", "list_id": "work"}},
        {"op": "move", "type": "task", "id": "t3", "data": {"after": None}},
        {"op": "update", "type": "task", "id": "t1", "data": {"priority": "high"}},
        {"op": "complete", "type": "task", "id": "t2"},
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [result["status"] for result in results] == [201, 201, 201, 201, 200, 200, 200]
    assert [result.get("temp_id") for result in results][:4] == ["work", "t1", "t2", "t3"]
    work = TaskList.objects.get(owner=alice, name="Work")
    plan, step = (Task.objects.get(owner=alice, title=title) for title in ("Plan", "Step"))
    assert (plan.task_list_id, plan.priority, step.parent_id, step.completed) == (work.pk, 3, plan.pk, True)
    assert step.task_list_id == work.pk
    order = list(Task.objects.filter(task_list=work, parent=None).order_by("position").values_list("title", flat=True))
    assert order == ["First", "Plan"]
    assert results[1]["body"]["id"] == plan.pk


def test_a_failing_operation_names_its_index_and_code_and_nothing_is_written(
    alice: User, alice_client: APIClient
) -> None:
    kept = alice_client.post("/api/tasks", {"title": "kept"}, format="json").json()
    response = batch(
        alice_client,
        {"op": "create", "type": "task", "data": {"title": "would be made"}},
        {"op": "update", "type": "task", "id": kept["id"], "data": {"title": "changed"}},
        {"op": "update", "type": "task", "id": kept["id"], "data": {"title": ""}},
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["index"], body["code"]) == (2, "invalid")
    assert "title" in body["errors"]
    assert body["detail"].startswith("operations[2]")
    assert list(Task.objects.values_list("title", flat=True)) == ["kept"]


def test_if_match_per_operation_and_another_users_items_fail_the_batch(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    task = alice_client.post("/api/tasks", {"title": "mine"}, format="json")
    etag, pk = task["ETag"], task.json()["id"]
    alice_client.patch(f"/api/tasks/{pk}", {"title": "changed elsewhere"}, format="json")
    stale = batch(alice_client, {"op": "delete", "type": "task", "id": pk, "if_match": etag})
    assert (stale.status_code, stale.json()["code"], stale.json()["index"]) == (412, "precondition_failed", 0)
    assert Task.objects.filter(pk=pk).exists()
    theirs = bob_client.post("/api/tasks", {"title": "bob's"}, format="json").json()
    for operation in (
        {"op": "delete", "type": "task", "id": theirs["id"]},
        {"op": "update", "type": "task", "id": theirs["id"], "data": {"title": "mine now"}},
        {"op": "create", "type": "task", "data": {"title": "under bob's", "parent_id": theirs["id"]}},
    ):
        response = batch(alice_client, {"op": "create", "type": "task", "data": {"title": "x"}}, operation)
        assert response.status_code in (400, 404), operation
        assert response.json()["index"] == 1
    assert Task.objects.get(pk=theirs["id"]).title == "bob's"
    assert not Task.objects.filter(title__in=["x", "under bob's"]).exists()


def test_a_batch_resent_after_a_network_cut_does_nothing_twice(alice: User, alice_client: APIClient) -> None:
    operations = [
        {"op": "create", "type": "list", "temp_id": "l", "data": {"name": "Trip"}},
        {"op": "create", "type": "task", "temp_id": "t", "data": {"title": "Pack", "list_id": "l"}},
    ]
    first = batch(alice_client, *operations, HTTP_IDEMPOTENCY_KEY="sync-42")
    again = batch(alice_client, *operations, HTTP_IDEMPOTENCY_KEY="sync-42")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert TaskList.objects.filter(owner=alice).count() == 1
    assert Task.objects.filter(owner=alice).count() == 1
    other = batch(alice_client, operations[0], HTTP_IDEMPOTENCY_KEY="sync-42")
    assert other.status_code == 422


def test_a_list_deleted_with_its_tasks_in_a_batch_leaves_tombstones(alice: User, alice_client: APIClient) -> None:
    response = batch(
        alice_client,
        {"op": "create", "type": "list", "temp_id": "l", "data": {"name": "Old"}},
        {"op": "create", "type": "task", "temp_id": "t", "data": {"title": "in it", "list_id": "l"}},
        {"op": "delete", "type": "list", "id": "l", "tasks": "delete"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["results"][2]["status"] == 204
    assert not TaskList.objects.exists()
    assert TaskTombstone.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"operations": []},
        {"operations": [{"op": "create", "type": "task", "data": {"title": "x"}}] * 101},
        {"operations": [{"op": "explode", "type": "task"}]},
        {"operations": [{"op": "complete", "type": "list", "id": 1}]},
        {"operations": [{"op": "update", "type": "task"}]},
        {"operations": [{"op": "create", "type": "task", "id": 5, "data": {"title": "x"}}]},
        {"operations": [{"op": "create", "type": "task", "temp_id": "a b", "data": {"title": "x"}}]},
        {
            "operations": [
                {"op": "create", "type": "task", "temp_id": "a"},
                {"op": "create", "type": "task", "temp_id": "a"},
            ]
        },
        {"operations": [{"op": "update", "type": "task", "id": "nobody", "data": {}}]},
        {"operations": [{"op": "update", "type": "task", "id": 1.5, "data": {}}]},
        {"operations": [{"op": "create", "type": "task", "data": {"title": "x", "list_id": "ghost"}}]},
        {"operations": [{"op": "create", "type": "task", "data": "title"}]},
        {"operations": [{"op": "create", "type": "task", "surprise": 1}]},
        {"operations": [{"op": "create", "type": "task", "temp_id": 5, "data": {"title": "x"}}]},
        {"operations": [{"op": "update", "type": "task", "id": 1, "if_match": 5, "data": {}}]},
        {"operations": [{"op": "delete", "type": "task", "id": 1, "data": {"x": 1}}]},
        {"operations": "all of them"},
    ],
)
def test_a_malformed_batch_is_a_400_and_writes_nothing(alice: User, alice_client: APIClient, body: Any) -> None:
    response = alice_client.post("/api/batch", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"]
    assert not Task.objects.exists()
    assert not TaskList.objects.exists()


def test_a_batch_of_100_writes_is_one_transaction(alice: User, alice_client: APIClient) -> None:
    operations = [{"op": "create", "type": "task", "temp_id": f"t{n}", "data": {"title": f"T{n}"}} for n in range(99)]
    operations.append({"op": "update", "type": "task", "id": "t98", "data": {"title": ""}})  # the last one fails
    assert batch(alice_client, *operations).status_code == 400
    assert not Task.objects.exists()
    operations[-1] = {"op": "update", "type": "task", "id": "t98", "data": {"title": "last"}}
    assert batch(alice_client, *operations).status_code == 200
    assert Task.objects.filter(owner=alice).count() == 99


@pytest.mark.parametrize(
    ("operation", "code", "field"),
    [
        ({"op": "upsert", "type": "task", "data": {}}, "invalid", "op"),
        ({"op": "create", "type": "task", "temp_id": "a b", "data": {"title": "x"}}, "invalid", "temp_id"),
        ({"op": "create", "type": "task", "temp_id": 7, "data": {"title": "x"}}, "invalid", "temp_id"),
        ({"op": "delete", "type": "task", "id": 1, "tasks": "delete"}, "invalid", "tasks"),
        ({"op": "delete", "type": "task", "id": 1, "data": {"x": 1}}, "invalid", "data"),
        ({"op": "create", "type": "task", "data": {"title": "x"}, "surprise": 1}, "unknown_field", "surprise"),
    ],
)
def test_an_operation_whose_own_members_are_wrong_is_named_by_its_index_as_any_failed_operation(
    alice: User, alice_client: APIClient, operation: dict[str, Any], code: str, field: str
) -> None:
    good = {"op": "create", "type": "task", "data": {"title": "fine"}}
    for index in (0, 3):
        response = batch(alice_client, *([good] * index), operation, good)
        assert response.status_code == 400, response.content
        body = response.json()
        assert (body["index"], body["code"]) == (index, code)
        assert body["detail"].startswith(f"operations[{index}]: {field}")
        assert field in body["errors"]
    assert not Task.objects.exists()


def test_a_temp_id_named_twice_is_the_fault_of_the_operation_that_names_it_again(
    alice: User, alice_client: APIClient
) -> None:
    make = {"op": "create", "type": "task", "temp_id": "d", "data": {"title": "x"}}
    other = {"op": "create", "type": "task", "data": {"title": "y"}}
    response = batch(alice_client, other, make, other, make)
    assert response.status_code == 400
    body = response.json()
    assert (body["index"], body["code"]) == (3, "invalid")
    assert body["detail"] == "operations[3]: temp_id: A temp_id names one create."
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("made", "used"),
    [
        ({"type": "list", "data": {"name": "L"}}, {"op": "update", "type": "task", "id": "x", "data": {"title": "!"}}),
        ({"type": "list", "data": {"name": "L"}}, {"op": "delete", "type": "task", "id": "x"}),
        (
            {"type": "task", "data": {"title": "T"}},
            {"op": "create", "type": "task", "data": {"title": "in", "list_id": "x"}},
        ),
        (
            {"type": "list", "data": {"name": "L"}},
            {"op": "create", "type": "task", "data": {"title": "in", "parent_id": "x"}},
        ),
        ({"type": "list", "data": {"name": "L"}}, {"op": "move", "type": "task", "id": 0, "data": {"after": "x"}}),
        ({"type": "task", "data": {"title": "T"}}, {"op": "update", "type": "list", "id": "x", "data": {"name": "M"}}),
    ],
)
def test_a_temp_id_used_for_the_other_type_fails_the_batch_and_touches_nothing_that_shares_its_number(
    made: dict[str, Any], used: dict[str, Any], alice: User, alice_client: APIClient
) -> None:
    # Lists and tasks are numbered apart: give the user a task and a list of every number the batch may make.
    for n in range(3):
        alice_client.post("/api/tasks", {"title": f"task {n}"}, format="json")
        alice_client.post("/api/lists", {"name": f"list {n}"}, format="json")
    mine = alice_client.post("/api/tasks", {"title": "mine"}, format="json").json()["id"]
    used = {**used, "id": mine} if used.get("id") == 0 else used
    before = (
        list(Task.objects.values_list("id", "title", "task_list_id", "parent_id", "position").order_by("id")),
        list(TaskList.objects.values_list("id", "name").order_by("id")),
    )
    response = batch(alice_client, {"op": "create", "temp_id": "x", **made}, used)
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["index"], body["code"]) == (1, "invalid")
    assert "names a" in body["detail"]
    after = (
        list(Task.objects.values_list("id", "title", "task_list_id", "parent_id", "position").order_by("id")),
        list(TaskList.objects.values_list("id", "name").order_by("id")),
    )
    assert after == before
