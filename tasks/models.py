"""A task belongs to exactly one user; every query is scoped to its owner."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cache
from typing import Any

import orjson
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.base import ModelState
from django.db.models.functions import Lower
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from tasks.datetimes import EARLIEST, LATEST, due_sort_key
from tasks.order_keys import EARLIEST_KEY, OrderKeyField, new_position

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000
TAG_MAX_LENGTH = 50
MAX_TAGS = 20
LIST_NAME_MAX_LENGTH = 100
MAX_LISTS = 500
MAX_DEPTH = 3  # a task, its subtasks, and theirs


class Priority(models.IntegerChoices):
    """Stored as a number so that sorting by priority is sorting by urgency."""

    NONE = 0, "none"
    LOW = 1, "low"
    MEDIUM = 2, "medium"
    HIGH = 3, "high"


LONG_NUMBER = re.compile(r"[0-9]{19}")


class JSONField(models.JSONField):
    """Django's JSONField, read with orjson: a page of 50 tasks decodes 100 of these (tags and rules), several
    times faster than `json.loads`, to the same values (tested). Text with a run of 19 digits (an integer that
    orjson would read as a float), what orjson refuses (NaN, nesting past 1024 levels) and fields with a custom
    decoder go Django's way, and so does every write. It deconstructs as Django's own, so
    migrations see no change."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # orjson reads an integer past 64 bits as a float (json as an int): 19 digits or more go Django's way.
        if type(value) is str and self.decoder is None and not LONG_NUMBER.search(value):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)

    def deconstruct(self) -> Any:
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


def list_name_key(name: str) -> str:
    """What list names compare by: the digest of the name compatibility-normalised (NFKC) and case-folded, so
    "Straße" and "STRASSE", or "ﬁle" and "File", are one name, and so are names that differ only by invisible
    formatting characters (a zero-width space, a soft hyphen). A digest because normalising can make a name
    many times longer (U+FDFA alone is 18 characters), too long for an index."""
    visible = "".join(char for char in name if unicodedata.category(char) != "Cf")  # zero-width, soft hyphen...
    return hashlib.sha256(unicodedata.normalize("NFKC", visible).casefold().encode()).hexdigest()


def tag_key(tag: str) -> str:
    """What tags compare by: the tag case-folded and canonically composed (Unicode's canonical caseless match),
    so "Work" and "WORK" are one tag, and so are "café" typed composed (U+00E9) and decomposed ("e" and U+0301),
    which look the same and which different keyboards and systems send."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", tag).casefold())


class TaskList(models.Model):
    """A user's list of tasks ("Work", "Groceries"); a task in none is in the inbox."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_lists")
    name = models.CharField(max_length=LIST_NAME_MAX_LENGTH)
    # What names compare by (`list_name_key`): "Straße" and "STRASSE" are one name.
    name_key = models.CharField(max_length=64, editable=False)
    color = models.CharField(max_length=7, blank=True, default="", help_text="#rrggbb, or empty: none.")
    # Where the list sorts among its owner's (tasks.order_keys); ties, which concurrent clients cannot make
    # through the API, fall back to the id.
    position = OrderKeyField()
    archived = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    change_seq = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            # Names are unique per user, whatever their case ("Work" and "work" are one list).
            models.UniqueConstraint(fields=["owner", "name_key"], name="tasklist_owner_name_key_unique"),
        ]
        indexes = [
            models.Index(fields=["owner", "position", "id"], name="tasklist_owner_position_idx"),
            models.Index(fields=["owner", "change_seq"], name="tasklist_owner_change_idx"),
        ]

    # Its tasks' state, annotated by `with_counts` (or set by the write that knows it).
    task_count: int = 0
    open_count: int = 0
    tasks_changed: int | None = None

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_key = list_name_key(self.name)  # bulk_create skips this: callers set it
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key"}
        super().save(*args, **kwargs)

    @property
    def etag(self) -> str:
        """Changes with the list and with its tasks: a task added, edited, completed, moved in or out, or deleted
        changes the counts or the last change number among them (`tasks.list_services.with_counts`)."""
        state = f"{self.version}:{self.task_count}:{self.open_count}:{self.tasks_changed or 0}"
        return f'"list-{self.pk}-{hashlib.blake2s(state.encode(), digest_size=8).hexdigest()}"'


