"""Tasks lose the index of their owner alone (every other task index leads with it). Django's AlterField would
drop and re-add the owner's foreign key, scanning the table under an exclusive lock: only the index is dropped
here, on PostgreSQL without blocking reads or writes (CONCURRENTLY, outside a transaction)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEX = "tasks_task_owner_id_db3dcc3e"  # the name Django gave the foreign key's index (0001)


def drop_index(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'DROP INDEX {concurrently}IF EXISTS "{INDEX}"')


def create_index(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'CREATE INDEX {concurrently}IF NOT EXISTS "{INDEX}" ON "tasks_task" ("owner_id")')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tasks", "0007_task_reminder_fired_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="task",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tasks",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, create_index)],
        ),
    ]
