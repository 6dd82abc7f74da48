"""PostgreSQL timestamptz values read through psycopg's C loader equal what Django's own loader reads."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

from evotodo.db import TIMESTAMPTZ_OID, UTCTimestamptzLoader

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL loader")

# As PostgreSQL receives them: the extremes of years 1 and 9999 (in UTC), offsets of whole and odd minutes
# and seconds (LMT zones), microseconds, and daylight saving on both sides.
VALUES = [
    "0001-01-01 00:00:00+00",
    "0001-01-01 00:00:00.000001+00",
    "9999-12-31 23:59:59.999999+00",
    "9999-12-31 10:00:00-13:59",
    "0001-01-01 15:59:00+15:59",
    "2027-01-31 23:00:00-05:00",
    "2027-03-28 01:30:00+05:30",
    "1890-06-01 12:00:00+00:09:21",
    "2026-10-25 02:30:00.5 Europe/Paris",
    "2026-03-29 03:30:00 Europe/Paris",
]


def read(values: list[str], *, django_loader: bool) -> list[Any]:
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute("SELECT " + ", ".join("%s::timestamptz" for _ in values), values)
        return list(cursor.fetchone())


def test_connections_read_timestamptz_with_the_c_loader(db: Any) -> None:
    connection.ensure_connection()
    assert connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, 0) is UTCTimestamptzLoader
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        cursor.fetchone()
        loader = cursor.cursor._tx.get_loader(TIMESTAMPTZ_OID, 0)
    assert type(loader) is UTCTimestamptzLoader.c_loader


def test_values_read_back_equal_djangos_aware_utc_datetimes(db: Any) -> None:
    fast, django = read(VALUES, django_loader=False), read(VALUES, django_loader=True)
    assert fast == django
    assert [value.tzinfo for value in fast] == [UTC] * len(VALUES)
    assert [value.isoformat() for value in fast] == [value.isoformat() for value in django]
    assert (fast[0].year, fast[2].year) == (1, 9999)


def test_a_null_reads_as_none(db: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT NULL::timestamptz")
        assert cursor.fetchone() == (None,)


def test_model_timestamps_round_trip(alice: Any) -> None:
    from datetime import datetime, timedelta, timezone

    from tasks.models import Task

    due = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    remind = datetime(1, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    task = Task.objects.create(owner=alice, title="t", due_at=due, remind_at=remind)
    read_back = Task.objects.get(pk=task.pk)
    assert (read_back.due_at, read_back.remind_at) == (due, remind)
    assert read_back.remind_at.tzinfo is UTC
