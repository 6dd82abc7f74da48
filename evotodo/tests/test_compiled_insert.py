"""A compiled INSERT writes the row Django's `save()` writes, and leaves the instance as `save()` does."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext

from authn.models import User
from events.models import Event
from evotodo.queries import CompiledInsert
from tasks.models import SyncState, Task, TaskList

# Set by the database or by pre_save at the moment of saving: compared apart.
OWN_VALUES = {"id", "updated_at", "event_id"}


def row(instance: Any) -> dict[str, Any]:
    """The instance's row as the database holds it, read back, without what differs between two saves."""
    model = type(instance)
    columns = [field.attname for field in model._meta.concrete_fields if field.attname not in OWN_VALUES]
    return model.objects.filter(pk=instance.pk).values(*columns).get()


def edge_tasks(alice: User) -> list[Callable[[], Task]]:
    """Tasks as new, unsaved instances: defaults only; every field at an extreme; nulls and empties."""
    return [
        lambda: Task(owner=alice, title="x", change_seq=1),
        lambda: Task(
            owner=alice,
            title="ß\u2028🙂" + "t" * 197,
            description="d" * 1000,
            completed=True,
            completed_at=datetime(1, 1, 1, tzinfo=UTC),
            priority=3,
            tags=["Ä", "b" * 50, '"quoted", \\ back'],
            due_at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            remind_at=datetime(1, 1, 1, 0, 0, tzinfo=UTC),
            recurrence={"freq": "yearly", "interval": 365, "until": "9999-12-31", "anchor": "9999-12-31T10:00-13:59"},
            position="zzzzzzzz",
            version=7,
            change_seq=2**62,
            created_at=datetime(2027, 3, 28, 1, 30, 0, 500, tzinfo=UTC),
        ),
        lambda: Task(owner=alice, title="no rule", recurrence=None, tags=[], description="", change_seq=3),
    ]


@pytest.mark.django_db
def test_a_task_is_inserted_as_save_inserts_it(alice: User) -> None:
    insert = CompiledInsert(Task)
    for make in edge_tasks(alice):
        saved, compiled = make(), make()
        saved.position, saved.created_at = compiled.position, compiled.created_at  # defaults made per instance
        saved.save()
        with CaptureQueriesContext(connection) as queries:
            insert.insert(compiled)
        assert len(queries.captured_queries) == 1
        assert compiled.pk is not None
        assert compiled.pk != saved.pk
        assert row(compiled) == row(saved)
        # The instance as save() leaves it: its id, its pre_save values (updated_at), its state.
        stored = Task.objects.get(pk=compiled.pk)
        assert compiled.updated_at == stored.updated_at
        assert (compiled._state.adding, compiled._state.db) == (False, "default")
        assert {name: getattr(compiled, name) for name in row(compiled)} == {
            name: getattr(stored, name) for name in row(compiled)
        }


@pytest.mark.django_db
def test_an_event_is_inserted_as_save_inserts_it(alice: User) -> None:
    now = datetime(2027, 1, 1, 12, 0, 0, 1, tzinfo=UTC)
    data = {"user_id": "a", "change": 1, "task": {"id": 1, "title": "ß\u2028🙂", "tags": [], "due_at": None}}
    saved = Event(owner_id=alice.pk, type="task.created", subject="tasks/1", time=now, data=data)
    compiled = Event(owner_id=alice.pk, type="task.created", subject="tasks/1", time=now, data=data)
    saved.save()
    CompiledInsert(Event).insert(compiled)
    assert row(compiled) == row(saved)
    assert Event.objects.get(pk=compiled.pk).event_id == compiled.event_id


@pytest.mark.django_db
def test_a_model_somebody_listens_to_is_saved_by_django(alice: User) -> None:
    heard: list[str] = []

    def listener(sender: Any, instance: Task, **kwargs: Any) -> None:
        heard.append("pre" if kwargs["signal"] is pre_save else "post")

    pre_save.connect(listener, sender=Task)
    post_save.connect(listener, sender=Task)
    try:
        task = Task(owner=alice, title="heard")
        CompiledInsert(Task).insert(task)
    finally:
        pre_save.disconnect(listener, sender=Task)
        post_save.disconnect(listener, sender=Task)
    assert heard == ["pre", "post"]
    assert Task.objects.get(pk=task.pk).title == "heard"


@pytest.mark.django_db
def test_a_failed_insert_marks_the_transaction_for_rollback(alice: User) -> None:
    taken = uuid.uuid4()
    Event.objects.create(owner_id=alice.pk, type="t", subject="s", data={}, event_id=taken)
    marked = []

    def insert_in_a_transaction() -> None:
        with transaction.atomic():
            try:
                CompiledInsert(Event).insert(Event(owner_id=alice.pk, type="t", subject="s", data={}, event_id=taken))
            finally:
                marked.append(connection.needs_rollback)

    with pytest.raises(IntegrityError):
        insert_in_a_transaction()
    assert marked == [True]
    assert Event.objects.filter(event_id=taken).count() == 1


