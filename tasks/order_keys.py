"""Order keys: strings whose byte order is the order of a user's lists (and, later, of tasks within a list), so
that an item moves between two others with one write and no renumbering (fractional indexing, as Figma's and
Google Tasks' `position`). `fractional_indexing` makes them; the column compares bytes on every database."""

from __future__ import annotations

from typing import Any

from django.db import models
from fractional_indexing import generate_key_between

ORDER_KEY_MAX_LENGTH = 255


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
