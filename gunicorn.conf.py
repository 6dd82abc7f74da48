"""gunicorn settings: `gunicorn evotodo.wsgi` reads this file from the project root."""

import gc
import os

from evotodo import gunicorn_errors

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Sync workers, one per core this process may run on: the work is CPU-bound (JSON, token checks, the ORM) with the
# database close by, and on this kind of machine they served more than ASGI under uvicorn. More processes than
# cores only take turns on them: measured on 2 cores with PostgreSQL local (bench/README.md, thirteenth round),
# 5 workers cost a request 14-34 % more CPU than 2 (the caches of each core shared out among more processes) and
# served less. Where PostgreSQL is across a network, each worker also waits for its round trips: raise
# WEB_CONCURRENCY there, to cores x (1 + the time a request waits / the CPU time it takes), as the README says.
# Persistent database connections (DATABASE_CONN_MAX_AGE) already avoid a connection per request.
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))

# Load Django once in the master and fork the workers from it: a recycled worker starts at once instead of
# importing everything again, and the loaded objects are frozen out of the garbage collector's way, so the
# collector's passes (a source of tail latency) only scan what requests create.
preload_app = True


def when_ready(server: object) -> None:
    gc.freeze()


# A request that takes longer than this is stuck: the worker is killed and replaced.
timeout = 30
graceful_timeout = 30

# Recycle each worker after 20 000 to 40 000 requests, a number drawn for each: it bounds any slow memory growth.
# Much lower and, at a thousand requests a second, a worker restarts every few seconds and its boot (on a 2-core
# machine) shows in the p99 (measured with max_requests = 1000). The jitter is as large as the number itself
# because workers start together and share the load evenly: with a jitter of 2 000 all five of a node restarted
# within the same ten seconds (measured: p99 90 ms against 53, every cache cold at once); now their first
# restarts spread over minutes (evotodo/tests/test_gunicorn.py).
max_requests = 20000
max_requests_jitter = 20000

# One JSON object per line, for gunicorn's own lines too: each request (method, path without the query string,
# which is never logged, status, bytes, duration, the request id the application returns) and gunicorn's
# warnings and errors, every value JSON-encoded (evotodo/gunicorn_logging.py). GUNICORN_ACCESS_LOG="" turns
# the access log off.
logger_class = "evotodo.gunicorn_logging.JSONLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None

# Headers larger than this are refused by gunicorn itself (400) before Django sees them.
limit_request_field_size = 8190

# What gunicorn refuses itself (a request line or headers past its limits, a header it does not take, a broken
# chunked body) is answered in the API's JSON with a code, not gunicorn's HTML page (evotodo/gunicorn_errors.py).
gunicorn_errors.install()

# Requests are parsed by gunicorn's own Python parser, even where its C parser (gunicorn_h1c, the `fast` extra)
# is installed, which gunicorn would otherwise take: measured, the C parser saved 1-3 % of a request's CPU, and
# tried against the Python one with some 250 malformed requests it waited for more bytes after a request line
# too long or invalid (where the Python parser answers 414 or 400 at once) and accepted what it refuses
# (several spaces between the parts of the request line). Not worth a less strict front door.
http_parser = "python"

# gunicorn's control socket (a runtime management interface) is not used here, and its default path is one per
# machine user: several nodes on one machine would share it.
control_socket_disable = True