@pytest.mark.django_db
def test_a_model_with_a_save_of_its_own_is_refused(alice: User) -> None:
    with pytest.raises(ValueError, match=r"CompiledInsert does not take tasks\.TaskList"):
        CompiledInsert(TaskList).insert(TaskList(owner=alice, name="Work"))


def counter(owner: User) -> int:
    return SyncState.objects.get(owner=owner).seq


@pytest.mark.django_db
def test_a_claimed_number_is_the_counters_next_in_the_inserts_own_statement_where_it_can(alice: User) -> None:
    from tasks.sync import CHANGE_SEQ_CLAIM, claim_change_seq

    insert = CompiledInsert(Task, claimed=CHANGE_SEQ_CLAIM)
    numbers = []
    for make in edge_tasks(alice):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            task = make()
            insert.insert(task, claim=[alice.pk])
        statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        assert len(statements) == (1 if connection.vendor == "postgresql" else 2)
        stored = Task.objects.get(pk=task.pk)
        assert (task.change_seq, task._state.adding) == (stored.change_seq, False)
        assert task.change_seq == counter(alice)
        numbers.append(task.change_seq)
        numbers.append(claim_change_seq(alice.pk))  # the other way of taking one, between
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.django_db
def test_a_claimed_insert_writes_the_row_an_insert_after_a_claim_writes(alice: User) -> None:
    from tasks.sync import CHANGE_SEQ_CLAIM, claim_change_seq

    for make in edge_tasks(alice):
        claimed, plain = make(), make()
        plain.position, plain.created_at = claimed.position, claimed.created_at  # defaults made per instance
        CompiledInsert(Task, claimed=CHANGE_SEQ_CLAIM).insert(claimed, claim=[alice.pk])
        plain.change_seq = claim_change_seq(alice.pk)
        CompiledInsert(Task).insert(plain)
        assert plain.change_seq == claimed.change_seq + 1
        assert {**row(plain), "change_seq": None} == {**row(claimed), "change_seq": None}


@pytest.mark.django_db
def test_a_failed_claimed_insert_takes_no_number(alice: User) -> None:
    from tasks.sync import CHANGE_SEQ_CLAIM, claim_change_seq

    claim_change_seq(alice.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        CompiledInsert(Task, claimed=CHANGE_SEQ_CLAIM).insert(
            Task(owner=alice, title="x", version=-1), claim=[alice.pk]
        )
    assert counter(alice) == 1
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_a_claimed_insert_that_somebody_listens_to_is_saved_by_django_with_its_number(alice: User) -> None:
    from tasks.sync import CHANGE_SEQ_CLAIM

    heard: list[int] = []

    def listener(sender: Any, instance: Task, **kwargs: Any) -> None:
        heard.append(instance.change_seq)

    pre_save.connect(listener, sender=Task)
    try:
        task = Task(owner=alice, title="heard")
        CompiledInsert(Task, claimed=CHANGE_SEQ_CLAIM).insert(task, claim=[alice.pk])
    finally:
        pre_save.disconnect(listener, sender=Task)
    assert heard == [1]
    assert Task.objects.get(pk=task.pk).change_seq == 1 == counter(alice)


@pytest.mark.django_db
def test_a_claim_without_a_claimed_column_is_refused(alice: User) -> None:
    with pytest.raises(ValueError, match="Claimed column"):
        CompiledInsert(Task).insert(Task(owner=alice, title="x"), claim=[alice.pk])
    assert not Task.objects.exists()


def event_beside(alice: User, expressions: dict[str, str] | None = None) -> Callable[[], list[tuple[str, list[Any]]]]:
    """An event INSERTed beside a task's, named and numbered after the inserted task."""
    data = {"change": 0, "task": {"id": None, "title": "ß\u2028🙂 'quoted' %s"}}
    event = Event(owner_id=alice.pk, type="task.created", subject="tasks/", data=data)
    expressions = expressions or {
        "subject": "%s || inserted.id",
        "data": "jsonb_set(jsonb_set(%s, '{change}', to_jsonb(inserted.change_seq)), '{task,id}', "
        "to_jsonb(inserted.id))",
    }
    return lambda: [CompiledInsert(Event).from_inserted(event, expressions)]


POSTGRESQL_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="other INSERTs run in one's statement on PostgreSQL only: set DATABASE_URL to a PostgreSQL server",
)


