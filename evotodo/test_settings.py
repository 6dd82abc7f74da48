"""Settings for the test suite: the real settings read from a clean environment, plus test-only choices.

The suite is hermetic: no `.env` and no setting of the developer's shell reaches it (a test sets what it
needs), so `make run` and then `make test` in one clone pass as they do in CI. Only DATABASE_URL passes
through, so that the same tests run on SQLite or on PostgreSQL.
"""

import os
import uuid

# Every variable settings.py reads starts with one of these (a test holds this list to `.env.example`).
HERMETIC_PREFIXES = (
    "DJANGO_",
    "BETTER_AUTH_",
    "API_",
    "LOG_",
    "REDIS_",
    "CORS_",
    "TASK_",
    "NUM_PROXIES",
    "DATABASE_CONN_MAX_AGE",
    "DATABASE_POOLER",
    "DATABASE_CONNECT_TIMEOUT",
    "GUNICORN_",
    "WEB_CONCURRENCY",
    "BROKER_",
    "EVENTS_",
    "REMINDER",
    "WEBHOOK_",
    "WORKER_",
)
for name in [name for name in os.environ if name.startswith(HERMETIC_PREFIXES)]:
    if name != "DJANGO_SETTINGS_MODULE":
        del os.environ[name]
# Processes that tests start inherit this clean environment, and read no `.env` either.
os.environ["EVOTODO_ENV_FILE"] = ""
# Tests never need a real Django secret.
os.environ["DJANGO_SECRET_KEY"] = "test-only-django-secret-key-not-for-production"

from evotodo.settings import *  # noqa: E402, F403
from evotodo.settings import CACHES, STORAGES  # noqa: E402

# The manifest storage needs `collectstatic`; the gunicorn test covers it, unit tests need only URLs.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Tests call over plain HTTP; the redirect itself has its own test.
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files from the apps in tests, as in development, instead of a collected STATIC_ROOT.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Rate limits are off except in the tests that switch them on; counters of one run never meet another's.
API_THROTTLE_USER = "off"
API_THROTTLE_ANON = "off"
API_THROTTLE_AUTH_FAILURES = "off"
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": f"evotodo-test-{uuid.uuid4().hex}"}}
