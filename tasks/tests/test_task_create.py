"""POST /api/tasks: 201 with the task; the owner comes from the token; limits are enforced."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task


def test_create_returns_201_and_stores_the_task_for_me(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "Write tests", "description": "all of them"}, format="json")
    assert response.status_code == 201
    body = response.json()
    task = Task.objects.get(pk=body["id"])
    assert (task.owner, task.title, task.description, task.completed) == (alice, "Write tests", "all of them", False)
    assert body["user_id"] == alice.better_auth_id
    assert body["completed"] is False


def test_owner_id_and_timestamps_in_the_body_are_ignored(alice: User, bob: User, alice_client: APIClient) -> None:
    response = alice_client.post(
        "/api/tasks",
        {
            "title": "Mine",
            "user_id": bob.better_auth_id,
            "id": 999_999,
            "created_at": "2001-01-01T00:00:00Z",
            "updated_at": "2001-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201
    task = Task.objects.get()
    assert task.owner == alice
    assert task.pk != 999_999
    assert task.created_at.year > 2001
    assert not Task.objects.filter(owner=bob).exists()


def test_an_owner_field_in_the_body_is_an_unknown_field_and_creates_nothing(
    alice: User, bob: User, alice_client: APIClient
) -> None:
    response = alice_client.post("/api/tasks", {"title": "Mine", "owner": bob.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    assert not Task.objects.exists()


def test_completed_can_be_set_on_create(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "Done already", "completed": True}, format="json")
    assert response.json()["completed"] is True
    assert Task.objects.get().completed is True


def test_null_description_is_stored_as_empty(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "T", "description": None}, format="json")
    assert response.status_code == 201
    assert Task.objects.get().description == ""


def test_title_is_trimmed(alice: User, alice_client: APIClient) -> None:
    alice_client.post("/api/tasks", {"title": "  padded  "}, format="json")
    assert Task.objects.get().title == "padded"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": None}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": "ok", "description": "x" * 1001}, "description"),
        ({"title": "ok", "completed": "maybe"}, "completed"),
        ({"title": "nul\x00byte"}, "title"),
    ],
)
def test_invalid_task_is_400_and_nothing_is_stored(
    body: dict[str, Any], field: str, alice: User, alice_client: APIClient
) -> None:
    response = alice_client.post("/api/tasks", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert not Task.objects.exists()


def test_limits_are_inclusive(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "t" * 200, "description": "d" * 1000}, format="json")
    assert response.status_code == 201
    task = Task.objects.get()
    assert (len(task.title), len(task.description)) == (200, 1000)


def test_body_that_is_not_json_is_400(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert not Task.objects.exists()


def test_form_body_is_415(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "form"})  # multipart
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not Task.objects.exists()


def test_create_without_a_token_is_401_and_stores_nothing(db: Any, api_client: APIClient) -> None:
    response = api_client.post("/api/tasks", {"title": "anon"}, format="json")
    assert response.status_code == 401
    assert not Task.objects.exists()
