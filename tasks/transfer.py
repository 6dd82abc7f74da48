"""Export and import: all of a user's lists and tasks as one JSON document, and back, in one transaction.

The document names each list and task by the id it had where it was exported; an import gives them new ids and
keeps every reference (a task's list, a subtask's parent) between them. Exporting, importing into another user
and exporting again gives the same document but for the ids (and `exported_at`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from fractional_indexing import BASE_62_DIGITS, FIError, validate_order_key
from rest_framework import serializers

from authn.models import User
from evotodo.queries import update_rows
from tasks.changes import Change, list_saved, task_saved, tell
from tasks.list_services import TooManyLists
from tasks.models import (
    DESCRIPTION_MAX_LENGTH,
    LIST_NAME_MAX_LENGTH,
    MAX_DEPTH,
    MAX_LISTS,
    MAX_TAGS,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Task,
    TaskList,
    TaskTag,
    list_name_key,
    tag_key,
)
from tasks.order_keys import ORDER_KEY_MAX_LENGTH, key_after, time_key
from tasks.recurrence import MAX_INTERVAL, Rule, public_rule, rule_problems
from tasks.serializers import (
    COLOR,
    MAX_ID,
    PRIORITY_LABELS,
    AwareDateTimeField,
    ColorField,
    ComposedCharField,
    DueDateTimeField,
    PriorityField,
    RecurrenceSerializer,
    StrictBooleanField,
    StrictCharField,
    StrictDateField,
    StrictFieldsMixin,
    StrictIntegerField,
    clean_list_name,
    clean_tags,
    clean_title,
    iso_datetime,
)
from tasks.sync import claim_change_seq

FORMAT, VERSION = "evotodo", 1
MAX_IMPORTED_TASKS = 10_000


def export_document(owner: User) -> dict[str, Any]:
    """Everything of `owner`'s: lists in their order, tasks parents first (three queries)."""
    lists = list(TaskList.objects.filter(owner=owner).order_by("position", "id"))
    tasks = list(Task.objects.filter(owner=owner).order_by("id"))
    depth: dict[int, int] = {}
    by_id = {task.pk: task for task in tasks}

    def level(task: Task) -> int:
        if task.pk not in depth:
            depth[task.pk] = 0 if task.parent_id is None else 1 + level(by_id[task.parent_id])
        return depth[task.pk]

    tasks.sort(key=lambda task: (level(task), task.position, task.pk))
    zone = timezone.get_current_timezone()
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": iso_datetime(timezone.now(), zone),
        "lists": [
            {
                "id": item.pk,
                "name": item.name,
                "color": item.color or None,
                "position": item.position,
                "archived": item.archived,
                "created_at": iso_datetime(item.created_at, zone),
            }
            for item in lists
        ],
        "tasks": [
            {
                "id": task.pk,
                "list_id": task.task_list_id,
                "parent_id": task.parent_id,
                "title": task.title,
                "description": task.description,
                "completed": task.completed,
                "completed_at": iso_datetime(task.completed_at, zone),
                "priority": PRIORITY_LABELS[task.priority],
                "tags": list(task.tags),
                "due_at": iso_datetime(task.due_at, zone),
                "remind_at": iso_datetime(task.remind_at, zone),
                "recurrence": {**public_rule(task.recurrence), "anchor": task.recurrence["anchor"]}
                if task.recurrence
                else None,
                "position": task.position,
                "created_at": iso_datetime(task.created_at, zone),
                # A completed recurring task's next occurrence, which it made: completing it again makes none.
                "next_id": task.next_occurrence_id,
            }
            for task in tasks
        ],
    }


KEY_DIGITS = frozenset(BASE_62_DIGITS)


