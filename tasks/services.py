"""Writes on tasks that do more than save one row."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tasks.models import Task


def task_complete(*, task: Task, completed: bool | None = None) -> Task:
    """Set `completed` (or toggle it when None) under a row lock, so concurrent toggles serialise."""
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        locked.completed = (not locked.completed) if completed is None else completed
        locked.save(update_fields=["completed", "updated_at"])
    locked.owner = task.owner
    return locked


def tasks_set_completed(*, tasks: QuerySet[Task], completed: bool) -> int:
    """Set `completed` on many tasks at once (admin bulk actions); returns how many changed."""
    return tasks.exclude(completed=completed).update(completed=completed, updated_at=timezone.now())
