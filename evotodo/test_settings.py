"""Settings for the test suite: the real settings, plus a throwaway Django secret and plain static storage."""

import os
import uuid

# Tests never need a real Django secret; the environment or a `.env` may still provide one.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-django-secret-key-not-for-production")

from evotodo.settings import *  # noqa: F403
from evotodo.settings import CACHES, STORAGES

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
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": f"evotodo-test-{uuid.uuid4().hex}"}}
