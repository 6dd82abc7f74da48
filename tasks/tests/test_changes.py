"""How changes are told: after the write, or, for a row being inserted, in its INSERT's own statement when every
listener can write there (tasks.changes)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from authn.models import User
from events.outbox import record_changes, record_in_statement
from tasks import changes
from tasks.changes import in_change_order, listen, task_saved, told_in_statement
from tasks.models import Task


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="INSERTs run beside another in its statement on PostgreSQL only: set DATABASE_URL to a PostgreSQL server",
)
def test_a_row_being_inserted_is_told_in_its_statement_by_every_listener(alice: User) -> None:
    tell = told_in_statement()
    assert tell is not None
    task = Task(owner=alice, title="New")
    [(sql, params)] = tell(task_saved(task, "created"))
    assert sql.startswith('INSERT INTO "events_event"')
    assert sql.endswith("FROM inserted")
    assert [alice.pk, "task.created", "tasks/"] == [
        param for param in params if param in (alice.pk, "task.created", "tasks/")
    ]


def test_a_listener_without_a_way_to_write_in_the_statement_is_told_after_it(monkeypatch: Any) -> None:
    monkeypatch.setattr(changes, "_listeners", [record_changes])
    monkeypatch.setattr(changes, "_in_statement", {})
    assert told_in_statement() is None
    listen(record_changes, in_statement=record_in_statement)
    assert told_in_statement() is not None
    assert changes._listeners == [record_changes]  # once, however often it listens


def test_nothing_is_told_in_a_statement_while_changes_are_held_back() -> None:
    with in_change_order():
        assert told_in_statement() is None
    assert told_in_statement() is not None
