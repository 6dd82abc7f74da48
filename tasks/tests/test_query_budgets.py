"""What each hot endpoint asks of the database, statement by statement: a budget that a change must not
exceed unnoticed (the issue's round trips: create, complete), and the fast paths' output equals the general one."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task, TaskTag
from tasks.serializers import TaskSerializer
from tasks.tests.factories import TaskFactory

TRANSACTION_CONTROL = {"SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"}


def sql(queries: CaptureQueriesContext) -> list[str]:
    """The statements, transaction control left out: the request's one transaction is a savepoint inside the
    test's, and BEGIN/COMMIT in production (counted by `transactions`)."""
    captured = [query["sql"] for query in queries.captured_queries]
    return [text for text in captured if text.split(None, 1)[0].upper() not in TRANSACTION_CONTROL]


def statements(queries: CaptureQueriesContext) -> list[str]:
    """Each statement as `VERB table`."""
    found = []
    for text in sql(queries):
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', text)
        found.append(f"{text.split(None, 1)[0].upper()} {table.group(1) if table else '?'}")
    return found


def new_task() -> list[str]:
    """A plain new task's statements: its change number and its row, in one statement where the database can."""
    if connection.vendor == "postgresql":
        return ["WITH tasks_syncstate"]
    return ["INSERT tasks_syncstate", "INSERT tasks_task"]


def locked_row() -> list[str]:
    """A write's change number and its task's row under lock, in one statement where the database can."""
    if connection.vendor == "postgresql":
        return ["WITH tasks_syncstate"]
    return ["INSERT tasks_syncstate", "SELECT tasks_task"]


def transactions(queries: CaptureQueriesContext) -> int:
    return sum(query["sql"].upper().startswith("SAVEPOINT") for query in queries.captured_queries)


@pytest.fixture
def warm_client(alice: User, alice_client: APIClient) -> APIClient:
    """Alice's client after one request, so her token and user are cached as on a running server."""
    assert alice_client.get("/api/me").status_code == 200
    return alice_client


@pytest.fixture
def alices_task(alice: User) -> Task:
    return TaskFactory(owner=alice, tags=["Work"])


def test_the_list_is_one_select(alice: User, warm_client: APIClient) -> None:
    TaskFactory.create_batch(3, owner=alice)
    with CaptureQueriesContext(connection) as queries:
        response = warm_client.get("/api/tasks?limit=50")
    assert response.status_code == 200
    assert len(response.json()) == 3
    assert statements(queries) == ["SELECT tasks_task"]
    assert transactions(queries) == 0


def test_retrieve_is_one_select(alices_task: Task, warm_client: APIClient) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = warm_client.get(f"/api/tasks/{alices_task.pk}")
    assert response.json()["id"] == alices_task.pk
    assert statements(queries) == ["SELECT tasks_task"]


def test_create_claims_a_change_number_and_inserts_the_task_in_one_transaction(
    alice: User, warm_client: APIClient
) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = warm_client.post("/api/tasks", {"title": "New", "priority": "low"}, format="json")
    assert response.status_code == 201
    # No DELETE of tag rows that a new task cannot have, no savepoint of its own. Its change number is taken in
    # its INSERT's own statement on PostgreSQL. Its event goes in the same transaction (events.outbox).
    assert statements(queries) == [*new_task(), "INSERT events_event"]
    if connection.vendor == "postgresql":
        assert 'INSERT INTO "tasks_task"' in sql(queries)[0]
    assert transactions(queries) == 1
    assert Task.objects.get(owner=alice).title == "New"


def test_create_with_tags_inserts_them_in_one_statement(alice: User, warm_client: APIClient) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = warm_client.post("/api/tasks", {"title": "New", "tags": ["a", "B"]}, format="json")
    assert response.status_code == 201
    assert statements(queries) == [*new_task(), "INSERT tasks_tasktag", "INSERT events_event"]
    assert sorted(TaskTag.objects.filter(task_id=response.json()["id"]).values_list("key", flat=True)) == ["a", "b"]


