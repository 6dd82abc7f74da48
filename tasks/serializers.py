"""Task JSON: the core `{id, user_id, title, description, completed, created_at, updated_at}` and planning fields."""

from __future__ import annotations

import copy
import operator
import unicodedata
from collections.abc import ItemsView, KeysView, Mapping, Sequence, ValuesView
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import orjson
from django.utils import timezone
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from tasks.datetimes import DateTimeRejected, due_in_range, parse_aware_datetime, parse_iso_date
from tasks.models import (
    DESCRIPTION_MAX_LENGTH,
    LIST_NAME_MAX_LENGTH,
    MAX_DEPTH,
    MAX_TAGS,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Priority,
    Task,
    TaskList,
    tag_key,
)
from tasks.recurrence import FREQUENCIES, MAX_COUNT, MAX_INTERVAL, WEEKDAY, merged_rule, public_rule, rule_problems

PRIORITY_LABELS = dict(Priority.choices)
MAX_ID = 2**63 - 1  # ids are 64-bit: a larger number cannot name anything, and would overflow the query
COLOR = r"^#[0-9a-fA-F]{6}$"


def iso_datetime(moment: datetime | None, zone: tzinfo) -> str | None:
    """DRF's rendering of a date-time: ISO 8601 in the current time zone (UTC), with Z for +00:00."""
    if moment is None:
        return None
    if zone is UTC and moment.tzinfo is UTC:
        # What the database gives, in the API's zone: orjson writes the same text (microseconds only when there
        # are any, four-digit years, Z) four times faster than `isoformat`, a tenth of a list request's
        # time. Property-tested against the general way below.
        return orjson.dumps(moment, option=orjson.OPT_UTC_Z)[1:-1].decode()
    text = moment.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def output_zone() -> tzinfo:
    """The current time zone, as `datetime.UTC` when it is UTC: the date-times read from the database are in
    `datetime.UTC`, and `astimezone` to the very tzinfo a value has is free, to `ZoneInfo("UTC")` a conversion
    (a third of `iso_datetime`). The text is the same."""
    zone = timezone.get_current_timezone()
    return UTC if getattr(zone, "key", None) == "UTC" else zone


# A task's columns as the list reads them (`values_list`), in the order `task_row_json` takes them.
TASK_ROW = (
    "id",
    "title",
    "description",
    "completed",
    "created_at",
    "updated_at",
    "priority",
    "tags",
    "due_at",
    "remind_at",
    "recurrence",
    "completed_at",
    "task_list_id",
    "parent_id",
    "position",
)
_task_row = operator.attrgetter(*TASK_ROW)


def task_json(task: Task, zone: tzinfo) -> dict[str, Any]:
    """A task as the API sends it, date-times in `zone`: the current time zone, which a list looks up once
    per page rather than once per task. `task_row_json` of the task's attributes: one writer of a task's
    JSON, whether the task was read as an instance or as a row."""
    return task_row_json(_task_row(task), task.owner.better_auth_id, zone)


def completion_json(task: Task, zone: tzinfo) -> dict[str, Any]:
    """A task after PATCH .../complete (`TaskCompletionSerializer`): with the next occurrence of a recurring task
    that this completion scheduled under `next`, else null."""
    following = task.completion_next
    return {**task_json(task, zone), "next": task_json(following, zone) if following is not None else None}


def task_row_json(row: Sequence[Any], user_id: str, zone: tzinfo) -> dict[str, Any]:
    """A task as the API sends it, from its `TASK_ROW` values (what follows them in `row` is left alone) and its
    owner's Better Auth id. The list's pages are read as such rows: building a model instance per task was a
    quarter of a page's Python. Written out rather than field by field: the list serializes up to 500 of these
    per request, and this is several times faster than DRF's generic path, with the same output (tested)."""
    (
        pk,
        title,
        description,
        completed,
        created_at,
        updated_at,
        priority,
        tags,
        due_at,
        remind_at,
        recurrence,
        completed_at,
        list_id,
        parent_id,
        position,
    ) = row[: len(TASK_ROW)]
    return {
        "id": pk,
        "user_id": user_id,
        "title": title,
        "description": description,
        "completed": completed,
        "created_at": iso_datetime(created_at, zone),
        "updated_at": iso_datetime(updated_at, zone),
        "priority": PRIORITY_LABELS[priority],
        "tags": list(tags),
        "due_at": iso_datetime(due_at, zone),
        "remind_at": iso_datetime(remind_at, zone),
        "recurrence": public_rule(recurrence) if recurrence else None,
        "completed_at": iso_datetime(completed_at, zone),
        "list_id": list_id,
        "parent_id": parent_id,
        "position": position,
    }


