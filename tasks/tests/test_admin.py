"""The task admin: search by title and owner email, filter by completed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from authn.models import User
from tasks.tests.factories import TaskFactory


@pytest.fixture
def staff_client(db: Any) -> Client:
    User.objects.create_superuser("root", "root@example.com", "correct horse battery staple")
    client = Client()
    client.login(username="root", password="correct horse battery staple")
    return client


def listed(response: Any) -> list[str]:
    assert response.status_code == 200
    return sorted(task.title for task in response.context["cl"].result_list)


def test_search_by_title_and_by_owner_email(staff_client: Client, alice: User, bob: User) -> None:
    TaskFactory(owner=alice, title="Buy milk")
    TaskFactory(owner=bob, title="Walk dog")
    assert listed(staff_client.get("/admin/tasks/task/", {"q": "milk"})) == ["Buy milk"]
    assert listed(staff_client.get("/admin/tasks/task/", {"q": "bob@example.com"})) == ["Walk dog"]


def test_filter_by_completed(staff_client: Client, alice: User) -> None:
    TaskFactory(owner=alice, title="done", completed=True)
    TaskFactory(owner=alice, title="todo", completed=False)
    assert listed(staff_client.get("/admin/tasks/task/", {"completed__exact": "1"})) == ["done"]


def test_task_change_page_loads(staff_client: Client, alice: User) -> None:
    task = TaskFactory(owner=alice)
    assert staff_client.get(f"/admin/tasks/task/{task.pk}/change/").status_code == 200