def test_complete_locks_the_row_and_updates_only_what_completing_changes(
    alices_task: Task, warm_client: APIClient
) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = warm_client.patch(f"/api/tasks/{alices_task.pk}/complete")
    assert response.status_code == 200
    # The change number first, then the row under lock (no read before it), then one UPDATE and no re-read; its
    # event last. On PostgreSQL the number is taken in the lock's statement and the event written in the UPDATE's.
    if connection.vendor == "postgresql":
        assert statements(queries) == [*locked_row(), "WITH events_event"]
        select, update = sql(queries)
        assert select.endswith('FOR UPDATE OF "tasks_task"')
        update = 'UPDATE "tasks_task"' + update.split(') UPDATE "tasks_task"', 1)[1]
    else:
        assert statements(queries) == [*locked_row(), "UPDATE tasks_task", "INSERT events_event"]
        select, update = sql(queries)[1:3]
    assert transactions(queries) == 1
    assert re.findall(r'"(\w+)" = ', update.split(" WHERE ")[0]) == [
        "completed",
        "completed_at",
        "next_occurrence_id",
        "version",
        "change_seq",
        "updated_at",
    ]
    alices_task.refresh_from_db()
    assert alices_task.completed
    assert response["ETag"] == alices_task.etag == f'"{alices_task.pk}-2"'
    assert response.json()["updated_at"] == TaskSerializer(alices_task).data["updated_at"]


def test_complete_of_another_users_task_is_a_404_that_leaves_nothing(
    alices_task: Task, bob: User, client_for: Any
) -> None:
    response = client_for(bob).patch(f"/api/tasks/{alices_task.pk}/complete")
    assert response.status_code == 404
    alices_task.refresh_from_db()
    assert (alices_task.completed, alices_task.version) == (False, 1)
    from tasks.models import SyncState

    assert not SyncState.objects.filter(owner=bob).exists()  # the change number claimed was rolled back


def test_delete_locks_the_row_and_leaves_a_tombstone(alices_task: Task, warm_client: APIClient) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = warm_client.delete(f"/api/tasks/{alices_task.pk}")
    assert response.status_code == 204
    # The change number and the lock (one statement on PostgreSQL), the subtasks (none), the tombstone; then the
    # delete itself.
    assert statements(queries)[: len(locked_row()) + 2] == [
        *locked_row(),
        "SELECT tasks_task",
        "INSERT tasks_tasktombstone",
    ]
    assert statements(queries)[-1] == "DELETE tasks_task"
    assert "INSERT events_event" in statements(queries)
    assert len(statements(queries)) <= 10
    assert not Task.objects.filter(pk=alices_task.pk).exists()


def test_the_lists_page_equals_each_task_serialized_alone_in_any_time_zone(alice: User, warm_client: APIClient) -> None:
    """The list looks the time zone up once per page; each task, serialized alone, must read the same."""
    warm_client.post(
        "/api/tasks",
        {
            "title": "Ünïcode ✓",
            "tags": ["Été"],
            "due_at": "2027-01-31T23:00:00.5-05:00",
            "remind_at": "2027-01-31T20:30:00+00:00",
            "recurrence": {"freq": "monthly"},
        },
        format="json",
    )
    warm_client.post("/api/tasks", {"title": "plain"}, format="json")
    for zone in ("UTC", "Asia/Kolkata"):
        with timezone.override(zone):
            listed = warm_client.get("/api/tasks").json()
            alone = [TaskSerializer(task).data for task in Task.objects.filter(owner=alice).select_related("owner")]
        assert listed == alone


@pytest.mark.parametrize("query", ["list={list_id}", "list={list_id}&sort=position", "list=inbox", "parent=none"])
def test_one_lists_first_page_of_a_user_with_50_lists_and_10000_tasks_is_one_select(
    alice: User, warm_client: APIClient, query: str
) -> None:
    from tasks.models import TaskList

    lists = TaskList.objects.bulk_create(
        TaskList(owner=alice, name=f"List {n}", name_key=f"list {n}", position=f"a{n:02d}") for n in range(50)
    )
    Task.objects.bulk_create(
        (Task(owner=alice, title=f"Task {n}", task_list=lists[n % 51] if n % 51 < 50 else None) for n in range(10_000)),
        batch_size=2000,
    )
    assert warm_client.get("/api/me").status_code == 200  # seeding took longer than the user stays cached
    with CaptureQueriesContext(connection) as queries:
        response = warm_client.get(f"/api/tasks?limit=50&{query.format(list_id=lists[7].pk)}")
    assert response.status_code == 200
    assert len(response.json()) == 50
    assert statements(queries) == ["SELECT tasks_task"]


def test_no_index_holds_the_owner_alone_every_task_index_leads_with_it(db: Any) -> None:
    """An index of the owner alone costs every write and, with stale statistics, made PostgreSQL read all of a
    user's tasks and sort them for a page of 50 (1.4 ms against 0.09 through the created index)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Task._meta.db_table)
    indexes = [c["columns"] for c in constraints.values() if c["index"] and not c["primary_key"] and not c["unique"]]
    assert ["owner_id"] not in indexes
    assert ["owner_id", "created_at", "id"] in indexes
