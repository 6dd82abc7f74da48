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


def test_bulk_actions_mark_completed_and_not_completed(staff_client: Client, alice: User) -> None:
    from tasks.models import Task

    tasks = TaskFactory.create_batch(3, owner=alice, completed=False)
    response = staff_client.post(
        "/admin/tasks/task/",
        {"action": "mark_completed", "_selected_action": [tasks[0].pk, tasks[1].pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert sorted(Task.objects.filter(completed=True).values_list("pk", flat=True)) == [tasks[0].pk, tasks[1].pk]
    staff_client.post("/admin/tasks/task/", {"action": "mark_not_completed", "_selected_action": [tasks[0].pk]})
    assert list(Task.objects.filter(completed=True).values_list("pk", flat=True)) == [tasks[1].pk]


def test_owner_is_chosen_with_autocomplete_and_better_auth_id_is_read_only(staff_client: Client, alice: User) -> None:
    task = TaskFactory(owner=alice)
    page = staff_client.get(f"/admin/tasks/task/{task.pk}/change/").content.decode()
    assert "admin-autocomplete" in page
    assert alice.better_auth_id in page
    assert 'name="owner_better_auth_id"' not in page
    found = staff_client.get(
        "/admin/autocomplete/",
        {"term": "alice", "app_label": "tasks", "model_name": "task", "field_name": "owner"},
    ).json()
    assert [result["id"] for result in found["results"]] == [str(alice.pk)]


def test_filter_by_owner_from_the_user_page_link(staff_client: Client, alice: User, bob: User) -> None:
    TaskFactory(owner=alice, title="hers")
    TaskFactory(owner=bob, title="his")
    assert listed(staff_client.get("/admin/tasks/task/", {"owner__id__exact": alice.pk})) == ["hers"]


def test_filter_by_created_date(staff_client: Client, alice: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    TaskFactory(owner=alice, title="old", created_at=timezone.now() - timedelta(days=40))
    TaskFactory(owner=alice, title="new")
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()
    assert listed(staff_client.get("/admin/tasks/task/", {"created_at__gte": week_ago})) == ["new"]


def test_planning_fields_are_shown_and_filterable(staff_client: Client, alice: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from tasks.models import Priority
    from tasks.services import task_create

    task_create(owner=alice, data={"title": "urgent", "priority": Priority.HIGH, "tags": ["Work"]})
    task_create(owner=alice, data={"title": "dated", "due_at": timezone.now() + timedelta(days=1)})
    assert listed(staff_client.get("/admin/tasks/task/", {"priority__exact": Priority.HIGH})) == ["urgent"]
    assert listed(staff_client.get("/admin/tasks/task/", {"due_at__isempty": "0"})) == ["dated"]
    assert listed(staff_client.get("/admin/tasks/task/", {"q": "work"})) == ["urgent"]
    page = staff_client.get("/admin/tasks/task/").content.decode()
    assert "Work" in page
    assert "High" in page or "high" in page


def test_an_admin_edit_changes_the_etag(staff_client: Client, alice: User) -> None:
    from tasks.models import Task

    task = TaskFactory(owner=alice, title="before")
    response = staff_client.post(
        f"/admin/tasks/task/{task.pk}/change/",
        {"owner": alice.pk, "title": "after", "description": "", "priority": 0},
    )
    assert response.status_code == 302
    stored = Task.objects.get(pk=task.pk)
    assert (stored.title, stored.version) == ("after", 2)


def test_a_task_deleted_in_the_admin_leaves_a_tombstone_in_its_owners_feed(
    staff_client: Client, alice: User, alice_client: Any
) -> None:
    from tasks.models import Task, TaskTombstone

    doomed, also = TaskFactory(owner=alice, title="doomed"), TaskFactory(owner=alice, title="also")
    token = alice_client.get("/api/sync").json()["next_token"]
    assert staff_client.post(f"/admin/tasks/task/{doomed.pk}/delete/", {"post": "yes"}).status_code == 302
    bulk = {"action": "delete_selected", "_selected_action": [also.pk], "post": "yes"}
    assert staff_client.post("/admin/tasks/task/", bulk).status_code == 302
    assert not Task.objects.exists()
    assert set(TaskTombstone.objects.values_list("task_id", flat=True)) == {doomed.pk, also.pk}
    changes = alice_client.get("/api/sync", {"token": token}).json()["changes"]
    assert [(change["type"], change["id"]) for change in changes] == [
        ("task_deleted", doomed.pk),
        ("task_deleted", also.pk),
    ]


def test_completing_a_recurring_task_in_the_admin_follows_the_apis_rules(staff_client: Client, alice: User) -> None:
    from datetime import UTC, datetime

    from tasks.models import Task

    task = TaskFactory(owner=alice, title="daily", due_at=datetime(2027, 1, 1, 9, tzinfo=UTC))
    Task.objects.filter(pk=task.pk).update(
        recurrence={"freq": "daily", "interval": 1, "until": None, "anchor": "2027-01-01T09:00:00+00:00"}
    )
    form = {
        "owner": alice.pk,
        "title": "daily",
        "description": "",
        "priority": 0,
        "completed": "on",
        "due_at_0": "2027-01-01",
        "due_at_1": "09:00:00",
    }
    response = staff_client.post(f"/admin/tasks/task/{task.pk}/change/", form)
    assert response.status_code == 302, response.content[:500]
    stored = Task.objects.get(pk=task.pk)
    assert stored.completed is True
    assert stored.completed_at is not None
    assert stored.next_occurrence is not None
    assert stored.next_occurrence.due_at == datetime(2027, 1, 2, 9, tzinfo=UTC)


def test_lists_show_their_owner_and_counts_link_to_their_tasks_and_are_searchable(
    staff_client: Client, alice: User, bob: User
) -> None:
    from tasks.models import TaskList

    work = TaskList.objects.create(owner=alice, name="Work", position="a0")
    TaskList.objects.create(owner=bob, name="Garden", position="a0")
    TaskFactory(owner=alice, title="in work", task_list=work)
    TaskFactory(owner=alice, title="done in work", task_list=work, completed=True)
    TaskFactory(owner=alice, title="in inbox")
    page = staff_client.get("/admin/tasks/tasklist/")
    assert page.status_code == 200
    rows = {row.name: (row.task_count, row.open_count) for row in page.context["cl"].result_list}
    assert rows == {"Work": (2, 1), "Garden": (0, 0)}
    assert f"?task_list__id__exact={work.pk}" in page.content.decode()
    assert listed(staff_client.get("/admin/tasks/task/", {"task_list__id__exact": work.pk})) == [
        "done in work",
        "in work",
    ]
    assert listed(staff_client.get("/admin/tasks/task/", {"task_list__isnull": "True"})) == ["in inbox"]
    searched = staff_client.get("/admin/tasks/tasklist/", {"q": "bob@example.com"})
    assert [row.name for row in searched.context["cl"].result_list] == ["Garden"]
    assert staff_client.get(f"/admin/tasks/tasklist/{work.pk}/change/").status_code == 200


def test_deleting_a_list_in_the_admin_moves_its_tasks_to_the_inbox(staff_client: Client, alice: User) -> None:
    from tasks.models import ListTombstone, Task, TaskList

    work = TaskList.objects.create(owner=alice, name="Work", position="a0")
    task = TaskFactory(owner=alice, task_list=work)
    response = staff_client.post(f"/admin/tasks/tasklist/{work.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TaskList.objects.exists()
    assert Task.objects.get(pk=task.pk).task_list_id is None
    assert ListTombstone.objects.filter(list_id=work.pk).exists()


def test_a_tasks_page_shows_its_subtasks_inline(staff_client: Client, alice: User) -> None:
    parent = TaskFactory(owner=alice, title="parent")
    TaskFactory(owner=alice, title="first step", parent=parent)
    page = staff_client.get(f"/admin/tasks/task/{parent.pk}/change/")
    assert page.status_code == 200
    assert "first step" in page.content.decode()
    child = TaskFactory(owner=alice, title="alone", parent=parent)
    assert staff_client.get(f"/admin/tasks/task/{child.pk}/change/").status_code == 200
