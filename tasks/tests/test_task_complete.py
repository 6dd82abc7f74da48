"""PATCH /api/tasks/{id}/complete: no body toggles, {"completed": bool} sets, others' tasks are 404."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task
from tasks.tests.factories import TaskFactory


@pytest.fixture
def alices_task(alice: User) -> Task:
    return TaskFactory(owner=alice, completed=False)


def completed(task: Task) -> bool:
    return Task.objects.get(pk=task.pk).completed


def test_no_body_toggles_and_returns_the_task(alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.patch(f"/api/tasks/{alices_task.pk}/complete")
    assert response.status_code == 200
    assert response.json()["completed"] is True
    assert response.json()["id"] == alices_task.pk
    assert completed(alices_task) is True
    alice_client.patch(f"/api/tasks/{alices_task.pk}/complete")
    assert completed(alices_task) is False


def test_empty_json_object_toggles(alices_task: Task, alice_client: APIClient) -> None:
    alice_client.patch(f"/api/tasks/{alices_task.pk}/complete", {}, format="json")
    assert completed(alices_task) is True


@pytest.mark.parametrize("value", [True, False])
def test_completed_in_the_body_sets_it(value: bool, alices_task: Task, alice_client: APIClient) -> None:
    Task.objects.filter(pk=alices_task.pk).update(completed=not value)
    for _ in range(2):  # setting is idempotent, unlike toggling
        response = alice_client.patch(f"/api/tasks/{alices_task.pk}/complete", {"completed": value}, format="json")
        assert response.json()["completed"] is value
    assert completed(alices_task) is value


def test_completing_moves_updated_at(alices_task: Task, alice_client: APIClient) -> None:
    before = Task.objects.get(pk=alices_task.pk).updated_at
    alice_client.patch(f"/api/tasks/{alices_task.pk}/complete")
    assert Task.objects.get(pk=alices_task.pk).updated_at > before


def test_invalid_completed_is_400_and_unchanged(alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.patch(f"/api/tasks/{alices_task.pk}/complete", {"completed": "perhaps"}, format="json")
    assert response.status_code == 400
    assert "completed" in response.json()["errors"]
    assert completed(alices_task) is False


@pytest.mark.parametrize("body", ["[]", "null", '"yes"', "0", '{"done": true}', '{"completed": null}', "[{}]"])
def test_a_body_that_is_not_an_object_of_completed_is_400_and_unchanged(
    body: str, alices_task: Task, alice_client: APIClient
) -> None:
    response = alice_client.patch(f"/api/tasks/{alices_task.pk}/complete", body, content_type="application/json")
    assert response.status_code == 400, response.content
    alices_task.refresh_from_db()
    assert (alices_task.completed, alices_task.version) == (False, 1)


def test_other_users_task_is_404_and_unchanged(alices_task: Task, bob_client: APIClient) -> None:
    response = bob_client.patch(f"/api/tasks/{alices_task.pk}/complete", {"completed": True}, format="json")
    assert response.status_code == 404
    assert completed(alices_task) is False


def test_complete_allows_only_patch(alices_task: Task, alice_client: APIClient) -> None:
    response = alice_client.post(f"/api/tasks/{alices_task.pk}/complete")
    assert response.status_code == 405
    assert completed(alices_task) is False


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_toggles_end_in_a_consistent_state(alice: User, client_for: object) -> None:
    from django.db import connection

    from conftest import run_concurrently
    from tasks.tests.factories import TaskFactory as Factory

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks; SQLite serialises writers on one file")
    task = Factory(owner=alice, completed=False)

    def toggle() -> bool:
        return client_for(alice).patch(f"/api/tasks/{task.pk}/complete").json()["completed"]  # type: ignore[operator]

    seen = run_concurrently(toggle, 2)
    stored = Task.objects.get(pk=task.pk)
    assert sorted(seen) == [False, True]  # each toggle saw the other's result, none was lost
    assert (stored.completed, stored.version) == (False, 3)
