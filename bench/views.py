"""Comparison endpoints, mounted only by bench.settings: never in the application's own URLs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from authn.models import User
from tasks.views import TaskViewSet

_users: dict[str, User] = {}


def plain(request: HttpRequest) -> JsonResponse:
    """The framework floor: a JSON response through Django's middleware, no DRF, no database."""
    return JsonResponse({"status": "ok"})


class HeaderUserAuthentication(BaseAuthentication):
    """No token at all: the user named by X-Bench-User, looked up once per worker, then from memory."""

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        sub = request.headers.get("X-Bench-User")
        if not sub:
            return None
        if sub not in _users:
            _users[sub] = User.objects.get(better_auth_id=sub)
        return _users[sub], None


class StubbedAuthTaskViewSet(TaskViewSet):
    """The same list as /api/tasks, with authentication stubbed out: the difference is the cost of auth."""

    authentication_classes = [HeaderUserAuthentication]

    def get_throttles(self) -> list[Any]:
        return []
