"""Writes on tasks: each in one transaction, under a row lock when it reads before it writes.

Within a request the transaction is the request's own (AtomicWritesMiddleware): `savepoint=False` joins it
without a savepoint's two round trips, and any failure rolls back the request as a whole."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from authn.models import User
from evotodo.queries import CompiledQuery
from tasks.models import IdempotencyRecord, ListTombstone, SyncState, Task, TaskTag, TaskTombstone
from tasks.recurrence import Rule, merged_rule
from tasks.sync import claim_change_seq

# The row a write locks: the task among its owner's, compiled once per process (evotodo/queries.py).
OWN_TASK_FOR_UPDATE = CompiledQuery(
    lambda owner_id, pk: Task.objects.select_for_update().filter(owner_id=owner_id, pk=pk), "owner_id", "pk"
)

COPIED_TO_NEXT_OCCURRENCE = ("title", "description", "priority", "tags", "owner_id")
# What completing or reopening a task changes (`_set_completed`): all that `task_complete` writes back.
COMPLETION_FIELDS = ("completed", "completed_at", "next_occurrence")


class TaskChanged(Exception):
    """The task no longer matches the client's `If-Match`: its write would lose someone else's."""


class TaskConflict(Exception):
    """A concurrent write changed the task so that this one, valid when checked, no longer fits it."""


def etag_matches(header: str, etag: str, *, weak: bool = False) -> bool:
    """RFC 9110: whether an If-Match (strong comparison) or If-None-Match (`weak`, W/ ignored) header, a list
    of entity tags or `*`, names `etag`."""
    candidates = [candidate.strip() for candidate in header.split(",")]
    if weak:
        candidates = [candidate.removeprefix("W/") for candidate in candidates]
    return "*" in candidates or etag in candidates


def save_new_version(task: Task, seq: int | None = None) -> None:
    """Save the task with its version bumped, so every ETag handed out before no longer matches, and with a
    new change number (`seq`, when the caller took it already), so the sync feed carries the change."""
    task.version = F("version") + 1
    task.change_seq = seq if seq is not None else claim_change_seq(task.owner_id)
    task.save()
    task.refresh_from_db(fields=["version", "updated_at"])


def save_locked_version(task: Task, seq: int, fields: Iterable[str] | None = None) -> None:
    """Save a task whose row this transaction holds locked (`_lock`) as a new version with change number `seq`:
    no other write can come between the read and this, so the version is bumped here rather than in SQL, and
    nothing needs reading back. `fields`, when given, are the only ones that changed (a shorter UPDATE)."""
    task.version += 1
    task.change_seq = seq
    task.save(update_fields=None if fields is None else [*fields, "version", "change_seq", "updated_at"])


def _lock(task: Task, if_match: str | None) -> tuple[Task, int]:
    """The task's row, locked, and the change number of this write: taken first, so that every write of a
    user queues on the user's counter before it locks anything else (no two writes wait on each other).
    `task` may be a mere reference (its pk and owner): the row is read here, among its owner's only."""
    seq = claim_change_seq(task.owner_id)
    found = OWN_TASK_FOR_UPDATE.fetch(owner_id=task.owner_id, pk=task.pk)
    if not found:
        raise Task.DoesNotExist()
    locked = found[0]
    if if_match is not None and not etag_matches(if_match, locked.etag):
        raise TaskChanged()
    return locked, seq


def tag_keys(tags: Iterable[str]) -> list[str]:
    """Tags compare case-insensitively: their keys are case-folded."""
    return list(dict.fromkeys(tag.casefold() for tag in tags))


def _set_tags(task: Task, *, new: bool = False) -> None:
    """Rewrite the task's tag rows from its `tags` (a task just inserted has none to delete)."""
    if not new:
        TaskTag.objects.filter(task=task).delete()
    TaskTag.objects.bulk_create(
        [TaskTag(task=task, owner_id=task.owner_id, key=tag.casefold(), name=tag) for tag in task.tags]
    )


def _recurrence(data: dict[str, Any], task: Task | None) -> dict[str, Any] | None:
    """The stored rule after a write: the client's {freq, interval, until} plus the series anchor.

    The anchor is the due date as the client sent it (with its offset) when it sends one; otherwise the
    series keeps its anchor, so a monthly series started on the 31st stays on month ends.
    """
    if "recurrence" not in data and "due_at" not in data:
        return task.recurrence if task else None
    rule = data.get("recurrence", task.recurrence if task else None)
    if rule is None:
        return None
    # A POST or PUT sends a whole rule (the serializer filled in its defaults); a PATCH may send one member.
    rule = merged_rule(task, rule)
    if "freq" not in rule:
        raise TaskConflict("a partial rule for a task whose rule was removed meanwhile")
    if "due_at" in data:
        anchor = data["due_at"]
    elif task is not None and task.recurrence:
        anchor = datetime.fromisoformat(task.recurrence["anchor"])
    else:
        anchor = task.due_at  # type: ignore[union-attr]
    until = rule["until"]
    return Rule(
        freq=rule["freq"],
        interval=rule["interval"],
        until=date.fromisoformat(until) if isinstance(until, str) else until,
        anchor=anchor,
    ).to_json()


def task_create(*, owner: User, data: dict[str, Any]) -> Task:
    """Create a task for `owner` from validated data."""
    fields = {key: value for key, value in data.items() if key != "recurrence"}
    with transaction.atomic(savepoint=False):
        task = Task(owner=owner, change_seq=claim_change_seq(owner.pk), **fields)
        task.recurrence = _recurrence(data, None)
        if task.completed:  # created done: a recurring one schedules its next occurrence, as completing does
            task.completed = False
            _set_completed(task, True)
        task.save()
        _set_tags(task, new=True)
    return task