# Letters and symbols that show nothing: Unicode's default-ignorable Hangul fillers, the blank Braille pattern,
# the object replacement character and the musical null notehead (the categories alone call them visible).
BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\ufffc\U0001d159")


def shows_something(value: str) -> bool:
    """Whether the text has a visible character: a letter, digit, punctuation or symbol, not only spaces, marks or
    invisible characters (a zero-width space, a direction mark, a Hangul filler)."""
    return any(unicodedata.category(char)[0] in "LNPS" and char not in BLANK_LOOKING for char in value)


def clean_title(value: str) -> str:
    if not shows_something(value):
        raise serializers.ValidationError("A title needs a visible character.", code="blank")
    return value


def clean_list_name(value: str) -> str:
    """A list name as stored (composed by its field, ComposedCharField): showing something, not only spaces,
    marks or invisible characters."""
    if not shows_something(value):
        raise serializers.ValidationError("A name needs a visible character.", code="blank")
    return value


def clean_tags(value: list[str]) -> list[str]:
    """Tags as stored (composed by their field, ComposedCharField): unique by their keys (`tag_key`: case and
    composition aside) in the order given, the first spelling kept, each key fitting the key's column."""
    tags, seen = [], set()
    for tag in value:
        if not shows_something(tag):
            raise serializers.ValidationError("A tag needs a visible character.", code="blank")
        key = tag_key(tag)
        if len(key) > TAG_MAX_LENGTH:  # folding can lengthen a tag ("ß" is "ss")
            raise serializers.ValidationError(f"{tag!r} is too long once case-folded.", code="max_length")
        if key not in seen:
            seen.add(key)
            tags.append(tag)
    return tags


class StrictFieldsMixin:
    """A body member that the serializer does not know is a 400 naming it (`unknown_field`), so that a typo
    (`"done": true`, `{"complete": true}`) never passes for a request that changes nothing, or the wrong
    thing. Read-only fields are known: clients may send back what they read, and it is ignored. The members
    unknown anywhere in the body (in a nested object, in an array's objects) are refused first, on their own,
    before any value is checked."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = unknown_members(self, data)
        if unknown:
            raise serializers.ValidationError(unknown)
        return super().to_internal_value(data)  # type: ignore[misc]


def unknown_members(serializer: Any, data: Any) -> dict[Any, Any]:
    """The members of `data` that `serializer` (a StrictFieldsMixin) does not know, as its errors would name them,
    and those of the objects nested in it that are read by StrictFieldsMixin serializers too."""
    if not isinstance(data, Mapping):
        return {}
    found: dict[Any, Any] = {}
    fields = serializer.fields
    for name, value in data.items():
        field = fields.get(name)
        if field is None:
            found[str(name)] = [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
        elif isinstance(field, StrictFieldsMixin):
            nested = unknown_members(field, value)
            if nested:
                found[name] = nested
        elif isinstance(field, serializers.ListSerializer) and isinstance(field.child, StrictFieldsMixin):
            items = enumerate(value if isinstance(value, list) else [])
            listed = {index: errors for index, item in items if (errors := unknown_members(field.child, item))}
            if listed:
                found[name] = listed
    return dict(sorted(found.items(), key=lambda item: str(item[0])))


class FieldsOncePerClassMixin:
    """The serializer's fields and validators built once per class and process, then copied for each instance:
    DRF builds them on every instance (a ModelSerializer reads the model and deep-copies every declared field,
    each rebuilt through its `__init__`, and derives its validators from the model's constraints), which was
    a tenth of a create's CPU. The fields kept are bound once, as DRF binds them (their names, labels and
    sources), so that a copy needs only its parent: each serializer's fields are its own, bound to it.

    Both depend only on the code, so the copy kept per process needs no invalidation: a deploy restarts the
    processes. Building is idempotent: two threads that race both build the same fields, and one is kept."""

    _field_prototypes: dict[type, dict[str, serializers.Field]] = {}
    _validator_prototypes: dict[type, list[Any]] = {}

    @cached_property
    def fields(self) -> BindingDict:
        """DRF's `Serializer.fields`, copied from the class's bound fields instead of built and bound."""
        prototypes = self._field_prototypes.get(type(self))
        if prototypes is None:
            prototypes = self.get_fields()  # type: ignore[attr-defined]
            for name, field in prototypes.items():
                field.bind(name, self)
                field.parent = None  # kept for no serializer: each copy's parent is its own
            self._field_prototypes[type(self)] = prototypes
        fields = Fields(self)
        fields.fields = {name: bound_copy(field, name, self) for name, field in prototypes.items()}
        return fields

    def get_validators(self) -> list[Any]:
        # DRF's validators take the serializer when called (`requires_context`): they hold no state of their own.
        validators = self._validator_prototypes.get(type(self))
        if validators is None:
            validators = self._validator_prototypes[type(self)] = list(super().get_validators())  # type: ignore[misc]
        return list(validators)

    def run_validators(self, value: Any) -> None:
        # DRF first gathers the read-only fields' defaults for the validators to see: none, none to see them.
        if self.validators:  # type: ignore[attr-defined]
            super().run_validators(value)  # type: ignore[misc]


class Fields(BindingDict):
    """DRF's `BindingDict`, read as the dict it holds: a serializer walks its fields several times per validation,
    and a `Mapping`'s generic views look each field up again by name."""

    def __contains__(self, key: object) -> bool:
        return key in self.fields

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        return self.fields.keys()

    def values(self) -> ValuesView[serializers.Field]:  # type: ignore[override]
        return self.fields.values()

    def items(self) -> ItemsView[str, serializers.Field]:  # type: ignore[override]
        return self.fields.items()


