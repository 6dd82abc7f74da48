"""Request ids for logs and responses, and the security headers of API responses."""

from __future__ import annotations

import contextvars
import io
import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from gunicorn.http.errors import ParseException

from authn.user_cache import forget_user
from evotodo.parsers import RequestTooLarge, too_large_message
from evotodo.problems import as_problem, asks_for_problems
from evotodo.transactions import CommitRefused, RequestTransaction
from evotodo.unavailable import DATABASE_UNAVAILABLE_ERRORS, database_unavailable

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# A request id from a proxy is kept only when it is short and plain, so logs cannot be forged through it.
TRUSTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIDMiddleware:
    """Give each request an id (the proxy's X-Request-ID when sane), log it, and return it. Outermost, it also
    answers a HEAD without the body its GET has (the `Content-Length` kept): gunicorn drops such a body itself,
    but logs a warning for each response it drops one from."""

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
        if request.method == "HEAD" and not response.streaming and response.content:
            response.setdefault("Content-Length", str(len(response.content)))
            response.content = b""
        return response


class ProblemDetailsMiddleware:
    """An error answers as RFC 9457 problem details (`application/problem+json`) when the request's `Accept`
    asks for them, whichever layer made it (DRF, Django's handlers, the middleware below this one); otherwise
    exactly as it was made. An answer that is not an error is never looked at, so this costs the API's
    successful requests one integer comparison."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400:
            return response
        patch_vary_headers(response, ["Accept"])  # the body depends on it: a cache must not mix the two
        return as_problem(response) if asks_for_problems(request.META.get("HTTP_ACCEPT", "")) else response


class BodySizeLimitMiddleware:
    """A body past `settings.API_MAX_BODY_BYTES` is a JSON 413 that names the limit, before anything reads it.

    A declared `Content-Length` is judged as it stands. A chunked body (no length) is read here, at most one
    byte past the limit, from a server that ends the input for us (gunicorn sets `wsgi.input_terminated`),
    and handed on as if it had been declared; a server that does not gets a 411 instead of a hang.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.API_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH", "")
        if declared.isdigit() and int(declared) > limit:
            return too_large(limit)
        if not declared and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            if not request.META.get("wsgi.input_terminated"):
                return JsonResponse(
                    {"detail": "Send the body with a Content-Length.", "code": "length_required"}, status=411
                )
            try:
                body = request.META["wsgi.input"].read(limit + 1)
            except (OSError, ParseException):  # a bad chunk size or terminator, or the client went away
                return JsonResponse(
                    {"detail": "The chunked request body is malformed or incomplete.", "code": "body_malformed"},
                    status=400,
                )
            if len(body) > limit:
                return too_large(limit)
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[attr-defined]
        return self.get_response(request)


def too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        {"detail": too_large_message(limit), "code": RequestTooLarge.default_code},
        status=413,
    )


class AtomicWritesMiddleware:
    """A request that may write runs in one database transaction, its response rendered inside it, and is
    rolled back unless it succeeds: a 4xx changed nothing, and a 5xx never leaves half a write behind for
    the client to retry into a second row. Safe methods run without one (they write nothing), so reads pay
    no BEGIN/COMMIT. Like Django's ATOMIC_REQUESTS, but covering rendering and skipping reads.

    A database that cannot be reached (or restarts) is a 503 `database_unavailable` with Retry-After, never
    a 500, whether it fails in the view or at BEGIN/COMMIT. A deferred constraint that fails at COMMIT (a
    row that refers to one deleted meanwhile, such as a user removed while this process still knew them) is
    a 409 `conflict` that a retry resolves, and this process forgets the caller's cached user.

    The one exception: a write that is one statement may commit it alone within this transaction
    (evotodo.transactions), before its response is rendered; a 5xx after it, or a connection lost while it runs,
    may then answer a write that stands (the README says so).
    """

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in self.SAFE_METHODS:
            return self.get_response(request)
        try:
            with RequestTransaction(request):
                response = self.get_response(request)
                if response.status_code >= 400:
                    transaction.set_rollback(True)
        except DATABASE_UNAVAILABLE_ERRORS as e:
            return database_unavailable(e)
        except IntegrityError as e:
            return self.refused_at_commit(request, e)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Outside DRF (whose handler answers the same), a view that lost the database: a 503, not a 500. A write
        committed alone (evotodo.transactions) and refused at its commit: the 409 of a refused COMMIT."""
        if isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            return database_unavailable(exception)
        if isinstance(exception, CommitRefused):
            return self.refused_at_commit(request, exception)
        return None

    @staticmethod
    def refused_at_commit(request: HttpRequest, error: IntegrityError) -> HttpResponse:
        logger.warning("write refused at commit: %s", type(error.__cause__ or error).__name__)
        user = getattr(request, "user", None)
        forget_user(getattr(user, "better_auth_id", None))
        return JsonResponse(
            {"detail": "The change conflicted with another one; retry it.", "code": "conflict"}, status=409
        )


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
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            # Django's request log would show the query string, which holds what users searched for, sync
            # tokens and cursors: the method and path are enough.
            record.request = f"{request.method} {request.path}"
        return True
