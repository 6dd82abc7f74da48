"""A task's JSON reads the same in the output zone the API uses as in the current time zone itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone

from authn.models import User
from tasks.models import Task
from tasks.serializers import output_zone, task_json

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


def test_in_utc_the_output_zone_is_the_tzinfo_the_database_gives() -> None:
    with django_timezone.override("UTC"):
        assert output_zone() is UTC