def task_update(*, task: Task, data: dict[str, Any], if_match: str | None = None) -> Task:
    """Apply validated changes; completing a recurring task this way also schedules its next occurrence."""
    with transaction.atomic(savepoint=False):
        locked, seq = _lock(task, if_match)
        for field, value in data.items():
            if field not in ("recurrence", "completed"):
                setattr(locked, field, value)
        # The serializer validated against the row as it was read; check again against the locked row.
        if locked.remind_at and locked.due_at and locked.remind_at > locked.due_at:
            raise TaskConflict("remind_at would be after due_at")
        if data.get("recurrence", locked.recurrence) is not None and locked.due_at is None:
            raise TaskConflict("a recurring task would have no due_at")
        locked.recurrence = _recurrence(data, locked)
        if "completed" in data:
            _set_completed(locked, data["completed"])
        save_locked_version(locked, seq)
        if "tags" in data:
            _set_tags(locked)
    locked.owner = task.owner
    return locked


def task_complete(*, task: Task, completed: bool | None = None, if_match: str | None = None) -> Task:
    """Set `completed` (toggle when None) under a row lock; completing a recurring task, in the same
    transaction, creates its next occurrence, once. The result carries it as `completion_next`."""
    with transaction.atomic(savepoint=False):
        locked, seq = _lock(task, if_match)
        _set_completed(locked, (not locked.completed) if completed is None else completed)
        save_locked_version(locked, seq, COMPLETION_FIELDS)
    locked.owner = task.owner
    if locked.completion_next is not None:
        locked.completion_next.owner = task.owner
    return locked


def _set_completed(task: Task, completed: bool) -> None:
    task.completion_next = None
    if completed and not task.completed:
        task.completed_at = timezone.now()
    elif not completed:
        task.completed_at = None
    task.completed = completed
    if completed and task.recurrence and task.due_at:
        if task.next_occurrence_id is None:
            task.next_occurrence = _next_occurrence(task)
        task.completion_next = task.next_occurrence


def _next_occurrence(task: Task) -> Task | None:
    rule = Rule.from_json(task.recurrence)  # type: ignore[arg-type]
    due_at = rule.next_after(task.due_at)  # type: ignore[arg-type]
    if due_at is None:
        return None
    remind_at = due_at - (task.due_at - task.remind_at) if task.remind_at and task.due_at else None
    following = Task(
        **{field: getattr(task, field) for field in COPIED_TO_NEXT_OCCURRENCE},
        due_at=due_at,
        remind_at=remind_at,
        recurrence=task.recurrence,
        change_seq=claim_change_seq(task.owner_id),
    )
    following.save()
    _set_tags(following, new=True)
    return following


def task_delete(*, task: Task, if_match: str | None = None) -> None:
    """Delete the task and leave a tombstone, so offline clients learn of it when they sync."""
    with transaction.atomic(savepoint=False):
        locked, seq = _lock(task, if_match)
        TaskTombstone.objects.create(owner_id=locked.owner_id, task_id=locked.pk, change_seq=seq)
        locked.delete()


def task_save_from_admin(*, task: Task, previous_owner_id: int | None, was_completed: bool) -> None:
    """An admin's edit: a new version and change number; completing or reopening it follows the same rules
    as the API (completed_at, a recurring task's next occurrence); a task given to another owner leaves a
    tombstone in the previous owner's feed and arrives in the new owner's as a new change."""
    with transaction.atomic(savepoint=False):
        if task.completed != was_completed:
            completed, task.completed = task.completed, was_completed
            _set_completed(task, completed)
        if previous_owner_id is not None and previous_owner_id != task.owner_id:
            task.task_list = None  # the previous owner's list: the task arrives in its new owner's inbox
            TaskTombstone.objects.update_or_create(
                task_id=task.pk,
                defaults={
                    "owner_id": previous_owner_id,
                    "deleted_at": timezone.now(),
                    "change_seq": claim_change_seq(previous_owner_id),
                },
            )
        new = task.pk is None
        if new:
            task.change_seq = claim_change_seq(task.owner_id)
            task.save()
        else:
            save_new_version(task)
        _set_tags(task, new=new)


def tasks_set_completed(*, tasks: QuerySet[Task], completed: bool) -> int:
    """Set `completed` on many tasks at once (admin bulk actions), each through `task_complete`."""
    changed = 0
    for task in tasks.exclude(completed=completed).select_related("owner"):
        task_complete(task=task, completed=completed)
        changed += 1
    return changed


def purge_expired(*, tombstones_before: datetime, idempotency_before: datetime) -> tuple[int, int]:
    """Forget tombstones and idempotency records older than the given instants."""
    tombstones = 0
    with transaction.atomic():
        for model in (TaskTombstone, ListTombstone):
            expired = model.objects.filter(deleted_at__lt=tombstones_before)
            # A sync token from before the last tombstone forgotten could no longer learn of that deletion.
            for owner_id, last in (
                expired.values("owner_id").annotate(last=Max("change_seq")).values_list("owner_id", "last")
            ):
                SyncState.objects.filter(owner_id=owner_id, purged_seq__lt=last).update(purged_seq=last)
            tombstones += expired.delete()[0]
    records, _ = IdempotencyRecord.objects.filter(created_at__lt=idempotency_before).delete()
    return tombstones, records
