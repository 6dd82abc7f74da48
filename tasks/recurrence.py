"""Recurring tasks: when the next occurrence is due, in the wall-clock time the client scheduled it in.

The simple rule (every `interval` days, weeks, months or years from the anchor) is computed here, keeping month
ends (Jan 31 monthly: Feb 28, then Mar 31). Rules on chosen weekdays ("weekly on MO, WE", "monthly on the 2nd
Monday", "the last Friday") are RFC 5545's BYDAY, and python-dateutil's `rrule` computes them."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil import rrule

from tasks.datetimes import due_in_range

FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
MAX_INTERVAL = 365
# What a rule sent without them means; a partial update merges into the stored rule instead.
RULE_DEFAULTS: dict[str, Any] = {"interval": 1, "until": None, "byweekday": None, "count": None, "basis": "due"}
PUBLIC_FIELDS = ("freq", "interval", "until", "byweekday", "count", "basis")
MAX_COUNT = 1000
# RFC 5545's BYDAY: a weekday, with an ordinal within the month or year for monthly and yearly rules ("2MO", "-1FR").
WEEKDAY = re.compile(r"^(?P<ordinal>[+-]?[1-5])?(?P<day>MO|TU|WE|TH|FR|SA|SU)$")
WEEKDAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}
RRULE_FREQUENCIES = {"daily": rrule.DAILY, "weekly": rrule.WEEKLY, "monthly": rrule.MONTHLY, "yearly": rrule.YEARLY}


def rule_problems(rule: dict[str, Any]) -> dict[str, str]:
    """What is wrong with a whole rule's combination of members (each member valid alone), by member."""
    problems: dict[str, str] = {}
    if rule.get("until") is not None and rule.get("count") is not None:
        problems["count"] = "Give until or count, not both."
    if rule.get("basis") == "completion" and rule.get("count") is not None:
        problems["basis"] = "A rule counted from each completion has no count."
    matches = [WEEKDAY.match(day) for day in rule.get("byweekday") or [] if isinstance(day, str)]
    ordinals = {bool(match["ordinal"]) for match in matches if match}
    if True in ordinals and rule.get("freq") in ("daily", "weekly"):
        problems["byweekday"] = "An ordinal (2MO, -1FR) needs a monthly or yearly rule."
    elif ordinals == {True, False}:
        # RFC 5545 would take the days of both kinds; the rule engine (dateutil) only those of both at once,
        # which ends a series such as ["MO", "1TU"] at once: refused rather than computed otherwise than read.
        problems["byweekday"] = "Give weekdays (MO) or numbered weekdays (2MO, -1FR), not both."
    return problems


def public_rule(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored rule as the API shows it: every public member, the defaults for those it predates."""
    return {key: stored.get(key, RULE_DEFAULTS.get(key)) for key in PUBLIC_FIELDS}


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
    byweekday: tuple[str, ...] | None = None  # RFC 5545 BYDAY
    count: int | None = None  # occurrences in all, the first included
    basis: str = "due"  # "completion": the next one counts from the day it was completed (Todoist's "every!")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        until = data.get("until")
        byweekday = data.get("byweekday")
        return cls(
            freq=data["freq"],
            interval=int(data["interval"]),
            until=date.fromisoformat(until) if until else None,
            anchor=datetime.fromisoformat(data["anchor"]),
            byweekday=tuple(byweekday) if byweekday else None,
            count=data.get("count"),
            basis=data.get("basis", "due"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "freq": self.freq,
            "interval": self.interval,
            "until": self.until.isoformat() if self.until else None,
            "anchor": self.anchor.isoformat(),
            "byweekday": list(self.byweekday) if self.byweekday else None,
            "count": self.count,
            "basis": self.basis,
        }

    def rebased(self, completed_at: datetime) -> Rule:
        """The rule anchored on the day `completed_at` falls on (in the anchor's offset), at the anchor's time:
        where a rule counted from completion starts again."""
        day = completed_at.astimezone(self.anchor.tzinfo).date()
        return Rule(
            freq=self.freq,
            interval=self.interval,
            until=self.until,
            anchor=datetime.combine(day, self.anchor.timetz()),
            byweekday=self.byweekday,
            count=self.count,
            basis=self.basis,
        )

    def next_after_completion(self, completed_at: datetime) -> tuple[datetime | None, Rule]:
        """For a rule counted from completion: the next due date (the first occurrence after the day of
        completion) and the rule, re-anchored, that the next occurrence carries."""
        rule = self.rebased(completed_at)
        end_of_day = datetime.combine(rule.anchor.date(), time.max, rule.anchor.tzinfo)
        if rule.byweekday:
            return rule.next_after(end_of_day), rule
        try:
            following = rule.occurrence(1)
        except (OverflowError, ValueError):
            return None, rule
        if (rule.until is not None and following.date() > rule.until) or not due_in_range(following):
            return None, rule
        return following, rule

    def occurrence(self, k: int) -> datetime:
        """The k-th occurrence after the anchor (k = 0 is the anchor itself)."""
        steps = self.interval * k
        if self.freq == "daily":
            return self.anchor + timedelta(days=steps)
        if self.freq == "weekly":
            return self.anchor + timedelta(weeks=steps)
        return add_months(self.anchor, steps * (12 if self.freq == "yearly" else 1))

    def next_after(self, current: datetime) -> datetime | None:
        """The first occurrence strictly after `current`, or None when the series has ended: past `until`, past
        `count` occurrences, or past what can be stored (year 9999 in UTC), where a series simply stops."""
        try:
            if self.byweekday:
                found = self._rrule().after(current.astimezone(self.anchor.tzinfo))
                if found is None:
                    return None
            else:
                local = current.astimezone(self.anchor.tzinfo)
                k = max(self._steps_between(local) - 1, 1)
                while self.occurrence(k) <= current:
                    k += 1
                if self.count is not None and k >= self.count:
                    return None
                found = self.occurrence(k)
        except (OverflowError, ValueError):  # beyond year 9999: datetime arithmetic overflows, replace() refuses
            return None
        if (self.until is not None and found.date() > self.until) or not due_in_range(found):
            return None
        return found

    def _rrule(self) -> rrule.rrule:
        days = []
        for text in self.byweekday or ():
            match = WEEKDAY.match(text)
            assert match is not None  # noqa: S101 (validated when the rule was written)
            day = WEEKDAYS[match["day"]]
            days.append(day(int(match["ordinal"])) if match["ordinal"] else day)
        until = datetime.combine(self.until, time.max, self.anchor.tzinfo) if self.until else None
        return rrule.rrule(
            RRULE_FREQUENCIES[self.freq],
            dtstart=self.anchor,
            interval=self.interval,
            byweekday=days,
            count=self.count,
            until=until,
            cache=False,
        )

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
