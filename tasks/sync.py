"""The sync feed: every change of a user's tasks, in the order they committed, from an opaque token.

Why a per-user change counter, and not a clock or PostgreSQL's transaction ids: every write transaction takes
its change numbers from the user's SyncState row with one `INSERT … ON CONFLICT DO UPDATE … RETURNING`, which
holds that row's lock until the transaction ends. A second write of the same user waits there, so it gets a
larger number only after the first has committed: the numbers a reader can see always form a prefix, and a
client that has seen number N has seen everything up to N, whatever the servers' clocks say and however the
transactions interleave. It costs one statement per write and serialises one user's writes, which for a todo
app are few; it works the same on SQLite; and, unlike `pg_current_snapshot()`, it needs no horizon to wait for.
A write takes its number before it locks anything else, so two writes never wait on each other in turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db import connection
from django.db.models import BooleanField, F, IntegerField, QuerySet, Value
from django.utils import timezone

from authn.models import User
from evotodo.queries import Claimed, statement_cursor, update_rows
from tasks.changes import list_saved, task_saved, tell
from tasks.models import ListTombstone, SyncState, Task, TaskList, TaskTombstone

TOKEN_SALT = "evotodo.tasks.sync"


class SyncTokenInvalid(Exception):
    """A token this server did not issue to this user (tampered with, truncated, another user's)."""


class SyncTokenExpired(Exception):
    """A token from before changes the server no longer remembers (tombstones purged): list everything."""


# Take `count` numbers from a user's counter (created at its first change), returning the last.
CLAIM_SQL = (
    "INSERT INTO {table} (owner_id, seq, purged_seq) VALUES (%s, {count}, 0) "
    "ON CONFLICT (owner_id) DO UPDATE SET seq = {table}.seq + {count} RETURNING seq"
)


def claim_change_seq(owner_id: int, count: int = 1) -> int:
    """Take `count` change numbers for `owner_id` and return the last; the caller's transaction now holds
    the user's counter until it ends (see the module docstring)."""
    table = connection.ops.quote_name(SyncState._meta.db_table)
    cursor = statement_cursor(connection)
    cursor.execute(CLAIM_SQL.format(table=table, count="%s"), [owner_id, count, count])
    return cursor.fetchone()[0]


# A new task's change number, taken in its INSERT's own statement on PostgreSQL (a round trip and a statement
# fewer a create), by `claim_change_seq` first elsewhere: `TASK_INSERT.insert(task, claim=[owner_id])`.
CHANGE_SEQ_CLAIM = Claimed(
    field="change_seq",
    sql=CLAIM_SQL.format(table=f'"{SyncState._meta.db_table}"', count="1"),
    take=claim_change_seq,
)


def change_rows(
    model: type[Task] | type[TaskList],
    owner_id: int,
    changes: dict[int, dict[str, Any]],
    numbers: Iterable[int] | None = None,
) -> None:
    """Apply `changes` (`{id: {field: value}}`) to these rows of `owner_id`'s, each a new version and a change in
    the feed, in the dict's order: numbered from `numbers` when the caller took them already, else from new ones;
    one UPDATE however many rows (`update_rows`, like `bulk_update`, leaves auto_now alone: `updated_at` is set
    here)."""
    if not changes:
        return
    if numbers is None:
        last = claim_change_seq(owner_id, len(changes))
        numbers = range(last - len(changes) + 1, last + 1)
    rows = model.objects.in_bulk(list(changes))  # in queries of at most a statement's parameters
    fields: dict[str, None] = {}
    now = timezone.now()
    for pk, number in zip(changes, numbers, strict=True):
        row = rows[pk]
        for field, value in changes[pk].items():
            setattr(row, field, value)
            fields[field] = None
        row.version, row.change_seq, row.updated_at = row.version + 1, number, now
    update_rows(model, list(rows.values()), [*fields, "version", "change_seq", "updated_at"])
    saved = task_saved if model is Task else list_saved
    tell(saved(rows[pk]) for pk in changes)  # type: ignore[arg-type]


def lock_counters_of_deleted_users(*, user_ids: list[int], **kwargs: Any) -> None:
    """Before users are deleted, take their change counters the way every write does first (in id order, so two
    deletions never wait on each other in turn): the deletion then sees every write that committed before it,
    and writes that come after wait, then fail at COMMIT on the deleted user (authn.models.users_deleting)."""
    for user_id in sorted(user_ids):
        claim_change_seq(user_id)


def current_seq(owner: User) -> tuple[int, int]:
    """The user's last change number and the number up to which tombstones were purged (one query)."""
    state = SyncState.objects.filter(owner=owner).values_list("seq", "purged_seq").first()
    return state or (0, 0)


def make_token(owner: User, seq: int) -> str:
    """An opaque token for "everything up to change `seq`", signed so it cannot be forged or moved to
    another user's feed."""
    return signing.dumps([owner.pk, seq], salt=TOKEN_SALT, compress=False)


def read_token(owner: User, token: str) -> int:
    """The change number a token stands for; SyncTokenInvalid when it is not this user's."""
    try:
        owner_pk, seq = signing.loads(token, salt=TOKEN_SALT)
    except (signing.BadSignature, ValueError, TypeError) as e:
        raise SyncTokenInvalid() from e
    if owner_pk != owner.pk or not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise SyncTokenInvalid()
    return seq


# What a row of the feed's query is about.
TASK, LIST = 0, 1


@dataclass
class SyncPage:
    """One page of the feed: its changes (tasks, lists and their deletions), the token after them, and whether
    more follow."""

    changes: list[Task | TaskList | dict[str, Any]]
    next_token: str
    more: bool


def sync_page(*, owner: User, tasks: QuerySet[Task], token: str | None, limit: int) -> SyncPage:
    """The changes after `token` (all current tasks and lists without one), oldest first, at most `limit`.

    "Nothing changed", the common poll, costs one query: the counter is read first and compared.
    """
    last, purged = current_seq(owner)
    after = 0 if token is None else read_token(owner, token)
    if token is not None and (after < purged or after > last):
        # Older than the tombstones still kept, or from a counter that no longer exists (a restored backup).
        raise SyncTokenExpired()
    if after == last:
        return SyncPage(changes=[], next_token=make_token(owner, last), more=False)
    rows = list(_changes_after(owner=owner, tasks=tasks, after=after, tombstones=token is not None)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    # A task or list deleted since the query above drops out here: its tombstone comes on a later page.
    changes = _materialize_feed(rows, owner, tasks)
    reached = rows[-1][0] if more else last
    return SyncPage(changes=changes, next_token=make_token(owner, reached), more=more)


def _changes_after(*, owner: User, tasks: QuerySet[Task], after: int, tombstones: bool) -> QuerySet:
    """Rows `(change_seq, id, deleted, stamp, kind)` of the tasks and lists changed after `after` (and, with
    `tombstones`, of those deleted since), in the order they committed: one query."""

    def rows(queryset: QuerySet, ident: str, deleted: bool, stamp: str, kind: int) -> QuerySet:
        return (
            queryset.filter(change_seq__gt=after)
            .order_by()
            .annotate(
                ident=F(ident),
                deleted=Value(deleted, output_field=BooleanField()),
                stamp=F(stamp),
                kind=Value(kind, output_field=IntegerField()),
            )
            .values_list("change_seq", "ident", "deleted", "stamp", "kind")
        )

    parts = [
        rows(tasks, "id", False, "updated_at", TASK),
        rows(TaskList.objects.filter(owner=owner), "id", False, "updated_at", LIST),
    ]
    if tombstones:
        parts.append(rows(TaskTombstone.objects.filter(owner=owner), "task_id", True, "deleted_at", TASK))
        parts.append(rows(ListTombstone.objects.filter(owner=owner), "list_id", True, "deleted_at", LIST))
    return parts[0].union(*parts[1:], all=True).order_by("change_seq")


def _materialize_feed(
    rows: list[tuple[int, int, bool, datetime, int]], owner: User, tasks: QuerySet[Task]
) -> list[Task | TaskList | dict[str, Any]]:
    """The page's tasks and lists (a query each, when there are any) and deletions, in the page's order."""
    wanted = {kind: [ident for _, ident, deleted, _, k in rows if k == kind and not deleted] for kind in (TASK, LIST)}
    found: dict[int, dict[int, Any]] = {
        TASK: tasks.in_bulk(wanted[TASK]) if wanted[TASK] else {},
        LIST: TaskList.objects.filter(owner=owner).in_bulk(wanted[LIST]) if wanted[LIST] else {},
    }
    changes: list[Task | TaskList | dict[str, Any]] = []
    for _, ident, deleted, stamp, kind in rows:
        if deleted:
            changes.append({"id": ident, "deleted": True, "updated_at": stamp, "kind": kind})
        elif ident in found[kind]:
            changes.append(found[kind][ident])
    return changes


def changes_since(*, owner: User, tasks: QuerySet[Task], since: datetime) -> QuerySet:
    """Rows `(stamp, ident, deleted)` of changed tasks and tombstones, oldest change first, one query: the
    deprecated `updated_since`, by wall clock (see the README for why it can miss a change)."""
    changed = (
        tasks.order_by()
        .annotate(stamp=F("updated_at"), ident=F("id"), deleted=Value(False, output_field=BooleanField()))
        .values_list("stamp", "ident", "deleted")
    )
    removed = (
        TaskTombstone.objects.filter(owner=owner, deleted_at__gte=since)
        .annotate(stamp=F("deleted_at"), ident=F("task_id"), deleted=Value(True, output_field=BooleanField()))
        .values_list("stamp", "ident", "deleted")
    )
    return changed.union(removed, all=True).order_by("stamp", "ident")


def materialize(rows: list[tuple[datetime, int, bool]], tasks: QuerySet[Task]) -> list[Task | dict[str, Any]]:
    """The page's tasks (one query) and tombstones, in the page's order."""
    by_id = tasks.in_bulk([ident for _, ident, deleted in rows if not deleted])
    return [
        {"id": ident, "deleted": True, "updated_at": stamp} if deleted else by_id[ident]
        for stamp, ident, deleted in rows
        if deleted or ident in by_id
    ]
