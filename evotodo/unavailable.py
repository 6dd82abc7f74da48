"""The answer for a request that the database could not serve: a 503 that says to retry, never a 500."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

# What the database driver raises when the server cannot be reached, restarts, or gives up on a transaction
# that a retry may pass (a deadlock, a serialization failure): not a bug, so a 503 that says to retry.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 2
DATABASE_UNAVAILABLE_DETAIL = "The database is unavailable; try again shortly."


def database_unavailable() -> JsonResponse:
    """The 503 outside DRF (middleware, the admin, the probes), in the API's error shape."""
    response = JsonResponse({"detail": DATABASE_UNAVAILABLE_DETAIL, "code": "database_unavailable"}, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response
