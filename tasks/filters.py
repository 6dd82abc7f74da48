"""Query parameters of the task list; an unknown or malformed value is a 400 naming the parameter."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from tasks.datetimes import DateTimeRejected, parse_aware_datetime
from tasks.models import MAX_TAGS, TAG_MAX_LENGTH, Priority, Task, TaskTag
from tasks.ordering import SORT_KEYS
from tasks.serializers import shows_something
from tasks.services import tag_keys

STATUS_CHOICES = [("all", "all"), ("pending", "pending"), ("completed", "completed")]
BOOLEAN_CHOICES = [("true", "true"), ("false", "false")]


# A time followed by a space and an offset (`+01:00`, `+0100` or `+01`) whose `+` a URL turned into a space.
UNENCODED_PLUS = re.compile(r"^(.*[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?) ([0-9]{2}(?::?[0-9]{2})?)$")


class AwareDateTimeFormField(forms.Field):
    """An ISO 8601 date-time with its offset. A `+` that a URL turned into a space is put back."""

    def to_python(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        text = UNENCODED_PLUS.sub(r"\1+\2", str(value).strip())
        try:
            return parse_aware_datetime(text)
        except DateTimeRejected as e:
            raise forms.ValidationError(str(e), code=e.code) from None


class TagListFormField(forms.Field):
    """`tag=a&tag=b`: a repeatable parameter."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        # Composed as stored tags are (`clean_tags`), so that the limits count what a stored tag counts.
        tags = [unicodedata.normalize("NFC", str(tag).strip()) for tag in (value or [])]
        if "" in tags:  # `?tag=` would filter by nothing and return every task: a client's mistake, said so
            raise forms.ValidationError("A tag must not be empty.", code="empty")
        if not all(shows_something(tag) for tag in tags):  # no stored tag is only invisible characters
            raise forms.ValidationError("A tag needs a visible character.", code="blank")
        if len(tags) > MAX_TAGS or any(len(tag) > TAG_MAX_LENGTH for tag in tags):
            raise forms.ValidationError(f"At most {MAX_TAGS} tags of {TAG_MAX_LENGTH} characters.", code="invalid")
        if any("\x00" in tag for tag in tags):
            raise forms.ValidationError("Tags cannot contain NUL characters.", code="invalid")
        return tags


class PriorityInFilter(filters.BaseInFilter, filters.ChoiceFilter):
    """`priority=high` or `priority=high,medium`."""


class AwareDateTimeFilter(filters.Filter):
    field_class = AwareDateTimeFormField


@extend_schema_field({"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": TAG_MAX_LENGTH}})
class TagFilter(filters.Filter):
    field_class = TagListFormField


