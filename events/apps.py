"""The events app: the outbox of task and list changes, its relay to the broker, reminders, webhooks."""

from django.apps import AppConfig


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"

    def ready(self) -> None:
        from events.outbox import record_changes, record_in_statement
        from tasks.changes import listen

        listen(record_changes, in_statement=record_in_statement)
