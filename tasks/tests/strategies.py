"""Hypothesis strategies for task JSON and list parameters: valid values, values at and past their limits, junk."""

from __future__ import annotations

import string
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# Reproducible runs against the real database; the examples share the test's users, so fixtures are reused.
ROUND_TRIP = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # The explain phase re-runs failures many times over to annotate them; the minimal example is enough here.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)

FREQUENCIES = ["daily", "weekly", "monthly", "yearly"]
PRIORITIES = ["none", "low", "medium", "high"]
SORTS = ["created", "-created", "updated", "-updated", "title", "-title", "due", "-due", "priority", "-priority"]
MAX_OFFSET_MINUTES = 23 * 60 + 59  # what Python's timezone accepts; PostgreSQL stores only up to 15:59

EDGE_DATES = [
    date(1, 1, 1),
    date(1, 1, 2),
    date(1, 12, 31),
    date(9999, 12, 31),
    date(9999, 12, 30),
    date(9999, 1, 1),
    date(2000, 2, 29),
    date(2024, 2, 29),
    date(1900, 2, 28),
    date(2026, 1, 31),
    date(2026, 4, 30),
    date(2026, 12, 31),
    date(1970, 1, 1),
]
EDGE_TIMES = [time(0, 0), time(23, 59, 59, 999999), time(12, 0), time(0, 0, 0, 1)]
EDGE_OFFSETS = [0, 1, -1, 959, -959, 960, -960, MAX_OFFSET_MINUTES, -MAX_OFFSET_MINUTES, 330, -570, 765]

# Text that stresses storage and case handling: case-folding that grows ("ß" -> "ss", "ﬁ" -> "fi", "İ" lowers to
# two characters), astral characters, combining marks, NUL, a lone surrogate, Unicode whitespace.
SPECIAL_CHARACTERS = ["a", "Z", "ß", "ﬁ", "İ", "ǅ", "😀", "\u0301", "\u00e9", "\x00", "\ud800", "\u200b", "\x85"]
WHITESPACE = " \t\n\r\u00a0\u3000\u2028\x0b\x1f"

