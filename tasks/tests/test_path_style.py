"""/api/{user_id}/tasks...: the "Evolution of Todo" path shape; someone else's user_id is a 403."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task
from tasks.tests.factories import TaskFactory


@pytest.fixture
def alices_task(alice: User) -> Task:
    return TaskFactory(owner=alice, title="Alice's")


def test_list_under_my_user_id_shows_only_my_tasks(
    alice: User, bob: User, alices_task: Task, alice_client: APIClient
) -> None:
    TaskFactory(owner=bob, title="Bob's")
    response = alice_client.get(f"/api/{alice.better_auth_id}/tasks")
    assert response.status_code == 200
    assert [task["title"] for task in response.json()] == ["Alice's"]


def test_create_under_my_user_id(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post(f"/api/{alice.better_auth_id}/tasks", {"title": "New"}, format="json")
    assert response.status_code == 201
    assert Task.objects.get(title="New").owner == alice


def test_every_detail_operation_under_my_user_id(alice: User, alices_task: Task, alice_client: APIClient) -> None:
    base = f"/api/{alice.better_auth_id}/tasks/{alices_task.pk}"
    assert alice_client.get(base).json()["title"] == "Alice's"
    assert alice_client.put(base, {"title": "Put"}, format="json").status_code == 200
    assert alice_client.patch(base, {"description": "patched"}, format="json").status_code == 200
    assert alice_client.patch(f"{base}/complete").json()["completed"] is True
    alices_task.refresh_from_db()
    assert (alices_task.title, alices_task.description, alices_task.completed) == ("Put", "patched", True)
    assert alice_client.delete(base).status_code == 204
    assert not Task.objects.filter(pk=alices_task.pk).exists()


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("post", "", {"title": "planted"}),
        ("get", "/{id}", None),
        ("put", "/{id}", {"title": "hijacked"}),
        ("patch", "/{id}", {"title": "hijacked"}),
        ("delete", "/{id}", None),
        ("patch", "/{id}/complete", None),
    ],
)
def test_someone_elses_user_id_is_403_and_changes_nothing(
    method: str, suffix: str, body: Any, alice: User, bob: User, alices_task: Task, bob_client: APIClient
) -> None:
    url = f"/api/{alice.better_auth_id}/tasks" + suffix.format(id=alices_task.pk)
    response = getattr(bob_client, method)(url, body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "user_mismatch"
    task = Task.objects.get(pk=alices_task.pk)
    assert (task.title, task.completed) == ("Alice's", False)
    assert Task.objects.count() == 1


def test_my_user_id_with_someone_elses_task_is_404(
    alice: User, bob: User, alices_task: Task, bob_client: APIClient
) -> None:
    response = bob_client.delete(f"/api/{bob.better_auth_id}/tasks/{alices_task.pk}")
    assert response.status_code == 404
    assert Task.objects.filter(pk=alices_task.pk).exists()


def test_path_style_without_a_token_is_401(alice: User, api_client: APIClient) -> None:
    assert api_client.get(f"/api/{alice.better_auth_id}/tasks").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/tasks",
        "/api/tasks/",
        "/api/{uid}/tasks",
        "/api/{uid}/tasks/",
        "/api/tasks/{id}",
        "/api/tasks/{id}/",
        "/api/{uid}/tasks/{id}",
        "/api/{uid}/tasks/{id}/",
        "/api/me",
        "/api/me/",
    ],
)
def test_paths_answer_with_and_without_trailing_slash_without_redirect(
    path: str, alice: User, alices_task: Task, alice_client: APIClient
) -> None:
    response = alice_client.get(path.format(uid=alice.better_auth_id, id=alices_task.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/tasks/{id}/complete", "/api/tasks/{id}/complete/"])
def test_complete_answers_with_and_without_trailing_slash(
    path: str, alices_task: Task, alice_client: APIClient
) -> None:
    assert alice_client.patch(path.format(id=alices_task.pk)).status_code == 200
    assert Task.objects.get(pk=alices_task.pk).completed is True
