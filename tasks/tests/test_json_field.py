"""The tasks' JSONField reads (with orjson) exactly what Django's JSONField reads, for any JSON the database sends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection, models
from hypothesis import example, given
from hypothesis import strategies as st

from authn.models import User
from tasks.models import JSONField, Task
from tasks.tests.strategies import ROUND_TRIP

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)  # past orjson's 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def read(field: models.JSONField, text: str | None) -> Any:
    return field.from_db_value(text, None, connection)


@ROUND_TRIP
@given(value=JSON_VALUES)
@example(value=2**64)
@example(value=2**63)
@example(value=-(2**63) - 1)
@example(value=10**400)
@example(value=[[[[]]]])
@example(value={"a": "\u2028\x00🙂", "": -0.0})
def test_a_stored_json_value_reads_as_djangos_field_reads_it(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False), json.dumps(value, separators=(",", ":"))):
        ours, django = read(JSONField(), text), read(models.JSONField(), text)
        assert repr(ours) == repr(django)  # the same values of the same types, keys in the same order


@pytest.mark.parametrize(
    "text",
    [None, "not json", "1e400", "NaN", "18446744073709551616", '"12345678901234567890"'],
)
def test_what_orjson_refuses_reads_as_djangos_field_reads_it(text: str | None) -> None:
    assert repr(read(JSONField(), text)) == repr(read(models.JSONField(), text))


def test_tags_and_rules_read_back_from_the_database_as_written(alice: User) -> None:
    tags = ["Ä", "b" * 50, '"q", \\ \u2028']
    rule = {"freq": "monthly", "interval": 365, "until": None, "anchor": "2027-01-31T09:00:00+05:30"}
    task = Task.objects.create(owner=alice, title="t", tags=tags, recurrence=rule)
    stored = Task.objects.get(pk=task.pk)
    assert stored.tags == tags
    assert stored.recurrence == rule


def test_the_field_deconstructs_as_djangos_so_migrations_see_no_change() -> None:
    assert Task._meta.get_field("tags").deconstruct()[1] == "django.db.models.JSONField"
