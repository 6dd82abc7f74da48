"""The project's URL patterns never overlap: each path matches at most one of them, so the order Django tries them
in (the API's first, for speed) decides nothing. The admin's own patterns, which Django orders, count as one."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

ROUTES = [
    "api/tasks",
    "api/tasks/42",
    "api/tasks/42/complete",
    "api/tasks/42/move",
    "api/tasks/42/subtasks",
    "api/lists",
    "api/lists/7",
    "api/lists/7/move",
    "api/tags",
    "api/sync",
    "api/export",
    "api/import",
    "api/batch",
    "api/me",
    "api/webhooks",
    "api/webhooks/3",
    "api/webhooks/3/deliveries",
    "api/webhooks/3/deliveries/9/retry",
    "api/webhooks/3/ping",
    "api/webhooks/3/rotate-secret",
    "api/user-1/sync",
    "api/user-1/tasks",
    "api/user-1/tasks/42",
    "api/user-1/tasks/42/complete",
    "api/user-1/tasks/42/move",
    "api/user-1/tasks/42/subtasks",
    "api/user-1/lists",
    "api/user-1/lists/7",
    "api/user-1/lists/7/move",
    "api/user-1/webhooks",
    "api/user-1/webhooks/3",
    "api/schema",
    "api/docs",
    "healthz",
    "readyz",
    "admin/",
    "admin/tasks/task/42/change/",
]
# Paths a pattern of one kind might take for another's: a user id that is a route's name, a route under another.
CONFUSABLE = [
    "api/tasks/sync",
    "api/lists/sync",
    "api/lists/tasks",
    "api/sync/tasks",
    "api/me/tasks",
    "api/tasks/tasks",
    "api/schema/tasks",
    "api/docs/sync",
    "api/tags/lists/7",
    "api/webhooks/tasks",
    "api/healthz",
    "admin/api/tasks",
]


def matching_patterns(path: str, patterns: list[URLPattern | URLResolver] | None = None) -> list[str]:
    """Every leaf pattern that matches `path`, tried through each include it sits in (not stopping at the
    first, as Django does)."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        match = pattern.pattern.match(path)
        if match is None:
            continue
        if isinstance(pattern, URLResolver):
            leaves = [f"{pattern.pattern}{leaf}" for leaf in matching_patterns(match[0], pattern.url_patterns)]
            found += leaves[:1] if pattern.app_name == "admin" else leaves
        else:
            found.append(str(pattern.pattern))
    return found


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("slash", ["", "/"])
def test_each_route_matches_exactly_one_pattern(route: str, slash: str) -> None:
    path = route if route.endswith("/") else route + slash
    assert len(matching_patterns(path)) == 1, matching_patterns(path)


@pytest.mark.parametrize("path", CONFUSABLE)
def test_a_path_between_two_kinds_of_route_matches_at_most_one(path: str) -> None:
    assert len(matching_patterns(path)) <= 1, matching_patterns(path)


def test_the_api_is_tried_first() -> None:
    first = get_resolver().url_patterns[0]
    assert isinstance(first, URLResolver)
    assert str(first.pattern) == "api/"
    assert str(first.url_patterns[0].pattern) == "^tasks/?$"