def bound_copy(field: serializers.Field, name: str, parent: serializers.BaseSerializer) -> serializers.Field:
    """A copy of a field bound as `name` of no serializer, bound to `parent`: its attributes copied, their values
    shared (a field's validators, choices and messages never change once it is made). A list's child, which its
    field bound to itself when made, is copied the same way and bound to the copy. A nested serializer is
    copied the same way while it has not built its own fields (a prototype never has: only its copies are
    bound and used), so each copy builds them, bound to itself, when it is first used. A list of serializers,
    and a field that holds a list of fields, are deep-copied (DRF makes such a copy anew, unbound) and bound,
    as DRF does."""
    child = field.__dict__.get("child")
    if (
        isinstance(field, serializers.ListSerializer)
        or (isinstance(field, serializers.BaseSerializer) and "fields" in field.__dict__)
        or hasattr(field, "child_relation")
        or isinstance(child, serializers.BaseSerializer)
        or hasattr(child, "child")
    ):
        clone = copy.deepcopy(field)
        clone.bind(name, parent)
        return clone
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    clone.parent = parent
    if child is not None:
        clone.child = object.__new__(type(child))
        clone.child.__dict__.update(child.__dict__)
        # DRF binds a child as (field_name="", parent=its field) when the field is made: the copy holds that
        # binding's name, label and source already; only its parent is the copy.
        clone.child.parent = clone
    return clone


