"""The project's own app: its system checks (evotodo.E…) and how it sets up database connections."""

from django.apps import AppConfig
from django.db.backends.signals import connection_created


class EvotodoConfig(AppConfig):
    name = "evotodo"
    verbose_name = "Evo-TODO"

    def ready(self) -> None:
        from evotodo import checks  # noqa: F401 (registers the checks)
        from evotodo.db import use_c_timestamptz_loader

        connection_created.connect(use_c_timestamptz_loader, dispatch_uid="evotodo.db.use_c_timestamptz_loader")
