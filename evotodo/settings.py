"""Evo-TODO settings: the only module that reads the environment (and `.env`, when present)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as default_cors_headers
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

# Real environment variables win over `.env`, so CI and process managers stay in charge. EVOTODO_ENV_FILE
# names another file; empty, it reads none (the test suite, which must not depend on a developer's `.env`).
ENV_FILE = os.environ.get("EVOTODO_ENV_FILE", str(BASE_DIR / ".env")).strip()
if ENV_FILE:
    load_dotenv(ENV_FILE, override=False)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_rate(name: str, default: str) -> str:
    """A throttle rate like "600/min" (s, min, hour or day), or "off"."""
    value = env_str(name, default).lower()
    if value != "off" and not re.fullmatch(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f'{name} must look like "600/min" or be "off", not {value!r}.')
    return value


def env_list(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name, "").strip() or default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# A refused CSRF check (the admin's forms) answers in JSON like every other error.
CSRF_FAILURE_VIEW = "evotodo.exceptions.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "evotodo",
    "authn",
    "tasks",
    "events",
]

MIDDLEWARE = [
    "evotodo.middleware.RequestIDMiddleware",
    # Outside every layer that answers with an error of its own (the body limit's 413 included).
    "evotodo.middleware.ProblemDetailsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "evotodo.middleware.APISecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Inside the layers that add the security and CORS headers: its 413 and 400 carry them too (a browser app
    # reads no answer without Access-Control-Allow-Origin). None of those reads a body.
    "evotodo.middleware.BodySizeLimitMiddleware",
    # Sessions, the logged-in user and messages serve the admin: skipped on /api/ (evotodo/admin_middleware.py).
    "evotodo.admin_middleware.AdminSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "evotodo.admin_middleware.AdminAuthenticationMiddleware",
    "evotodo.admin_middleware.AdminMessageMiddleware",
    "evotodo.middleware.AtomicWritesMiddleware",
]

ROOT_URLCONF = "evotodo.urls"
WSGI_APPLICATION = "evotodo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: the embedded SQLite file by default, PostgreSQL via DATABASE_URL=postgres://...
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that cannot be reached must be a quick 503, not a worker stuck until gunicorn kills it: give
    # up connecting after DATABASE_CONNECT_TIMEOUT seconds, and drop a connection whose server stopped
    # acknowledging (a network partition, a dead host) after some ten seconds instead of the kernel's minutes.
    # Parameters are bound server-side, and psycopg prepares a statement once it has run `prepare_threshold`
    # times on a connection, so PostgreSQL parses and plans the API's few queries once per connection: 5-15 %
    # less CPU a request, server and database together (bench/README.md). Django binds client-side and
    # prepares nothing unless told (for poolers: see DATABASE_POOLER below).
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": True,
        "prepare_threshold": 5,
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3, minimum=2),
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 2,
        "tcp_user_timeout": 10_000,
        **DATABASES["default"].get("OPTIONS", {}),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default under concurrent writers: a write transaction takes SQLite's write lock when it
    # begins (IMMEDIATE) and waits up to 20 s for it, instead of failing with "database is locked" when two
    # transactions that read first both try to write; WAL lets reads go on during a write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
# Behind PgBouncer in transaction pooling (deploy/pgbouncer.ini), consecutive transactions of one connection
# may run on different server sessions: no server-side cursors (Django's docs), and no statements prepared
# server-side (PgBouncer 1.18 cannot route them). Parameters are still bound server-side: an unnamed
# statement lives within one transaction.
DATABASE_POOLER = env_str("DATABASE_POOLER", "none").lower()
if DATABASE_POOLER not in {"none", "pgbouncer"}:
    raise ImproperlyConfigured(f"DATABASE_POOLER must be none or pgbouncer, not {DATABASE_POOLER!r}.")
if DATABASE_POOLER == "pgbouncer":
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_POOLER=pgbouncer needs a postgres:// DATABASE_URL.")
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), "prepare_threshold": None}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with the per-request health check reading the socket instead of sending `SELECT 1`
    # (evotodo/postgresql/base.py). Last, so that the checks above still see Django's engine name.
    DATABASES["default"]["ENGINE"] = "evotodo.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "authn.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Served as plain HTTP on loopback behind a TLS proxy, or in tests: set DJANGO_SECURE_SSL_REDIRECT=false.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients), set this to true.
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
# What a browser app may read of a response: pagination, caching, replays, when to retry, the request id to quote
# in a report, and why a token was refused.
CORS_EXPOSE_HEADERS = ["Link", "ETag", "Idempotent-Replayed", "Retry-After", "X-Request-ID", "WWW-Authenticate"]
CORS_ALLOW_HEADERS = [*default_cors_headers, "if-match", "if-none-match", "idempotency-key"]

# Better Auth token verification, read through authn.conf.auth_settings() at call time.
BETTER_AUTH = {
    "URL": env_str("BETTER_AUTH_URL"),
    "JWKS_URL": env_str("BETTER_AUTH_JWKS_URL"),
    "ISSUER": env_str("BETTER_AUTH_ISSUER"),
    "AUDIENCE": env_list("BETTER_AUTH_AUDIENCE"),
    "SECRET": env_str("BETTER_AUTH_SECRET"),
    "SECRET_FALLBACKS": env_list("BETTER_AUTH_SECRET_FALLBACKS"),
    "LEEWAY_SECONDS": env_int("BETTER_AUTH_LEEWAY_SECONDS", 10),
    "JWKS_CACHE_SECONDS": env_int("BETTER_AUTH_JWKS_CACHE_SECONDS", 300, minimum=1),
    "JWKS_REFETCH_COOLDOWN_SECONDS": env_int("BETTER_AUTH_JWKS_REFETCH_COOLDOWN_SECONDS", 10, minimum=1),
    "JWKS_TIMEOUT_SECONDS": env_int("BETTER_AUTH_JWKS_TIMEOUT_SECONDS", 3, minimum=1),
}

# The largest JSON body the API reads (a task is well under 10 KB); larger is a 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 262_144, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

# How long deleted tasks are remembered for offline sync (`updated_since`); `purge_expired` forgets older ones.
TASK_TOMBSTONE_RETENTION_DAYS = env_int("TASK_TOMBSTONE_RETENTION_DAYS", 30, minimum=1)

# Events (events/): the outbox of every task and list change, relayed by the worker (`python manage.py
# run_worker`). EVENTS_SOURCE is the CloudEvents `source` of every event. With BROKER_URL (RabbitMQ:
# amqp://user:password@host:5672/vhost) the worker publishes them, task and list events to the topic exchange
# EVENTS_EXCHANGE and reminders to REMINDERS_EXCHANGE; without it, events go to webhooks only. Sent events
# are kept EVENTS_RETENTION_DAYS (`purge_expired`).
EVENTS_SOURCE = env_str("EVENTS_SOURCE", "/evotodo")
BROKER_URL = env_str("BROKER_URL")
EVENTS_EXCHANGE = env_str("EVENTS_EXCHANGE", "task-events")
REMINDERS_EXCHANGE = env_str("REMINDERS_EXCHANGE", "reminders")
BROKER_TIMEOUT_SECONDS = env_int("BROKER_TIMEOUT_SECONDS", 5, minimum=1)
EVENTS_RETENTION_DAYS = env_int("EVENTS_RETENTION_DAYS", 7, minimum=2)
# Reminders fire within REMINDER_TICK_SECONDS of their time; one found later than REMINDER_MAX_LATE_SECONDS
# (a worker down for longer) is dropped rather than fired at a moment when it no longer helps.
REMINDER_TICK_SECONDS = env_int("REMINDER_TICK_SECONDS", 30, minimum=1)
REMINDER_MAX_LATE_SECONDS = env_int("REMINDER_MAX_LATE_SECONDS", 6 * 3600, minimum=60)
# Webhooks: each attempt waits at most WEBHOOK_TIMEOUT_SECONDS; an endpoint whose deliveries failed
# WEBHOOK_DISABLE_AFTER times in a row (every retry of each spent, about a day) is turned off. Webhook URLs must
# reach public addresses unless WEBHOOK_ALLOW_PRIVATE (on with DJANGO_DEBUG: the embedded demo posts to
# 127.0.0.1).
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
WEBHOOK_DISABLE_AFTER = env_int("WEBHOOK_DISABLE_AFTER", 5, minimum=1)
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", DEBUG)
# How often the worker looks for new events and due deliveries (seconds).
WORKER_POLL_SECONDS = env_int("WORKER_POLL_SECONDS", 1, minimum=1)

# Rate limits, per user (authenticated) and per client IP (anonymous), and refused tokens per client IP;
# "off" disables one (load tests). Moving windows, shared through Redis when REDIS_URL is set (evotodo.throttling).
API_THROTTLE_USER = env_rate("API_THROTTLE_USER", "600/min")
API_THROTTLE_ANON = env_rate("API_THROTTLE_ANON", "60/min")
API_THROTTLE_AUTH_FAILURES = env_rate("API_THROTTLE_AUTH_FAILURES", "30/min")

# The Redis every worker and node shares (evotodo.shared_redis): rate-limit counters, the last good JWKS and
# user invalidations. Optional on one box; required with more than one. Each call waits at most
# REDIS_TIMEOUT_MS; after a failure Redis is left alone for REDIS_RETRY_SECONDS and everything falls back.
REDIS_URL = env_str("REDIS_URL")
REDIS_TIMEOUT_MS = env_int("REDIS_TIMEOUT_MS", 50, minimum=1)
REDIS_RETRY_SECONDS = env_int("REDIS_RETRY_SECONDS", 2, minimum=1)
# Django's own cache serves nothing the API depends on: it stays in the process.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["authn.authentication.BetterAuthJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSONRenderer output, written by orjson (evotodo/renderers.py).
    "DEFAULT_RENDERER_CLASSES": ["evotodo.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["evotodo.parsers.BoundedJSONParser"],
    # A client that asks for problem details (errors as application/problem+json) gets JSON answers otherwise.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "evotodo.problems.ProblemAwareContentNegotiation",
    # JSON is all the API serves: `?format=` is an unknown parameter like any other, not a renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "evotodo.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["evotodo.throttling.UserThrottle", "evotodo.throttling.AnonThrottle"],
    # How many proxies in front of gunicorn append to X-Forwarded-For; 0 trusts none of it, so a forged
    # header cannot mint fresh rate-limit buckets.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Evo-TODO API",
    "DESCRIPTION": (
        "Per-user tasks for single-page apps. Authenticate with the JWT that Better Auth's "
        "`jwt` plugin issues, sent as `Authorization: Bearer <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page shows the tags in this order: the API first, the path-style compatibility routes last.
    "TAGS": [
        {"name": "tasks", "description": "Your tasks: list, create, read, change, complete, move, delete."},
        {"name": "lists", "description": "Your lists, with their task counts."},
        {"name": "sync", "description": "Every change since your last sync, deletions included."},
        {"name": "tags", "description": "The tags on your tasks."},
        {"name": "batch", "description": "Several writes in one transaction."},
        {"name": "export", "description": "Everything of yours as one document."},
        {"name": "import", "description": "An export document, made yours."},
        {"name": "webhooks", "description": "Events POSTed to your server, signed."},
        {"name": "me", "description": "Who the token says you are."},
        {"name": "tasks (path-style)", "description": "/api/{user_id}/tasks: the same, for clients of that shape."},
        {"name": "lists (path-style)", "description": "/api/{user_id}/lists: the same, for clients of that shape."},
        {"name": "webhooks (path-style)", "description": "/api/{user_id}/webhooks: the same."},
    ],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "evotodo.openapi.strip_trailing_slashes",
        "evotodo.openapi.order_paths_by_tag",
        "evotodo.openapi.document_errors",
        "evotodo.openapi.link_task_operations",
        "evotodo.openapi.describe_request_rules",
        "evotodo.openapi.type_path_ids",
        "evotodo.openapi.describe_deprecated_list_variant",
        "evotodo.openapi.describe_request_defaults",
        "evotodo.openapi.describe_responses_as_sent",
    ],
}

# One JSON object per line in production (plain text while debugging), each with the request id.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "evotodo.middleware.RequestIDLogFilter"},
        "once_per_interval": {"()": "evotodo.logs.OncePerIntervalFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    # A request for a host not in ALLOWED_HOSTS (a 400 any client can send): one warning a minute per process,
    # not an ERROR with a traceback each time.
    "loggers": {"django.security.DisallowedHost": {"filters": ["once_per_interval"]}},
}
