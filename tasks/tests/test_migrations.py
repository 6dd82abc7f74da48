"""The planning migration runs forwards and backwards on a table that already holds tasks."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tasks", "0001_initial")]
AFTER = [("tasks", "0002_task_planning_sync_idempotency")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_planning_migration_is_reversible_on_a_populated_table() -> None:
    try:
        apps = migrate(BEFORE)
        user = apps.get_model("authn", "User").objects.create(better_auth_id="m" * 32, password="!")
        apps.get_model("tasks", "Task").objects.create(owner=user, title="kept", completed=True)

        apps = migrate(AFTER)
        task = apps.get_model("tasks", "Task").objects.get(title="kept")
        assert (task.priority, task.tags, task.due_at, task.recurrence, task.version) == (0, [], None, None, 1)

        apps = migrate(BEFORE)
        assert apps.get_model("tasks", "Task").objects.filter(title="kept", completed=True).count() == 1
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
