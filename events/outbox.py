"""The transactional outbox: every change of a task or list (tasks.changes) becomes an Event row, written in the
transaction of the change, with the entity's state after it as the API shows it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from django.utils import timezone

from authn.models import User
from events.models import Event
from evotodo.queries import CompiledInsert
from tasks.changes import Change, NotInStatement
from tasks.models import Task, TaskList
from tasks.serializers import iso_datetime, task_json

# An event's subject, by entity: "tasks/42", "lists/7".
SUBJECTS = {"task": "tasks", "list": "lists"}

# One event's INSERT (most writes tell one change), compiled once per process.
EVENT_INSERT = CompiledInsert(Event)


def list_json(task_list: TaskList) -> dict[str, Any]:
    """A list as an event carries it: the API's fields but its task counts (which its tasks' events tell)."""
    return {
        "id": task_list.pk,
        "user_id": task_list.owner.better_auth_id,
        "name": task_list.name,
        "color": task_list.color or None,
        "position": task_list.position,
        "archived": task_list.archived,
        "created_at": iso_datetime(task_list.created_at, UTC),
        "updated_at": iso_datetime(task_list.updated_at, UTC),
    }


def _owners(changes: Iterable[Change]) -> dict[int, User]:
    """The owners of these changes, read once (one query, or none when every changed row holds its owner)."""
    known: dict[int, User] = {}
    for change in changes:
        instance = change.instance
        if instance is not None and type(instance).owner.is_cached(instance):
            known[change.owner_id] = instance.owner
    missing = {change.owner_id for change in changes} - known.keys()
    if missing:
        known.update(User.objects.only("better_auth_id").in_bulk(missing))
    return known


def entity_json(change: Change, owner: User | None) -> dict[str, Any]:
    """The changed task or list as its event carries it: as the API shows it, or only its id when deleted."""
    instance = change.instance
    if instance is None:
        return {"id": change.pk}
    if owner is not None:
        type(instance).owner.field.set_cached_value(instance, owner)
    if isinstance(instance, Task):
        return task_json(instance, UTC)
    return list_json(instance)


def event_for(change: Change, owner: User | None, now: Any) -> Event:
    return Event(
        owner_id=change.owner_id,
        type=f"{change.entity}.{change.action}",
        subject=f"{SUBJECTS[change.entity]}/{change.pk}",
        time=now,
        data={
            "user_id": owner.better_auth_id if owner is not None else None,
            "change": change.seq,
            change.entity: entity_json(change, owner),
        },
    )


def record_in_statement(change: Change) -> list[tuple[str, list[Any]]]:
    """`record_changes` as an INSERT in the changing statement (tasks.changes.InStatement): the event as
    `event_for` makes it; for a row being inserted (no `pk` yet), its subject and its entity's id and change
    number taken from the row. NotInStatement when the outbox's INSERT cannot run there (somebody listens to an
    event's saving)."""
    if not EVENT_INSERT.takes_beside():
        raise NotInStatement()
    event = event_for(change, _owners([change]).get(change.owner_id), timezone.now())
    if change.pk is not None:
        return [EVENT_INSERT.statement(event)]
    event.subject = f"{SUBJECTS[change.entity]}/"
    inserted = (
        f"jsonb_set(jsonb_set(%s, '{{change}}', to_jsonb(inserted.change_seq)), '{{{change.entity},id}}', "
        "to_jsonb(inserted.id))"
    )
    return [EVENT_INSERT.from_inserted(event, {"subject": "%s || inserted.id", "data": inserted})]


def record_changes(changes: list[Change]) -> None:
    """Write the changes' events (one INSERT): the listener of tasks.changes, in the write's transaction."""
    owners = _owners(changes)
    now = timezone.now()
    events = [event_for(change, owners.get(change.owner_id), now) for change in changes]
    if len(events) == 1:
        EVENT_INSERT.insert(events[0])
    else:
        Event.objects.bulk_create(events)
