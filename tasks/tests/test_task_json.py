"""A task's JSON reads the same in the output zone the API uses as in the current time zone itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone as django_timezone
from hypothesis import example, given
from hypothesis import strategies as st
from rest_framework.utils.encoders import JSONEncoder

from authn.models import User
from tasks.models import Task
from tasks.serializers import iso_datetime, output_zone, task_json

MOMENTS = [
    datetime(1, 1, 2, tzinfo=UTC),
    datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2027, 3, 28, 1, 30, 0, 500, tzinfo=UTC),
    datetime(2027, 1, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_date_times_read_the_same_in_the_output_zone_as_in_the_current_zone(alice: User, zone: str) -> None:
    with django_timezone.override(zone):
        for moment in MOMENTS:
            task = Task(pk=1, owner=alice, title="t", created_at=moment, updated_at=moment, due_at=moment)
            assert task_json(task, output_zone()) == task_json(task, django_timezone.get_current_timezone())


@given(st.datetimes(timezones=st.just(UTC)))
@example(datetime(1, 1, 1, tzinfo=UTC))
@example(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
@example(datetime(999, 1, 1, 0, 0, 0, 10, tzinfo=UTC))
def test_a_utc_date_time_reads_as_drf_writes_it(moment: datetime) -> None:
    """`iso_datetime`'s shortcut for the database's UTC date-times in the API's zone (orjson) writes what DRF's
    encoder and the general way write."""
    general = moment.isoformat()
    general = general[:-6] + "Z" if general.endswith("+00:00") else general
    assert iso_datetime(moment, UTC) == general == JSONEncoder().default(moment)
    assert iso_datetime(moment, UTC) == iso_datetime(moment, ZoneInfo("UTC"))  # the general way


def test_in_utc_the_output_zone_is_the_tzinfo_the_database_gives() -> None:
    with django_timezone.override("UTC"):
        assert output_zone() is UTC


def test_each_member_is_written_from_its_own_field(alice: User) -> None:
    """`task_json` and the list's `task_row_json` share one writer, fed the columns of `TASK_ROW` in order: a
    column out of place would show in both, so each member is checked against its own field here."""
    moments = [datetime(2027, 1, day, tzinfo=UTC) for day in range(1, 6)]
    task = Task(
        pk=7,
        owner=alice,
        title="title",
        description="description",
        completed=True,
        created_at=moments[0],
        updated_at=moments[1],
        priority=2,
        tags=["tag"],
        due_at=moments[2],
        remind_at=moments[3],
        recurrence={"freq": "weekly", "interval": 2, "anchor": "2027-01-03T00:00:00Z"},
        completed_at=moments[4],
        task_list_id=11,
        parent_id=13,
        position="position",
    )
    assert task_json(task, output_zone()) == {
        "id": 7,
        "user_id": alice.better_auth_id,
        "title": "title",
        "description": "description",
        "completed": True,
        "created_at": "2027-01-01T00:00:00Z",
        "updated_at": "2027-01-02T00:00:00Z",
        "priority": "medium",
        "tags": ["tag"],
        "due_at": "2027-01-03T00:00:00Z",
        "remind_at": "2027-01-04T00:00:00Z",
        "recurrence": {
            "freq": "weekly",
            "interval": 2,
            "until": None,
            "byweekday": None,
            "count": None,
            "basis": "due",
        },
        "completed_at": "2027-01-05T00:00:00Z",
        "list_id": 11,
        "parent_id": 13,
        "position": "position",
    }