class StrictCharField(serializers.CharField):
    """A JSON string, and only that: DRF would quietly turn 0 into "0"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ComposedCharField(StrictCharField):
    """A string stored composed (Unicode NFC), its limits counted on that form: "é" typed as "e" and U+0301 is
    one character, as it is stored."""

    def to_internal_value(self, data: Any) -> str:
        return unicodedata.normalize("NFC", super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, and only that: DRF would also take "yes", "on" or 1."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, and only that: DRF would also take "5" and 5.0."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.DateTimeField):
    """A date-time that must carry its offset; the offset the client sent is kept for recurrence."""

    def to_internal_value(self, value: Any) -> datetime:
        try:
            return parse_aware_datetime(value)
        except DateTimeRejected as e:
            raise serializers.ValidationError(str(e), code=e.code) from None


class DueDateTimeField(AwareDateTimeField):
    """A due date (or a reminder): an aware date-time, but not the first or the last instant of years 1-9999,
    which sort the tasks without a due date (tasks.datetimes.due_in_range)."""

    def to_internal_value(self, value: Any) -> datetime:
        moment = super().to_internal_value(value)
        if not due_in_range(moment):
            raise serializers.ValidationError(
                "The date must fall after 0001-01-01T00:00:00Z and before 9999-12-31T23:59:59.999999Z.",
                code="out_of_range",
            )
        return moment


class StrictDateField(serializers.DateField):
    """A date as YYYY-MM-DD, and only that: DRF would also read 20270601 or 2027-W22-6."""

    def to_internal_value(self, value: Any) -> date:
        try:
            return parse_iso_date(value)
        except ValueError as e:
            raise serializers.ValidationError(str(e), code="invalid") from None


@extend_schema_field({"type": "string", "enum": Priority.labels})
class PriorityField(serializers.Field):
    """`none|low|medium|high` in JSON, a number in the database so it sorts by urgency."""

    default_error_messages = {"invalid_choice": "Must be one of: none, low, medium, high."}

    def to_representation(self, value: int) -> str:
        return Priority(value).label

    def to_internal_value(self, data: Any) -> int:
        for choice in Priority:
            if data == choice.label:
                return choice.value
        self.fail("invalid_choice")
        raise AssertionError("unreachable")  # pragma: no cover


class RecurrenceSerializer(StrictFieldsMixin, serializers.Serializer):
    """`{"freq": "daily|weekly|monthly|yearly", "interval": 1..365, "until": date|null}`.

    In a PATCH (a partial update) only the members sent are validated: the service merges them into the
    task's stored rule, or into the defaults when it has none."""

    freq = serializers.ChoiceField(choices=FREQUENCIES)
    interval = StrictIntegerField(min_value=1, max_value=MAX_INTERVAL, default=1)
    until = StrictDateField(allow_null=True, default=None)
    byweekday = serializers.ListField(
        child=serializers.RegexField(WEEKDAY.pattern, error_messages={"invalid": "Like MO, or 2MO or -1FR."}),
        min_length=1,
        max_length=7,
        allow_null=True,
        default=None,
        help_text="RFC 5545 BYDAY: weekdays (MO..SU); monthly and yearly rules may number them (2MO: the second "
        "Monday, -1FR: the last Friday).",
    )
    count = StrictIntegerField(
        min_value=1, max_value=MAX_COUNT, allow_null=True, default=None, help_text="Occurrences in all (or until)."
    )
    basis = serializers.ChoiceField(
        choices=["due", "completion"],
        default="due",
        help_text="What the next date counts from: the due date, or the day it was completed (Todoist's every!).",
    )

    def validate_byweekday(self, value: list[str] | None) -> list[str] | None:
        if value is not None and len({day.lstrip("+") for day in value}) != len(value):  # +1MO is 1MO
            raise serializers.ValidationError("Give each weekday once.", code="invalid")
        return value


