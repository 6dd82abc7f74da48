"""Errors as RFC 9457 problem details when the client asks with `Accept: application/problem+json`, from every
layer that makes errors; without it, the API's own `{detail, code, errors}` exactly as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from authn.models import User
from evotodo.parsers import too_large_message
from evotodo.throttling import limiters
from tasks.models import Task
from tasks.tests.factories import TaskFactory

PROBLEMS = "application/json, application/problem+json"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    assert "Accept" in response["Vary"]
    problem = response.json()
    assert problem["type"] == f"/problems/{code}"
    assert problem["status"] == status
    assert problem["code"] == code
    assert isinstance(problem["title"], str)
    assert problem["title"]
    assert isinstance(problem["detail"], str)
    assert problem["detail"]
    if "Content-Length" in response:
        assert int(response["Content-Length"]) == len(response.content)
    return problem


def test_invalid_input_is_a_problem_with_the_errors_per_field(alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": ""}, format="json", HTTP_ACCEPT=PROBLEMS)
    problem = assert_problem(response, 400, "invalid")
    assert problem["title"] == "Invalid input"
    assert set(problem["errors"]) == {"title"}
    assert not Task.objects.exists()


def test_without_the_accept_header_an_error_keeps_the_apis_own_shape(alice_client: APIClient) -> None:
    for accept in ({}, {"HTTP_ACCEPT": "application/json"}, {"HTTP_ACCEPT": "*/*"}):
        response = alice_client.post("/api/tasks", {"title": ""}, format="json", **accept)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert set(body) == {"detail", "code", "errors"}
        assert body["code"] == "invalid"
        assert body["errors"]["title"]


def test_a_refused_weight_of_zero_is_not_asking_for_problems(db: Any) -> None:
    response = APIClient().get("/api/tasks", HTTP_ACCEPT="application/json, application/problem+json;q=0")
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"}


@pytest.mark.parametrize(
    ("accept", "problem"),
    [
        ("application/problem+json;q=0.1, application/json", False),  # JSON preferred
        ("application/json;q=0.9, application/problem+json;q=0.5", False),
        ("application/problem+json;q=0.5, */*;q=0.8", False),
        ("application/problem+json;q=0.5, application/*;q=0.4", True),
        ("application/json, application/problem+json", True),  # equal weights: problems, as the README says
        ("application/problem+json, application/json;q=0.5", True),
        ("application/problem+json;q=abc, application/json", True),  # an unreadable weight counts as 1
        ("application/problem+json;q=0.001", True),
        ("application/problem+json;q=NaN, application/json;q=0.5", True),  # unreadable: as if 1, as `abc`
        ("application/problem+json;q=0e0, application/json", True),
    ],
)
def test_problems_are_chosen_by_their_weight_against_plain_json(db: Any, accept: str, problem: bool) -> None:
    response = APIClient().get("/api/tasks", HTTP_ACCEPT=accept)
    assert response.status_code == 401
    expected = "application/problem+json" if problem else "application/json"
    assert response["Content-Type"] == expected


def test_no_token_is_a_401_problem_with_the_challenge(db: Any) -> None:
    response = APIClient().get("/api/tasks", HTTP_ACCEPT="application/problem+json")
    problem = assert_problem(response, 401, "not_authenticated")
    assert problem["title"] == "Not authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("accept", ["application/problem+json", "APPLICATION/Problem+JSON"])
def test_a_client_that_accepts_only_problems_still_gets_its_json_answers(alice_client: APIClient, accept: str) -> None:
    response = alice_client.get("/api/tasks", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == []


def test_another_users_task_is_a_404_problem(alice_client: APIClient, bob: User) -> None:
    task = TaskFactory(owner=bob)
    assert_problem(alice_client.get(f"/api/tasks/{task.pk}", HTTP_ACCEPT=PROBLEMS), 404, "not_found")
    assert_problem(Client().get("/api/no-such-thing", HTTP_ACCEPT=PROBLEMS), 404, "not_found")


def test_a_method_not_allowed_is_a_405_problem(alice_client: APIClient) -> None:
    response = alice_client.delete("/api/tags", HTTP_ACCEPT=PROBLEMS)
    assert_problem(response, 405, "method_not_allowed")
    assert_problem(Client().post("/healthz", HTTP_ACCEPT=PROBLEMS), 405, "method_not_allowed")


def test_a_stale_if_match_is_a_412_problem_and_changes_nothing(alice_client: APIClient, alice: User) -> None:
    task = TaskFactory(owner=alice, title="Before")
    response = alice_client.put(
        f"/api/tasks/{task.pk}", {"title": "After"}, format="json", HTTP_IF_MATCH='"stale"', HTTP_ACCEPT=PROBLEMS
    )
    assert_problem(response, 412, "precondition_failed")
    task.refresh_from_db()
    assert task.title == "Before"


def test_a_body_over_the_limit_is_a_413_problem(alice_client: APIClient, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 1024
    body = b'{"title": "' + b"x" * 2000 + b'"}'
    response = alice_client.generic("POST", "/api/tasks", body, "application/json", HTTP_ACCEPT=PROBLEMS)
    problem = assert_problem(response, 413, "request_too_large")
    assert problem["detail"] == too_large_message(1024)
    assert not Task.objects.exists()


@pytest.fixture
def limited(settings: Any) -> Iterator[Any]:
    settings.API_THROTTLE_USER = "1/min"
    limiters.clear()
    yield settings
    limiters.clear()


def test_a_rate_limit_is_a_429_problem_with_retry_after(limited: Any, alice_client: APIClient) -> None:
    assert alice_client.get("/api/tasks").status_code == 200
    response = alice_client.get("/api/tasks", HTTP_ACCEPT=PROBLEMS)
    problem = assert_problem(response, 429, "throttled")
    assert problem["title"] == "Too many requests"
    assert int(response["Retry-After"]) > 0


def test_a_lost_database_is_a_503_problem_with_retry_after(
    alice_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.views import TaskViewSet

    def lose_the_database(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(TaskViewSet, "list", lose_the_database)
    response = alice_client.get("/api/tasks", HTTP_ACCEPT=PROBLEMS)
    assert_problem(response, 503, "database_unavailable")
    assert response["Retry-After"] == "2"


def test_an_unexpected_error_is_a_500_problem_without_a_trace(
    alice: User, token_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.views import TaskViewSet

    def explode(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(TaskViewSet, "list", explode)
    client = Client(raise_request_exception=False)
    response = client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}", HTTP_ACCEPT=PROBLEMS)
    assert_problem(response, 500, "server_error")
    assert b"secret internals" not in response.content


def test_a_success_is_never_rewritten(alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "Fine"}, format="json", HTTP_ACCEPT=PROBLEMS)
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response.json()["title"] == "Fine"


def test_a_failed_batch_is_a_problem_that_keeps_the_failed_operations_index(alice_client: APIClient) -> None:
    operations = [
        {"op": "create", "type": "task", "data": {"title": "Fine"}},
        {"op": "create", "type": "task", "data": {"title": ""}},
    ]
    response = alice_client.post("/api/batch", {"operations": operations}, format="json", HTTP_ACCEPT=PROBLEMS)
    problem = assert_problem(response, 400, "invalid")
    assert problem["index"] == 1
    assert not Task.objects.exists()


ACCEPT_HEADERS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/problem+json",
    "APPLICATION/PROBLEM+JSON;q=0.5, text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/*",
]


@pytest.mark.parametrize("accept", ACCEPT_HEADERS)
def test_the_renderer_chosen_for_an_accept_header_is_drfs_choice_every_time(accept: str | None) -> None:
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from evotodo.problems import ProblemAwareContentNegotiation
    from evotodo.renderers import ORJSONRenderer

    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    negotiation = ProblemAwareContentNegotiation()
    for _ in range(3):  # the first works it out, the next are remembered
        request = Request(APIRequestFactory().get("/api/tasks", **headers))
        renderers = [ORJSONRenderer()]
        renderer, media_type = negotiation.select_renderer(request, renderers)
        # DRF's own choice, made afresh with the same accept list.
        drf_renderer, drf_media_type = DefaultContentNegotiation.select_renderer(negotiation, request, renderers)
        assert (renderer, media_type) == (drf_renderer, drf_media_type)
        assert renderer is renderers[0]


@pytest.mark.parametrize("accept", ["", " ", ",", " , ,", "application/json,", ", application/json"])
def test_an_accept_header_with_empty_elements_is_read_without_them(alice_client: Any, accept: str) -> None:
    response = alice_client.get("/api/tasks", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_an_accept_header_of_only_unacceptable_types_and_empty_elements_is_a_406(alice_client: Any) -> None:
    response = alice_client.get("/api/tasks", HTTP_ACCEPT="text/csv, ,")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;q=0",
        "application/json; Q = 0.000",
        "application/problem+json;q=0, text/csv",
        # JSON refused by name, though a wildcard admits other types: the most specific range counts.
        "application/json;q=0, */*",
        "application/json;q=0, application/*",
        "application/*;q=0, */*",
        "application/json;q=0, application/problem+json",  # problem details are for errors, not for a list
        "application/json;q=0.",  # RFC 9110's grammar: "0" [ "." 0*3DIGIT ]
    ],
)
def test_a_media_type_refused_with_a_weight_of_zero_is_not_served(alice_client: Any, accept: str) -> None:
    response = alice_client.get("/api/tasks", HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;q=0.01",
        "text/csv;q=0, application/json",
        "application/json;q=0.0001",
        "*/*;q=0, application/json",  # the most specific range counts
        "application/*;q=0, application/json;q=0.5",
        # a weight RFC 9110 does not write is unreadable, as if none were given: not a refusal
        "application/json;q=0e0",
        "application/json;q=-0",
        "application/json;q=0_0",
        "application/json;q=NaN",
    ],
)
def test_a_weight_above_zero_is_served(alice_client: Any, accept: str) -> None:
    assert alice_client.get("/api/tasks", HTTP_ACCEPT=accept).status_code == 200


def test_an_unacceptable_accept_header_is_a_406_every_time(alice_client: Any) -> None:
    for _ in range(3):
        response = alice_client.get("/api/tasks", HTTP_ACCEPT="text/csv")
        assert response.status_code == 406
    assert alice_client.get("/api/tasks", HTTP_ACCEPT="application/json").status_code == 200
