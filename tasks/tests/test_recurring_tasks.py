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
    assert following["recurrence"] == {"freq": "monthly", "interval": 1, "until": None}
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