class OrderKeyInput(serializers.CharField):
    """A position as the API makes them: base-62 digits (fractional_indexing's own check takes any character of
    a valid head and length, "a b" included, which the next key made beside it cannot handle)."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            if not set(value) <= KEY_DIGITS:
                raise ValueError(value)
            validate_order_key(value)
        except (FIError, ValueError, IndexError):
            raise serializers.ValidationError("Not a position this API made.", code="invalid") from None
        return value


class ImportedRule(RecurrenceSerializer):
    """A rule as exported: the API's members, all of them, and the series' anchor."""

    interval = StrictIntegerField(min_value=1, max_value=MAX_INTERVAL)
    until = StrictDateField(allow_null=True)
    anchor = AwareDateTimeField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if problems := rule_problems(attrs):
            raise serializers.ValidationError(problems)
        return attrs


class ImportedList(StrictFieldsMixin, serializers.Serializer):
    id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    name = ComposedCharField(max_length=LIST_NAME_MAX_LENGTH)
    color = ColorField(COLOR, allow_null=True, required=False)
    position = OrderKeyInput(max_length=ORDER_KEY_MAX_LENGTH, required=False)
    archived = StrictBooleanField(required=False)
    created_at = AwareDateTimeField(required=False)

    def validate_name(self, value: str) -> str:
        return clean_list_name(value)


class ImportedTask(StrictFieldsMixin, serializers.Serializer):
    id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    list_id = StrictIntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)
    parent_id = StrictIntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)
    title = StrictCharField(max_length=TITLE_MAX_LENGTH)
    description = StrictCharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True, trim_whitespace=False
    )
    completed = StrictBooleanField(required=False)
    completed_at = AwareDateTimeField(allow_null=True, required=False)
    priority = PriorityField(required=False)
    tags = serializers.ListField(
        child=ComposedCharField(max_length=TAG_MAX_LENGTH), max_length=MAX_TAGS, required=False
    )
    due_at = DueDateTimeField(allow_null=True, required=False)
    remind_at = DueDateTimeField(allow_null=True, required=False)
    recurrence = ImportedRule(allow_null=True, required=False)
    position = OrderKeyInput(max_length=ORDER_KEY_MAX_LENGTH, required=False)
    created_at = AwareDateTimeField(required=False)
    next_id = StrictIntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)

    def validate_title(self, value: str) -> str:
        return clean_title(value)

    def validate_tags(self, value: list[str]) -> list[str]:
        return clean_tags(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        due_at, remind_at = attrs.get("due_at"), attrs.get("remind_at")
        if due_at and remind_at and remind_at > due_at:
            raise serializers.ValidationError({"remind_at": ["Must not be after due_at."]})
        rule = attrs.get("recurrence")
        if rule and not due_at:
            raise serializers.ValidationError({"recurrence": ["A recurring task needs a due_at."]})
        if rule and not series_holds(rule["anchor"], due_at):
            # The API keeps a series' anchor at or before its due date, at its time of day: an anchor that is
            # not would move the next occurrence to its own year or hour.
            raise serializers.ValidationError(
                {"recurrence": {"anchor": ["Not after due_at, and at due_at's time of day in its offset."]}}
            )
        return attrs


class ImportDocument(StrictFieldsMixin, serializers.Serializer):
    format = serializers.ChoiceField(choices=[FORMAT])
    version = StrictIntegerField(min_value=VERSION, max_value=VERSION)
    exported_at = AwareDateTimeField(required=False)
    lists = ImportedList(many=True, max_length=MAX_LISTS)
    tasks = ImportedTask(many=True, max_length=MAX_IMPORTED_TASKS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        list_ids = [item["id"] for item in attrs["lists"]]
        if len(set(list_ids)) != len(list_ids):
            raise serializers.ValidationError({"lists": ["Two lists have the same id."]})
        names = [list_name_key(item["name"]) for item in attrs["lists"]]
        if len(set(names)) != len(names):
            raise serializers.ValidationError({"lists": ["Two lists have the same name."]})
        tasks = {task["id"]: task for task in attrs["tasks"]}
        if len(tasks) != len(attrs["tasks"]):
            raise serializers.ValidationError({"tasks": ["Two tasks have the same id."]})
        known_lists = set(list_ids)
        listed: set[int] = set()
        for index, task in enumerate(attrs["tasks"]):
            if task.get("parent_id") is not None and task["parent_id"] in tasks and task["parent_id"] not in listed:
                raise serializers.ValidationError(
                    {"tasks": {index: {"parent_id": ["List a parent before its subtasks."]}}}
                )
            listed.add(task["id"])
            if task.get("list_id") is not None and task["list_id"] not in known_lists:
                raise serializers.ValidationError({"tasks": {index: {"list_id": ["No list of this document."]}}})
            parent = task.get("parent_id")
            if parent is not None:
                if parent not in tasks:
                    raise serializers.ValidationError({"tasks": {index: {"parent_id": ["No task of this document."]}}})
                if tasks[parent].get("list_id") != task.get("list_id"):
                    raise serializers.ValidationError(
                        {"tasks": {index: {"list_id": ["A subtask is in its parent's list."]}}}
                    )
            seen, current = {task["id"]}, parent
            while current is not None:  # up to the top: no cycle, at most MAX_DEPTH levels
                if current in seen or len(seen) >= MAX_DEPTH:
                    raise serializers.ValidationError(
                        {"tasks": {index: {"parent_id": [f"A cycle, or deeper than {MAX_DEPTH} levels."]}}},
                        code="too_deep",
                    )
                seen.add(current)
                current = tasks[current].get("parent_id")
        following: set[int] = set()
        for index, task in enumerate(attrs["tasks"]):
            next_id = task.get("next_id")
            if next_id is None:
                continue
            if next_id not in tasks or next_id == task["id"]:
                raise serializers.ValidationError({"tasks": {index: {"next_id": ["No other task of this document."]}}})
            if next_id in following:
                raise serializers.ValidationError({"tasks": {index: {"next_id": ["Another task's next already."]}}})
            following.add(next_id)
        if (looped := next_id_cycle(attrs["tasks"])) is not None:
            raise serializers.ValidationError({"tasks": {looped: {"next_id": ["A cycle of occurrences."]}}})
        return attrs


def series_holds(anchor: datetime, due_at: datetime) -> bool:
    """Whether a series anchored at `anchor` can have an occurrence due at `due_at`, as the API keeps one: the
    anchor is not after it, and is at its time of day in the anchor's offset."""
    return anchor <= due_at and due_at.astimezone(anchor.tzinfo).time() == anchor.time()


