"""Public views outside the API proper: liveness and readiness probes, the schema and its docs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from evotodo.api import StrictQueryParamsMixin
from evotodo.shared_redis import shared_redis
from evotodo.unavailable import (
    DATABASE_RETRY_AFTER_SECONDS,
    DATABASE_UNAVAILABLE_ERRORS,
    report_database_unavailable,
)

READ_METHODS = ("GET", "HEAD")


def method_not_allowed(request: HttpRequest, allowed: tuple[str, ...] = READ_METHODS) -> JsonResponse:
    """A 405 in the API's JSON shape, with the `Allow` header."""
    response = JsonResponse(
        {"detail": f'Method "{request.method}" not allowed.', "code": "method_not_allowed"}, status=405
    )
    response["Allow"] = ", ".join(allowed)
    return response


def read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET and HEAD only; anything else is a JSON 405 (Django's own is an empty HTML page)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in READ_METHODS:
            return method_not_allowed(request)
        return view(request, *args, **kwargs)

    return guarded


class ReadOnlyDocsMixin:
    """The schema and the docs page answer GET and HEAD; any other method is the API's JSON 405, since their
    own renderers (YAML, HTML templates) cannot render an error (OPTIONS on the docs was a 500)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in READ_METHODS:
            return method_not_allowed(request)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class SchemaView(ReadOnlyDocsMixin, StrictQueryParamsMixin, SpectacularAPIView):
    """GET /api/schema: the OpenAPI 3 schema (public: it holds no user data). Its errors (a 429) are JSON like
    every other error of the API, not YAML or OpenAPI documents. It reads `format` only: drf-spectacular's
    `version` and `lang` would put what a client sends into the schema and its Content-Disposition header (a
    line break there was a 500)."""

    def query_params_for(self, action: str | None) -> frozenset[str]:
        return frozenset({"format"})

    def perform_content_negotiation(self, request: Any, force: bool = False) -> tuple[Any, str]:
        """`?format=json` or `?format=yaml` picks the schema's format (drf-spectacular's documented switch; no
        other endpoint has it), else the Accept header does."""
        wanted = request.query_params.get("format")
        if wanted is not None:
            for renderer in self.get_renderers():
                if renderer.format == wanted:
                    return renderer, renderer.media_type
            if not force:  # forced: rendering this very error
                raise ValidationError({"format": [ErrorDetail("Either json or yaml.", code="invalid_choice")]})
        return super().perform_content_negotiation(request, force)

    def finalize_response(self, request: Any, response: HttpResponse, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = api_settings.DEFAULT_RENDERER_CLASSES[0]()
            response.accepted_media_type = response.accepted_renderer.media_type
        return response


class DocsView(ReadOnlyDocsMixin, SpectacularSwaggerView):
    """GET /api/docs: Swagger UI over the schema, from the sidecar's static files (no CDN)."""


@csrf_exempt  # no cookie, no state: a POST is a 405, not a CSRF failure
@read_only
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up; touches no database."""
    return JsonResponse({"status": "ok"})


@csrf_exempt
@read_only
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic when the database answers (503 when not, so a load balancer stops sending any).

    Redis is reported but never fails the check: without it the API still serves (rate limits open, caches
    local), and taking every node out of the balancer for it would turn a degraded service into an outage.
    """
    shared = shared_redis()
    checks = {"database": "ok", "redis": shared.status() if shared is not None else "off"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DATABASE_UNAVAILABLE_ERRORS as e:
        checks["database"] = "unavailable"
        response = JsonResponse({"status": "unavailable", "code": "database_unavailable", "checks": checks}, status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return report_database_unavailable(e, response)
    return JsonResponse({"status": "ok", "checks": checks})
