"""WSGI entry point: `gunicorn evotodo.wsgi`. It refuses to start with a deployment mistake that would
otherwise surface as a 500 on the first request (see evotodo/checks.py)."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evotodo.settings")

application = get_wsgi_application()

from evotodo.checks import missing_static_files  # noqa: E402 (needs the app registry that the line above sets up)

if problem := missing_static_files():
    raise ImproperlyConfigured(problem)
