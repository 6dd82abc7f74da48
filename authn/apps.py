"""The authn app: Better Auth token verification and the local user model."""

from django.apps import AppConfig


class AuthnConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "authn"
    verbose_name = "Authentication"

    def ready(self) -> None:
        from authn import checks, conf, schema  # noqa: F401  (register checks, signal, schema extension)
