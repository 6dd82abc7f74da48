"""Writes on tasks: each in one transaction, under a row lock when it reads before it writes.

Within a request the transaction is the request's own (AtomicWritesMiddleware): `savepoint=False` joins it
without a savepoint's two round trips, and any failure rolls back the request as a whole. The one exception, a
plain create that is its request's only write, is one statement committed alone (`_created_alone`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from authn.models import User
from evotodo.queries import CompiledInsert, CompiledQuery, CompiledUpdate
from evotodo.transactions import committed_alone
from tasks.changes import (
    Action,
    NotInStatement,
    in_change_order,
    task_deleted,
    task_saved,
    tell,
    told_in_statement,
)
from tasks.datetimes import due_in_range
from tasks.models import (
    MAX_DEPTH,
    IdempotencyRecord,
    ListTombstone,
    SyncState,
    Task,
    TaskList,
    TaskTag,
    TaskTombstone,
    tag_key,
)
from tasks.order_keys import UNSET, new_position, placed_key, rebalance
from tasks.recurrence import Rule, merged_rule, rule_problems
from tasks.sync import CHANGE_SEQ_CLAIM, change_rows, claim_change_seq

# The row a write locks: the task among its owner's, compiled once per process (evotodo/queries.py).
# Its change number is taken in the same statement, before the lock (`_lock`).
OWN_TASK_FOR_UPDATE = CompiledQuery(
    lambda owner_id, pk: Task.objects.select_for_update().filter(owner_id=owner_id, pk=pk),
    "owner_id",
    "pk",
    claimed=CHANGE_SEQ_CLAIM,
)
# A new task's INSERT, and a locked task's UPDATE, compiled once per process.
TASK_INSERT = CompiledInsert(Task, claimed=CHANGE_SEQ_CLAIM)
TASK_UPDATE = CompiledUpdate(Task)

COPIED_WITH_SUBTASKS = ("title", "description", "priority", "tags", "owner_id")
COPIED_TO_NEXT_OCCURRENCE = (*COPIED_WITH_SUBTASKS, "task_list_id", "parent_id")
# What completing or reopening a task changes (`_set_completed`): all that `task_complete` writes back.
COMPLETION_FIELDS = ("completed", "completed_at", "next_occurrence")


class TaskChanged(Exception):
    """The task is not as the client's `If-Match` or `If-None-Match` expect (`Preconditions`): with If-Match, its
    write would lose someone else's."""


class TaskConflict(Exception):
    """A concurrent write changed the task so that this one, valid when checked, no longer fits it."""


