"""Liveness and readiness probes: public, plain Django, no authentication."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up; touches no database."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database answers; 503 when it does not, so a load balancer stops sending traffic."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as e:
        logger.warning("readiness check failed: %s", type(e).__name__)
        return JsonResponse({"status": "unavailable", "code": "database_unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
