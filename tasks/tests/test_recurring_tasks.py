"""Completing a recurring task creates its next occurrence, once, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from authn.models import User
from conftest import run_concurrently
from tasks.models import Priority, Task


@pytest.fixture
def monthly(alice: User, alice_client: APIClient) -> Task:
    response = alice_client.post(
        "/api/tasks",
        {
            "title": "Pay rent",
            "description": "Transfer to the landlord",
            "priority": "high",
            "tags": ["Home", "money"],
            "due_at": "2027-01-31T23:00:00-05:00",
            "remind_at": "2027-01-31T20:00:00-05:00",
            "recurrence": {"freq": "monthly", "interval": 1, "until": None},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return Task.objects.get(pk=response.json()["id"])


def local(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(datetime.fromisoformat("2027-01-31T23:00:00-05:00").tzinfo)


def test_completing_returns_the_task_and_the_next_occurrence(monthly: Task, alice_client: APIClient) -> None:
    body = alice_client.patch(f"/api/tasks/{monthly.pk}/complete").json()
    assert body["completed"] is True
    following = body["next"]
    assert (following["title"], following["description"], following["priority"], following["tags"]) == (
        "Pay rent",
        "Transfer to the landlord",
        "high",
        ["Home", "money"],
    )
    assert following["completed"] is False
    assert local(following["due_at"]).isoformat() == "2027-02-28T23:00:00-05:00"
    assert local(following["remind_at"]).isoformat() == "2027-02-28T20:00:00-05:00"
    assert following["recurrence"] == {
        "freq": "monthly",
        "interval": 1,
        "until": None,
        "byweekday": None,
        "count": None,
        "basis": "due",
    }
    stored = Task.objects.get(pk=following["id"])
    assert (stored.owner_id, stored.priority, stored.tags) == (monthly.owner_id, Priority.HIGH, ["Home", "money"])
    assert stored.tag_keys.count() == 2


def test_the_series_keeps_the_day_of_the_month(monthly: Task, alice_client: APIClient) -> None:
    february = alice_client.patch(f"/api/tasks/{monthly.pk}/complete").json()["next"]
    march = alice_client.patch(f"/api/tasks/{february['id']}/complete").json()["next"]
    assert local(march["due_at"]).date().isoformat() == "2027-03-31"


def test_uncompleting_and_completing_again_never_duplicates(monthly: Task, alice_client: APIClient) -> None:
    first = alice_client.patch(f"/api/tasks/{monthly.pk}/complete").json()["next"]["id"]
    reopened = alice_client.patch(f"/api/tasks/{monthly.pk}/complete").json()
    assert (reopened["completed"], reopened["next"]) == (False, None)
    again = alice_client.patch(f"/api/tasks/{monthly.pk}/complete", {"completed": True}, format="json").json()
    assert again["next"]["id"] == first
    assert Task.objects.filter(title="Pay rent").count() == 2


def test_completing_through_patch_schedules_the_next_occurrence_too(monthly: Task, alice_client: APIClient) -> None:
    alice_client.patch(f"/api/tasks/{monthly.pk}", {"completed": True}, format="json")
    assert Task.objects.filter(title="Pay rent", completed=False).count() == 1


def test_a_series_past_its_until_date_ends(alice: User, alice_client: APIClient) -> None:
    task_id = alice_client.post(
        "/api/tasks",
        {"title": "Last", "due_at": "2027-05-03T09:00:00Z", "recurrence": {"freq": "weekly", "until": "2027-05-09"}},
        format="json",
    ).json()["id"]
    body = alice_client.patch(f"/api/tasks/{task_id}/complete").json()
    assert body["next"] is None
    assert Task.objects.count() == 1


def test_non_recurring_tasks_have_no_next(alice: User, alice_client: APIClient) -> None:
    task_id = alice_client.post("/api/tasks", {"title": "Once"}, format="json").json()["id"]
    assert alice_client.patch(f"/api/tasks/{task_id}/complete").json()["next"] is None
    assert Task.objects.count() == 1


def test_changing_only_the_title_keeps_the_series_anchor(monthly: Task, alice_client: APIClient) -> None:
    february = alice_client.patch(f"/api/tasks/{monthly.pk}/complete").json()["next"]
    alice_client.patch(f"/api/tasks/{february['id']}", {"title": "Pay the rent"}, format="json")
    march = alice_client.patch(f"/api/tasks/{february['id']}/complete").json()["next"]
    assert local(march["due_at"]).date().isoformat() == "2027-03-31"


@pytest.mark.django_db(transaction=True)
def test_concurrent_completions_create_exactly_one_next_occurrence(alice: User, client_for: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks; SQLite serialises writers on one file")
    client = client_for(alice)
    task_id = client.post(
        "/api/tasks",
        {"title": "Standup", "due_at": "2027-01-04T09:00:00Z", "recurrence": {"freq": "daily"}},
        format="json",
    ).json()["id"]

    def complete() -> int:
        return client_for(alice).patch(f"/api/tasks/{task_id}/complete", {"completed": True}, format="json").status_code

    assert run_concurrently(complete, 4) == [200] * 4
    assert Task.objects.filter(title="Standup").count() == 2


@pytest.fixture
def one_off(alice: User) -> Task:
    from tasks.tests.factories import TaskFactory

    return TaskFactory(owner=alice, due_at=datetime.fromisoformat("2027-03-01T09:00:00+01:00"))


def test_patching_a_bare_freq_onto_a_one_off_task_makes_it_recur_with_the_defaults(
    one_off: Task, alice_client: APIClient
) -> None:
    response = alice_client.patch(f"/api/tasks/{one_off.pk}", {"recurrence": {"freq": "weekly"}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["recurrence"] == {
        "freq": "weekly",
        "interval": 1,
        "until": None,
        "byweekday": None,
        "count": None,
        "basis": "due",
    }
    stored = Task.objects.get(pk=one_off.pk).recurrence
    assert (stored["freq"], stored["interval"], stored["until"]) == ("weekly", 1, None)


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (
            {"interval": 3},
            {"freq": "monthly", "interval": 3, "until": None, "byweekday": None, "count": None, "basis": "due"},
        ),
        (
            {"until": "2027-12-31"},
            {"freq": "monthly", "interval": 1, "until": "2027-12-31", "byweekday": None, "count": None, "basis": "due"},
        ),
        (
            {"freq": "yearly"},
            {"freq": "yearly", "interval": 1, "until": None, "byweekday": None, "count": None, "basis": "due"},
        ),
        ({}, {"freq": "monthly", "interval": 1, "until": None, "byweekday": None, "count": None, "basis": "due"}),
    ],
)
def test_each_member_of_the_rule_can_be_patched_on_its_own_and_the_rest_is_kept(
    patch: dict[str, Any], expected: dict[str, Any], monthly: Task, alice_client: APIClient
) -> None:
    anchor = monthly.recurrence["anchor"]
    response = alice_client.patch(f"/api/tasks/{monthly.pk}", {"recurrence": patch}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["recurrence"] == expected
    stored = Task.objects.get(pk=monthly.pk).recurrence
    assert {key: stored[key] for key in expected} == expected
    assert stored["anchor"] == anchor  # the series keeps its month-end anchor


def test_patching_a_rule_without_freq_onto_a_one_off_task_is_a_400(one_off: Task, alice_client: APIClient) -> None:
    response = alice_client.patch(f"/api/tasks/{one_off.pk}", {"recurrence": {"interval": 2}}, format="json")
    assert response.status_code == 400
    assert "freq" in response.json()["errors"]["recurrence"]
    assert Task.objects.get(pk=one_off.pk).recurrence is None


def test_a_put_replaces_the_rule_and_fills_in_its_defaults(monthly: Task, alice_client: APIClient) -> None:
    alice_client.patch(f"/api/tasks/{monthly.pk}", {"recurrence": {"interval": 3}}, format="json")
    response = alice_client.put(
        f"/api/tasks/{monthly.pk}", {"title": "Pay rent", "recurrence": {"freq": "monthly"}}, format="json"
    )
    assert response.json()["recurrence"] == {
        "freq": "monthly",
        "interval": 1,
        "until": None,
        "byweekday": None,
        "count": None,
        "basis": "due",
    }


def test_patching_null_stops_the_series(monthly: Task, alice_client: APIClient) -> None:
    response = alice_client.patch(f"/api/tasks/{monthly.pk}", {"recurrence": None}, format="json")
    assert response.json()["recurrence"] is None
    assert Task.objects.get(pk=monthly.pk).recurrence is None


def test_a_patched_weekly_rule_schedules_the_next_occurrence_a_week_later(
    one_off: Task, alice_client: APIClient
) -> None:
    alice_client.patch(f"/api/tasks/{one_off.pk}", {"recurrence": {"freq": "weekly"}}, format="json")
    following = alice_client.patch(f"/api/tasks/{one_off.pk}/complete").json()["next"]
    assert datetime.fromisoformat(following["due_at"]) == datetime.fromisoformat("2027-03-08T09:00:00+01:00")


def test_a_recurring_task_created_completed_schedules_its_next_occurrence(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post(
        "/api/tasks",
        {
            "title": "Water plants",
            "due_at": "2027-03-01T09:00:00+01:00",
            "recurrence": {"freq": "weekly"},
            "completed": True,
        },
        format="json",
    )
    assert response.status_code == 201
    created = Task.objects.get(pk=response.json()["id"])
    assert created.completed_at is not None
    following = created.next_occurrence
    assert following is not None
    assert (following.completed, following.due_at) == (False, datetime.fromisoformat("2027-03-08T09:00:00+01:00"))
    assert Task.objects.count() == 2
