"""Incremental sync: what changed since a moment, deletions included as tombstones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import BooleanField, F, QuerySet, Value

from authn.models import User
from tasks.models import Task, TaskTombstone


def changes_since(*, owner: User, tasks: QuerySet[Task], since: datetime) -> QuerySet:
    """Rows `(stamp, ident, deleted)` of changed tasks and tombstones, oldest change first, one query."""
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
