"""One JSON error shape for the API: `{"detail": ..., "code": ...}`, plus `errors` for invalid input."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from evotodo.unavailable import (
    DATABASE_RETRY_AFTER_SECONDS,
    DATABASE_UNAVAILABLE_DETAIL,
    DATABASE_UNAVAILABLE_ERRORS,
    report_database_unavailable,
)

INVALID_TOKEN_CHALLENGE = 'Bearer realm="api", error="invalid_token"'


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE_DETAIL
    default_code = "database_unavailable"


def _first_message(detail: Any, prefix: str = "") -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            label = str(key) if key != "non_field_errors" else ""  # an array's first item is 0: named too
            return _first_message(value, f"{prefix}.{label}" if prefix and label else prefix or label)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], prefix)
    return f"{prefix}: {detail}" if prefix else str(detail)


# Input errors that are about the request's shape rather than a value, or that a client acts on by name (a
# subtask's parent that would make a cycle, or nest too deep): when every error of a 400 is one of these, it is the
# response's `code`; any other invalid input is `invalid`.
SHAPE_CODES = frozenset({"unknown_field", "unknown_parameter", "repeated_parameter", "cycle", "too_deep"})


def _leaf_codes(codes: Any) -> set[str]:
    if isinstance(codes, dict):
        return set().union(*(_leaf_codes(value) for value in codes.values()))
    if isinstance(codes, list):
        return set().union(*(_leaf_codes(value) for value in codes))
    return {str(codes)}


def validation_code(exc: exceptions.ValidationError) -> str:
    """`unknown_field` (or another shape code) when that is all that is wrong, else `invalid`."""
    codes = _leaf_codes(exc.get_codes())
    return codes.pop() if len(codes) == 1 and codes <= SHAPE_CODES else "invalid"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every error body reshaped to carry a stable `code`."""
    database_error = exc if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS) else None
    if database_error is not None:
        exc = DatabaseUnavailable()
        exc.wait = DATABASE_RETRY_AFTER_SECONDS  # type: ignore[attr-defined]
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"detail": _first_message(detail), "code": validation_code(exc), "errors": detail}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        if isinstance(detail, dict) and "detail" in detail:  # simplejwt's {"detail", "code"} shape
            response.data = {"detail": str(detail["detail"]), "code": str(detail.get("code", exc.default_code))}
        else:
            code = getattr(detail, "code", None) or exc.default_code
            response.data = {"detail": str(detail), "code": str(code)}
        if isinstance(exc, exceptions.AuthenticationFailed) and "WWW-Authenticate" in response:
            response["WWW-Authenticate"] = INVALID_TOKEN_CHALLENGE
    if database_error is not None:
        report_database_unavailable(database_error, response)
    elif response.status_code == 503:
        # A dependency is down (the JWKS never fetched): whoever raised it logs that once per interval.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's 400 handler (e.g. a disallowed host or an oversized upload), in the API's JSON shape."""
    return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's 403 handler, in the API's JSON shape."""
    return JsonResponse({"detail": "Permission denied.", "code": "permission_denied"}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """Django's CSRF failure view (a form posted without its token), in the API's JSON shape."""
    return JsonResponse(
        {"detail": "CSRF verification failed: reload the form and send it again.", "code": "csrf_failed"}, status=403
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's 404 handler, in the API's JSON shape."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    """Django's 500 handler, in the API's JSON shape; never a stack trace."""
    return JsonResponse({"detail": "Internal server error.", "code": "server_error"}, status=500)
