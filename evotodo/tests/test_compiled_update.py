"""A compiled UPDATE writes the row Django's `save(update_fields=...)` writes, and leaves the instance as it does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext

from authn.models import User
from evotodo.queries import CompiledUpdate
from evotodo.tests.test_compiled_insert import edge_tasks, row
from tasks.models import Task, TaskList


def changes() -> list[Callable[[Task, Task], None]]:
    """Edits of a saved task: to extremes, to nulls and empties, to another task (a foreign key by instance)."""

    def extremes(task: Task, other: Task) -> None:
        task.title = "ß\u2028🙂" + "t" * 197
        task.completed, task.completed_at = True, datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
        task.tags = ["Ä", '"quoted", \\ back']
        task.recurrence = {"freq": "daily", "interval": 1, "until": None, "anchor": "0001-01-01T00:00+14:00"}
        task.version, task.change_seq = 2**31 - 1, 2**62

    def emptied(task: Task, other: Task) -> None:
        task.description, task.tags, task.recurrence = "", [], None
        task.due_at = task.remind_at = task.completed_at = None
        task.next_occurrence = None

    def linked(task: Task, other: Task) -> None:
        task.next_occurrence = other  # an instance: its id is what is written
        task.parent_id = other.pk

    return [extremes, emptied, linked]


def named(values: dict[str, Any], other: Task) -> dict[str, Any]:
    """A row with the id of the other task it links to said as "other", so two rows linking two compare."""
    return {name: "other" if name.endswith("_id") and value == other.pk else value for name, value in values.items()}


FIELD_SETS: list[tuple[str, ...] | None] = [
    None,
    ("completed", "completed_at", "next_occurrence", "version", "change_seq", "updated_at"),
    ("title", "tags", "recurrence", "description", "due_at", "remind_at", "parent", "next_occurrence_id"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("fields", FIELD_SETS)
def test_a_task_is_updated_as_save_updates_it(alice: User, fields: tuple[str, ...] | None) -> None:
    update = CompiledUpdate(Task)
    for make in edge_tasks(alice):
        for change in changes():
            saved, compiled = make(), make()
            compiled.position, compiled.created_at = saved.position, saved.created_at  # defaults made per instance
            saved.save()
            compiled.save()
            # Each its own other task (a task is the next occurrence of one task at most).
            others = {saved.pk: Task.objects.create(owner=alice), compiled.pk: Task.objects.create(owner=alice)}
            change(saved, others[saved.pk])
            change(compiled, others[compiled.pk])
            saved.save(update_fields=fields)
            before = compiled.updated_at
            with CaptureQueriesContext(connection) as queries:
                update.update(compiled, fields)
            assert len(queries.captured_queries) == 1
            assert named(row(compiled), others[compiled.pk]) == named(row(saved), others[saved.pk])
            stored = Task.objects.get(pk=compiled.pk)
            if fields is None or "updated_at" in fields:  # auto_now: pre_save's value, in the row and the instance
                assert compiled.updated_at == stored.updated_at > before
            assert (compiled._state.adding, compiled._state.db) == (False, "default")


@pytest.mark.django_db
def test_only_the_fields_named_are_written(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="before", change_seq=1)
    task.title, task.priority = "after", 3
    CompiledUpdate(Task).update(task, ("priority",))
    stored = Task.objects.get(pk=task.pk)
    assert (stored.title, stored.priority) == ("before", 3)


@pytest.mark.django_db
def test_a_row_that_is_gone_is_djangos_error_and_nothing_else_changes(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="gone")
    kept = Task.objects.create(owner=alice, title="kept")
    Task.objects.filter(pk=task.pk).delete()
    task.title = "changed"
    with pytest.raises(DatabaseError, match="did not affect any rows"), transaction.atomic():
        CompiledUpdate(Task).update(task, ("title",))
    assert list(Task.objects.values_list("title", flat=True)) == [kept.title]


@pytest.mark.django_db
def test_a_failed_update_marks_the_transaction_for_rollback(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="first")
    marked = []

    def update_in_a_transaction() -> None:
        with transaction.atomic():
            task.version = -1  # against the positive integer's check constraint
            try:
                CompiledUpdate(Task).update(task, ("version",))
            finally:
                marked.append(connection.needs_rollback)

    with pytest.raises((IntegrityError, DataError)):
        update_in_a_transaction()
    assert marked == [True]
    assert Task.objects.get(pk=task.pk).version == 1


@pytest.mark.django_db
def test_a_model_somebody_listens_to_is_saved_by_django(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="before")
    heard: list[tuple[str, Any]] = []

    def listener(sender: Any, instance: Task, **kwargs: Any) -> None:
        heard.append(("pre" if kwargs["signal"] is pre_save else "post", kwargs["update_fields"]))

    pre_save.connect(listener, sender=Task)
    post_save.connect(listener, sender=Task)
    try:
        task.title = "heard"
        CompiledUpdate(Task).update(task, ("title",))
    finally:
        pre_save.disconnect(listener, sender=Task)
        post_save.disconnect(listener, sender=Task)
    assert heard == [("pre", frozenset({"title"})), ("post", frozenset({"title"}))]
    assert Task.objects.get(pk=task.pk).title == "heard"


@pytest.mark.django_db
def test_an_instance_with_deferred_fields_updates_its_loaded_fields_as_django_does(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="before", description="kept")
    Task.objects.filter(pk=task.pk).update(description="changed meanwhile")
    partial = Task.objects.only("id", "title").get(pk=task.pk)
    partial.title = "after"
    with CaptureQueriesContext(connection) as queries:
        CompiledUpdate(Task).update(partial)
    assert len(queries.captured_queries) == 1  # no deferred field loaded to be written back
    stored = Task.objects.get(pk=task.pk)
    assert (stored.title, stored.description) == ("after", "changed meanwhile")


@pytest.mark.django_db
def test_a_value_that_is_an_expression_is_saved_by_django(alice: User) -> None:
    from django.db.models import F

    task = Task.objects.create(owner=alice, title="x")
    task.version = F("version") + 5
    CompiledUpdate(Task).update(task, ("version",))
    assert Task.objects.get(pk=task.pk).version == 6


def test_fields_it_does_not_have_and_models_it_cannot_update_are_refused(db: Any) -> None:
    with pytest.raises(ValueError, match="no field to update named nope"):
        CompiledUpdate(Task).update(Task(pk=1), ("title", "nope"))
    with pytest.raises(ValueError, match=r"CompiledUpdate does not take tasks\.TaskList"):
        CompiledUpdate(TaskList)


@pytest.mark.django_db
def test_no_row_updated_marks_the_transaction_for_rollback_as_save_does(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="gone")
    Task.objects.filter(pk=task.pk).delete()
    marked = []
    for update in (lambda: task.save(update_fields=["title"]), lambda: CompiledUpdate(Task).update(task, ("title",))):
        with transaction.atomic():
            try:
                update()
            except DatabaseError:
                marked.append(connection.needs_rollback)
            transaction.set_rollback(False)  # this test's own: leave the block cleanly
    assert marked == [True, True]


POSTGRESQL_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="statements beside an UPDATE run in its statement on PostgreSQL only"
)


def an_event(owner: User, subject: str) -> Any:
    from events.models import Event

    return Event(
        owner_id=owner.pk, type="task.updated", subject=subject, time=datetime(2030, 1, 1, tzinfo=UTC), data={}
    )


@POSTGRESQL_ONLY
@pytest.mark.django_db
def test_statements_beside_an_update_run_in_its_statement(alice: User) -> None:
    from events.models import Event
    from evotodo.queries import CompiledInsert

    task = Task.objects.create(owner=alice, title="before")
    task.title = "after"
    seen: list[Any] = []

    def beside() -> list[tuple[str, list[Any]]]:
        seen.append(task.updated_at)  # called once its values are prepared
        return [CompiledInsert(Event).statement(an_event(alice, f"tasks/{n}")) for n in (1, 2)]

    with CaptureQueriesContext(connection) as queries:
        assert CompiledUpdate(Task).update(task, ("title", "updated_at"), beside=beside) is True
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith("WITH beside_0 AS (INSERT")
    stored = Task.objects.get(pk=task.pk)
    assert (stored.title, stored.updated_at) == ("after", seen[0])
    assert sorted(Event.objects.values_list("subject", flat=True)) == ["tasks/1", "tasks/2"]


@POSTGRESQL_ONLY
@pytest.mark.django_db
def test_an_update_whose_statement_beside_fails_changes_nothing(alice: User) -> None:
    from events.models import Event
    from evotodo.queries import CompiledInsert

    task = Task.objects.create(owner=alice, title="before")
    task.title = "after"
    failing = an_event(alice, "x" * 65)  # past the subject's 64 characters
    with pytest.raises(DataError), transaction.atomic():
        CompiledUpdate(Task).update(task, ("title",), beside=lambda: [CompiledInsert(Event).statement(failing)])
    assert Task.objects.get(pk=task.pk).title == "before"
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_an_update_that_cannot_take_statements_beside_it_runs_alone_and_says_so(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="before")
    called: list[bool] = []

    def beside() -> list[tuple[str, list[Any]]]:
        called.append(True)
        return []

    def listener(**kwargs: Any) -> None:
        pass

    listened = connection.vendor == "postgresql"  # elsewhere the database alone keeps them out
    if listened:
        pre_save.connect(listener, sender=Task)
    try:
        task.title = "after"
        assert CompiledUpdate(Task).update(task, ("title",), beside=beside) is False
    finally:
        pre_save.disconnect(listener, sender=Task)
    assert called == []
    assert Task.objects.get(pk=task.pk).title == "after"