class ListTombstone(models.Model):
    """A deleted list, remembered for a while so offline clients can sync the deletion."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    list_id = models.BigIntegerField(unique=True)
    deleted_at = models.DateTimeField(default=timezone.now)
    change_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "change_seq"], name="listtombstone_owner_change_idx"),
            models.Index(fields=["deleted_at"], name="listtombstone_deleted_idx"),
        ]

    def __str__(self) -> str:
        return f"list {self.list_id}, deleted {self.deleted_at:%Y-%m-%d %H:%M}"


class Task(models.Model):
    """One todo item of one user."""

    # No index of its own: every index below leads with the owner. A lone one cost every write and, with stale
    # statistics, lured PostgreSQL into reading all of a user's tasks and sorting them for a page of 50.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks", db_index=False)
    # The list the task is in (one of its owner's), or none: the inbox. A list is emptied before it is deleted
    # (RESTRICT: unless its tasks go too, as when their owner is deleted).
    task_list = models.ForeignKey(
        TaskList, null=True, blank=True, on_delete=models.RESTRICT, related_name="tasks", db_index=False
    )
    # A subtask's parent: a task of the same owner, in the same list; at most MAX_DEPTH levels, no cycles
    # (tasks.services). Deleting a task deletes its subtasks, each with a tombstone.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="subtasks")
    # Where the task sorts among its siblings (same list, same parent) under sort=position: made later, later;
    # moved (POST .../move), between its new neighbours (tasks.order_keys).
    # db_default: a row inserted by code that predates positions (an old node during a rolling deploy) sorts
    # first, with a key moves can work with.
    position = OrderKeyField(default=new_position, db_default=EARLIEST_KEY)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NONE)
    # As the user wrote them, in order; TaskTag holds their lower-case keys for filtering and counting.
    tags = JSONField(default=list, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    # When its reminder fired (or was found too late to fire): events.reminders sets it, in the transaction of
    # the reminder's event; a remind_at set to another time clears it (tasks.services). Not a change of the
    # task: no new version, nothing in the sync feed.
    reminder_fired_at = models.DateTimeField(null=True, blank=True, editable=False)
    # {"freq", "interval", "until", "anchor"}: `anchor` is the first due date with the offset the client
    # sent, so that monthly series keep their day of the month and their wall-clock time.
    recurrence = JSONField(null=True, blank=True)
    next_occurrence = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="previous_occurrence"
    )
    # Bumped by every write; the ETag is built from it.
    version = models.PositiveIntegerField(default=1)
    # The owner's change number of this task's last change (tasks.sync): what the sync feed is ordered by.
    change_seq = models.BigIntegerField(default=0, editable=False)
    # A default rather than auto_now_add, so imports and demo data can keep their original dates.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list: one owner's tasks, newest first, optionally by status.
            models.Index(fields=["owner", "-created_at", "-id"], name="task_owner_created_idx"),
            models.Index(fields=["owner", "completed", "-created_at"], name="task_owner_status_idx"),
            # Sync (updated_since) and sort=updated.
            models.Index(fields=["owner", "updated_at", "id"], name="task_owner_updated_idx"),
            # due_before/due_after/overdue/has_due and sort=due.
            models.Index(fields=["owner", "due_at", "id"], name="task_owner_due_idx"),
            # sort=priority (high first, then by id) and sort=-priority (read backwards); priority=.
            models.Index(fields=["owner", "-priority", "id"], name="task_owner_priority_sort_idx"),
            # sort=title and sort=-title, by the same expressions as tasks.ordering.
            models.Index(F("owner"), Lower("title"), F("title"), F("id"), name="task_owner_title_idx"),
            # sort=due and sort=-due: tasks without a due date last either way (tasks.ordering).
            models.Index(F("owner"), due_sort_key(LATEST), F("id"), name="task_owner_due_sort_idx"),
            models.Index(F("owner"), due_sort_key(EARLIEST), F("id"), name="task_owner_due_desc_sort_idx"),
            # The reminder tick (events.reminders): reminders not fired yet, of open tasks, by time.
            models.Index(
                fields=["remind_at"],
                name="task_reminder_due_idx",
                condition=Q(remind_at__isnull=False, reminder_fired_at__isnull=True, completed=False),
            ),
            # The sync feed: one owner's changes after a change number.
            models.Index(fields=["owner", "change_seq"], name="task_owner_change_idx"),
            # sort=position within a list (or the inbox), and a move's neighbours.
            models.Index(fields=["owner", "task_list", "position", "id"], name="task_owner_list_position_idx"),
            # list=<id>: one list's tasks, newest first, and the lists' counts (it serves the foreign key too).
            models.Index(fields=["task_list", "-created_at", "-id"], name="task_list_created_idx"),
        ]

    # Set by task_complete: the next occurrence that completing this task scheduled (not stored).
    completion_next: Task | None = None

    def __str__(self) -> str:
        return self.title

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Task:
        """Django's `from_db`, a full row filled straight into the instance: `Model.__init__` sets the columns one
        by one through their descriptors and sends pre_init and post_init, most of what reading a page of tasks
        costs in Python. The instance is the same (tested). Django's way when a column is deferred or anything
        listens to pre_init or post_init (for any model)."""
        attnames = _column_attnames()
        if len(values) != len(attnames) or pre_init.receivers or post_init.receivers:
            return super().from_db(db, field_names, values)
        task = cls.__new__(cls)
        task._state = state = ModelState()
        state.adding = False
        state.db = db
        task.__dict__.update(zip(attnames, values, strict=True))
        return task

    @property
    def etag(self) -> str:
        """A strong validator: changes whenever the task does."""
        return f'"{self.pk}-{self.version}"'


@cache
def _column_attnames() -> tuple[str, ...]:
    """The attributes of a task's columns, in the order of a full row."""
    return tuple(field.attname for field in Task._meta.concrete_fields)


