"""Writes on lists, each in one transaction that first takes the user's change number (tasks.sync): that
serialises one user's writes, so checking a name is free and then using it cannot race another request."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet

from authn.models import User
from tasks.changes import in_change_order, list_deleted, list_saved, task_deleted, tell
from tasks.models import MAX_LISTS, ListTombstone, Task, TaskList, TaskTombstone, list_name_key
from tasks.order_keys import UNSET, key_after, placed_key, rebalance
from tasks.services import NO_PRECONDITIONS, Preconditions, reposition
from tasks.sync import change_rows, claim_change_seq

# What DELETE /api/lists/{id}?tasks=... does with the list's tasks; without it a list that has tasks stays.
TASKS_DELETE, TASKS_MOVE_TO_INBOX = "delete", "move_to_inbox"


class ListNameTaken(Exception):
    """Another of the user's lists has this name, whatever its case."""


class TooManyLists(Exception):
    """The user has MAX_LISTS lists already."""


class ListNotEmpty(Exception):
    """The list has tasks and the request did not say what to do with them."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


class ListChanged(Exception):
    """The list is not as the client's `If-Match` or `If-None-Match` expect (`Preconditions`)."""


def owned_lists(owner_id: int) -> QuerySet[TaskList]:
    """The lists of the user with this id: every list view's queryset."""
    return TaskList.objects.filter(owner_id=owner_id)


def with_counts(lists: QuerySet[TaskList]) -> QuerySet[TaskList]:
    """Each list with `task_count` and `open_count`, in the same query."""
    return lists.annotate(
        task_count=Count("tasks"),
        open_count=Count("tasks", filter=Q(tasks__completed=False)),
        tasks_changed=Max("tasks__change_seq"),
    ).order_by("position", "id")


def _check_name(owner_id: int, name: str, exclude: int | None = None) -> None:
    same = owned_lists(owner_id).filter(name_key=list_name_key(name))
    if exclude is not None:
        same = same.exclude(pk=exclude)
    if same.exists():
        raise ListNameTaken()


def list_create(*, owner: User, data: dict[str, Any]) -> TaskList:
    """Create a list for `owner` from validated data, after the user's other lists."""
    with transaction.atomic(savepoint=False):
        seq = claim_change_seq(owner.pk)
        _check_name(owner.pk, data["name"])
        lists = owned_lists(owner.pk)
        if lists.count() >= MAX_LISTS:
            raise TooManyLists()
        last = lists.order_by("-position").values_list("position", flat=True).first()
        task_list = TaskList(
            owner=owner, change_seq=seq, position=key_after(last), name_key=list_name_key(data["name"]), **data
        )
        task_list.save()
        tell([list_saved(task_list, "created")])
    return task_list  # no tasks: the counts' defaults


def _lock(owner_id: int, pk: int, preconditions: Preconditions) -> tuple[TaskList, int]:
    """The list's row, locked, and this write's change number (taken first, as every write does)."""
    seq = claim_change_seq(owner_id)
    locked = owned_lists(owner_id).select_for_update().get(pk=pk)
    if preconditions.given():
        # Its tasks' state too (the ETag covers it), stable from here: every write of the user waits on `seq`.
        state = Task.objects.filter(task_list_id=pk).aggregate(
            task_count=Count("id"), open_count=Count("id", filter=Q(completed=False)), tasks_changed=Max("change_seq")
        )
        for name, value in state.items():
            setattr(locked, name, value)
        if not preconditions.hold(locked.etag):
            raise ListChanged()
    return locked, seq


def list_update(
    *, owner: User, pk: int, data: dict[str, Any], preconditions: Preconditions = NO_PRECONDITIONS
) -> TaskList:
    """Apply validated changes to one of `owner`'s lists."""
    with transaction.atomic(savepoint=False):
        locked, seq = _lock(owner.pk, pk, preconditions)
        if "name" in data:
            _check_name(owner.pk, data["name"], exclude=locked.pk)
            locked.name_key = list_name_key(data["name"])
        for field, value in data.items():
            setattr(locked, field, value)
        locked.version += 1
        locked.change_seq = seq
        locked.save()
        tell([list_saved(locked)])
    return with_counts(owned_lists(owner.pk)).get(pk=locked.pk)


