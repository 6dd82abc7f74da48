"""The authn app: Better Auth token verification and the local user model."""

from django.apps import AppConfig


class AuthnConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "authn"
    verbose_name = "Authentication"

    def ready(self) -> None:
        # Register checks, signal receivers (services: every process hears of a changed user) and the schema extension.
        from authn import checks, conf, schema, services  # noqa: F401
