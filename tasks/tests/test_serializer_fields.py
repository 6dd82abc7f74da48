"""The task serializers' fields, built once per class and copied for each serializer, are the fields DRF builds
for each, bound as DRF binds them."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from authn.models import User
from tasks.serializers import FieldsOncePerClassMixin, TaskCompletionSerializer, TaskSerializer
from tasks.tests.factories import TaskFactory

# What refers to other fields, and the order of creation (which orders declared fields when a class is made).
NOT_COMPARED = {"parent", "child", "fields", "_creation_counter"}


def drf_fields(serializer_class: type[serializers.Serializer]) -> Any:
    """The fields DRF itself builds for a serializer of this class (the mixin skipped), bound to it."""
    serializer = serializer_class()
    built = super(FieldsOncePerClassMixin, serializer).get_fields()  # type: ignore[misc]
    for name, field in built.items():
        field.bind(name, serializer)
    return built


def state(field: serializers.Field) -> dict[str, Any]:
    """A bound field's configuration: its attributes (but those above), validators by kind, limit and message,
    and the same of the fields it holds."""
    attributes = {name: value for name, value in vars(field).items() if name not in NOT_COMPARED}
    attributes["_kwargs"] = repr(field._kwargs)  # DRF's repr of a field's arguments, fields among them
    attributes["_validators"] = [
        (type(validator), getattr(validator, "limit_value", None), str(getattr(validator, "message", "")))
        for validator in field.validators
    ]
    if isinstance(field, serializers.ListField):
        attributes["child"] = state(field.child)
    if isinstance(field, serializers.Serializer):
        attributes["fields"] = {name: state(nested) for name, nested in field.fields.items()}
    return attributes


@pytest.mark.parametrize("serializer_class", [TaskSerializer, TaskCompletionSerializer])
def test_the_fields_are_those_drf_builds(serializer_class: type[serializers.Serializer]) -> None:
    for _ in range(2):  # the first builds the class's fields, the second copies them
        fields = serializer_class().fields
        expected = drf_fields(serializer_class)
        assert list(fields) == list(expected)
        for name, field in fields.items():
            assert type(field) is type(expected[name])
            assert state(field) == state(expected[name]), name


def test_each_serializer_has_its_own_fields_bound_to_it() -> None:
    first, second = TaskSerializer(partial=True), TaskSerializer()
    for name, field in first.fields.items():
        assert field is not second.fields[name]
        assert field.parent is first
        assert field.root is first
        assert second.fields[name].root is second
    # What the fields hold answers to their own serializer too: a PATCH's rule is validated member by member.
    assert first.fields["tags"].child.root is first
    assert first.fields["recurrence"].fields["interval"].root is first
    assert second.fields["recurrence"].fields["interval"].root is second


def test_a_partial_rule_in_a_patch_keeps_the_members_left_out(alice: User) -> None:
    task = TaskFactory(owner=alice, due_at="2027-01-01T09:00:00Z")
    TaskSerializer(data={"title": "warm"}).is_valid()  # the class's fields built already
    patch = TaskSerializer(task, data={"recurrence": {"freq": "weekly"}}, partial=True)
    assert patch.is_valid(), patch.errors
    assert patch.validated_data["recurrence"] == {"freq": "weekly"}
    post = TaskSerializer(data={"title": "t", "due_at": "2027-01-01T09:00:00Z", "recurrence": {"freq": "weekly"}})
    assert post.is_valid(), post.errors
    assert post.validated_data["recurrence"] == {
        "freq": "weekly",
        "interval": 1,
        "until": None,
        "byweekday": None,
        "count": None,
        "basis": "due",
    }


@pytest.mark.parametrize("serializer_class", [TaskSerializer, TaskCompletionSerializer])
def test_the_validators_are_those_drf_builds_each_serializer_its_own_list(
    serializer_class: type[serializers.Serializer],
) -> None:
    for _ in range(2):  # the first builds the class's validators, the second copies them
        serializer = serializer_class()
        expected = super(FieldsOncePerClassMixin, serializer).get_validators()  # type: ignore[misc]
        assert [type(v) for v in serializer.validators] == [type(v) for v in expected]
    assert serializer_class().validators is not serializer_class().validators


def test_each_lists_child_is_its_own_and_validates_for_its_serializer() -> None:
    first, second = TaskSerializer(data={"title": "a", "tags": ["x" * 51]}), TaskSerializer(data={"title": "b"})
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["tags"].child.parent is first.fields["tags"]
    assert not first.is_valid()
    assert first.errors["tags"][0][0].code == "max_length"
    assert second.is_valid(), second.errors


def test_a_nested_rule_is_copied_unbuilt_and_its_prototype_never_builds_fields() -> None:
    post = TaskSerializer(data={"title": "t", "due_at": "2027-01-01T09:00:00Z", "recurrence": {"freq": "weekly"}})
    assert post.is_valid(), post.errors
    rule = post.fields["recurrence"]
    prototype = FieldsOncePerClassMixin._field_prototypes[TaskSerializer]["recurrence"]
    assert rule is not prototype
    assert "fields" in vars(rule)  # built by the copy, when it validated the rule
    assert rule.fields["freq"].parent is rule
    assert rule.fields["freq"].root is post
    assert "fields" not in vars(prototype)  # so the next copy builds its own again
    assert TaskSerializer().fields["recurrence"].fields["freq"] is not rule.fields["freq"]


def test_a_serializers_fields_read_as_a_dict_are_those_it_holds() -> None:
    serializer = TaskSerializer()
    fields = serializer.fields
    assert list(fields.keys()) == list(fields) == [name for name, _ in fields.items()]
    assert [fields[name] for name in fields] == list(fields.values())
    assert "title" in fields
    assert "no_such_field" not in fields
    fields["extra"] = serializers.CharField(required=False)  # DRF's way to add one: bound as it is added
    assert fields["extra"].parent is serializer
    assert "extra" in fields
    assert list(fields.keys())[-1] == "extra"


class _Refusing(serializers.ValidationError):
    pass


def _refuse_same_title_and_description(attrs: dict[str, Any]) -> None:
    if attrs.get("title") == attrs.get("description"):
        raise _Refusing("title and description are the same")


class _ValidatedTaskSerializer(TaskSerializer):
    class Meta(TaskSerializer.Meta):
        validators = [_refuse_same_title_and_description]


def test_a_serializer_with_validators_still_runs_them_and_one_without_validates_alike() -> None:
    for _ in range(2):  # the class's validators built, then copied
        refused = _ValidatedTaskSerializer(data={"title": "same", "description": "same"})
        assert not refused.is_valid()
        assert "title and description are the same" in str(refused.errors)
        accepted = _ValidatedTaskSerializer(data={"title": "one", "description": "other"})
        assert accepted.is_valid(), accepted.errors
        plain = TaskSerializer(data={"title": "same", "description": "same"})
        assert plain.validators == []
        assert plain.is_valid(), plain.errors
