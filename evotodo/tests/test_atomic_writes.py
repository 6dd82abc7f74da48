"""A request that writes is one transaction: when any part of it fails, nothing of it stays behind."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from authn.models import User
from conftest import better_auth_id
from tasks.models import Task, TaskTag

# What each write's response is built with, once its write is done: broken, the response fails after the write.
RESPONSE_ZONE = "tasks.views.output_zone"


def broken_representation() -> Any:
    raise RuntimeError("the response could not be built")


def test_a_create_that_fails_after_the_insert_leaves_no_row(
    alice: User, alice_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RESPONSE_ZONE, broken_representation)
    alice_client.raise_request_exception = False
    response = alice_client.post("/api/tasks", {"title": "Half done", "tags": ["a"]}, format="json")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert not Task.objects.exists()
    assert not TaskTag.objects.exists()


def test_an_update_that_fails_after_the_write_leaves_the_task_as_it_was(
    alice: User, alice_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = Task.objects.create(owner=alice, title="Before")
    monkeypatch.setattr(RESPONSE_ZONE, broken_representation)
    alice_client.raise_request_exception = False
    response = alice_client.patch(f"/api/tasks/{task.pk}", {"title": "After"}, format="json")
    assert response.status_code == 500
    stored = Task.objects.get(pk=task.pk)
    assert (stored.title, stored.version) == ("Before", task.version)


def test_a_client_error_raised_after_the_write_rolls_it_back(
    alice: User, alice_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> Any:
        raise ValidationError({"title": ["refused after the insert"]})

    monkeypatch.setattr(RESPONSE_ZONE, refuse)
    response = alice_client.post("/api/tasks", {"title": "Written then refused"}, format="json")
    assert response.status_code == 400
    assert not Task.objects.exists()


def test_a_completion_that_fails_creates_no_next_occurrence(
    alice: User, alice_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = alice_client.post(
        "/api/tasks",
        {"title": "Daily", "due_at": "2027-01-01T09:00:00Z", "recurrence": {"freq": "daily"}},
        format="json",
    ).json()
    monkeypatch.setattr(RESPONSE_ZONE, broken_representation)
    alice_client.raise_request_exception = False
    assert alice_client.patch(f"/api/tasks/{created['id']}/complete").status_code == 500
    assert list(Task.objects.values_list("id", "completed")) == [(created["id"], False)]


@pytest.mark.django_db(transaction=True)
def test_a_new_users_first_request_that_fails_does_not_break_the_next(token_for: Any) -> None:
    newcomer = User(better_auth_id=better_auth_id("newcomer"), email="new@example.com", name="New")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(newcomer)}")
    refused = client.post("/api/tasks", {"title": "x", "done": True}, format="json")
    assert refused.status_code == 400
    assert not User.objects.filter(better_auth_id=newcomer.better_auth_id).exists()  # rolled back with it
    created = client.post("/api/tasks", {"title": "x"}, format="json")
    assert created.status_code == 201
    assert Task.objects.get(pk=created.json()["id"]).owner.better_auth_id == newcomer.better_auth_id