class TaskSerializer(FieldsOncePerClassMixin, StrictFieldsMixin, serializers.ModelSerializer):
    """A task; the owner and timestamps come from the server, whatever the body says."""

    user_id = serializers.CharField(
        source="owner.better_auth_id", read_only=True, help_text="The owner's Better Auth id."
    )
    title = StrictCharField(max_length=TITLE_MAX_LENGTH, help_text="1-200 characters, not blank.")
    description = StrictCharField(  # kept as written: leading spaces may be Markdown's (an indented code block)
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        trim_whitespace=False,
    )
    priority = PriorityField(required=False, help_text="none (default), low, medium or high.")
    tags = serializers.ListField(
        child=ComposedCharField(max_length=TAG_MAX_LENGTH),
        max_length=MAX_TAGS,
        required=False,
        help_text="Up to 20 tags of up to 50 characters; trimmed, case-insensitively unique, order kept.",
    )
    due_at = DueDateTimeField(required=False, allow_null=True)
    remind_at = DueDateTimeField(required=False, allow_null=True, help_text="Not after due_at.")
    recurrence = RecurrenceSerializer(required=False, allow_null=True, help_text="Needs a due_at.")
    completed = StrictBooleanField(required=False)
    list_id = StrictIntegerField(
        source="task_list_id",
        min_value=1,
        max_value=MAX_ID,
        allow_null=True,
        required=False,
        help_text="One of your lists, or null: the inbox (the default).",
    )

    parent_id = StrictIntegerField(
        min_value=1,
        max_value=MAX_ID,
        allow_null=True,
        required=False,
        help_text=f"Another of your tasks: this one is its subtask, in its list (at most {MAX_DEPTH} levels); null: "
        "top level.",
    )

    class Meta:
        model = Task
        fields = [
            "id",
            "user_id",
            "title",
            "description",
            "completed",
            "created_at",
            "updated_at",
            "priority",
            "tags",
            "due_at",
            "remind_at",
            "recurrence",
            "completed_at",
            "list_id",
            "parent_id",
            "position",
        ]
        read_only_fields = ["id", "user_id", "created_at", "updated_at", "completed_at", "position"]

    def validate_list_id(self, value: int | None) -> int | None:
        # Another user's list is "no such list", exactly as one that does not exist.
        owner_id = self.context["request"].user.pk
        if value is not None and not TaskList.objects.filter(owner_id=owner_id, pk=value).exists():
            raise serializers.ValidationError("No such list.", code="does_not_exist")
        return value

    def validate_title(self, value: str) -> str:
        return clean_title(value)

    def validate_description(self, value: str | None) -> str:
        return value or ""

    def validate_tags(self, value: list[str]) -> list[str]:
        return clean_tags(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(field: str) -> Any:
            # A field left out keeps its stored value, in a PUT as in a PATCH (the planning fields are
            # optional in a PUT, so that clients of the core contract lose nothing).
            return attrs[field] if field in attrs else getattr(self.instance, field, None)

        due_at, remind_at = current("due_at"), current("remind_at")
        if due_at and remind_at and remind_at > due_at:
            raise serializers.ValidationError({"remind_at": ["Must not be after due_at."]}, code="invalid")
        given = attrs.get("recurrence")
        if current("recurrence") is not None and not due_at:
            raise serializers.ValidationError({"recurrence": ["A recurring task needs a due_at."]}, code="invalid")
        if self.partial and given is not None and "freq" not in merged_rule(self.instance, given):
            raise serializers.ValidationError(
                {"recurrence": {"freq": ["The task has no rule yet: say how often it recurs."]}}, code="required"
            )
        if given is not None:
            rule = merged_rule(self.instance if self.partial else None, given)
            if problems := rule_problems(rule):
                raise serializers.ValidationError({"recurrence": {k: [v] for k, v in problems.items()}}, code="invalid")
        return attrs

    def to_representation(self, instance: Task) -> dict[str, Any]:
        return task_json(instance, output_zone())


class ColorField(serializers.RegexField):
    """`#rrggbb` or null in JSON; stored lower-case, or empty for none."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)

    def to_representation(self, value: str) -> str | None:
        return value or None


class TaskListSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A list of the caller's, with how many tasks it holds and how many of them are open."""

    user_id = serializers.CharField(
        source="owner.better_auth_id", read_only=True, help_text="The owner's Better Auth id."
    )
    name = ComposedCharField(
        max_length=LIST_NAME_MAX_LENGTH, help_text="1-100 characters; unique among your lists, whatever the case."
    )
    color = ColorField(
        COLOR,
        allow_null=True,
        required=False,
        help_text="#rrggbb, or null.",
        error_messages={"invalid": "Must be #rrggbb."},
    )
    archived = StrictBooleanField(required=False)
    position = serializers.CharField(
        read_only=True, help_text="Sort lists by this string, byte by byte (ASCII): the order the user gave them."
    )
    task_count = serializers.IntegerField(read_only=True)
    open_count = serializers.IntegerField(read_only=True, help_text="Tasks not completed.")

    class Meta:
        model = TaskList
        fields = [
            "id",
            "user_id",
            "name",
            "color",
            "position",
            "archived",
            "task_count",
            "open_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_name(self, value: str) -> str:
        return clean_list_name(value)

    def validate_color(self, value: str | None) -> str:
        return value.lower() if value else ""


class TaskMoveSerializer(StrictFieldsMixin, serializers.Serializer):
    """Body of POST .../move: where the task goes. Each member left out keeps that part as it is."""

    list_id = StrictIntegerField(
        source="task_list_id", min_value=1, max_value=MAX_ID, allow_null=True, required=False, help_text="null: inbox."
    )
    parent_id = StrictIntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)
    after = StrictIntegerField(
        min_value=1, max_value=MAX_ID, allow_null=True, required=False, help_text="Right after this task; null: first."
    )
    before = StrictIntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)