def next_id_cycle(tasks: list[dict[str, Any]]) -> int | None:
    """The index of a task whose `next_id` chain comes back to it, or None. Each task names at most one next and
    is at most one task's next, so the links are paths and cycles: what a walk from every path's start does not
    reach is on a cycle."""
    links = {task["id"]: task["next_id"] for task in tasks if task.get("next_id") is not None}
    reached: set[int] = set()
    for start in links.keys() - set(links.values()):
        current: int | None = start
        while current is not None and current not in reached:
            reached.add(current)
            current = links.get(current)
    looped = links.keys() - reached
    return next((index for index, task in enumerate(tasks) if task["id"] in looped), None)


@dataclass
class ImportResult:
    lists_created: int
    lists_merged: int
    tasks_created: int


def import_document(*, owner: User, document: dict[str, Any], dry_run: bool = False) -> ImportResult:
    """Create the document's lists and tasks for `owner` in one transaction (none when `dry_run`). A list whose
    name `owner` has already is that list: its tasks go into it. Like every write, it takes the user's change
    counter first, so what it reads of the user's lists stays true until it commits (TooManyLists past the cap)."""
    with transaction.atomic(savepoint=False):
        first = 0 if dry_run else claim_change_seq(owner.pk)  # a dry run changes nothing, not even the counter
        existing = {item.name_key: item for item in TaskList.objects.filter(owner=owner)}
        new_lists = [item for item in document["lists"] if list_name_key(item["name"]) not in existing]
        if len(existing) + len(new_lists) > MAX_LISTS:
            raise TooManyLists()
        result = ImportResult(len(new_lists), len(document["lists"]) - len(new_lists), len(document["tasks"]))
        if dry_run:
            return result
        # The first number, taken for the lock, is the first new row's: numbers skip nothing an event could tell.
        count = len(new_lists) + len(document["tasks"])
        if count > 1:
            claim_change_seq(owner.pk, count - 1)
        number = first
        lists: dict[int, TaskList] = {}
        told: list[Change] = []
        list_positions = _appended(
            max((item.position for item in existing.values()), default=None),
            [item for item in document["lists"] if list_name_key(item["name"]) not in existing],
            lambda item: item.get("position") or "",
        )
        for item in document["lists"]:
            key = list_name_key(item["name"])
            if key in existing:
                lists[item["id"]] = existing[key]
                continue
            position = list_positions[item["id"]]
            created = TaskList(
                owner=owner,
                name=item["name"],
                name_key=key,
                color=item.get("color") or "",
                position=position,
                archived=item.get("archived", False),
                created_at=item.get("created_at") or timezone.now(),
                change_seq=number,
            )
            created.save()
            number += 1
            lists[item["id"]] = created
            told.append(list_saved(created, "created"))
        task_positions = _task_positions(owner, document["tasks"], lists)
        tasks: dict[int, Task] = {}
        for item in document["tasks"]:  # parents first: the document's order (checked below)
            parent_ref = item.get("parent_id")
            created_at: datetime = item.get("created_at") or timezone.now()
            task = Task(
                owner=owner,
                task_list=lists[item["list_id"]] if item.get("list_id") is not None else None,
                parent=tasks[parent_ref] if parent_ref is not None else None,
                title=item["title"],
                description=item.get("description", ""),
                completed=item.get("completed", False),
                completed_at=(item.get("completed_at") or created_at) if item.get("completed") else None,
                priority=item.get("priority", 0),
                tags=item.get("tags", []),
                due_at=item.get("due_at"),
                remind_at=item.get("remind_at"),
                recurrence=_rule(item.get("recurrence")),
                position=task_positions[item["id"]],
                created_at=created_at,
                change_seq=number,
            )
            task.save()
            number += 1
            tasks[item["id"]] = task
            told.append(task_saved(task, "created"))
        # Each completed occurrence keeps its link to the next it made (both are created by now).
        linked = [item for item in document["tasks"] if item.get("next_id") is not None]
        for item in linked:
            tasks[item["id"]].next_occurrence = tasks[item["next_id"]]
        update_rows(Task, [tasks[item["id"]] for item in linked], ["next_occurrence"])
        TaskTag.objects.bulk_create(
            TaskTag(task=task, owner=owner, key=tag_key(tag), name=tag) for task in tasks.values() for tag in task.tags
        )
        tell(told)
    return result


