"""Values at the edges of their types: every one is stored and read back, or refused with a 400 naming it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task
from tasks.tests.factories import TaskFactory

OUT_OF_RANGE = [
    "0001-01-01T00:00:00+01:00",  # 0000-12-31 in UTC: PostgreSQL stores it, Python cannot read it back
    "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
]
BAD_OFFSETS = ["2026-12-01T09:00:00+16:00", "2026-12-01T09:00:00-23:59", "2026-12-01T09:00:00+23:59"]
EXTREMES_THAT_FIT = ["0001-01-01T00:00:00.000001Z", "0001-01-01T00:00:00-15:59", "9999-12-31T23:59:59.999998Z"]
SORTS_NO_DUE_DATE = ["0001-01-01T00:00:00Z", "0001-01-01T01:00:00+01:00", "9999-12-31T23:59:59.999999Z"]


def assert_field_refused(response: Any, field: str, code: str = "invalid") -> None:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == code
    assert field in body["errors"]


@pytest.mark.parametrize(
    ("value", "said"),
    [(value, "between years 1 and 9999") for value in OUT_OF_RANGE]
    # The first and last instants of years 1-9999 sort the tasks without a due date: no task is due at either.
    + [(value, "after 0001-01-01T00:00:00Z and before 9999-12-31T23:59:59.999999Z") for value in SORTS_NO_DUE_DATE],
)
@pytest.mark.parametrize("field", ["due_at", "remind_at"])
def test_a_date_outside_what_a_due_date_may_be_is_a_400_and_stores_nothing(
    field: str, value: str, said: str, alice: User, alice_client: APIClient
) -> None:
    response = alice_client.post("/api/tasks", {"title": "Edge", field: value}, format="json")
    assert_field_refused(response, field)
    assert said in response.json()["errors"][field][0]
    assert not Task.objects.exists()
    assert alice_client.get("/api/tasks").status_code == 200


@pytest.mark.parametrize("value", BAD_OFFSETS)
def test_an_offset_beyond_what_the_database_stores_is_a_400(value: str, alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "Edge", "due_at": value}, format="json")
    assert_field_refused(response, "due_at")
    assert "offset" in response.json()["errors"]["due_at"][0]
    assert not Task.objects.exists()


@pytest.mark.parametrize("value", EXTREMES_THAT_FIT)
def test_the_extreme_dates_that_fit_are_stored_listed_and_rendered_in_the_admin(
    value: str, alice: User, alice_client: APIClient
) -> None:
    created = alice_client.post("/api/tasks", {"title": "Edge", "due_at": value}, format="json")
    assert created.status_code == 201, created.json()
    task_id = created.json()["id"]
    assert alice_client.get(f"/api/tasks/{task_id}").json() == created.json()
    for sort in ["due", "-due", "created", "updated", "title", "priority"]:
        assert [task["id"] for task in alice_client.get("/api/tasks", {"sort": sort}).json()] == [task_id]
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("staff", email="staff@example.com", password="pw"))
    assert staff.get("/admin/tasks/task/").status_code == 200
    assert staff.get(f"/admin/tasks/task/{task_id}/change/").status_code == 200
    assert alice_client.delete(f"/api/tasks/{task_id}").status_code == 204


@pytest.mark.parametrize("value", OUT_OF_RANGE + BAD_OFFSETS)
def test_a_patch_with_an_unstorable_date_is_a_400_and_changes_nothing(
    value: str, alice: User, alice_client: APIClient
) -> None:
    task = TaskFactory(owner=alice)
    response = alice_client.patch(f"/api/tasks/{task.pk}", {"due_at": value}, format="json")
    assert_field_refused(response, "due_at")
    stored = Task.objects.get(pk=task.pk)
    assert (stored.due_at, stored.version) == (None, task.version)


@pytest.mark.parametrize("value", OUT_OF_RANGE + BAD_OFFSETS)
@pytest.mark.parametrize("parameter", ["due_before", "due_after", "updated_since"])
def test_an_unstorable_date_in_a_query_parameter_is_a_400_naming_it(
    parameter: str, value: str, alice: User, alice_client: APIClient
) -> None:
    assert_field_refused(alice_client.get("/api/tasks", {parameter: value}), parameter)


def test_a_plus_sign_left_unencoded_still_reads_as_an_offset_at_the_edge(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/tasks?due_before=0001-01-01T00:00:00 01:00")
    assert_field_refused(response, "due_before")


def test_a_yearly_task_due_in_9999_completes_with_no_next_occurrence(alice: User, alice_client: APIClient) -> None:
    created = alice_client.post(
        "/api/tasks",
        {"title": "Far", "due_at": "9999-06-01T00:00:00+05:00", "recurrence": {"freq": "yearly"}},
        format="json",
    )
    assert created.status_code == 201
    completed = alice_client.patch(f"/api/tasks/{created.json()['id']}/complete")
    assert completed.status_code == 200
    assert completed.json()["completed"] is True
    assert completed.json()["next"] is None
    assert Task.objects.count() == 1


def test_a_daily_series_stops_where_the_next_day_would_pass_year_9999_in_utc(
    alice: User, alice_client: APIClient
) -> None:
    created = alice_client.post(
        "/api/tasks",
        {"title": "Last", "due_at": "9999-12-31T10:00:00-05:00", "recurrence": {"freq": "daily"}},
        format="json",
    )
    assert created.status_code == 201
    assert alice_client.patch(f"/api/tasks/{created.json()['id']}/complete").json()["next"] is None


@pytest.mark.parametrize("task_id", ["9223372036854775807", "9223372036854775808", "99999999999999999999999"])
@pytest.mark.parametrize("prefix", ["/api/tasks", "/api/{user_id}/tasks"])
def test_an_id_beyond_the_integer_range_is_a_404(
    prefix: str, task_id: str, alice: User, alice_client: APIClient
) -> None:
    base = prefix.format(user_id=alice.better_auth_id)
    for method, path in [
        ("get", f"{base}/{task_id}"),
        ("patch", f"{base}/{task_id}"),
        ("put", f"{base}/{task_id}"),
        ("delete", f"{base}/{task_id}"),
        ("patch", f"{base}/{task_id}/complete"),
    ]:
        response = getattr(alice_client, method)(path, {"title": "x"} if method == "put" else None, format="json")
        assert response.status_code == 404, (method, path, response.content[:200])
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("interval", [0, 366, 2**63, -(2**63), 10**30])
def test_a_recurrence_interval_beyond_its_bounds_is_a_400(interval: int, alice: User, alice_client: APIClient) -> None:
    response = alice_client.post(
        "/api/tasks",
        {"title": "x", "due_at": "2027-01-01T00:00:00Z", "recurrence": {"freq": "daily", "interval": interval}},
        format="json",
    )
    assert_field_refused(response, "recurrence")
    assert not Task.objects.exists()


@pytest.mark.parametrize("limit", ["0", "501", "9223372036854775808", "1e3", "-1"])
def test_a_page_size_beyond_its_bounds_is_a_400(limit: str, alice: User, alice_client: APIClient) -> None:
    assert_field_refused(alice_client.get("/api/tasks", {"limit": limit}), "limit")


@pytest.mark.parametrize(
    "value",
    [
        "2027-06-01T12:00:00+05:30:00.5",  # PostgreSQL cannot store a fractional offset
        "2027-06-01T12:00:00-05:30:00.999999",
        "0001-01-01T00:00:00+00:00:00.000001",  # year 0 in UTC, were the offset kept
        "2027-06-01T12:00:00+00:00:30",
    ],
)
def test_an_offset_that_is_not_whole_minutes_is_a_400(value: str, alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "x", "due_at": value}, format="json")
    assert_field_refused(response, "due_at")
    assert "whole minutes" in response.json()["errors"]["due_at"][0]
    assert_field_refused(alice_client.get("/api/tasks", {"due_before": value}), "due_before")
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "value",
    [
        "2027-06-01T12:00:00Z\n",
        " 2027-06-01T12:00:00Z",
        "\u0662\u0660\u0662\u0667-06-01T12:00:00Z",  # Arabic-Indic digits
        "\uff12\uff10\uff12\uff17-06-01T12:00:00Z",  # fullwidth digits
    ],
)
def test_a_date_time_with_other_characters_than_plain_ascii_is_a_400(
    value: str, alice: User, alice_client: APIClient
) -> None:
    assert_field_refused(alice_client.post("/api/tasks", {"title": "x", "due_at": value}, format="json"), "due_at")
    assert not Task.objects.exists()


@pytest.mark.parametrize("until", ["20271231", "2027-W52-5", "2027-6-1", "2027-12-31T00:00:00Z"])
def test_until_is_a_plain_yyyy_mm_dd_date(until: str, alice: User, alice_client: APIClient) -> None:
    response = alice_client.post(
        "/api/tasks",
        {"title": "x", "due_at": "2027-01-01T09:00:00Z", "recurrence": {"freq": "daily", "until": until}},
        format="json",
    )
    assert_field_refused(response, "recurrence")
    assert response.json()["errors"]["recurrence"] == {"until": ["Write the date as YYYY-MM-DD."]}


@pytest.mark.parametrize("until", ["2027-02-30", "2027-13-01", "2027-00-10", "0000-01-01", "2027-02-29"])
def test_an_until_that_names_no_day_is_refused_in_the_apis_words(
    until: str, alice: User, alice_client: APIClient
) -> None:
    daily = {"title": "x", "due_at": "2027-01-01T09:00:00Z", "recurrence": {"freq": "daily"}}
    task_id = alice_client.post("/api/tasks", daily, format="json").json()["id"]
    before = list(Task.objects.values())
    created = alice_client.post("/api/tasks", {**daily, "recurrence": {"freq": "daily", "until": until}}, format="json")
    patched = alice_client.patch(f"/api/tasks/{task_id}", {"recurrence": {"until": until}}, format="json")
    for response in (created, patched):
        assert_field_refused(response, "recurrence")
        assert response.json()["errors"]["recurrence"] == {
            "until": [f"{until} is not a day of the calendar (years 0001-9999)."]
        }
    assert list(Task.objects.values()) == before


@pytest.mark.parametrize(
    "value",
    [
        "2027-W01-1T09:00:00Z",
        "2027-1-01T09:00:00Z",
        "2027-01-01T9:00:00Z",
        "2027-01-01T09:00:00.1234567Z",
        "20270101T090000Z",
    ],
)
def test_only_the_rfc_3339_form_of_a_date_time_is_read(value: str, alice: User, alice_client: APIClient) -> None:
    assert_field_refused(alice_client.post("/api/tasks", {"title": "x", "due_at": value}, format="json"), "due_at")


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2027-01-01t09:00:00z", "2027-01-01T09:00:00Z"),
        ("2027-01-01 09:00:00+01:00", "2027-01-01T08:00:00Z"),
        ("2027-01-01T09:00Z", "2027-01-01T09:00:00Z"),
        ("2027-01-01T09:00:00+0530", "2027-01-01T03:30:00Z"),  # ISO 8601's offsets, as the README says
        ("2027-01-01T09:00:00-05", "2027-01-01T14:00:00Z"),
        ("2027-01-01T09:00:00-00:00", "2027-01-01T09:00:00Z"),
    ],
)
def test_the_rfc_3339_variants_are_read(value: str, utc: str, alice: User, alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "x", "due_at": value}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["due_at"] == utc
    assert Task.objects.get().due_at == datetime.fromisoformat(utc)


def test_tasks_without_a_due_date_sort_last_either_way_beside_the_extreme_dates(
    alice: User, alice_client: APIClient
) -> None:
    titles = {}
    for title, due_at in [
        ("no due, old", None),
        ("latest", "9999-12-31T23:59:59.999998Z"),
        ("earliest", "0001-01-01T00:00:00.000001Z"),
        ("no due, new", None),
    ]:
        titles[alice_client.post("/api/tasks", {"title": title, "due_at": due_at}, format="json").json()["id"]] = title
    for sort, expected in [
        ("due", ["earliest", "latest", "no due, old", "no due, new"]),
        ("-due", ["latest", "earliest", "no due, new", "no due, old"]),
    ]:
        listed = [task["title"] for task in alice_client.get("/api/tasks", {"sort": sort}).json()]
        assert listed == expected, sort
        page = alice_client.get("/api/tasks", {"sort": sort, "limit": 1})
        walked = [page.json()[0]["title"]]
        while "next" in page.get("Link", ""):
            url = page["Link"].split(";")[0].strip("<>")
            page = alice_client.get(url)
            walked.append(page.json()[0]["title"])
        assert walked == expected, f"{sort}, a page at a time"
