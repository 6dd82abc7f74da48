"""Deployment mistakes caught before the first request: `manage.py check --deploy`, and at WSGI start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.checks import CheckMessage, Error, Tags, register


def missing_static_files() -> str | None:
    """Why static files cannot be served (with debug off, the manifest storage needs `collectstatic`'s
    output: without it the admin and /api/docs would answer 500), or None when they can."""
    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None
    storage: Any = staticfiles_storage
    if storage.manifest_storage.exists(storage.manifest_name):
        return None
    return (
        f"Static files have not been collected into {settings.STATIC_ROOT} (no {storage.manifest_name}): "
        "run `python manage.py collectstatic --noinput` before starting the server."
    )


@register(Tags.staticfiles, deploy=True)
def check_static_files_collected(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problem = missing_static_files()
    return [Error(problem, id="evotodo.E001")] if problem else []
