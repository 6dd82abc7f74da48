"""On PostgreSQL, parameters are bound server-side and a query the API runs again and again is prepared once
per connection (psycopg's `prepare_threshold`): PostgreSQL parses and plans it once, not per request."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's (the suite runs on SQLite)"
)


def prepared_task_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall() if "tasks_task" in statement]


def test_a_detail_read_repeated_on_a_connection_is_planned_once(alice: Any, alice_client: APIClient) -> None:
    task = TaskFactory(owner=alice)
    assert prepared_task_statements() == []
    for _ in range(6):
        response = alice_client.get(f"/api/tasks/{task.pk}")
        assert response.status_code == 200
        assert response.json()["id"] == task.pk
    statements = prepared_task_statements()
    assert len(statements) == 1
    assert "$1" in statements[0]  # bound server-side: one statement whatever the task


def test_prepared_statements_serve_another_users_task_as_a_404(
    alice: Any, bob: Any, alice_client: APIClient, bob_client: APIClient
) -> None:
    mine, theirs = TaskFactory(owner=alice), TaskFactory(owner=bob)
    for _ in range(6):
        assert alice_client.get(f"/api/tasks/{mine.pk}").status_code == 200
    assert alice_client.get(f"/api/tasks/{theirs.pk}").status_code == 404
    assert bob_client.get(f"/api/tasks/{theirs.pk}").json()["id"] == theirs.pk