class ListMoveSerializer(StrictFieldsMixin, serializers.Serializer):
    """Body of POST /api/lists/{id}/move: right after one list (null: first), or right before one; neither: last."""

    after = StrictIntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)
    before = StrictIntegerField(min_value=1, max_value=MAX_ID, allow_null=True, required=False)


class TaskCompleteSerializer(StrictFieldsMixin, serializers.Serializer):
    """Body of PATCH .../complete: no `completed` toggles the task, a boolean sets it."""

    completed = StrictBooleanField(required=False)


class TaskCompletionSerializer(TaskSerializer):
    """The task after PATCH .../complete, with the next occurrence of a recurring task under `next`."""

    next = TaskSerializer(read_only=True, allow_null=True, source="completion_next")

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "next"]

    def to_representation(self, instance: Task) -> dict[str, Any]:
        return completion_json(instance, output_zone())


class TombstoneSerializer(serializers.Serializer):
    """A deleted task in a sync response (`updated_since`)."""

    id = serializers.IntegerField()
    deleted = serializers.BooleanField()
    updated_at = serializers.DateTimeField(help_text="When it was deleted.")


class TagCountSerializer(serializers.Serializer):
    """One of the caller's tags, with how many of their tasks carry it."""

    name = serializers.CharField()
    count = serializers.IntegerField()


class TaskChangeSerializer(serializers.Serializer):
    """In the sync feed: a task created or changed, as it is now."""

    type = serializers.ChoiceField(choices=["task"])
    task = TaskSerializer()


class TaskDeletedChangeSerializer(serializers.Serializer):
    """In the sync feed: a task deleted (or given to another user): remove it from the local copy."""

    type = serializers.ChoiceField(choices=["task_deleted"])
    id = serializers.IntegerField()
    deleted_at = serializers.DateTimeField()


class SyncListSerializer(TaskListSerializer):
    """A list in the sync feed: its counts are left out (they change with every task, which the feed carries)."""

    class Meta(TaskListSerializer.Meta):
        fields = [name for name in TaskListSerializer.Meta.fields if name not in ("task_count", "open_count")]


class ListChangeSerializer(serializers.Serializer):
    """In the sync feed: a list created or changed, as it is now."""

    type = serializers.ChoiceField(choices=["list"])
    list = SyncListSerializer()


class ListDeletedChangeSerializer(serializers.Serializer):
    """In the sync feed: a list deleted. Its tasks were deleted or moved to the inbox first, each a change of
    its own before this one."""

    type = serializers.ChoiceField(choices=["list_deleted"])
    id = serializers.IntegerField()
    deleted_at = serializers.DateTimeField()


class SyncPageSerializer(serializers.Serializer):
    """One page of GET /api/sync."""

    changes = serializers.ListField(
        child=PolymorphicProxySerializer(
            component_name="Change",
            serializers={
                "task": TaskChangeSerializer,
                "task_deleted": TaskDeletedChangeSerializer,
                "list": ListChangeSerializer,
                "list_deleted": ListDeletedChangeSerializer,
            },
            resource_type_field_name="type",
        ),
        help_text="Oldest change first; a task appears once per page, as it is now.",
    )
    next_token = serializers.CharField(
        help_text="Send it as `token` next time. While `more` is true, ask again with it at once for the rest."
    )
    more = serializers.BooleanField(help_text="More changes follow: this page was cut at `limit`.")


def sync_change(change: Task | TaskList | dict[str, Any]) -> dict[str, Any]:
    """One feed entry as JSON: `{"type": "task", "task": {...}}`, `{"type": "list", "list": {...}}`, or
    `{"type": "task_deleted" | "list_deleted", "id", "deleted_at"}`."""
    if isinstance(change, dict):
        kind = "list_deleted" if change.get("kind") == 1 else "task_deleted"
        return {"type": kind, "id": change["id"], "deleted_at": iso_datetime(change["updated_at"], UTC)}
    if isinstance(change, TaskList):
        return {"type": "list", "list": SyncListSerializer(change).data}
    return {"type": "task", "task": TaskSerializer(change).data}
