"""A task read from the database (Task.from_db's direct fill) is the instance Django's `Model.__init__` builds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.db.models.signals import post_init, pre_init

from authn.models import User
from tasks.models import Task


def loaded(task: Task) -> dict[str, Any]:
    state = {key: value for key, value in vars(task).items() if key != "_state"}
    return {**state, "adding": task._state.adding, "db": task._state.db, "class": type(task)}


def full_rows(owner: User) -> list[tuple[Any, ...]]:
    names = [field.attname for field in Task._meta.concrete_fields]
    return [tuple(row) for row in Task.objects.filter(owner=owner).order_by("pk").values_list(*names)]


def test_a_full_row_becomes_the_task_djangos_init_builds(alice: User) -> None:
    Task.objects.create(owner=alice, title="x")
    Task.objects.create(
        owner=alice,
        title="ß\u2028🙂",
        completed=True,
        completed_at=datetime(1, 1, 1, tzinfo=UTC),
        priority=3,
        tags=["Ä"],
        due_at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        recurrence={"freq": "daily", "interval": 1, "until": None},
    )
    assert not pre_init.receivers  # so Task.from_db fills directly: what this test compares
    assert not post_init.receivers
    names = [field.attname for field in Task._meta.concrete_fields]
    for row in full_rows(alice):
        ours = Task.from_db("default", names, row)
        djangos = models.Model.from_db.__func__(Task, "default", names, row)  # type: ignore[attr-defined]
        assert loaded(ours) == loaded(djangos)
        assert ours.get_deferred_fields() == set()


def test_a_task_read_saves_as_an_update_of_its_row(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="before")
    read = Task.objects.get(pk=task.pk)
    read.title = "after"
    read.save(update_fields=["title"])
    assert Task.objects.get(pk=task.pk).title == "after"
    assert Task.objects.count() == 1


def test_a_row_with_deferred_columns_reads_them_later(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="t", tags=["a"])
    read = Task.objects.only("title").get(pk=task.pk)
    assert "tags" in read.get_deferred_fields()
    assert read.tags == ["a"]


def test_a_post_init_receiver_sees_every_task_read(alice: User) -> None:
    task = Task.objects.create(owner=alice, title="t")
    seen: list[int] = []

    def receiver(sender: type, instance: Task, **kwargs: Any) -> None:
        seen.append(instance.pk)

    post_init.connect(receiver, sender=Task, weak=False)
    try:
        read = Task.objects.get(pk=task.pk)
    finally:
        post_init.disconnect(receiver, sender=Task)
    assert seen == [task.pk]
    assert read.title == "t"
