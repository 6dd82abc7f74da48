"""How the task list sorts, and how it resumes after a given row: keyset (cursor) pagination.

Each sort is a list of keys ending with the id, so no two rows tie and a page boundary is exact. A cursor
holds the sort and the last row's key values as the database computed them (e.g. `lower(title)` under the
database's collation), signed so that it is opaque and cannot be crafted; the next page is the rows strictly
after those values, so a task that existed while the client paged appears exactly once, whatever was
created, changed or deleted meanwhile. Every sort has an index that starts at the owner, so the first key's
bound is an index condition and a page deep in the list costs what the first one does (no OFFSET scan).
Tasks without a due date sort last either way: their key is the last (or first) representable instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Expression, F, Q, QuerySet
from django.db.models.functions import Lower

from tasks.datetimes import EARLIEST, LATEST, due_sort_key

CURSOR_SALT = "evotodo.tasks.cursor"


@dataclass(frozen=True)
class SortKey:
    expression: Expression
    descending: bool = False
    is_datetime: bool = False


ID, ID_DESC = SortKey(F("id")), SortKey(F("id"), descending=True)
SORT_KEYS: dict[str, list[SortKey]] = {
    "created": [SortKey(F("created_at"), is_datetime=True), ID],
    "-created": [SortKey(F("created_at"), descending=True, is_datetime=True), ID_DESC],
    "updated": [SortKey(F("updated_at"), is_datetime=True), ID],
    "-updated": [SortKey(F("updated_at"), descending=True, is_datetime=True), ID_DESC],
    "title": [SortKey(Lower("title")), SortKey(F("title")), ID],
    "-title": [SortKey(Lower("title"), descending=True), SortKey(F("title"), descending=True), ID_DESC],
    "due": [SortKey(due_sort_key(LATEST), is_datetime=True), ID],
    "-due": [SortKey(due_sort_key(EARLIEST), descending=True, is_datetime=True), ID_DESC],
    "position": [SortKey(F("position")), ID],  # the order the user gave them (tasks.order_keys)
    "priority": [SortKey(F("priority"), descending=True), ID],  # high first
    "-priority": [SortKey(F("priority")), ID_DESC],
}
DEFAULT_SORT = "-created"


class CursorInvalid(Exception):
    """A cursor this server did not make, or one made for another sort."""


def _name(index: int) -> str:
    return f"_sort{index}"


def sorted_tasks(queryset: QuerySet, sort: str) -> QuerySet:
    """The queryset with its sort keys annotated and ordered by them."""
    keys = SORT_KEYS[sort]
    annotated = queryset.annotate(**{_name(i): key.expression for i, key in enumerate(keys)})
    return annotated.order_by(
        *[F(_name(i)).desc() if key.descending else F(_name(i)).asc() for i, key in enumerate(keys)]
    )


def sorted_rows(queryset: QuerySet, sort: str, columns: Sequence[str]) -> QuerySet:
    """`sorted_tasks`, each task a tuple: its `columns`, then its sort keys (what `row_cursor` reads)."""
    return sorted_tasks(queryset, sort).values_list(*columns, *[_name(i) for i in range(len(SORT_KEYS[sort]))])


def after(queryset: QuerySet, sort: str, cursor: str) -> QuerySet:
    """The rows of a `sorted_tasks` queryset strictly after the row the cursor was made from."""
    keys = SORT_KEYS[sort]
    values = read_cursor(cursor, sort)
    later, same = Q(pk__in=[]), Q()
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        later |= same & Q(**{f"{_name(i)}__{'lt' if key.descending else 'gt'}": value})
        same &= Q(**{_name(i): value})
    first = keys[0]
    # The bound on the first key alone is what an index can start from; the rest picks among its ties.
    bound = Q(**{f"{_name(0)}__{'lte' if first.descending else 'gte'}": values[0]})
    return queryset.filter(bound, later)


def make_cursor(row: Any, sort: str) -> str:
    """The cursor after a task of a `sorted_tasks` queryset."""
    return _signed(sort, [getattr(row, _name(i)) for i in range(len(SORT_KEYS[sort]))])


def row_cursor(row: Sequence[Any], sort: str) -> str:
    """The cursor after a row of `sorted_rows`, which ends with its sort keys."""
    return _signed(sort, row[-len(SORT_KEYS[sort]) :])


def _signed(sort: str, values: Sequence[Any]) -> str:
    encoded = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return signing.dumps([sort, encoded], salt=CURSOR_SALT, compress=True)


def read_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        made_for, values = signing.loads(cursor, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError) as e:
        raise CursorInvalid() from e
    keys = SORT_KEYS[sort]
    if made_for != sort or not isinstance(values, list) or len(values) != len(keys):
        raise CursorInvalid()
    try:
        return [
            datetime.fromisoformat(value) if key.is_datetime else value for key, value in zip(keys, values, strict=True)
        ]
    except (TypeError, ValueError) as e:
        raise CursorInvalid() from e
