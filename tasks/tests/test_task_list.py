"""GET /api/tasks: only mine, newest first, filtered, sorted and paged; bad parameters are 400s."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.core.signing import TimestampSigner
from django.utils import timezone
from django.utils import timezone as django_timezone
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from authn.models import User
from tasks.models import Task, TaskList
from tasks.ordering import SORT_KEYS
from tasks.pagination import LinkHeaderPagination
from tasks.serializers import TASK_ROW, TaskSerializer
from tasks.tests.factories import TaskFactory
from tasks.views import first_page_query, owned_tasks


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
def test_the_first_page_read_by_the_compiled_query_is_the_querysets_page(
    alice: User, bob: User, sort: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list's usual call (no filter) reads its first page through `first_page_query`: the same rows, sort
    keys and next cursor as the queryset's page, with ties, missing due dates and another user's tasks around."""
    # A cursor is signed with the second it was made in: one clock for both pages, or they differ across a second.
    monkeypatch.setattr(TimestampSigner, "timestamp", lambda self: "1tZk3Q")
    make_tasks(alice, "b", "B", "a", "ä", "b", priority=2)
    make_tasks(alice, "due", due_at=timezone.now())
    make_tasks(bob, "bob's")
    request = Request(APIRequestFactory().get("/api/tasks", {"limit": "3"}))
    pages = []
    for first_page in (None, lambda sort, count: first_page_query(sort, count).fetch(owner_id=alice.pk)):
        paginator = LinkHeaderPagination()
        rows = paginator.paginate_tasks(lambda: owned_tasks(alice.pk), request, sort, TASK_ROW, first_page)
        pages.append((rows, paginator.has_next, paginator.next_cursor))
    assert pages[0] == pages[1]
    assert len(pages[0][0]) == 3
    assert len(pages[0][0][0]) == len(TASK_ROW) + len(SORT_KEYS[sort])


def test_a_first_page_read_some_faster_way_builds_no_queryset(alice: User) -> None:
    """`paginate_tasks` builds the queryset only for a page that `first_page` does not read: building it for
    nothing was a tenth of the list's Python."""
    make_tasks(alice, "a", "b", "c")
    built = []

    def tasks() -> Any:
        built.append(True)
        return owned_tasks(alice.pk)

    def first_page(sort: str, count: int) -> list[tuple[Any, ...]]:
        return first_page_query(sort, count).fetch(owner_id=alice.pk)

    def titles(rows: list[tuple[Any, ...]]) -> list[str]:
        return [row[TASK_ROW.index("title")] for row in rows]

    paginator = LinkHeaderPagination()
    request = Request(APIRequestFactory().get("/api/tasks", {"limit": "2"}))
    assert titles(paginator.paginate_tasks(tasks, request, "-created", TASK_ROW, first_page)) == ["c", "b"]
    assert built == []
    request = Request(APIRequestFactory().get("/api/tasks", {"limit": "2", "cursor": paginator.next_cursor}))
    assert titles(paginator.paginate_tasks(tasks, request, "-created", TASK_ROW, first_page)) == ["a"]
    assert built == [True]


@pytest.fixture
def edge_tasks(alice: User) -> list[Task]:
    """Every field at its edges: nulls and empties, dates a day inside years 1 and 9999 (the extremes themselves
    fall outside Python's years in other time zones) with microseconds, every member of a rule and a rule that
    predates some, tags with quotes and non-ASCII text, a list, a parent and a subtask of it."""
    work = TaskList.objects.create(owner=alice, name="Work", position="a0")
    parent = Task.objects.create(owner=alice, title="parent", task_list=work)
    return [
        Task.objects.create(owner=alice, title="x"),
        Task.objects.create(
            owner=alice,
            title="ß\u2028🙂" + "t" * 197,
            description="d" * 1000,
            completed=True,
            completed_at=datetime(1, 1, 2, tzinfo=UTC),
            priority=3,
            tags=["Ä", "b" * 50, '"quoted", \\ back'],
            due_at=datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC),
            remind_at=datetime(1, 1, 2, 0, 0, 0, 1, tzinfo=UTC),
            recurrence={
                "freq": "monthly",
                "interval": 365,
                "until": "9999-12-31",
                "byweekday": ["-1FR", "2MO"],
                "count": 1000,
                "basis": "completion",
                "anchor": "9999-12-30T10:00:00-13:59",
            },
        ),
        Task.objects.create(owner=alice, title="old rule", recurrence={"freq": "daily", "anchor": "2027-01-31T09:00Z"}),
        Task.objects.create(
            owner=alice,
            title="due in an odd zone",
            priority=1,
            due_at=datetime(2027, 3, 28, 1, 30, 0, 500, tzinfo=UTC),
            remind_at=datetime(2027, 1, 31, 23, 0, tzinfo=dt_timezone(timedelta(hours=-5))),
        ),
        parent,
        Task.objects.create(owner=alice, title="subtask", task_list=work, parent=parent, priority=2, tags=[]),
    ]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize(
    "query",
    [
        "limit=50",
        "limit=2",
        "sort=due",
        "sort=-priority&limit=4",
        "list=inbox",
        "list={list_id}",
        "status=pending&limit=3",
    ],
)
def test_every_way_the_list_reads_a_task_writes_what_the_serializer_writes(
    alice: User, alice_client: APIClient, edge_tasks: list[Task], query: str, zone: str
) -> None:
    """The list writes its tasks from rows (`task_row_json`), the first page's from the compiled query, the next
    pages' and filtered lists' from the queryset: each task must read exactly as the serializer writes it from the
    model instance (every field, in any time zone), whatever page it is on."""
    if zone == "UTC":  # the API's zone: the extreme date-times themselves
        Task.objects.create(
            owner=alice,
            title="extremes",
            completed_at=datetime(1, 1, 1, tzinfo=UTC),
            due_at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        )
    url = f"/api/tasks?{query.format(list_id=edge_tasks[-1].task_list_id)}"
    listed = []
    with django_timezone.override(zone):
        while url:
            response = alice_client.get(url)
            assert response.status_code == 200
            listed += response.json()
            url = response.headers.get("Link", "").partition(">")[0].lstrip("<")
        for item in listed:
            task = Task.objects.select_related("owner").get(pk=item["id"])
            assert item == TaskSerializer(task).data
    assert len(listed) == len({item["id"] for item in listed}) > 0
