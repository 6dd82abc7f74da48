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


@pytest.mark.django_db(transaction=True)
def test_tags_migration_composes_tags_merges_spellings_and_numbers_the_change() -> None:
    before, after = [("tasks", "0008_task_owner_without_lone_index")], [("tasks", "0009_compose_tags")]
    try:
        apps = migrate(before)
        task_model, tag_model = apps.get_model("tasks", "Task"), apps.get_model("tasks", "TaskTag")
        user = apps.get_model("authn", "User").objects.create(better_auth_id="t" * 32, password="!")
        apps.get_model("tasks", "SyncState").objects.create(owner=user, seq=7)
        decomposed, composed = "Cafe\u0301", "Caf\u00e9"
        rows = {
            "two spellings": [decomposed, "work", composed.upper()],
            "decomposed": ["cafe\u0301"],
            "ascii": ["Work"],
            "composed": [composed],
        }
        for seq, (title, tags) in enumerate(rows.items(), start=1):
            task = task_model.objects.create(owner=user, title=title, tags=tags, version=3, change_seq=seq)
            old_rows = [tag_model(task=task, owner=user, key=tag.casefold(), name=tag) for tag in tags]
            tag_model.objects.bulk_create(old_rows)

        apps = migrate(after)
        task_model, tag_model = apps.get_model("tasks", "Task"), apps.get_model("tasks", "TaskTag")
        tasks = {task.title: task for task in task_model.objects.all()}
        assert tasks["two spellings"].tags == [composed, "work"]
        assert tasks["decomposed"].tags == ["caf\u00e9"]
        assert (tasks["ascii"].tags, tasks["composed"].tags) == (["Work"], [composed])
        changed = sorted((tasks[title].change_seq, tasks[title].version) for title in ("two spellings", "decomposed"))
        assert changed == [(8, 4), (9, 4)]
        assert [(tasks[title].change_seq, tasks[title].version) for title in ("ascii", "composed")] == [(3, 3), (4, 3)]
        assert apps.get_model("tasks", "SyncState").objects.get(owner_id=user.pk).seq == 9
        keys = sorted(tag_model.objects.values_list("task__title", "key", "name"))
        assert keys == [
            ("ascii", "work", "Work"),
            ("composed", "caf\u00e9", composed),
            ("decomposed", "caf\u00e9", "caf\u00e9"),
            ("two spellings", "caf\u00e9", composed),
            ("two spellings", "work", "work"),
        ]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
