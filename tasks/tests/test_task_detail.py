"""GET, PUT, PATCH and DELETE /api/tasks/{id}: mine works; anybody else's is a 404 and stays as it was."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task
from tasks.tests.factories import TaskFactory


@pytest.fixture
def alices_task(alice: User) -> Task:
    return TaskFactory(owner=alice, title="Alice's", description="hers")


def snapshot(task: Task) -> tuple[Any, ...]:
    task = Task.objects.get(pk=task.pk)
    return (task.owner_id, task.title, task.description, task.completed, task.updated_at)


def test_retrieve_my_task(alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.get(f"/api/tasks/{alices_task.pk}")
    assert response.status_code == 200
    assert response.json()["title"] == "Alice's"


def test_put_replaces_my_task(alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.put(f"/api/tasks/{alices_task.pk}", {"title": "Renamed", "completed": True}, format="json")
    assert response.status_code == 200
    alices_task.refresh_from_db()
    assert (alices_task.title, alices_task.description, alices_task.completed) == ("Renamed", "", True)


def test_put_leaves_completed_and_the_new_fields_it_does_not_name_as_they_were(
    alice: User, alice_client: APIClient
) -> None:
    task = TaskFactory(owner=alice, title="Old", description="d", completed=True, priority=3, tags=["work"])
    response = alice_client.put(f"/api/tasks/{task.pk}", {"title": "New"}, format="json")
    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.title, task.description, task.completed, task.priority, task.tags) == ("New", "", True, 3, ["work"])


def test_put_without_title_is_400_and_unchanged(alices_task: Task, alice_client: APIClient) -> None:
    before = snapshot(alices_task)
    response = alice_client.put(f"/api/tasks/{alices_task.pk}", {"description": "x"}, format="json")
    assert response.status_code == 400
    assert snapshot(alices_task) == before


def test_patch_changes_only_the_given_fields(alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.patch(f"/api/tasks/{alices_task.pk}", {"completed": True}, format="json")
    assert response.status_code == 200
    alices_task.refresh_from_db()
    assert (alices_task.title, alices_task.description, alices_task.completed) == ("Alice's", "hers", True)


def test_patch_cannot_move_my_task_to_another_user(
    alices_task: Task, alice: User, bob: User, alice_client: APIClient
) -> None:
    response = alice_client.patch(f"/api/tasks/{alices_task.pk}", {"user_id": bob.better_auth_id}, format="json")
    assert response.status_code == 200
    assert Task.objects.get(pk=alices_task.pk).owner == alice


def test_patch_with_an_owner_field_is_an_unknown_field_and_changes_nothing(
    alices_task: Task, alice: User, bob: User, alice_client: APIClient
) -> None:
    response = alice_client.patch(f"/api/tasks/{alices_task.pk}", {"title": "Moved", "owner": bob.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"owner": ["Unknown field."]}
    task = Task.objects.get(pk=alices_task.pk)
    assert (task.owner, task.title, task.version) == (alice, alices_task.title, alices_task.version)


def test_delete_my_task_is_204_and_removes_it(alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.delete(f"/api/tasks/{alices_task.pk}")
    assert response.status_code == 204
    assert not Task.objects.filter(pk=alices_task.pk).exists()


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("put", {"title": "hijacked"}), ("patch", {"title": "hijacked"}), ("delete", None)],
)
def test_other_users_task_is_404_and_unchanged(
    method: str, body: Any, alices_task: Task, bob_client: APIClient
) -> None:
    before = snapshot(alices_task)
    response = getattr(bob_client, method)(f"/api/tasks/{alices_task.pk}", body, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": response.json()["detail"], "code": "not_found"}
    assert snapshot(alices_task) == before


@pytest.mark.parametrize("task_id", ["999999", "abc", "-1", "1.5", "99999999999999999999999", "0"])
def test_missing_or_malformed_id_is_404(task_id: str, alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.get(f"/api/tasks/{task_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_list_parameters_on_a_single_task_are_unknown_parameters(alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.get(f"/api/tasks/{alices_task.pk}", {"status": "completed", "sort": "bogus"})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_parameter"
    assert set(response.json()["errors"]) == {"sort", "status"}


def test_detail_without_a_token_is_401(alices_task: Task, api_client: APIClient) -> None:
    assert api_client.delete(f"/api/tasks/{alices_task.pk}").status_code == 401
    assert Task.objects.filter(pk=alices_task.pk).exists()


def test_unsupported_method_is_a_json_405(alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.post(f"/api/tasks/{alices_task.pk}", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
