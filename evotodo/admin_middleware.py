"""Sessions, the logged-in user and flash messages: what the admin needs, skipped on /api/, which never reads them."""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

# The API authenticates every request by its bearer token (DRF sets `request.user` itself) and has no session,
# no cookie login and no flash messages; the schema and docs under it are public.
API_PREFIX = "/api/"


class SkippedOnAPIMixin:
    """Runs the middleware for every path except the API's. Still a subclass of Django's, so the admin's
    system checks (admin.E408-E410) find it in MIDDLEWARE."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            return self.get_response(request)  # type: ignore[attr-defined]
        return super().__call__(request)  # type: ignore[misc]


class AdminSessionMiddleware(SkippedOnAPIMixin, SessionMiddleware):
    """Django's SessionMiddleware, outside /api/."""


class AdminAuthenticationMiddleware(SkippedOnAPIMixin, AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, outside /api/."""


class AdminMessageMiddleware(SkippedOnAPIMixin, MessageMiddleware):
    """Django's MessageMiddleware, outside /api/."""
