"""The project's own app: its system checks (evotodo.E…)."""

from django.apps import AppConfig


class EvotodoConfig(AppConfig):
    name = "evotodo"
    verbose_name = "Evo-TODO"

    def ready(self) -> None:
        from evotodo import checks  # noqa: F401 (registers the checks)
