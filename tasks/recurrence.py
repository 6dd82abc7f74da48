"""Recurring tasks: when the next occurrence is due, in the wall-clock time the client scheduled it in."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from tasks.datetimes import in_range

FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
MAX_INTERVAL = 365
# What a rule sent without them means; a partial update merges into the stored rule instead.
RULE_DEFAULTS: dict[str, Any] = {"interval": 1, "until": None}
PUBLIC_FIELDS = ("freq", "interval", "until")


def merged_rule(task: Any, given: dict[str, Any]) -> dict[str, Any]:
    """The members of a partial `recurrence` laid over the task's stored rule, or over the defaults when it
    has none (then `freq` may still be missing: the caller refuses that)."""
    stored = getattr(task, "recurrence", None) or {}
    return {**RULE_DEFAULTS, **{key: stored[key] for key in PUBLIC_FIELDS if key in stored}, **given}


@dataclass(frozen=True)
class Rule:
    """Every `interval` days, weeks, months or years from `anchor`, up to and including the date `until`."""

    freq: str
    interval: int
    until: date | None
    anchor: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        until = data.get("until")
        return cls(
            freq=data["freq"],
            interval=int(data["interval"]),
            until=date.fromisoformat(until) if until else None,
            anchor=datetime.fromisoformat(data["anchor"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "freq": self.freq,
            "interval": self.interval,
            "until": self.until.isoformat() if self.until else None,
            "anchor": self.anchor.isoformat(),
        }

    def occurrence(self, k: int) -> datetime:
        """The k-th occurrence after the anchor (k = 0 is the anchor itself)."""
        steps = self.interval * k
        if self.freq == "daily":
            return self.anchor + timedelta(days=steps)
        if self.freq == "weekly":
            return self.anchor + timedelta(weeks=steps)
        return add_months(self.anchor, steps * (12 if self.freq == "yearly" else 1))

    def next_after(self, current: datetime) -> datetime | None:
        """The first occurrence strictly after `current`, or None when the series has ended: past `until`,
        or past what can be stored (year 9999 in UTC), where a series simply stops."""
        try:
            local = current.astimezone(self.anchor.tzinfo)
            k = max(self._steps_between(local) - 1, 1)
            while self.occurrence(k) <= current:
                k += 1
            found = self.occurrence(k)
        except (OverflowError, ValueError):  # beyond year 9999: datetime arithmetic overflows, replace() refuses
            return None
        if (self.until is not None and found.date() > self.until) or not in_range(found):
            return None
        return found

    def _steps_between(self, local: datetime) -> int:
        if self.freq in ("daily", "weekly"):
            unit = timedelta(days=1 if self.freq == "daily" else 7) * self.interval
            return int((local - self.anchor) / unit)
        months = (local.year - self.anchor.year) * 12 + local.month - self.anchor.month
        return months // (self.interval * (12 if self.freq == "yearly" else 1))


def add_months(moment: datetime, months: int) -> datetime:
    """Same day of the month, clamped to the month's length: Jan 31 + 1 month is Feb 28 (or 29)."""
    years, month_index = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + years, month_index + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
