"""Strict input: an unknown body field or query parameter is a 400 naming it, so a typo never changes state."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task
from tasks.tests.factories import TaskFactory


@pytest.fixture
def task(alice: User) -> Task:
    return TaskFactory(owner=alice, title="Original")


def snapshot(task: Task) -> tuple[Any, ...]:
    stored = Task.objects.get(pk=task.pk)
    return (stored.title, stored.completed, stored.version, stored.updated_at)


def assert_unknown(response: Any, *names: str, code: str = "unknown_field") -> None:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == code
    assert set(body["errors"]) == set(names)


def test_an_unknown_field_on_create_is_a_400_naming_it_and_creates_nothing(
    alice: User, alice_client: APIClient
) -> None:
    response = alice_client.post("/api/tasks", {"title": "x", "done": True}, format="json")
    assert_unknown(response, "done")
    assert response.json()["errors"]["done"] == ["Unknown field."]
    assert "done" in response.json()["detail"]
    assert not Task.objects.exists()


def test_an_unknown_field_is_refused_first_on_its_own_before_the_values_are_checked(
    alice: User, alice_client: APIClient
) -> None:
    response = alice_client.post("/api/tasks", {"title": "", "priority": "urgent", "foo": 1}, format="json")
    assert_unknown(response, "foo")  # the blank title and the bad priority are for the next try
    fixed = alice_client.post("/api/tasks", {"title": "", "priority": "urgent"}, format="json")
    assert fixed.json()["code"] == "invalid"
    assert set(fixed.json()["errors"]) == {"title", "priority"}
    assert not Task.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_unknown_field_on_update_is_a_400_and_changes_nothing(
    method: str, task: Task, alice_client: APIClient
) -> None:
    before = snapshot(task)
    response = getattr(alice_client, method)(
        f"/api/tasks/{task.pk}", {"title": "Renamed", "complete": True}, format="json"
    )
    assert_unknown(response, "complete")
    assert snapshot(task) == before


def test_a_misspelled_complete_body_is_a_400_and_does_not_toggle(task: Task, alice_client: APIClient) -> None:
    Task.objects.filter(pk=task.pk).update(completed=True)
    before = snapshot(task)
    response = alice_client.patch(f"/api/tasks/{task.pk}/complete", {"complete": True}, format="json")
    assert_unknown(response, "complete")
    assert snapshot(task) == before


def test_complete_with_an_empty_object_still_toggles(task: Task, alice_client: APIClient) -> None:
    response = alice_client.patch(f"/api/tasks/{task.pk}/complete", {}, format="json")
    assert response.status_code == 200
    assert Task.objects.get(pk=task.pk).completed is True


def test_an_unknown_field_inside_recurrence_is_named_with_its_path(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post(
        "/api/tasks",
        {"title": "x", "due_at": "2027-01-01T09:00:00Z", "recurrence": {"freq": "weekly", "byday": ["MO"]}},
        format="json",
    )
    assert_unknown(response, "recurrence")
    assert response.json()["errors"]["recurrence"] == {"byday": ["Unknown field."]}
    assert not Task.objects.exists()


def test_an_unknown_field_on_the_path_style_route_is_a_400_too(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post(f"/api/{alice.better_auth_id}/tasks", {"title": "x", "owner": 1}, format="json")
    assert_unknown(response, "owner")
    assert not Task.objects.exists()


def test_fields_that_the_server_sets_may_be_sent_back_and_are_ignored(task: Task, alice_client: APIClient) -> None:
    read = alice_client.get(f"/api/tasks/{task.pk}").json()
    response = alice_client.put(f"/api/tasks/{task.pk}", {**read, "title": "Round trip"}, format="json")
    assert response.status_code == 200
    assert Task.objects.get(pk=task.pk).title == "Round trip"


def test_unknown_and_invalid_together_are_an_invalid_request(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "", "recurrence": {"freq": "hourly"}}, format="json")
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("parameter", ["completed", "page", "Status", "sort_by", "format"])
def test_an_unknown_query_parameter_on_the_list_is_a_400_naming_it(
    parameter: str, alice: User, alice_client: APIClient
) -> None:
    TaskFactory(owner=alice)
    assert_unknown(alice_client.get("/api/tasks", {parameter: "true"}), parameter, code="unknown_parameter")


def test_the_path_style_list_refuses_unknown_parameters_too(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get(f"/api/{alice.better_auth_id}/tasks", {"page": "2"})
    assert_unknown(response, "page", code="unknown_parameter")


def test_a_cache_busting_underscore_is_allowed(alice: User, alice_client: APIClient) -> None:
    TaskFactory(owner=alice)
    response = alice_client.get("/api/tasks", {"_": "1733068800000"})
    assert response.status_code == 200
    assert len(response.json()) == 1


def test_a_single_valued_parameter_given_twice_is_a_400(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/tasks?status=pending&status=completed")
    assert_unknown(response, "status", code="repeated_parameter")


def test_tag_may_repeat(alice: User, alice_client: APIClient) -> None:
    assert alice_client.get("/api/tasks?tag=a&tag=b").status_code == 200


def test_query_parameters_on_a_write_are_unknown_parameters(task: Task, alice_client: APIClient) -> None:
    before = snapshot(task)
    response = alice_client.patch(f"/api/tasks/{task.pk}?completed=true", {"title": "New"}, format="json")
    assert_unknown(response, "completed", code="unknown_parameter")
    assert snapshot(task) == before


def test_the_tags_endpoint_takes_no_parameters(alice: User, alice_client: APIClient) -> None:
    assert_unknown(alice_client.get("/api/tags", {"sort": "name"}), "sort", code="unknown_parameter")


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b",
        "\u202e",
        " \u200b\u200d ",
        "\u0301",
        "\ufeff",
        "\u3164",
        "\u115f\u1160",
        "\uffa0",
        "\u2800",
        "\u200b\u3164",
    ],
)
def test_a_title_or_tag_of_only_invisible_characters_is_a_400_and_creates_nothing(
    alice: User, alice_client: APIClient, invisible: str
) -> None:
    for body, field in (({"title": invisible}, "title"), ({"title": "t", "tags": ["ok", invisible]}, "tags")):
        response = alice_client.post("/api/tasks", body, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"]
    assert not Task.objects.exists()


def test_a_title_around_an_invisible_character_is_kept_with_it(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "a\u200bb", "tags": ["x\u200dy"]}, format="json")
    assert response.status_code == 201
    stored = Task.objects.get()
    assert (stored.title, stored.tags) == ("a\u200bb", ["x\u200dy"])


@pytest.mark.parametrize(
    "description", ["    indented code\n\nlast line\n", "\n\nleading lines", "trailing spaces   ", " ", "\t"]
)
def test_a_description_is_stored_as_written_its_spaces_and_newlines_included(
    task: Task, alice: User, alice_client: APIClient, description: str
) -> None:
    created = alice_client.post("/api/tasks", {"title": "t", "description": description}, format="json")
    assert created.json()["description"] == description
    assert Task.objects.get(pk=created.json()["id"]).description == description
    patched = alice_client.patch(f"/api/tasks/{task.pk}", {"description": description}, format="json")
    assert patched.json()["description"] == description
    task.refresh_from_db()
    assert task.description == description
