"""The hot paths' statements share one database cursor per connection, and Django still sees every statement."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from evotodo.queries import statement_cursor


def database_cursor(wrapped: Any) -> Any:
    """The database's own cursor inside Django's wrapper (or its debug wrapper)."""
    return wrapped.cursor


def run(wrapped: Any, value: int) -> Any:
    wrapped.execute("SELECT %s", [value])
    return wrapped.fetchone()[0]


@pytest.mark.django_db
def test_one_database_cursor_serves_every_statement_of_a_connection_through_the_proxy_too() -> None:
    first = statement_cursor(connections["default"])
    second = statement_cursor(connection)  # django.db.connection: a proxy of the same connection
    assert (run(first, 1), run(second, 2)) == (1, 2)
    assert database_cursor(first) is database_cursor(second)


@pytest.mark.django_db(transaction=True)
def test_a_connection_closed_and_opened_again_gets_a_cursor_of_its_own() -> None:
    before = statement_cursor(connection)
    assert run(before, 1) == 1
    opened = connection.connection
    connection.close()
    after = statement_cursor(connection)
    assert run(after, 2) == 2
    assert database_cursor(after).connection is connection.connection
    if connection.connection is not opened:  # SQLite's in-memory test database is never closed
        assert database_cursor(after) is not database_cursor(before)


@pytest.mark.django_db
def test_its_statements_are_logged_as_any_cursors_are() -> None:
    with CaptureQueriesContext(connection) as queries:
        run(statement_cursor(connection), 7)
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith("SELECT")


@pytest.mark.django_db
def test_a_failing_statement_is_djangos_error_and_the_cursor_serves_the_next() -> None:
    with pytest.raises(DatabaseError), transaction.atomic():  # rolled back to its savepoint, as a request is
        statement_cursor(connection).execute("SELECT * FROM no_such_table")
    assert run(statement_cursor(connection), 3) == 3
