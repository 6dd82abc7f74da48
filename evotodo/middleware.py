"""Request ids for logs and responses, and the security headers of API responses."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# A request id from a proxy is kept only when it is short and plain, so logs cannot be forged through it.
TRUSTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIDMiddleware:
    """Give each request an id (the proxy's X-Request-ID when sane), log it, and return it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if TRUSTED_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        # Not reset afterwards: Django logs the response after the middleware returns, and each request
        # (each thread's context) sets its own id first.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class APISecurityHeadersMiddleware:
    """JSON API responses: never framed, never run as a document, revalidated before reuse from a cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and not request.path.startswith("/api/docs"):
            response.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
            response.setdefault("Cache-Control", "private, no-cache")
        return response


class RequestIDLogFilter(logging.Filter):
    """Adds `request_id` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True
