"""Date-times that clients send: ISO 8601 with an offset, and only what every part of the service can hold.

PostgreSQL stores offsets up to ±15:59 and Python's `datetime` holds years 1-9999: a value outside either
would be stored and then fail every read (or fail the write itself), so it is refused on the way in.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import DateTimeField, Expression, F, Value
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_datetime

MAX_OFFSET = timedelta(hours=15, minutes=59)
DATE_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# YYYY-MM-DDTHH:MM[:SS[.ffffff]] and an offset (Z, ±HH, ±HHMM, ±HH:MM); a space may stand for the T. Without
# the offset it still matches, so that the answer can say what is missing.
DATETIME_FORMAT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


class DateTimeRejected(ValueError):
    """A date-time the API does not take; `code` says why, the message says how to fix it."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def in_range(moment: datetime) -> bool:
    """Whether an aware date-time is an instant between years 1 and 9999 in UTC (where it is stored)."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


def due_in_range(moment: datetime) -> bool:
    """Whether an aware date-time can be a due date: strictly between the first and the last instant of years
    1-9999, which stand for "no due date" where a list sorts by it (`due_sort_key`): a task due at either
    would sort among the tasks without one."""
    return in_range(moment) and EARLIEST < moment < LATEST


def parse_iso_date(value: Any) -> date:
    """A calendar date written YYYY-MM-DD, and only so."""
    if not isinstance(value, str) or not DATE_FORMAT.fullmatch(value):
        raise ValueError("Write the date as YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:  # well formed, but no such day (2027-02-30, month 13, year 0): say so, not Python's words
        raise ValueError(f"{value} is not a day of the calendar (years 0001-9999).") from None


def parse_aware_datetime(value: Any) -> datetime:
    """An RFC 3339 date-time with an offset in whole minutes of at most ±15:59, in years 1-9999 as written and
    in UTC."""
    try:
        # RFC 3339's profile of ISO 8601 only: Python alone would also read week dates, one-digit months,
        # other scripts' digits, fractions of any length (silently cut), and ignore a trailing NUL.
        written = isinstance(value, str) and DATETIME_FORMAT.fullmatch(value)
        parsed = parse_datetime(value.upper()) if written else None
    except ValueError:  # well formed, but no such moment: month 13, hour 25, offset +99:00
        parsed = None
    if parsed is None:
        raise DateTimeRejected(
            "Enter an ISO 8601 (RFC 3339) date-time, YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or an offset in whole "
            "minutes, e.g. 2026-12-01T09:00:00+01:00.",
            "invalid",
        )
    offset = parsed.utcoffset()
    if offset is None:
        raise DateTimeRejected(
            "Give the time zone offset (e.g. Z or +01:00): a time without one is ambiguous.", "invalid"
        )
    # DATETIME_FORMAT admits offsets in whole minutes only (Python would also read seconds, and silently drop
    # an offset of a fraction of a second); what is left to check is their size.
    if abs(offset) > MAX_OFFSET:
        raise DateTimeRejected("The UTC offset must be whole minutes between -15:59 and +15:59.", "offset_out_of_range")
    if not in_range(parsed):
        raise DateTimeRejected("The date must fall between years 1 and 9999 in UTC.", "out_of_range")
    return parsed


def due_sort_key(missing: datetime) -> Expression:
    """What the list sorts by for `due`: the due date, or `missing` for a task without one (the latest
    instant to put them last in ascending order, the earliest for descending); an index holds the same."""
    return Coalesce(F("due_at"), Value(missing, output_field=DateTimeField()), output_field=DateTimeField())
