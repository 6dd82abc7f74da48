"""The answer for a request that the database could not serve: a 503 that says to retry, never a 500."""

from __future__ import annotations

import logging

from django.db import InterfaceError, InternalError, OperationalError
from django.http import HttpResponse, JsonResponse

from evotodo.logs import OncePerInterval

# What the database driver raises when the server cannot be reached, restarts, or gives up on a transaction
# that a retry may pass (a deadlock, a serialization failure, a connection whose transaction fell out of step
# when a pooler lost its server: PEP 249's InternalError): not a bug, so a 503 that says to retry.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, InternalError)
DATABASE_RETRY_AFTER_SECONDS = 2
DATABASE_UNAVAILABLE_DETAIL = "The database is unavailable; try again shortly."

# One warning a minute per process while the database is down, instead of a line (and Django's ERROR line)
# for every request that it turns away.
outage_log = OncePerInterval(logging.getLogger("evotodo.database"))


def report_database_unavailable(error: Exception, response: HttpResponse) -> HttpResponse:
    """Log the outage (once per interval) and mark `response` logged, so Django adds no line of its own."""
    outage_log.warning("database unavailable: %s", type(error).__name__)
    response._has_been_logged = True  # type: ignore[attr-defined]  # read by django.utils.log.log_response
    return response


def database_unavailable(error: Exception) -> HttpResponse:
    """The 503 outside DRF (middleware, the admin, the probes), in the API's error shape."""
    response = JsonResponse({"detail": DATABASE_UNAVAILABLE_DETAIL, "code": "database_unavailable"}, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return report_database_unavailable(error, response)