class SubtaskRejected(Exception):
    """A parent that does not exist among the owner's tasks, would make a cycle, or would nest deeper than
    MAX_DEPTH; or a list that is not the parent's. `field`, `code` and `message` are the 400's."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


def _parent_chain(task_id: int) -> list[int]:
    """The ids above a task (its parent, grandparent, ...), nearest first: at most MAX_DEPTH queries."""
    chain: list[int] = []
    current: int | None = task_id
    while current is not None and len(chain) <= MAX_DEPTH:
        current = Task.objects.filter(pk=current).values_list("parent_id", flat=True).first()
        if current is not None:
            chain.append(current)
    return chain


def descendant_levels(task_ids: list[int]) -> list[list[int]]:
    """The ids below these tasks, level by level (children, then theirs): a query per level."""
    levels: list[list[int]] = []
    frontier = task_ids
    while frontier and len(levels) < MAX_DEPTH:
        frontier = list(Task.objects.filter(parent_id__in=frontier).order_by("id").values_list("id", flat=True))
        if frontier:
            levels.append(frontier)
    return levels


def _place(task: Task, data: dict[str, Any]) -> list[int]:
    """Apply `parent_id` and `task_list_id` from validated data to `task` (locked, or new), keeping the rules:
    a list or parent among the owner's only, a subtask in its parent's list, MAX_DEPTH levels at most, no
    cycles. A subtask moved to another list leaves its parent; a task put in a new place by an update goes last
    there. Returns the ids of its descendants when their list must follow (else [])."""
    before = (task.task_list_id, task.parent_id)
    levels: list[list[int]] | None = None  # below the task, read once when needed
    if "parent_id" in data and data["parent_id"] is not None:
        parent_id = data["parent_id"]
        parent = Task.objects.filter(owner_id=task.owner_id, pk=parent_id).values("task_list_id").first()
        if parent is None:
            raise SubtaskRejected("parent_id", "does_not_exist", "No such task.")
        if "task_list_id" in data and data["task_list_id"] != parent["task_list_id"]:
            raise SubtaskRejected("list_id", "invalid", "A subtask is in its parent's list: leave list_id out.")
        levels = descendant_levels([task.pk]) if task.pk else []
        if task.pk is not None and (parent_id == task.pk or any(parent_id in level for level in levels)):
            raise SubtaskRejected("parent_id", "cycle", "A task cannot go under itself or one of its subtasks.")
        if 1 + len(_parent_chain(parent_id)) + 1 + len(levels) > MAX_DEPTH:
            raise SubtaskRejected("parent_id", "too_deep", f"Subtasks nest at most {MAX_DEPTH} levels deep.")
        task.parent_id = parent_id
        new_list = parent["task_list_id"]
    else:
        if "parent_id" in data:
            task.parent_id = None
        new_list = data.get("task_list_id", task.task_list_id)
        # Only among the owner's lists, whatever the endpoint: another user's list is no list at all.
        if (
            new_list is not None
            and new_list != task.task_list_id
            and not TaskList.objects.filter(owner_id=task.owner_id, pk=new_list).exists()
        ):
            raise SubtaskRejected("list_id", "does_not_exist", "No such list.")
        if task.parent_id is not None and new_list != task.task_list_id:
            task.parent_id = None  # moved to another list on its own: it leaves its parent
    moved = new_list != task.task_list_id
    task.task_list_id = new_list
    if task.pk is not None and (task.task_list_id, task.parent_id) != before:
        task.position = new_position()  # last in its new place (a move then sets the key it asked for)
    if not moved or task.pk is None:
        return []
    return [pk for level in (descendant_levels([task.pk]) if levels is None else levels) for pk in level]


def etag_matches(header: str, etag: str, *, weak: bool = False) -> bool:
    """RFC 9110: whether an If-Match (strong comparison) or If-None-Match (`weak`, W/ ignored) header, a list
    of entity tags or `*`, names `etag`."""
    candidates = [candidate.strip() for candidate in header.split(",")]
    if weak:
        candidates = [candidate.removeprefix("W/") for candidate in candidates]
    return "*" in candidates or etag in candidates


@dataclass(frozen=True)
class Preconditions:
    """A request's conditional headers (RFC 9110, 13.1): `If-Match` holds when it names the current ETag (strong
    comparison; `*`, any), `If-None-Match` when it names no current ETag (weak comparison; `*`, none: the row
    exists, so it never holds). A write checks both against the row as it holds it locked (`hold`); a read
    answers 412 when If-Match fails (`matched`), then 304 when If-None-Match does (`unchanged`)."""

    if_match: str | None = None
    if_none_match: str | None = None

    @classmethod
    def of(cls, headers: Mapping[str, str]) -> Preconditions:
        return cls(headers.get("If-Match"), headers.get("If-None-Match"))

    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None

    def matched(self, etag: str) -> bool:
        return self.if_match is None or etag_matches(self.if_match, etag)

    def unchanged(self, etag: str) -> bool:
        return self.if_none_match is not None and etag_matches(self.if_none_match, etag, weak=True)

    def hold(self, etag: str) -> bool:
        return self.matched(etag) and not self.unchanged(etag)


NO_PRECONDITIONS = Preconditions()


def save_new_version(task: Task, seq: int | None = None) -> None:
    """Save the task with its version bumped, so every ETag handed out before no longer matches, and with a
    new change number (`seq`, when the caller took it already), so the sync feed carries the change."""
    task.version = F("version") + 1
    task.change_seq = seq if seq is not None else claim_change_seq(task.owner_id)
    task.save()
    task.refresh_from_db(fields=["version", "updated_at"])


def save_locked_version(task: Task, seq: int, fields: Iterable[str] | None = None, *, told: Action) -> None:
    """Save a task whose row this transaction holds locked (`_lock`) as a new version with change number `seq`,
    and tell the change (`told`, its action): no other write can come between the read and this, so the version
    is bumped here rather than in SQL, and nothing needs reading back. `fields`, when given, are the only ones
    that changed (a shorter UPDATE). The listeners write in the UPDATE's own statement where they all can (a
    round trip fewer), else after it; `task.owner` is to be set (the event names its owner)."""
    task.version += 1
    task.change_seq = seq
    names = None if fields is None else (*fields, "version", "change_seq", "updated_at")
    tell_here = told_in_statement()
    if tell_here is not None:
        try:
            if TASK_UPDATE.update(task, names, beside=lambda: tell_here(task_saved(task, told))):
                return
        except NotInStatement:  # raised before anything was sent
            TASK_UPDATE.update(task, names)
    else:
        TASK_UPDATE.update(task, names)
    tell([task_saved(task, told)])


def _lock(task: Task, preconditions: Preconditions) -> tuple[Task, int]:
    """The task's row, locked, and the change number of this write: taken first (in the same statement on
    PostgreSQL), so that every write of a user queues on the user's counter before it locks anything else (no
    two writes wait on each other). `task` may be a mere reference (its pk and owner): the row is read here,
    among its owner's only. TaskChanged when the client's `preconditions` do not hold for it."""
    found, seq = OWN_TASK_FOR_UPDATE.fetch_claimed([task.owner_id], owner_id=task.owner_id, pk=task.pk)
    if not found:
        raise Task.DoesNotExist()
    locked = found[0]
    if preconditions.given() and not preconditions.hold(locked.etag):
        raise TaskChanged()
    return locked, seq


def tag_keys(tags: Iterable[str]) -> list[str]:
    """The distinct keys of these tags (`tag_key`), in order."""
    return list(dict.fromkeys(tag_key(tag) for tag in tags))


def _set_tags(task: Task, *, new: bool = False) -> None:
    """Rewrite the task's tag rows from its `tags` (a task just inserted has none to delete)."""
    if not new:
        TaskTag.objects.filter(task=task).delete()
    if task.tags:
        TaskTag.objects.bulk_create(
            [TaskTag(task=task, owner_id=task.owner_id, key=tag_key(tag), name=tag) for tag in task.tags]
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
    if rule_problems(rule):
        raise TaskConflict("a partial rule that no longer fits the stored one")
    until = rule["until"]
    return Rule(
        freq=rule["freq"],
        interval=rule["interval"],
        until=date.fromisoformat(until) if isinstance(until, str) else until,
        anchor=anchor,
        byweekday=tuple(rule["byweekday"]) if rule["byweekday"] else None,
        count=rule["count"],
        basis=rule["basis"],
    ).to_json()


def task_create(*, owner: User, data: dict[str, Any], alone: bool = False) -> Task:
    """Create a task for `owner` from validated data. `alone`: the caller's word that this create is all its
    transaction writes and that the transaction may commit it at once (evotodo.transactions.commits_alone)."""
    fields = {key: value for key, value in data.items() if key not in ("recurrence", "parent_id", "task_list_id")}
    placed = "parent_id" in data or "task_list_id" in data
    task = Task(owner=owner, **fields)
    task.recurrence = _recurrence(data, None)
    if alone and not placed and not task.completed and _created_alone(task):
        return task
    with transaction.atomic(savepoint=False), in_change_order():
        # A task placed (its parent and siblings read under lock) or created done (its next occurrence created)
        # touches other rows: its change number comes first, as every write's does (`_lock`). A plain one
        # takes it in its INSERT's own statement (`CHANGE_SEQ_CLAIM`).
        claims_first = placed or task.completed
        if claims_first:
            task.change_seq = claim_change_seq(owner.pk)
        if placed:
            _place(task, data)
        if task.completed:  # created done: a recurring one schedules its next occurrence, as completing does
            task.completed = False
            _set_completed(task, True)
        TASK_INSERT.insert(task, claim=None if claims_first else [owner.pk])
        _set_tags(task, new=True)
        tell([task_saved(task, "created")])
    return task


def _created_alone(task: Task) -> bool:
    """Insert a task that reads no other row (neither placed nor created done) as one statement committed alone
    (evotodo.transactions), with its change number, its tags and what the listeners write for it (its event):
    one round trip instead of four or five. Only where every listener can write in it; whether it was, else
    nothing was done."""
    tell_inserted = told_in_statement()
    if tell_inserted is None or not TASK_INSERT.takes_beside():
        return False
    try:
        with committed_alone():
            TASK_INSERT.insert(
                task,
                claim=[task.owner_id],
                beside=lambda: [*_tags_beside(task), *tell_inserted(task_saved(task, "created"))],
            )
    except NotInStatement:  # raised before anything was sent
        return False
    return True


# A new task's tag rows, in its INSERT's statement (`_created_alone`): `_set_tags` of a task just inserted.
TAGS_FROM_INSERTED = (
    f'INSERT INTO "{TaskTag._meta.db_table}" ("task_id", "owner_id", "key", "name") '  # noqa: S608 (names, no values)
    "SELECT inserted.id, %s, tag.key, tag.name FROM inserted, unnest(%s::text[], %s::text[]) AS tag(key, name)"
)


def _tags_beside(task: Task) -> list[tuple[str, list[Any]]]:
    if not task.tags:
        return []
    return [(TAGS_FROM_INSERTED, [task.owner_id, tag_keys(task.tags), list(task.tags)])]


def task_update(*, task: Task, data: dict[str, Any], preconditions: Preconditions = NO_PRECONDITIONS) -> Task:
    """Apply validated changes; completing a recurring task this way also schedules its next occurrence."""
    placed = "parent_id" in data or "task_list_id" in data
    with transaction.atomic(savepoint=False):
        locked, seq = _lock(task, preconditions)
        # A task placed (siblings rebalanced) or completed (a next occurrence made) changes other rows, numbered
        # after this one but changed before it is saved: all are told in their numbers' order. Any other update
        # is the one change, told in its UPDATE's statement.
        with in_change_order() if placed or data.get("completed") else nullcontext():
            return _updated(task, locked, seq, data, placed)


def _updated(task: Task, locked: Task, seq: int, data: dict[str, Any], placed: bool) -> Task:
    """`task_update`'s changes to its locked row, saved as change `seq`."""
    reminded = locked.remind_at
    for field, value in data.items():
        if field not in ("recurrence", "completed", "parent_id", "task_list_id"):
            setattr(locked, field, value)
    following = _place(locked, data) if placed else []
    # The serializer validated against the row as it was read; check again against the locked row.
    if locked.remind_at and locked.due_at and locked.remind_at > locked.due_at:
        raise TaskConflict("remind_at would be after due_at")
    if data.get("recurrence", locked.recurrence) is not None and locked.due_at is None:
        raise TaskConflict("a recurring task would have no due_at")
    locked.recurrence = _recurrence(data, locked)
    was_completed = locked.completed
    if "completed" in data:
        _set_completed(locked, data["completed"])
    if locked.remind_at != reminded:
        locked.reminder_fired_at = None  # a reminder set to another time fires again then (events.reminders)
    locked.owner = task.owner
    save_locked_version(locked, seq, told=completion_action(was_completed, locked.completed))
    # Its subtasks follow it.
    change_rows(Task, locked.owner_id, {pk: {"task_list_id": locked.task_list_id} for pk in following})
    if "tags" in data:
        _set_tags(locked)
    return locked


def completion_action(was_completed: bool, completed: bool) -> Action:
    """The event a task's write makes: "completed" when it was open and is done now, else "updated"."""
    return "completed" if completed and not was_completed else "updated"


def task_complete(
    *, task: Task, completed: bool | None = None, preconditions: Preconditions = NO_PRECONDITIONS
) -> Task:
    """Set `completed` (toggle when None) under a row lock; completing a recurring task, in the same
    transaction, creates its next occurrence, once. The result carries it as `completion_next`."""
    with transaction.atomic(savepoint=False):
        locked, seq = _lock(task, preconditions)
        locked.owner = task.owner
        was_completed = locked.completed
        done = (not locked.completed) if completed is None else completed
        # A next occurrence is numbered after the completion but made before it is saved: the two are told in
        # their numbers' order. Any other completion is the one change, told in its UPDATE's statement.
        with in_change_order() if _makes_next_occurrence(locked, done) else nullcontext():
            _set_completed(locked, done)
            save_locked_version(locked, seq, COMPLETION_FIELDS, told=completion_action(was_completed, done))
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
    if _makes_next_occurrence(task, completed):
        task.next_occurrence = _next_occurrence(task)
    if completed and task.recurrence and task.due_at:
        task.completion_next = task.next_occurrence


def _makes_next_occurrence(task: Task, completed: bool) -> bool:
    """Whether `_set_completed(task, completed)` creates the task's next occurrence (a recurring task completed
    that has none yet)."""
    return bool(completed and task.recurrence and task.due_at and task.next_occurrence_id is None)


def _next_occurrence(task: Task) -> Task | None:
    rule = Rule.from_json(task.recurrence)  # type: ignore[arg-type]
    recurrence = task.recurrence
    if rule.basis == "completion":  # counted from the day it was done: the series starts again from there
        due_at, rebased = rule.next_after_completion(task.completed_at or timezone.now())
        recurrence = rebased.to_json()
    else:
        due_at = rule.next_after(task.due_at)  # type: ignore[arg-type]
    if due_at is None:
        return None
    remind_at = _shifted(task.remind_at, due_at - task.due_at) if task.remind_at and task.due_at else None
    following = Task(
        **{field: getattr(task, field) for field in COPIED_TO_NEXT_OCCURRENCE},
        due_at=due_at,
        remind_at=remind_at,
        recurrence=recurrence,
        change_seq=claim_change_seq(task.owner_id),
    )
    following.save()
    _set_tags(following, new=True)
    tell([task_saved(following, "created")])
    _copy_subtasks(task, following, due_at - task.due_at)  # type: ignore[operator]
    return following


def _shifted(moment: datetime | None, shift: Any) -> datetime | None:
    """`moment` moved by `shift`, or None when it has none or would leave years 1-9999."""
    if moment is None:
        return None
    try:
        moved = moment + shift
    except OverflowError:
        return None
    return moved if due_in_range(moved) else None


def _copy_subtasks(task: Task, following: Task, shift: Any) -> None:
    """The next occurrence gets the task's subtasks (and theirs), reopened, their dates moved as the task's. A
    copy has no rule of its own: the parent's series repeats it (a subtask's occurrences are all copied, the
    completed ones reopened, so copies that each carried the rule would each start the series again)."""
    parents = {task.pk: following.pk}
    for level in descendant_levels([task.pk]):
        rows = list(Task.objects.filter(pk__in=level).order_by("id"))
        last = claim_change_seq(task.owner_id, len(rows))
        copies = [
            Task(
                **{field: getattr(row, field) for field in COPIED_WITH_SUBTASKS},
                parent_id=parents[row.parent_id],
                task_list_id=following.task_list_id,
                due_at=(due_at := _shifted(row.due_at, shift)),
                # A reminder is for the due date: none on a copy whose due date would pass year 9999.
                remind_at=_shifted(row.remind_at, shift) if due_at or row.due_at is None else None,
                change_seq=number,
            )
            for number, row in enumerate(rows, start=last - len(rows) + 1)
        ]
        for row, copy in zip(rows, Task.objects.bulk_create(copies), strict=True):
            parents[row.pk] = copy.pk
            _set_tags(copy, new=True)
        tell(task_saved(copy, "created") for copy in copies)


def task_move(*, task: Task, data: dict[str, Any], preconditions: Preconditions = NO_PRECONDITIONS) -> Task:
    """Put the task where `data` says (tasks.serializers.TaskMoveSerializer): another list, another parent, and
    right after or before a sibling there. One change in the feed (and one per subtask that follows it to another
    list, or per sibling whose key a rebalance rewrote: numbered after the move's but made before it is saved, all
    told in their numbers' order). The user's write lock, taken first, keeps two moves from ever reading the same
    neighbours."""
    with transaction.atomic(savepoint=False), in_change_order():
        locked, seq = _lock(task, preconditions)
        following = _place(locked, data)
        siblings = Task.objects.filter(
            owner_id=locked.owner_id, task_list_id=locked.task_list_id, parent_id=locked.parent_id
        ).exclude(pk=locked.pk)
        key, index = placed_key(siblings, after=data.get("after", UNSET), before=data.get("before", UNSET))
        if key is None:
            key = rebalance(siblings, index, lambda keys: reposition(Task, locked.owner_id, keys))
        locked.position = key
        locked.owner = task.owner
        save_locked_version(locked, seq, ["position", "task_list", "parent"], told="updated")
        change_rows(Task, locked.owner_id, {pk: {"task_list_id": locked.task_list_id} for pk in following})
    return locked


def reposition(model: type[Task] | type[TaskList], owner_id: int, keys: list[tuple[int, str]]) -> None:
    """A rebalance's new keys (`tasks.order_keys.rebalance`), each a change, in id order."""
    change_rows(model, owner_id, {pk: {"position": key} for pk, key in sorted(keys)})


def task_delete(*, task: Task, preconditions: Preconditions = NO_PRECONDITIONS) -> None:
    """Delete the task and leave a tombstone, so offline clients learn of it when they sync."""
    with transaction.atomic(savepoint=False):
        locked, seq = _lock(task, preconditions)
        # Its subtasks go with it, deepest first in the feed, each with a tombstone of its own.
        below = [pk for level in reversed(descendant_levels([locked.pk])) for pk in level]
        if below:
            last = claim_change_seq(locked.owner_id, len(below))
            numbers = range(seq, last)
            seq = last
            TaskTombstone.objects.bulk_create(
                [
                    TaskTombstone(owner_id=locked.owner_id, task_id=pk, change_seq=n)
                    for pk, n in zip(below, numbers, strict=True)
                ]
            )
            tell(task_deleted(locked.owner_id, pk, n) for pk, n in zip(below, numbers, strict=True))
        TaskTombstone.objects.create(owner_id=locked.owner_id, task_id=locked.pk, change_seq=seq)
        tell([task_deleted(locked.owner_id, locked.pk, seq)])
        locked.delete()


def task_save_from_admin(*, task: Task, previous_owner_id: int | None, was_completed: bool) -> None:
    """An admin's edit: a new version and change number; completing or reopening it follows the same rules
    as the API (completed_at, a recurring task's next occurrence); a task given to another owner leaves a
    tombstone in the previous owner's feed and arrives in the new owner's as a new change."""
    with transaction.atomic(savepoint=False), in_change_order():
        if task.completed != was_completed:
            completed, task.completed = task.completed, was_completed
            _set_completed(task, completed)
        if previous_owner_id is not None and previous_owner_id != task.owner_id:
            task.task_list = None  # the previous owner's list: the task arrives in its new owner's inbox
            task.parent = None  # and at the top level; its subtasks stay with the previous owner, at the top
            children = list(Task.objects.filter(parent_id=task.pk).order_by("id").values_list("id", flat=True))
            change_rows(Task, previous_owner_id, {pk: {"parent_id": None} for pk in children})
            tombstone, _ = TaskTombstone.objects.update_or_create(
                task_id=task.pk,
                defaults={
                    "owner_id": previous_owner_id,
                    "deleted_at": timezone.now(),
                    "change_seq": claim_change_seq(previous_owner_id),
                },
            )
            tell([task_deleted(previous_owner_id, task.pk, tombstone.change_seq)])
        inserted = task.pk is None
        if inserted:
            task.change_seq = claim_change_seq(task.owner_id)
            task.save()
        else:
            save_new_version(task)
        _set_tags(task, new=inserted)
        # A task given to another owner is new to them: "created" in their events, as it is in their feed.
        arrived = inserted or (previous_owner_id is not None and previous_owner_id != task.owner_id)
        tell([task_saved(task, "created" if arrived else completion_action(was_completed, task.completed))])


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
