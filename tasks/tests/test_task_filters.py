"""The list's planning filters and sorts: priority, tags, due dates, overdue; bad values are 400s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Priority, Task
from tasks.services import task_create


def make(owner: User, title: str, **fields: Any) -> Task:
    return task_create(owner=owner, data={"title": title, **fields})


def titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.json()
    return [task["title"] for task in response.json()]


@pytest.fixture
def planned(alice: User, bob: User) -> None:
    now = timezone.now()
    make(alice, "overdue", priority=Priority.HIGH, tags=["Work"], due_at=now - timedelta(days=1))
    make(alice, "overdue but done", priority=Priority.LOW, due_at=now - timedelta(days=2), completed=True)
    make(alice, "soon", priority=Priority.MEDIUM, tags=["work", "urgent"], due_at=now + timedelta(days=1))
    make(alice, "later", priority=Priority.LOW, tags=["home"], due_at=now + timedelta(days=10))
    make(alice, "someday", tags=["home", "urgent"])
    make(bob, "bob's work", tags=["work"], due_at=now - timedelta(days=1))


def test_priority_filter_takes_one_or_a_comma_list(planned: None, alice_client: APIClient) -> None:
    assert titles(alice_client.get("/api/tasks", {"priority": "high"})) == ["overdue"]
    assert sorted(titles(alice_client.get("/api/tasks", {"priority": "high,medium"}))) == ["overdue", "soon"]


def test_tag_filter_is_case_insensitive_and_any_by_default(planned: None, alice_client: APIClient) -> None:
    assert sorted(titles(alice_client.get("/api/tasks", {"tag": "WORK"}))) == ["overdue", "soon"]
    found = titles(alice_client.get("/api/tasks?tag=work&tag=home"))
    assert sorted(found) == ["later", "overdue", "someday", "soon"]


def test_tag_filter_finds_a_tag_however_it_is_composed(alice: User, alice_client: APIClient) -> None:
    for title, tag in [("written composed", "caf\u00e9"), ("written decomposed", "CAFE\u0301")]:
        assert alice_client.post("/api/tasks", {"title": title, "tags": [tag]}, format="json").status_code == 201
    for query in ("caf\u00e9", "cafe\u0301", "CAF\u00c9"):
        found = titles(alice_client.get("/api/tasks", {"tag": query}))
        assert sorted(found) == ["written composed", "written decomposed"]
    assert [(tag["name"], tag["count"]) for tag in alice_client.get("/api/tags").json()] == [("CAF\u00c9", 2)]


def test_tag_filter_counts_the_composed_form_and_refuses_an_invisible_tag(alice: User, alice_client: APIClient) -> None:
    long_tag = "\u00e9" * 30
    assert alice_client.post("/api/tasks", {"title": "long", "tags": [long_tag]}, format="json").status_code == 201
    assert titles(alice_client.get("/api/tasks", {"tag": "e\u0301" * 30})) == ["long"]
    for invisible in ("\u200b", "\u0301", "\u3164"):
        response = alice_client.get("/api/tasks", {"tag": invisible})
        assert (response.status_code, response.json()["code"]) == (400, "invalid"), invisible


def test_tag_mode_all_needs_every_tag(planned: None, alice_client: APIClient) -> None:
    assert titles(alice_client.get("/api/tasks?tag=work&tag=urgent&tag_mode=all")) == ["soon"]


def test_tags_of_another_user_never_match(planned: None, alice_client: APIClient, bob_client: APIClient) -> None:
    assert "bob's work" not in titles(alice_client.get("/api/tasks", {"tag": "work"}))
    assert titles(bob_client.get("/api/tasks", {"tag": "work"})) == ["bob's work"]


def test_due_before_and_after(planned: None, alice_client: APIClient) -> None:
    now = timezone.now()
    before = titles(alice_client.get("/api/tasks", {"due_before": now.isoformat(), "sort": "due"}))
    assert before == ["overdue but done", "overdue"]
    after = titles(alice_client.get("/api/tasks", {"due_after": (now + timedelta(days=2)).isoformat()}))
    assert after == ["later"]


def test_offset_whose_plus_became_a_space_in_the_url_is_understood(planned: None, alice_client: APIClient) -> None:
    stamp = (timezone.now() + timedelta(days=2)).astimezone(timezone.get_fixed_timezone(60)).isoformat()
    response = alice_client.get(f"/api/tasks?due_after={stamp}")  # unencoded, its "+" decodes to a space
    assert titles(response) == ["later"]


@pytest.mark.parametrize(("offset", "minutes"), [("+05:30", 330), ("+0530", 330), ("+05", 300)])
def test_an_unencoded_plus_is_understood_in_every_offset_form(
    offset: str, minutes: int, planned: None, alice_client: APIClient
) -> None:
    local = (timezone.now() + timedelta(days=2)).astimezone(timezone.get_fixed_timezone(minutes))
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + offset
    encoded = titles(alice_client.get("/api/tasks", {"due_after": text}))
    assert titles(alice_client.get(f"/api/tasks?due_after={text}")) == encoded == ["later"]


def test_overdue_means_due_in_the_past_and_not_completed(planned: None, alice_client: APIClient) -> None:
    assert titles(alice_client.get("/api/tasks", {"overdue": "true"})) == ["overdue"]
    assert "overdue" not in titles(alice_client.get("/api/tasks", {"overdue": "false"}))


def test_has_due(planned: None, alice_client: APIClient) -> None:
    assert titles(alice_client.get("/api/tasks", {"has_due": "false"})) == ["someday"]
    assert len(titles(alice_client.get("/api/tasks", {"has_due": "true"}))) == 4


def test_sort_by_due_puts_tasks_without_one_last_both_ways(planned: None, alice_client: APIClient) -> None:
    assert titles(alice_client.get("/api/tasks", {"sort": "due"})) == [
        "overdue but done",
        "overdue",
        "soon",
        "later",
        "someday",
    ]
    assert titles(alice_client.get("/api/tasks", {"sort": "-due"}))[-1] == "someday"
    assert titles(alice_client.get("/api/tasks", {"sort": "-due"}))[0] == "later"


def test_sort_by_priority_puts_high_first_and_breaks_ties_by_id(planned: None, alice_client: APIClient) -> None:
    assert titles(alice_client.get("/api/tasks", {"sort": "priority"})) == [
        "overdue",
        "soon",
        "overdue but done",
        "later",
        "someday",
    ]
    assert titles(alice_client.get("/api/tasks", {"sort": "-priority"}))[0] == "someday"


def test_filters_combine(planned: None, alice_client: APIClient) -> None:
    response = alice_client.get("/api/tasks", {"tag": "urgent", "has_due": "true", "status": "pending", "search": "so"})
    assert titles(response) == ["soon"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"priority": "high,bogus"}, "priority"),
        ({"tag_mode": "some"}, "tag_mode"),
        ({"due_before": "yesterday"}, "due_before"),
        ({"due_after": "2027-03-10T17:00:00"}, "due_after"),
        ({"overdue": "yes"}, "overdue"),
        ({"has_due": "1"}, "has_due"),
        ({"updated_since": "2027-13-01T00:00:00Z"}, "updated_since"),
        ({"sort": "due_at"}, "sort"),
        ({"tag": "x" * 51}, "tag"),
    ],
)
def test_malformed_filter_values_are_400_naming_the_parameter(
    params: dict[str, str], parameter: str, planned: None, alice_client: APIClient
) -> None:
    response = alice_client.get("/api/tasks", params)
    assert response.status_code == 400
    assert parameter in response.json()["errors"]


def test_a_filtered_page_is_still_one_query_plus_authentication(
    planned: None, alice_client: APIClient, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(2):
        alice_client.get("/api/tasks?tag=work&tag=home&priority=high,low&overdue=false&sort=due")


@pytest.mark.parametrize(
    "parameter", ["status", "priority", "tag_mode", "due_before", "overdue", "sort", "updated_since"]
)
def test_a_given_but_empty_parameter_is_400(parameter: str, alice: User, alice_client: APIClient) -> None:
    response = alice_client.get(f"/api/tasks?{parameter}=")
    assert response.status_code == 400
    assert parameter in response.json()["errors"]


def test_an_empty_search_means_no_filter(alice: User, alice_client: APIClient) -> None:
    make(alice, "anything")
    assert titles(alice_client.get("/api/tasks?search=")) == ["anything"]


@pytest.mark.parametrize("query", ["tag=", "tag=%20", "tag=&tag=", "tag=work&tag="])
def test_an_empty_tag_is_a_400_not_the_unfiltered_list(query: str, alice: User, alice_client: APIClient) -> None:
    make(alice, "anything")
    response = alice_client.get(f"/api/tasks?{query}")
    assert response.status_code == 400
    assert "tag" in response.json()["errors"]


@pytest.mark.parametrize("value", [",", "high,", ",high", "high,,low"])
def test_a_priority_list_with_an_empty_item_is_a_400(value: str, alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/tasks", {"priority": value})
    assert response.status_code == 400
    assert "priority" in response.json()["errors"]