def list_move(
    *, owner: User, pk: int, data: dict[str, Any], preconditions: Preconditions = NO_PRECONDITIONS
) -> TaskList:
    """Put one of `owner`'s lists right after or before another (`after` null: first; neither: last). A rebalance
    rewrites its siblings' keys, each a change numbered after the move's but made before it is saved: all are told
    in their numbers' order."""
    with transaction.atomic(savepoint=False), in_change_order():
        locked, seq = _lock(owner.pk, pk, preconditions)
        siblings = owned_lists(owner.pk).exclude(pk=locked.pk)
        key, index = placed_key(siblings, after=data.get("after", UNSET), before=data.get("before", UNSET))
        if key is None:
            key = rebalance(siblings, index, lambda keys: reposition(TaskList, owner.pk, keys))
        locked.position = key
        locked.version += 1
        locked.change_seq = seq
        locked.save(update_fields=["position", "version", "change_seq", "updated_at"])
        tell([list_saved(locked)])
    return with_counts(owned_lists(owner.pk)).get(pk=locked.pk)


def list_delete(
    *, owner: User, pk: int, tasks: str | None = None, preconditions: Preconditions = NO_PRECONDITIONS
) -> None:
    """Delete one of `owner`'s lists, leaving a tombstone. Its tasks: a 409 (ListNotEmpty) unless `tasks` says
    to delete them (a tombstone each, as any delete) or to move them to the inbox (each a change)."""
    with transaction.atomic(savepoint=False):
        locked, seq = _lock(owner.pk, pk, preconditions)
        in_list = Task.objects.filter(owner_id=owner.pk, task_list_id=locked.pk)
        parents = dict(in_list.values_list("id", "parent_id"))
        ids = sorted(parents)
        if ids and tasks is None:
            raise ListNotEmpty(len(ids))
        if ids:
            # The tasks' changes first and the list's deletion last, so that a client never holds a task in a
            # list it has deleted: the numbers taken so far (seq) and n more, consecutive under the counter's lock.
            last = claim_change_seq(owner.pk, len(ids))
            numbers = range(seq, last)
            if tasks == TASKS_DELETE:
                _delete_tasks(owner.pk, deepest_first(parents), numbers)
            else:
                change_rows(Task, owner.pk, {task_id: {"task_list_id": None} for task_id in ids}, numbers)
            seq = last
        ListTombstone.objects.create(owner_id=owner.pk, list_id=locked.pk, change_seq=seq)
        tell([list_deleted(owner.pk, locked.pk, seq)])
        locked.delete()


def deepest_first(parents: dict[int, int | None]) -> list[int]:
    """Tasks (id: parent id) in the order their deletions are numbered, as `DELETE /api/tasks/{id}` numbers a
    task's: the deepest subtasks first, each level in id order, the top level last."""

    def depth(pk: int) -> int:
        level, parent = 0, parents[pk]
        while parent in parents:
            level, parent = level + 1, parents[parent]
        return level

    return sorted(parents, key=lambda pk: (-depth(pk), pk))


def _delete_tasks(owner_id: int, ids: list[int], numbers: range) -> None:
    TaskTombstone.objects.bulk_create(
        [TaskTombstone(owner_id=owner_id, task_id=pk, change_seq=n) for pk, n in zip(ids, numbers, strict=True)]
    )
    tell(task_deleted(owner_id, pk, n) for pk, n in zip(ids, numbers, strict=True))
    # In statements of at most so many ids (PostgreSQL takes 65 535 parameters a statement).
    batch = connection.features.max_query_params or len(ids)
    for start in range(0, len(ids), batch):
        Task.objects.filter(pk__in=ids[start : start + batch]).delete()