JSON_JUNK = st.sampled_from([None, True, False, 0, 1, -1, 1.5, 2**64, "", [], {}, ["x"], {"a": 1}])


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, small."""
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
        max_leaves=5,
    )


def _repeated(lengths: list[int]) -> st.SearchStrategy[str]:
    return st.builds(lambda ch, n: ch * n, st.sampled_from(SPECIAL_CHARACTERS), st.sampled_from(lengths))


def _padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    padding = st.text(alphabet=WHITESPACE, max_size=3)
    return st.builds(lambda left, text, right: left + text + right, padding, core, padding)


def texts_around(limit: int) -> st.SearchStrategy[Any]:
    """Strings of any Unicode at and around `limit` characters, blank ones, padded ones, and non-strings."""
    return st.one_of(strings_around(limit), JSON_JUNK)


def strings_around(limit: int) -> st.SearchStrategy[str]:
    """Strings of any Unicode at and around `limit` characters, blank ones, padded ones."""
    return st.one_of(
        st.text(max_size=12),
        _repeated([1, limit - 1, limit, limit + 1]),
        _padded(st.text(min_size=1, max_size=12) | _repeated([limit - 1, limit])),
        st.text(alphabet=WHITESPACE, max_size=4),
        st.text(min_size=limit - 2, max_size=limit + 2),
        st.builds(lambda a, b: a + b, _repeated([limit - 1, limit]), st.sampled_from(SPECIAL_CHARACTERS)),
    )


def tag_texts() -> st.SearchStrategy[Any]:
    return tag_strings() | JSON_JUNK


def tag_strings() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["work", "Work", "WORK", " work ", "home", "ß", "SS", "ss", "straße", "STRASSE", "İ", "i"]),
        st.text(max_size=8),
        _repeated([1, 25, 26, 49, 50, 51]),
        _padded(_repeated([49, 50])),
        st.text(alphabet=WHITESPACE, max_size=3),
    )


def _with_case_duplicates(tags: list[Any], copies: list[tuple[int, str]]) -> list[Any]:
    result = list(tags)
    for index, how in copies:
        tag = tags[index % len(tags)]
        if isinstance(tag, str):
            result.append({"upper": tag.upper(), "lower": tag.lower(), "pad": f"  {tag}\t", "same": tag}[how])
    return result


def tag_lists() -> st.SearchStrategy[Any]:
    """Tag lists at and beyond 20 entries, with case-insensitive and padded duplicates, and non-lists."""
    distinct = st.builds(
        lambda n, offset: [f"tag{offset + i}" for i in range(n)], st.sampled_from([19, 20, 21]), st.integers(0, 5)
    )
    return st.one_of(
        st.lists(tag_texts(), max_size=4),
        st.builds(
            _with_case_duplicates,
            st.lists(tag_texts(), min_size=1, max_size=4),
            st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["upper", "lower", "pad", "same"])), max_size=3),
        ),
        distinct,
        st.builds(lambda tags, extra: tags + extra, distinct, st.lists(st.sampled_from(["TAG0", "tag1 "]), max_size=2)),
        st.sampled_from(["work", "work,home", None]),
        JSON_JUNK,
    )


def _offset_text(minutes: int, style: str) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    if style == "basic":
        return f"{sign}{hours:02d}{mins:02d}"
    if style == "hours" and mins == 0:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}:{mins:02d}"


def _datetime_text(day: date, moment: time, separator: str, precision: str, offset: Any, style: str) -> str:
    text = f"{day.isoformat()}{separator}{moment.isoformat(timespec=precision)}"
    if offset is None:
        return text  # naive: must be refused
    if offset == "Z":
        return text + "Z"
    return text + _offset_text(offset, style)


OFFSETS = st.one_of(
    st.sampled_from(EDGE_OFFSETS), st.integers(-MAX_OFFSET_MINUTES, MAX_OFFSET_MINUTES), st.just("Z"), st.none()
)


def datetime_texts() -> st.SearchStrategy[str]:
    """ISO 8601 date-times in years 1-9999 (extremes, leap days, month ends) in every offset, and naive ones."""
    return st.builds(
        _datetime_text,
        st.sampled_from(EDGE_DATES) | st.dates(),
        st.sampled_from(EDGE_TIMES) | st.times(),
        st.sampled_from(["T", " "]),
        st.sampled_from(["seconds", "minutes", "microseconds", "milliseconds"]),
        OFFSETS,
        st.sampled_from(["extended", "extended", "basic", "hours"]),
    )


DATETIME_JUNK = st.sampled_from(
    [
        "",
        " ",
        "now",
        "tomorrow",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z",
        "0000-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
        "2026-01-01T00:00:00+24:00",
        "2026-01-01T00:00:00-24:00",
        "2026-01-01T00:00:00+99:99",
        "2026-01-01",
        "2026-01-01T00:00:00ZZ",
        "2026-01-01T00:00:00+01:00[Europe/Paris]",
        "1767225600",
        "2026-01-01T00:00:00\x00Z",
    ]
)


def datetime_values() -> st.SearchStrategy[Any]:
    """What a client may put in due_at or remind_at."""
    return st.one_of(datetime_texts(), st.none(), DATETIME_JUNK, JSON_JUNK)


def date_texts() -> st.SearchStrategy[Any]:
    """`until`: dates at the extremes, other shapes of date, junk."""
    return st.one_of(
        st.sampled_from(EDGE_DATES).map(date.isoformat),
        st.dates().map(date.isoformat),
        st.none(),
        st.sampled_from(["", "9999-12-32", "10000-01-01", "0000-12-31", "2026-02-30", "20261231", "2026-W01-1"]),
        datetime_texts(),
        JSON_JUNK,
    )


def intervals() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([1, 2, 365, 0, -1, 366, 2**31, 2**63, 2**64, 10**30, 1.0, 1.5, 1e300, "3", True, None]),
        st.integers(1, 365),
        st.integers(),
    )


def recurrences() -> st.SearchStrategy[Any]:
    """Recurrence objects with and without each of freq/interval/until, values at and beyond their bounds."""
    rule = st.fixed_dictionaries(
        {},
        optional={
            "freq": st.sampled_from(FREQUENCIES) | st.sampled_from(["DAILY", "hourly", "", None, 1, []]),
            "interval": intervals(),
            "until": date_texts(),
            "anchor": st.sampled_from(["junk", "2026-01-01T00:00:00+01:00", None]),
        },
    )
    full = st.fixed_dictionaries(
        {"freq": st.sampled_from(FREQUENCIES)},
        optional={"interval": st.sampled_from([1, 2, 365]) | st.integers(1, 365), "until": date_texts()},
    )
    return st.one_of(st.none(), full, rule, st.sampled_from(["daily", ["daily"], 1, True]))


PRIORITY_VALUES = st.sampled_from(PRIORITIES) | st.sampled_from(
    ["HIGH", "High", "urgent", "", "high ", 0, 3, None, True]
)
COMPLETED_VALUES = st.sampled_from([True, False]) | st.sampled_from(["true", 1, 0, None, "yes", []])
READ_ONLY_FIELDS = ["id", "user_id", "created_at", "updated_at", "completed_at"]
INTERNAL_NAMES = ["owner", "version", "next", "next_occurrence", "anchor", "owner_id"]
TASK_FIELDS = ["title", "description", "priority", "tags", "due_at", "remind_at", "recurrence", "completed"]


def read_only_fields() -> st.SearchStrategy[dict[str, Any]]:
    """What a client read and sends back: the README says these are ignored."""
    values = {
        "id": st.integers(-(2**70), 2**70) | st.sampled_from([1, None, "1"]),
        "user_id": st.sampled_from(["someone-else", "", None]),
        "created_at": datetime_values(),
        "updated_at": datetime_values(),
        "completed_at": datetime_values(),
    }
    return st.fixed_dictionaries({}, optional=values)


def _unknown_name(name: str) -> bool:
    return name not in TASK_FIELDS and name not in READ_ONLY_FIELDS


def extra_fields() -> st.SearchStrategy[dict[str, Any]]:
    """Mostly none; else read-only fields (ignored) or unknown ones (ignored or refused)."""
    names = (st.sampled_from(INTERNAL_NAMES) | st.text(min_size=1, max_size=8)).filter(_unknown_name)
    unknown = st.dictionaries(names, json_values(), min_size=1, max_size=2)
    return st.one_of(st.just({}), st.just({}), read_only_fields(), unknown)


def field_strategies() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "title": texts_around(200),
        "description": texts_around(1000),
        "priority": PRIORITY_VALUES,
        "tags": tag_lists(),
        "due_at": datetime_values(),
        "remind_at": datetime_values(),
        "recurrence": recurrences(),
        "completed": COMPLETED_VALUES,
    }


def _merged(fields: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    return {**extras, **fields}


def task_payloads(*, title_required: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies for POST (title usually present) or PATCH: each field present or absent independently."""
    fields = field_strategies()
    required = {"title": fields.pop("title")} if title_required else {}
    body = st.fixed_dictionaries(required, optional=fields)
    return st.builds(_merged, body, extra_fields())