@POSTGRESQL_ONLY
@pytest.mark.django_db
def test_inserts_beside_an_insert_run_in_its_statement_and_read_the_row_it_inserted(alice: User) -> None:
    from tasks.sync import CHANGE_SEQ_CLAIM

    for make in edge_tasks(alice):
        task, alone = make(), make()
        alone.position, alone.created_at = task.position, task.created_at  # defaults made per instance
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            CompiledInsert(Task, claimed=CHANGE_SEQ_CLAIM).insert(task, claim=[alice.pk], beside=event_beside(alice))
        statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        assert len(statements) == 1
        CompiledInsert(Task).insert(alone)
        assert {**row(task), "change_seq": None} == {**row(alone), "change_seq": None}
        assert (task.change_seq, task._state.adding) == (counter(alice), False)
        event = Event.objects.get(subject=f"tasks/{task.pk}")
        assert (event.owner_id, event.type, event.published_at) == (alice.pk, "task.created", None)
        assert event.data == {"change": task.change_seq, "task": {"id": task.pk, "title": "ß\u2028🙂 'quoted' %s"}}


@POSTGRESQL_ONLY
@pytest.mark.django_db
def test_an_insert_whose_insert_beside_fails_writes_nothing_and_takes_no_number(alice: User) -> None:
    from tasks.sync import CHANGE_SEQ_CLAIM

    failing = event_beside(alice, {"subject": "%s || repeat('x', 64) || inserted.id"})  # past its 64 characters
    with pytest.raises(DataError), transaction.atomic():
        CompiledInsert(Task, claimed=CHANGE_SEQ_CLAIM).insert(
            Task(owner=alice, title="x"), claim=[alice.pk], beside=failing
        )
    assert (Task.objects.count(), Event.objects.count(), SyncState.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
def test_inserts_beside_are_refused_where_they_cannot_run_in_the_statement(alice: User) -> None:
    def listener(**kwargs: Any) -> None:
        pass

    refusals = [lambda: CompiledInsert(Task).insert(Task(owner=alice, title="x"), beside=list)]
    if connection.vendor == "postgresql":  # elsewhere, nothing takes them at all
        pre_save.connect(listener, sender=Task)
        post_save.connect(listener, sender=Event)
    try:
        assert not CompiledInsert(Task).takes_beside()
        assert not CompiledInsert(Event).takes_beside()
        for refused in [*refusals, event_beside(alice)]:
            with pytest.raises(ValueError, match="beside"):
                refused()
    finally:
        pre_save.disconnect(listener, sender=Task)
        post_save.disconnect(listener, sender=Event)
    assert not Task.objects.exists()


@POSTGRESQL_ONLY
@pytest.mark.django_db
def test_an_expression_beside_takes_its_columns_value_exactly_once_of_a_column_it_has(alice: User) -> None:
    for expression in ["inserted.id::text", "%s || %s"]:
        with pytest.raises(ValueError, match="one %s"):
            event_beside(alice, {"subject": expression})()
    inserts = CompiledInsert(Event)
    event = Event(owner_id=alice.pk, type="task.created", subject="tasks/", data={})
    for _ in range(2):  # refused every time: nothing of it is kept
        with pytest.raises(ValueError, match="no column named nope"):
            inserts.from_inserted(event, {"nope": "%s"})
        with pytest.raises(ValueError, match="one %s"):
            inserts.from_inserted(event, {"subject": "inserted.id::text"})
    sql, params = inserts.from_inserted(event, {"subject": "%s || inserted.id"})
    assert "%s || inserted.id" in sql
    assert len(params) == sql.count("%s")


@POSTGRESQL_ONLY
@pytest.mark.django_db
def test_an_insert_as_a_statement_beside_writes_the_row_insert_writes(alice: User) -> None:
    def event(n: int) -> Event:
        when = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
        data = {"text": "ß\u2028🙂 'quoted' %s", "n": 2**62, "null": None, "nested": {"list": [1, "2", None]}}
        return Event(owner_id=alice.pk, type="task.updated", subject=f"tasks/{n}", time=when, data=data)

    inserted, beside = event(1), event(2)
    CompiledInsert(Event).insert(inserted)
    sql, params = CompiledInsert(Event).statement(beside)
    assert sql.startswith('INSERT INTO "events_event"')
    assert "VALUES" in sql
    assert "inserted" not in sql
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    stored = {row["subject"]: row for row in Event.objects.values()}
    one, two = (without(stored[f"tasks/{n}"], {"id", "subject", "event_id"}) for n in (1, 2))
    assert one == two
    assert stored["tasks/2"]["event_id"] == beside.event_id


def without(values: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key not in keys}