@extend_schema_field(OpenApiTypes.BOOL)
class TrueFalseFilter(filters.ChoiceFilter):
    """`true` or `false`, spelled so (the schema says boolean: clients send what their URL encoder writes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, choices=BOOLEAN_CHOICES, **kwargs)


INBOX = "inbox"
NONE = "none"


class IdOrWordFormField(forms.Field):
    """An id (1-18 digits) or one word: `list=<id>|inbox`, `parent=<id>|none`."""

    word = ""
    message = ""

    def to_python(self, value: Any) -> str | int | None:
        if value in (None, ""):
            return None
        if value == self.word:
            return self.word
        if not re.fullmatch(r"[0-9]{1,18}", str(value)):
            raise forms.ValidationError(self.message, code="invalid")
        return int(value)


class ListFormField(IdOrWordFormField):
    """`list=<id>` (one of the caller's lists; another's, or none, simply holds no task) or `list=inbox`."""

    word, message = INBOX, "A list id or inbox."


class ParentFormField(IdOrWordFormField):
    """`parent=<id>` (that task's subtasks) or `parent=none` (top-level tasks only)."""

    word, message = NONE, "A task id or none."


class ListFilter(filters.Filter):
    field_class = ListFormField


class ParentFilter(filters.Filter):
    field_class = ParentFormField


class TaskFilter(filters.FilterSet):
    """Filters for GET /api/tasks (and its path-style twin)."""

    status = filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", help_text="Default: all.")
    priority = PriorityInFilter(
        choices=[(p.label, p.label) for p in Priority], method="filter_priority", help_text="One or a comma list."
    )
    tag = TagFilter(method="filter_tags", help_text="Repeatable.")
    tag_mode = filters.ChoiceFilter(
        choices=[("any", "any"), ("all", "all")], method="filter_nothing", help_text="How several tags combine."
    )
    due_before = AwareDateTimeFilter(field_name="due_at", lookup_expr="lt")
    due_after = AwareDateTimeFilter(field_name="due_at", lookup_expr="gt")
    overdue = TrueFalseFilter(method="filter_overdue", help_text="Due and not done (true), or not (false).")
    has_due = TrueFalseFilter(method="filter_has_due", help_text="With a due date (true), or without (false).")
    search = filters.CharFilter(
        method="filter_search", max_length=200, help_text="Case-insensitive match in title or description."
    )
    updated_since = AwareDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Sync: everything changed since then, deletions included as tombstones, oldest change first.",
    )
    sort = filters.ChoiceFilter(
        choices=[(key, key) for key in SORT_KEYS], method="filter_sort", help_text="Default: -created."
    )
    list = ListFilter(method="filter_list", help_text="A list's id, or inbox: the tasks in no list.")
    parent = ParentFilter(method="filter_parent", help_text="A task's id (its subtasks), or none: top-level tasks.")

    class Meta:
        model = Task
        fields: list[str] = []

    # A parameter that is given must say something: `?status=` is a 400, like `?status=bogus` (an empty `tag`
    # is refused by its field); an empty search is no search, as in any search box.
    may_be_empty = frozenset({"search", "tag"})

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.filters.keys() - self.may_be_empty:
            if "" in self.data.getlist(name):
                self.form.add_error(name, forms.ValidationError("Must not be empty.", code="empty"))
                valid = False
        if "priority" not in self.form.errors and any(
            not part for value in self.data.getlist("priority") for part in value.split(",")
        ):
            self.form.add_error("priority", forms.ValidationError("An empty item in the list.", code="empty"))
            valid = False
        return valid

    def filter_status(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        if value == "all":
            return queryset
        return queryset.filter(completed=value == "completed")

    def filter_priority(self, queryset: QuerySet[Task], name: str, value: list[str]) -> QuerySet[Task]:
        return queryset.filter(priority__in=[p.value for p in Priority if p.label in value])

    def filter_tags(self, queryset: QuerySet[Task], name: str, value: list[str]) -> QuerySet[Task]:
        if not value:
            return queryset
        # Naming the owner lets the database use the (owner, key) index of the tag rows.
        tagged = TaskTag.objects.filter(task=OuterRef("pk"), owner=OuterRef("owner"))
        keys = tag_keys(value)
        if self.form.cleaned_data.get("tag_mode") == "all":
            return queryset.filter(*[Exists(tagged.filter(key=key)) for key in keys])
        return queryset.filter(Exists(tagged.filter(key__in=keys)))

    def filter_nothing(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return queryset  # tag_mode only changes how `tag` filters

    def filter_overdue(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        overdue = Q(due_at__lt=timezone.now(), completed=False)
        return queryset.filter(overdue) if value == "true" else queryset.exclude(overdue)

    def filter_has_due(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return queryset.filter(due_at__isnull=value == "false")

    def filter_search(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))

    def filter_list(self, queryset: QuerySet[Task], name: str, value: str | int) -> QuerySet[Task]:
        return queryset.filter(task_list__isnull=True) if value == INBOX else queryset.filter(task_list_id=value)

    def filter_parent(self, queryset: QuerySet[Task], name: str, value: str | int) -> QuerySet[Task]:
        return queryset.filter(parent__isnull=True) if value == NONE else queryset.filter(parent_id=value)

    def filter_sort(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return queryset  # the pagination sorts, so that it can resume after a row (tasks.ordering)