# --- Coherent bodies: every field well-formed, remind_at before due_at, a rule only with a due date. ---

SAFE_OFFSETS = st.integers(-(15 * 60 + 59), 15 * 60 + 59)
ALL_OFFSETS = st.sampled_from(EDGE_OFFSETS) | st.integers(-MAX_OFFSET_MINUTES, MAX_OFFSET_MINUTES)
PLAIN_TEXT = string.ascii_letters + string.digits
# ISO 8601 as RFC 3339 writes it: a T, seconds or more, Z or ±HH:MM.
PLAIN_RENDERING = st.tuples(
    st.just("T"), st.sampled_from(["auto", "seconds", "microseconds"]), st.sampled_from(["extended", "Z"])
)


def _aware(day: date, moment: time, offset: int) -> datetime:
    return datetime.combine(day, moment, tzinfo=timezone(timedelta(minutes=offset)))


def render(moment: datetime, separator: str = "T", precision: str = "auto", style: str = "extended") -> str:
    """An aware date-time as ISO 8601 text in its own offset (`Z` for UTC when the style says so)."""
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    text = f"{moment.date().isoformat()}{separator}{moment.time().isoformat(timespec=precision)}"
    return text + ("Z" if style == "Z" and minutes == 0 else _offset_text(minutes, style))


def _reminder(due: datetime, lead: int, offset: int) -> datetime | None:
    """`lead` minutes before `due`, in another offset when that can be represented."""
    try:
        remind = due - timedelta(minutes=lead)
    except OverflowError:
        return None
    try:
        return remind.astimezone(timezone(timedelta(minutes=offset)))
    except OverflowError:
        return remind


def _coherent_body(
    title: str,
    description: str | None,
    priority: str | None,
    tags: list[str] | None,
    due: datetime | None,
    reminder: tuple[int, int] | None,
    rule: dict[str, Any] | None,
    completed: bool | None,
    rendering: tuple[str, str, str],
) -> dict[str, Any]:
    body: dict[str, Any] = {"title": title}
    optional = {"description": description, "priority": priority, "tags": tags, "completed": completed}
    body.update({key: value for key, value in optional.items() if value is not None})
    if due is not None:
        body["due_at"] = render(due, *rendering)
        remind = _reminder(due, *reminder) if reminder is not None else None
        if remind is not None:
            body["remind_at"] = render(remind, *rendering)
        if rule is not None:
            body["recurrence"] = rule
    return body