class TaskTag(models.Model):
    """One tag of one task, by its lower-case key: what `tag=` filters and GET /api/tags counts use."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="tag_keys")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=TAG_MAX_LENGTH)
    name = models.CharField(max_length=TAG_MAX_LENGTH, help_text="As the user wrote it on this task.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "key"], name="tasktag_task_key_unique")]
        indexes = [models.Index(fields=["owner", "key"], name="tasktag_owner_key_idx")]

    def __str__(self) -> str:
        return self.name


class TaskTombstone(models.Model):
    """A deleted task, remembered for a while so offline clients can sync the deletion."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    task_id = models.BigIntegerField(unique=True)
    deleted_at = models.DateTimeField(default=timezone.now)
    change_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "deleted_at", "task_id"], name="tombstone_owner_deleted_idx"),
            models.Index(fields=["owner", "change_seq"], name="tombstone_owner_change_idx"),
        ]

    def __str__(self) -> str:
        return f"task {self.task_id}, deleted {self.deleted_at:%Y-%m-%d %H:%M}"


class SyncState(models.Model):
    """One user's change counter. Every write transaction takes its change numbers from here, under this row's
    lock (tasks.sync.claim_change_seq), so one user's changes commit in the order of their numbers."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    seq = models.BigIntegerField(default=0, help_text="The last change number given out.")
    purged_seq = models.BigIntegerField(
        default=0, help_text="Tombstones up to this change number have been forgotten: older tokens are expired."
    )

    def __str__(self) -> str:
        return f"change {self.seq}"


class IdempotencyRecord(models.Model):
    """The first response to a request that carried an `Idempotency-Key`, replayed to its retries."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique")]

    def __str__(self) -> str:
        return f"{self.scope} ({self.key})"
