"""Order keys: strings whose byte order is the order of a user's lists (and, later, of tasks within a list), so
that an item moves between two others with one write and no renumbering (fractional indexing, as Figma's and
Google Tasks' `position`). `fractional_indexing` makes them; the column compares bytes on every database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from fractional_indexing import BASE_62_DIGITS, generate_key_between, generate_n_keys_between

ORDER_KEY_MAX_LENGTH = 255
# A key longer than this (moving items to one spot again and again lengthens them, about a character every six
# moves) has the siblings' keys rewritten evenly, in the same transaction.
REBALANCE_LENGTH = 48
EPOCH = datetime(1, 1, 1, tzinfo=UTC)
EARLIEST_KEY = "j0000000000"  # time_key(EPOCH)


def key_after(last: str | None) -> str:
    """A key after `last` (the first key when there is none): where a new item goes, at the end."""
    return generate_key_between(last, None)


class OrderKeyField(models.CharField):
    """A CharField compared byte by byte: the keys mix upper and lower case, which a linguistic collation
    (PostgreSQL's default, e.g. en_US) would sort case-insensitively. PostgreSQL gets the "C" collation;
    SQLite compares bytes already."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", ORDER_KEY_MAX_LENGTH)
        super().__init__(*args, **kwargs)

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        parameters = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            parameters["collation"] = "C"
        return parameters


def new_position() -> str:
    """The position of an item made now: after every item made before it (`time_key`)."""
    return time_key(timezone.now())


def time_key(moment: datetime) -> str:
    """The key of an item created at `moment`, with no query: "j" and ten base-62 digits of the microseconds since
    year 1, an integer key of the fractional-index scheme, so items made later sort later, and a move between two
    of them (or before the first) works as between any keys."""
    number = (moment - EPOCH) // datetime.resolution
    digits = []
    for _ in range(10):
        number, digit = divmod(number, 62)
        digits.append(BASE_62_DIGITS[digit])
    return "j" + "".join(reversed(digits))


class NotASibling(Exception):
    """`after` or `before` names no item of the place the item moves to (or they are not next to each other)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


UNSET: Any = object()


def placed_key(
    siblings: QuerySet[Any], *, after: int | None = UNSET, before: int | None = UNSET
) -> tuple[str | None, int | None]:
    """Where an item goes among `siblings` (the items of its new place, itself excluded), ordered by (position,
    id): right after `after`, right before `before`, between both, first when `after` is None, last when neither
    is given. Returns (key, None), or (None, index) when the neighbours' keys leave no short key between them:
    the caller rebalances (`rebalance`) with the item at that index."""
    ordered = siblings.order_by("position", "id")

    def sibling(field: str, pk: Any) -> Any:
        found = ordered.filter(pk=pk).first() if type(pk) is int else None
        if found is None:
            raise NotASibling(field, "Not an item of the place it moves to.")
        return found

    def after_item(item: Any) -> Any:
        return ordered.filter(Q(position__gt=item.position) | Q(position=item.position, id__gt=item.pk)).first()

    def before_item(item: Any) -> Any:
        earlier = Q(position__lt=item.position) | Q(position=item.position, id__lt=item.pk)
        return ordered.filter(earlier).order_by("-position", "-id").first()

    if after is not UNSET and after is not None:
        low = sibling("after", after)
        high = after_item(low)
        if before is None and high is not None:  # "after X, and last": X must be the last
            raise NotASibling("before", "after and before must be next to each other.")
        if before is not UNSET and before is not None and (high is None or high.pk != sibling("before", before).pk):
            raise NotASibling("before", "after and before must be next to each other.")
    elif before is not UNSET and before is not None:
        high = sibling("before", before)
        low = before_item(high)
        if after is None and low is not None:  # "first, and before B": B must be the first
            raise NotASibling("after", "after and before must be next to each other.")
    elif after is None:  # first
        low, high = None, ordered.first()
    else:  # last
        low, high = ordered.order_by("-position", "-id").first(), None
    low_key, high_key = (low.position if low else None), (high.position if high else None)
    if low_key is None or high_key is None or low_key < high_key:
        key = generate_key_between(low_key, high_key)
        if len(key) <= REBALANCE_LENGTH:
            return key, None
    # Ties (items made in the same microsecond) or keys grown long: rewrite the siblings' keys.
    ids = list(ordered.values_list("id", flat=True))
    return None, (ids.index(low.pk) + 1 if low is not None else 0)


def rebalance(siblings: QuerySet[Any], index: int, save: Callable[[list[tuple[int, str]]], None]) -> str:
    """New, short, evenly spread keys for the siblings with a gap at `index` for the moving item: `save` gets the
    (id, key) of each sibling whose key changes; the moving item's key is returned."""
    ids = list(siblings.order_by("position", "id").values_list("id", "position"))
    keys = generate_n_keys_between(None, None, len(ids) + 1)
    mine = keys.pop(index)
    save([(pk, key) for (pk, old), key in zip(ids, keys, strict=True) if key != old])
    return mine