def _valid_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Bodies within every documented rule, dates well inside years 1-9999, offsets PostgreSQL keeps."""
    return st.builds(
        _coherent_body,
        st.text(alphabet=PLAIN_TEXT, min_size=1, max_size=200),
        st.none() | st.text(alphabet=PLAIN_TEXT + " ", max_size=1000).map(str.strip),
        st.none() | st.sampled_from(PRIORITIES),
        st.none()
        | st.lists(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=50), max_size=20, unique=True),
        st.none()
        | st.builds(
            _aware,
            st.dates(min_value=date(1000, 1, 1), max_value=date(9000, 12, 31)),
            st.times(),
            SAFE_OFFSETS,
        ),
        st.none() | st.tuples(st.integers(0, 60 * 24 * 400), SAFE_OFFSETS),
        st.none()
        | st.fixed_dictionaries(
            {"freq": st.sampled_from(FREQUENCIES)},
            optional={
                "interval": st.integers(1, 365),
                "until": st.none() | st.dates(min_value=date(1000, 1, 1)).map(date.isoformat),
            },
        ),
        st.none() | st.booleans(),
        PLAIN_RENDERING,
    )


def valid_task_payloads() -> st.SearchStrategy[dict[str, Any]]:
    """Bodies the contract says must be accepted, perhaps with the read-only fields a client read (ignored)."""
    return st.builds(_merged, _valid_bodies(), st.just({}) | read_only_fields())


def edge_task_payloads() -> st.SearchStrategy[dict[str, Any]]:
    """Coherent bodies with every value at an edge: Unicode text at its limits, tags at theirs, date-times in
    years 1 and 9999, leap days, month ends, every offset up to ±23:59; rules at and past their bounds."""
    return st.builds(
        _coherent_body,
        strings_around(200),
        st.none() | strings_around(1000),
        st.none() | st.sampled_from(PRIORITIES),
        st.none() | st.lists(tag_strings(), max_size=4) | tag_lists(),
        st.builds(
            _aware, st.sampled_from(EDGE_DATES) | st.dates(), st.sampled_from(EDGE_TIMES) | st.times(), ALL_OFFSETS
        ),
        st.none() | st.tuples(st.sampled_from([0, 1, 60, 1440, 10**6]) | st.integers(0, 10**7), ALL_OFFSETS),
        st.none()
        | st.fixed_dictionaries(
            {"freq": st.sampled_from(FREQUENCIES)},
            optional={
                "interval": st.sampled_from([1, 2, 365, 366, 0]) | st.integers(1, 365),
                "until": st.none() | st.sampled_from(EDGE_DATES).map(date.isoformat) | st.dates().map(date.isoformat),
            },
        ),
        st.none() | st.booleans(),
        st.tuples(
            st.sampled_from(["T", "T", " "]),
            st.sampled_from(["auto", "minutes", "seconds", "milliseconds", "microseconds"]),
            st.sampled_from(["extended", "extended", "Z", "basic"]),
        ),
    )


def _subset(body: dict[str, Any], keep: list[bool]) -> dict[str, Any]:
    return {key: value for (key, value), kept in zip(body.items(), keep, strict=False) if kept}


def partial_payloads(bodies: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the members of a body (a PATCH): each well-formed alone, though not always together."""
    return st.builds(_subset, bodies, st.lists(st.booleans(), min_size=9, max_size=9))


# --- List parameters. ---

LIMITS = st.one_of(
    st.sampled_from(
        [
            "0",
            "1",
            "100",
            "500",
            "501",
            "-1",
            "",
            "abc",
            "1.0",
            "1e3",
            "+1",
            " 1",
            "01",
            "\u0661",
            "9223372036854775808",
        ]
    ),
    st.integers(-(10**20), 10**20).map(str),
)
OFFSETS_PARAM = st.one_of(
    st.sampled_from(["0", "1", "-1", "10000000", "10000001", "999999999999", "", "x", "9223372036854775808"]),
    st.integers(-(10**20), 10**20).map(str),
)


def list_parameters() -> st.SearchStrategy[list[tuple[str, str]]]:
    """Query parameters of the list, each present or absent: date-times in every offset, bounds, junk."""
    dates = datetime_texts() | DATETIME_JUNK
    optional = {
        "due_before": dates,
        "due_after": dates,
        "updated_since": dates,
        "limit": LIMITS,
        "offset": OFFSETS_PARAM,
        "sort": st.sampled_from([*SORTS, "bogus", "", "-"]),
        "status": st.sampled_from(["all", "pending", "completed", "bogus", ""]),
        "priority": st.sampled_from(["high", "high,medium", "low,none", "urgent", "", ","]),
        "tag": st.sampled_from(["work", "WORK", "ß", "", "x" * 51, " "]),
        "tag_mode": st.sampled_from(["any", "all", "none"]),
        "overdue": st.sampled_from(["true", "false", "yes"]),
        "has_due": st.sampled_from(["true", "false", "1"]),
        "search": st.text(max_size=12),
    }
    return st.fixed_dictionaries({}, optional=optional).map(lambda params: list(params.items()))
