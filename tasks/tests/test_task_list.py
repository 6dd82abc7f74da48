"""GET /api/tasks: only mine, newest first, filtered, sorted and paged; bad parameters are 400s."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from authn.models import User
from tasks.models import Task
from tasks.ordering import SORT_KEYS
from tasks.pagination import LinkHeaderPagination
from tasks.tests.factories import TaskFactory
from tasks.views import first_page_query, owned_tasks

MODEL_ATTRIBUTES = [field.attname for field in Task._meta.concrete_fields]


def make_tasks(owner: User, *titles: str, **fields: Any) -> list[Task]:
    """Tasks created one minute apart, in the order given (the last is the newest)."""
    base = timezone.now() - timedelta(days=1)
    tasks = []
    for n, title in enumerate(titles):
        task = TaskFactory(owner=owner, title=title, **fields)
        Task.objects.filter(pk=task.pk).update(created_at=base + timedelta(minutes=n))
        tasks.append(task)
    return tasks


def titles(response: Any) -> list[str]:
    return [task["title"] for task in response.json()]


def test_list_shows_only_my_tasks(alice: User, bob: User, alice_client: APIClient) -> None:
    make_tasks(alice, "mine")
    make_tasks(bob, "bob's")
    response = alice_client.get("/api/tasks")
    assert response.status_code == 200
    assert titles(response) == ["mine"]
    assert response.json()[0]["user_id"] == alice.better_auth_id


def test_list_is_a_json_array_of_the_task_shape_newest_first(alice: User, alice_client: APIClient) -> None:
    make_tasks(alice, "older", "newer")
    body = alice_client.get("/api/tasks").json()
    assert [task["title"] for task in body] == ["newer", "older"]
    core = {"id", "user_id", "title", "description", "completed", "created_at", "updated_at"}
    planning = {"priority", "tags", "due_at", "remind_at", "recurrence", "completed_at"}
    assert set(body[0]) == core | planning | {"list_id", "parent_id", "position"}


def test_empty_list_is_an_empty_array(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/tasks")
    assert response.json() == []
    assert "Link" not in response


@pytest.mark.parametrize(
    ("status", "expected"), [("all", ["done", "todo"]), ("pending", ["todo"]), ("completed", ["done"])]
)
def test_status_filter(status: str, expected: list[str], alice: User, alice_client: APIClient) -> None:
    make_tasks(alice, "todo")
    make_tasks(alice, "done", completed=True)
    assert sorted(titles(alice_client.get("/api/tasks", {"status": status}))) == expected


def test_search_matches_title_and_description_case_insensitively(
    alice: User, bob: User, alice_client: APIClient
) -> None:
    make_tasks(alice, "Buy MILK", "Call mom")
    make_tasks(alice, "Groceries", description="milk and eggs")
    make_tasks(bob, "milk for bob")
    assert sorted(titles(alice_client.get("/api/tasks", {"search": "milk"}))) == ["Buy MILK", "Groceries"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("created", ["banana", "Apple", "cherry"]),
        ("-created", ["cherry", "Apple", "banana"]),
        ("title", ["Apple", "banana", "cherry"]),
        ("-title", ["cherry", "banana", "Apple"]),
    ],
)
def test_sort(sort: str, expected: list[str], alice: User, alice_client: APIClient) -> None:
    make_tasks(alice, "banana", "Apple", "cherry")
    assert titles(alice_client.get("/api/tasks", {"sort": sort})) == expected


def test_sort_by_updated(alice: User, alice_client: APIClient) -> None:
    first, _second = make_tasks(alice, "first", "second")
    Task.objects.filter(pk=first.pk).update(updated_at=timezone.now() + timedelta(minutes=5))
    assert titles(alice_client.get("/api/tasks", {"sort": "-updated"})) == ["first", "second"]
    assert titles(alice_client.get("/api/tasks", {"sort": "updated"})) == ["second", "first"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"sort": "owner"}, "sort"),
        ({"sort": "created; DROP TABLE tasks_task"}, "sort"),
        ({"status": "done"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "99999999999999999999"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "1.5"}, "offset"),
        ({"search": "x" * 201}, "search"),
    ],
)
def test_bad_parameter_is_a_400_naming_it(
    params: dict[str, str], parameter: str, alice: User, alice_client: APIClient
) -> None:
    make_tasks(alice, "still here")
    response = alice_client.get("/api/tasks", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert parameter in body["errors"]
    assert body["detail"].startswith(f"{parameter}:")
    assert Task.objects.filter(owner=alice).count() == 1


def test_default_page_is_100_and_link_points_to_the_next(alice: User, alice_client: APIClient) -> None:
    Task.objects.bulk_create([Task(owner=alice, title=f"t{n}") for n in range(105)])
    response = alice_client.get("/api/tasks")
    assert len(response.json()) == 100
    assert re.fullmatch(r'<http://testserver/api/tasks\?cursor=[^>&]+>; rel="next"', response["Link"])
    following = alice_client.get(response["Link"][1:].split(">")[0])
    assert len(following.json()) == 5
    assert "Link" not in following


def test_following_next_links_visits_every_task_once(alice: User, alice_client: APIClient) -> None:
    Task.objects.bulk_create([Task(owner=alice, title=f"t{n}") for n in range(23)])
    seen: list[int] = []
    url: str | None = "/api/tasks?limit=10&status=all"
    pages = 0
    while url:
        response = alice_client.get(url)
        seen += [task["id"] for task in response.json()]
        links = response.get("Link", "")
        url = next((part.split(";")[0].strip()[1:-1] for part in links.split(",") if 'rel="next"' in part), None)
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(Task.objects.filter(owner=alice).values_list("id", flat=True))


def test_last_page_has_a_prev_link_and_no_next(alice: User, alice_client: APIClient) -> None:
    Task.objects.bulk_create([Task(owner=alice, title=f"t{n}") for n in range(5)])
    response = alice_client.get("/api/tasks", {"limit": 3, "offset": 3})
    assert len(response.json()) == 2
    assert response["Link"] == '<http://testserver/api/tasks?limit=3&offset=0>; rel="prev"'


def test_limit_of_500_is_allowed(alice: User, alice_client: APIClient) -> None:
    Task.objects.bulk_create([Task(owner=alice, title=f"t{n}") for n in range(501)])
    response = alice_client.get("/api/tasks", {"limit": 500})
    assert len(response.json()) == 500
    assert 'rel="next"' in response["Link"]


def test_list_costs_at_most_two_queries_whatever_the_page_size(
    alice: User, alice_client: APIClient, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Task.objects.bulk_create([Task(owner=alice, title=f"t{n}") for n in range(600)])
    with django_assert_max_num_queries(2):  # the user (not yet cached), the page
        assert len(alice_client.get("/api/tasks", {"limit": 5}).json()) == 5
    counts = []
    for limit in (5, 50, 500):
        with CaptureQueriesContext(connection) as queries:
            assert len(alice_client.get("/api/tasks", {"limit": limit}).json()) == limit
        counts.append(len(queries))
    assert counts == [1, 1, 1]  # the page only: the user was seen a moment ago


def test_list_without_a_token_is_401(db: Any, api_client: APIClient) -> None:
    response = api_client.get("/api/tasks")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("parameter", ["limit", "offset"])
def test_empty_paging_parameter_is_400(parameter: str, alice: User, alice_client: APIClient) -> None:
    response = alice_client.get(f"/api/tasks?{parameter}=")
    assert response.status_code == 400
    assert parameter in response.json()["errors"]


@pytest.mark.parametrize("sort", sorted(SORT_KEYS))
def test_the_first_page_read_by_the_compiled_query_is_the_querysets_page(alice: User, bob: User, sort: str) -> None:
    """The list's usual call (no filter) reads its first page through `first_page_query`: the same rows, sort
    keys and next cursor as the queryset's page, with ties, missing due dates and another user's tasks around."""
    make_tasks(alice, "b", "B", "a", "ä", "b", priority=2)
    make_tasks(alice, "due", due_at=timezone.now())
    make_tasks(bob, "bob's")
    request = Request(APIRequestFactory().get("/api/tasks", {"limit": "3"}))
    keys = [f"_sort{i}" for i in range(len(SORT_KEYS[sort]))]
    pages = []
    for first_page in (None, lambda sort, count: first_page_query(sort, count).fetch(owner_id=alice.pk)):
        paginator = LinkHeaderPagination()
        rows = paginator.paginate_tasks(lambda: owned_tasks(alice.pk), request, sort, first_page)
        pages.append(
            (
                [{name: getattr(row, name) for name in [*MODEL_ATTRIBUTES, *keys]} for row in rows],
                paginator.has_next,
                paginator.next_cursor,
            )
        )
    assert pages[0] == pages[1]
    assert len(pages[0][0]) == 3


def test_a_first_page_read_some_faster_way_builds_no_queryset(alice: User) -> None:
    """`paginate_tasks` builds the queryset only for a page that `first_page` does not read: building it for
    nothing was a tenth of the list's Python."""
    make_tasks(alice, "a", "b", "c")
    built = []

    def tasks() -> Any:
        built.append(True)
        return owned_tasks(alice.pk)

    def first_page(sort: str, count: int) -> list[Task]:
        return first_page_query(sort, count).fetch(owner_id=alice.pk)

    paginator = LinkHeaderPagination()
    first = paginator.paginate_tasks(
        tasks, Request(APIRequestFactory().get("/api/tasks", {"limit": "2"})), "-created", first_page
    )
    assert [task.title for task in first] == ["c", "b"]
    assert built == []
    cursor = paginator.next_cursor
    request = Request(APIRequestFactory().get("/api/tasks", {"limit": "2", "cursor": cursor}))
    assert [task.title for task in paginator.paginate_tasks(tasks, request, "-created", first_page)] == ["a"]
    assert built == [True]
