"""seed_demo: realistic demo data, written in bulk, and running it twice changes nothing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.utils import timezone

from authn.models import User
from events.models import Event
from tasks.models import Task


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Task.objects.order_by("pk").values_list("pk", "owner__better_auth_id", "title", "completed", "created_at")
    )


def test_seeds_users_with_realistic_tasks(db: Any) -> None:
    seed("--users", "3", "--tasks-per-user", "30")
    users = User.objects.filter(better_auth_id__startswith="demo")
    assert users.count() == 3
    assert all(len(user.better_auth_id) == 32 and user.email and user.name for user in users)
    assert all(not user.has_usable_password() for user in users)
    for user in users:
        tasks = Task.objects.filter(owner=user)
        assert tasks.count() == 30
        assert tasks.filter(completed=True).exists()
        assert tasks.filter(completed=False).exists()
        assert tasks.values("created_at__date").distinct().count() > 5  # varied ages
        assert tasks.exclude(description="").exists()


def test_running_twice_changes_nothing(db: Any) -> None:
    seed("--users", "4", "--tasks-per-user", "10")
    before = snapshot()
    out = seed("--users", "4", "--tasks-per-user", "10")
    assert snapshot() == before
    assert "0 new" in out
    assert "0 tasks created" in out


def test_growing_the_seed_adds_only_what_is_missing(db: Any) -> None:
    seed("--users", "2", "--tasks-per-user", "5")
    before = snapshot()
    seed("--users", "3", "--tasks-per-user", "7")
    after = snapshot()
    assert after[: len(before)] == before
    assert Task.objects.count() == 3 * 7


def test_reset_starts_over_and_leaves_real_users_alone(db: Any, alice: User) -> None:
    Task.objects.create(owner=alice, title="real work")
    seed("--users", "2", "--tasks-per-user", "5")
    out = seed("--users", "1", "--tasks-per-user", "3", "--reset")
    assert "Deleted 2 demo users" in out
    assert User.objects.filter(better_auth_id__startswith="demo").count() == 1
    assert Task.objects.filter(owner__better_auth_id__startswith="demo").count() == 3
    assert Task.objects.filter(owner=alice).count() == 1


def test_prints_how_to_get_a_token_for_each_demo_user(db: Any) -> None:
    out = seed("--users", "2", "--tasks-per-user", "1")
    for user in User.objects.filter(better_auth_id__startswith="demo"):
        assert f"mint_token {user.better_auth_id}" in out


def test_large_seed_writes_in_bulk_with_progress(db: Any, django_assert_max_num_queries: Any) -> None:
    # Row by row would be over 30 000 with the tag rows and the events (SQLite batches are small).
    with django_assert_max_num_queries(500):
        out = seed("--users", "100", "--tasks-per-user", "100")
    assert Task.objects.count() == 10_000
    assert Event.objects.filter(type="task.created").count() == 10_000
    assert "10/100 users" in out
    assert "100/100 users" in out


@pytest.mark.parametrize("args", [("--users", "0"), ("--users", "10001"), ("--tasks-per-user", "-1")])
def test_out_of_range_arguments_are_refused(db: Any, args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        seed(*args)
    assert not User.objects.exists()


def test_completed_demo_tasks_say_when_they_were_completed(db: Any) -> None:
    from tasks.demo import seed_demo

    seed_demo(users=2, tasks_per_user=30)
    assert Task.objects.filter(completed=True).exists()
    assert not Task.objects.filter(completed=True, completed_at__isnull=True).exists()
    assert not Task.objects.filter(completed=False, completed_at__isnull=False).exists()


def test_demo_data_shows_every_feature_a_frontend_demos(db: Any) -> None:
    from tasks.models import TaskList, TaskTag
    from tasks.recurrence import Rule

    seed("--users", "2", "--tasks-per-user", "40")
    for user in User.objects.filter(better_auth_id__startswith="demo"):
        lists = TaskList.objects.filter(owner=user).order_by("position")
        assert [task_list.name for task_list in lists] == ["Work", "Personal", "Shopping"]
        tasks = Task.objects.filter(owner=user)
        assert tasks.filter(task_list__isnull=False).exists()
        assert tasks.filter(task_list__isnull=True).exists()  # the inbox
        assert not tasks.exclude(task_list__isnull=True).exclude(task_list__owner=user).exists()
        assert tasks.values("priority").distinct().count() >= 3
        assert tasks.filter(due_at__lt=timezone.now(), completed=False).exists()  # overdue
        assert tasks.filter(due_at__gt=timezone.now()).exists()
        assert tasks.filter(remind_at__isnull=False).exists()
        assert not tasks.filter(remind_at__gt=F("due_at")).exists()
        subtasks = tasks.filter(parent__isnull=False).select_related("parent")
        assert subtasks.exists()
        assert all(task.task_list_id == task.parent.task_list_id for task in subtasks)
        recurring = tasks.filter(recurrence__isnull=False)
        assert recurring.exists()
        assert all(task.due_at and Rule.from_json(task.recurrence).anchor == task.due_at for task in recurring)
        # Tag rows match the tags, so /api/tags and ?tag= work on demo data.
        assert TaskTag.objects.filter(owner=user).count() == sum(len(task.tags) for task in tasks)
    # Seeding again adds nothing, lists included; the sync feed numbers are all distinct per user.
    before = (TaskList.objects.count(), Task.objects.count())
    seed("--users", "2", "--tasks-per-user", "40")
    assert (TaskList.objects.count(), Task.objects.count()) == before
    for user in User.objects.filter(better_auth_id__startswith="demo"):
        numbers = list(Task.objects.filter(owner=user).values_list("change_seq", flat=True)) + list(
            TaskList.objects.filter(owner=user).values_list("change_seq", flat=True)
        )
        assert len(set(numbers)) == len(numbers) == 43
