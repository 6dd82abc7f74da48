"""Richer recurrence: RFC 5545 BYDAY (chosen weekdays, every weekday, the n-th or last weekday of the month),
`count`, and `basis: completion` (Todoist's every!), beside the simple rule, whose guarantees stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as fixed
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task

PLUS_ONE = fixed(timedelta(hours=1))


def recurring(client: APIClient, due_at: str, **rule: Any) -> dict[str, Any]:
    response = client.post("/api/tasks", {"title": "r", "due_at": due_at, "recurrence": rule}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def series(client: APIClient, task: dict[str, Any], occurrences: int) -> list[str | None]:
    """The due dates of the next occurrences, completing each in turn (None once the series ends)."""
    dates: list[str | None] = []
    for _ in range(occurrences):
        following = client.patch(f"/api/tasks/{task['id']}/complete").json()["next"]
        dates.append(following["due_at"] if following else None)
        if following is None:
            break
        task = following
    return dates


def test_weekly_on_chosen_days(alice: User, alice_client: APIClient) -> None:
    task = recurring(alice_client, "2027-03-01T09:00:00+01:00", freq="weekly", byweekday=["MO", "WE", "FR"])
    assert task["recurrence"]["byweekday"] == ["MO", "WE", "FR"]
    assert series(alice_client, task, 4) == [
        "2027-03-03T08:00:00Z",
        "2027-03-05T08:00:00Z",
        "2027-03-08T08:00:00Z",
        "2027-03-10T08:00:00Z",
    ]


def test_every_weekday_skips_the_weekend(alice: User, alice_client: APIClient) -> None:
    task = recurring(alice_client, "2027-03-05T09:00:00+01:00", freq="weekly", byweekday=["MO", "TU", "WE", "TH", "FR"])
    assert series(alice_client, task, 2) == ["2027-03-08T08:00:00Z", "2027-03-09T08:00:00Z"]


def test_monthly_on_the_second_monday_and_on_the_last_friday(alice: User, alice_client: APIClient) -> None:
    second_monday = recurring(alice_client, "2027-03-08T09:00:00+01:00", freq="monthly", byweekday=["2MO"])
    assert series(alice_client, second_monday, 2) == ["2027-04-12T08:00:00Z", "2027-05-10T08:00:00Z"]
    last_friday = recurring(alice_client, "2027-03-26T18:00:00+01:00", freq="monthly", byweekday=["-1FR"])
    assert series(alice_client, last_friday, 2) == ["2027-04-30T17:00:00Z", "2027-05-28T17:00:00Z"]


def test_count_ends_the_series_and_month_ends_are_kept(alice: User, alice_client: APIClient) -> None:
    task = recurring(alice_client, "2027-01-31T09:00:00+01:00", freq="monthly", count=3)
    assert series(alice_client, task, 3) == ["2027-02-28T08:00:00Z", "2027-03-31T08:00:00Z", None]
    days = recurring(alice_client, "2027-03-01T09:00:00+01:00", freq="weekly", byweekday=["MO", "TH"], count=3)
    assert series(alice_client, days, 3) == ["2027-03-04T08:00:00Z", "2027-03-08T08:00:00Z", None]


def test_counted_from_completion_the_next_one_follows_the_day_it_was_done(alice: User, alice_client: APIClient) -> None:
    task = recurring(alice_client, "2027-03-01T09:00:00+01:00", freq="daily", interval=3, basis="completion")
    following = alice_client.patch(f"/api/tasks/{task['id']}/complete").json()["next"]
    today = timezone.now().astimezone(PLUS_ONE).date()
    expected = datetime.combine(today + timedelta(days=3), datetime.min.time(), PLUS_ONE).replace(hour=9)
    assert datetime.fromisoformat(following["due_at"]) == expected
    assert following["recurrence"]["basis"] == "completion"
    stored = Task.objects.get(pk=following["id"]).recurrence
    assert datetime.fromisoformat(stored["anchor"]).date() == today


@pytest.mark.parametrize(
    "rule",
    [
        {"freq": "weekly", "byweekday": ["XX"]},
        {"freq": "weekly", "byweekday": ["2MO"]},  # an ordinal needs monthly or yearly
        {"freq": "weekly", "byweekday": ["MO", "MO"]},
        {"freq": "weekly", "byweekday": []},
        {"freq": "monthly", "byweekday": ["6MO"]},
        {"freq": "monthly", "byweekday": ["MO", "1TU"]},  # weekdays and numbered weekdays, not both
        {"freq": "monthly", "byweekday": ["1MO", "+1MO"]},  # the same day twice
        {"freq": "yearly", "byweekday": ["-1FR", "SA"]},
        {"freq": "daily", "count": 0},
        {"freq": "daily", "count": 1001},
        {"freq": "daily", "count": 3, "until": "2027-12-31"},
        {"freq": "daily", "count": 3, "basis": "completion"},
        {"freq": "daily", "basis": "whenever"},
        {"freq": "daily", "byweekday": "MO"},
    ],
)
def test_a_rule_that_does_not_hold_together_is_a_400(
    alice: User, alice_client: APIClient, rule: dict[str, Any]
) -> None:
    response = alice_client.post(
        "/api/tasks", {"title": "r", "due_at": "2027-03-01T09:00:00Z", "recurrence": rule}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "recurrence" in response.json()["errors"]
    assert not Task.objects.exists()


def test_a_patch_adds_weekdays_to_a_rule_and_keeps_the_rest(alice: User, alice_client: APIClient) -> None:
    task = recurring(alice_client, "2027-03-01T09:00:00+01:00", freq="weekly", interval=2)
    patched = alice_client.patch(f"/api/tasks/{task['id']}", {"recurrence": {"byweekday": ["TU"]}}, format="json")
    assert patched.json()["recurrence"] == {
        "freq": "weekly",
        "interval": 2,
        "until": None,
        "byweekday": ["TU"],
        "count": None,
        "basis": "due",
    }
    clash = alice_client.patch(
        f"/api/tasks/{task['id']}", {"recurrence": {"count": 2, "until": "2027-12-31"}}, format="json"
    )
    assert clash.status_code == 400
    assert Task.objects.get(pk=task["id"]).recurrence["byweekday"] == ["TU"]


def test_a_patch_that_would_mix_weekdays_and_numbered_weekdays_is_a_400_and_keeps_the_rule(
    alice: User, alice_client: APIClient
) -> None:
    task = recurring(alice_client, "2027-03-08T09:00:00+01:00", freq="monthly", byweekday=["2MO"])
    response = alice_client.patch(
        f"/api/tasks/{task['id']}", {"recurrence": {"byweekday": ["2MO", "TU"]}}, format="json"
    )
    assert response.status_code == 400
    assert "numbered weekdays" in response.json()["errors"]["recurrence"]["byweekday"][0]
    assert Task.objects.get(pk=task["id"]).recurrence["byweekday"] == ["2MO"]
