"""`update_rows` writes what Django's `bulk_update` writes, in one statement on PostgreSQL however many rows; and
bulk statements stay within PostgreSQL's 65 535 parameters a statement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from authn.models import User
from events.models import Event
from evotodo.queries import update_rows
from tasks.models import Task, TaskList

FIELDS = ["task_list", "parent", "position", "title", "completed_at", "tags", "version", "change_seq", "updated_at"]


def columns(ids: list[int]) -> list[tuple[Any, ...]]:
    names = [Task._meta.get_field(name).attname for name in FIELDS]
    return list(Task.objects.filter(pk__in=ids).order_by("id").values_list(*names))


def changed(rows: list[Task], work: TaskList, parent: Task) -> list[Task]:
    """Each row given other values, edges included: nulls and values, unicode, a year-1 instant, JSON."""
    for n, row in enumerate(rows):
        row.task_list = work if n % 2 else None
        row.parent = parent if n % 3 == 1 else None
        row.position = f"b{n:04d}"
        row.title = "ß\u2028🙂 'quoted' %s" + str(n)
        row.completed_at = datetime(1, 1, 1, tzinfo=UTC) if n % 4 == 0 else None
        row.tags = ["x", n] if n % 2 else []
        row.version += 1
        row.change_seq = 10_000 + n
        row.updated_at = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    return rows


def test_update_rows_writes_what_bulk_update_writes(alice: User) -> None:
    work = TaskList.objects.create(owner=alice, name="W", name_key="w", position="a0")
    parent = Task.objects.create(owner=alice, title="parent")
    made = Task.objects.bulk_create([Task(owner=alice, title=f"t{n}", position=f"a{n:04d}") for n in range(24)])
    ours, djangos = [row.pk for row in made[:12]], [row.pk for row in made[12:]]
    update_rows(Task, changed(list(Task.objects.filter(pk__in=ours).order_by("id")), work, parent), FIELDS)
    Task.objects.bulk_update(changed(list(Task.objects.filter(pk__in=djangos).order_by("id")), work, parent), FIELDS)
    assert columns(ours) == columns(djangos)
    assert columns(ours)[1][:3] == (work.pk, parent.pk, "b0001")  # the values, not only equal ones


def test_update_rows_changes_only_the_rows_and_columns_given(alice: User) -> None:
    made = Task.objects.bulk_create([Task(owner=alice, title=f"t{n}", description="kept") for n in range(3)])
    first = Task.objects.get(pk=made[0].pk)
    first.title, first.description = "new", "not written"
    update_rows(Task, [first], ["title"])
    assert list(Task.objects.order_by("id").values_list("title", "description")) == [
        ("new", "kept"),
        ("t1", "kept"),
        ("t2", "kept"),
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement is PostgreSQL's way (unnest)")
def test_update_rows_is_one_statement_for_thousands_of_rows(alice: User) -> None:
    made = Task.objects.bulk_create([Task(owner=alice, title=f"t{n}") for n in range(20_000)], batch_size=5000)
    for row in made:
        row.position = f"c{row.pk}"
    with CaptureQueriesContext(connection) as queries:
        update_rows(Task, made, ["position", "change_seq"])
    assert len(queries) == 1
    assert Task.objects.filter(position__startswith="c").count() == 20_000


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's limit of parameters a statement")
def test_bulk_inserts_and_reads_are_split_to_stay_within_a_statements_parameters(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evotodo.postgresql import base

    # A limit of 40 parameters: 8 columns an event, so 5 events a statement.
    monkeypatch.setattr(base, "MAX_PARAMETERS", 40)
    monkeypatch.setattr(connection.features, "max_query_params", 40)
    events = [Event(owner_id=alice.pk, type="task.created", subject=f"tasks/{n}", data={"n": n}) for n in range(23)]
    with CaptureQueriesContext(connection) as queries:
        Event.objects.bulk_create(events)
    assert len(queries) == 5  # 23 events, 5 a statement
    assert sorted(Event.objects.values_list("data__n", flat=True)) == list(range(23))
    ids = list(Event.objects.values_list("id", flat=True))
    with CaptureQueriesContext(connection) as queries:
        found = Event.objects.in_bulk(ids)
    assert len(queries) == 1  # in_bulk batches at 40: 23 ids in one
    assert set(found) == set(ids)
    more = [Event(owner_id=alice.pk, type="task.created", subject="tasks/x", data={}) for _ in range(30)]
    Event.objects.bulk_create(more)
    ids = list(Event.objects.values_list("id", flat=True))
    with CaptureQueriesContext(connection) as queries:
        found = Event.objects.in_bulk(ids)
    assert len(found) == 53
    assert len(queries) == 2  # 53 ids: 40, then 13