def _appended(last: str | None, items: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[int, str]:
    """The positions of `items`, siblings being imported: their own keys (`key`) where they have no sibling yet
    (`last` None), else new keys after `last`, in the order of their own keys, so that they come after what is
    there, as created ones do, instead of among it with keys it may hold already."""
    if last is None:  # their own keys, and those without one last
        positions = {item["id"]: key(item) for item in items if key(item)}
        last = max(positions.values(), default=None)
        rest = [item for item in items if not key(item)]
    else:
        positions, rest = {}, sorted(items, key=lambda item: (key(item), item["id"]))
    for item in rest:
        last = positions[item["id"]] = key_after(last)
    return positions


def _task_positions(owner: User, items: list[dict[str, Any]], lists: dict[int, TaskList]) -> dict[int, str]:
    """Each imported task's position. A subtask's siblings are all imported with it (its parent is new); a task at
    the top of the inbox or of a list the user has already is placed after the tasks there (`_appended`)."""
    last_keys = dict(
        Task.objects.filter(owner=owner, parent=None)
        .values_list("task_list_id")
        .annotate(last=Max("position"))
        .values_list("task_list_id", "last")
    )
    own = {item["id"]: item.get("position") or time_key(item.get("created_at") or timezone.now()) for item in items}
    groups: dict[int | None, list[dict[str, Any]]] = {}
    positions: dict[int, str] = {}
    for item in items:
        if item.get("parent_id") is None:
            target = lists[item["list_id"]].pk if item.get("list_id") is not None else None
            groups.setdefault(target, []).append(item)
        else:
            positions[item["id"]] = own[item["id"]]
    for target, group in groups.items():
        positions.update(_appended(last_keys.get(target), group, lambda item: own[item["id"]]))
    return positions


def _rule(rule: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored rule, as the API stores one (anchor included, with the offset it was written in)."""
    if rule is None:
        return None
    return Rule(**{**rule, "byweekday": tuple(rule["byweekday"]) if rule["byweekday"] else None}).to_json()
