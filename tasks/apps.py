"""The tasks app: each user's todo items."""

from django.apps import AppConfig


class TasksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks"

    def ready(self) -> None:
        from authn.models import users_deleting
        from tasks.sync import lock_counters_of_deleted_users

        users_deleting.connect(lock_counters_of_deleted_users, dispatch_uid="tasks.lock_counters_of_deleted_users")
