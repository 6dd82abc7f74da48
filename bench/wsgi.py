"""WSGI entry point of the benchmark (bench.settings: the project plus /bench/ comparison endpoints)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

application = get_wsgi_application()
