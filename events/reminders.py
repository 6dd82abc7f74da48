"""Reminders: the database is the clock. A tick claims the open tasks whose `remind_at` has passed and whose
reminder has not fired, with `SELECT … FOR UPDATE SKIP LOCKED`, and marks each fired in the transaction that
writes its `reminder.due` event: workers on several machines never fire one twice, and a worker that was down
fires what it missed when it returns, unless it is later than REMINDER_MAX_LATE_SECONDS (then it is dropped,
marked fired without an event: a reminder hours late no longer reminds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.models import Event
from tasks.models import Task
from tasks.serializers import iso_datetime, task_json


def fire_due_reminders(*, now: datetime | None = None, limit: int = 500) -> tuple[int, int]:
    """Fire the reminders due by `now` (at most `limit`, oldest first): returns (fired, dropped as too late)."""
    now = now or timezone.now()
    too_late = now - timedelta(seconds=settings.REMINDER_MAX_LATE_SECONDS)
    due_by_now = Task.objects.filter(remind_at__lte=now, reminder_fired_at__isnull=True, completed=False)
    if not due_by_now.exists():
        return 0, 0  # the usual answer, without a write transaction
    with transaction.atomic():
        due = list(
            due_by_now.select_for_update(skip_locked=True, of=("self",))
            .select_related("owner")
            .order_by("remind_at", "id")[:limit]
        )
        if not due:
            return 0, 0
        Task.objects.filter(pk__in=[task.pk for task in due]).update(reminder_fired_at=now)
        on_time = [task for task in due if task.remind_at >= too_late]  # type: ignore[operator]
        Event.objects.bulk_create(
            Event(
                owner_id=task.owner_id,
                type="reminder.due",
                subject=f"tasks/{task.pk}",
                time=now,
                data={
                    "user_id": task.owner.better_auth_id,
                    "remind_at": iso_datetime(task.remind_at, UTC),
                    "late_seconds": round((now - task.remind_at).total_seconds(), 3),  # type: ignore[operator]
                    "task": task_json(task, UTC),
                },
            )
            for task in on_time
        )
    return len(on_time), len(due) - len(on_time)
