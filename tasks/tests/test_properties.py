"""Properties of the tasks API over HTTP on PostgreSQL: what it accepts reads back, lists and renders in the admin;
what it refuses changes nothing; no input, however odd, is a 5xx."""

from __future__ import annotations

import calendar
import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.utils.dateparse import parse_date, parse_datetime
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task, TaskTag
from tasks.tests import strategies as s

EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)
NO_BODY = object()
TASK_KEYS = {
    "id",
    "user_id",
    "title",
    "description",
    "completed",
    "created_at",
    "updated_at",
    "priority",
    "tags",
    "due_at",
    "remind_at",
    "recurrence",
    "completed_at",
    "list_id",
    "parent_id",
    "position",
}
DEFAULTS = {
    "description": "",
    "priority": "none",
    "tags": [],
    "due_at": None,
    "remind_at": None,
    "recurrence": None,
    "completed": False,
}


# --- Running requests. ---


@contextmanager
def rolled_back() -> Iterator[None]:
    """Each example starts from the test's state: whatever it writes is undone."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def call(client: Client, method: str, path: str, body: Any = NO_BODY) -> HttpResponse:
    """One request through the whole stack; an exception in the server propagates (the test client re-raises it),
    any other 5xx fails here, and every 4xx must be JSON with a string `code`."""
    if body is NO_BODY:
        response = client.generic(method, path)
    else:
        response = client.generic(method, path, json.dumps(body), content_type="application/json")
    shown = f"{method} {path} {'' if body is NO_BODY else json.dumps(body)[:2000]}"
    note(f"{shown} -> {response.status_code} {response.content[:1000]!r}")
    event(f"{method} {response.status_code}")
    assert response.status_code < 500, f"{shown} answered {response.status_code}: {response.content[:1000]!r}"
    if 400 <= response.status_code < 500:
        error = json.loads(response.content)
        assert isinstance(error, dict), f"{shown}: a {response.status_code} that is not a JSON object"
        assert isinstance(error.get("code"), str), f"{shown}: a {response.status_code} without a string code: {error}"
    return response


def content(response: HttpResponse) -> Any:
    return json.loads(response.content)


# --- Oracles: what the contract says a value reads back as. ---


def micros(moment: datetime) -> int:
    """Microseconds since 1970 UTC, computed without leaving years 1-9999 (no overflow at the extremes)."""
    offset = moment.utcoffset()
    assert offset is not None
    return (moment.replace(tzinfo=None) - EPOCH - offset) // MICROSECOND


def parsed_aware(field: str, value: Any) -> datetime:
    """The date-time a client meant by `value`; the API accepting anything else is a failure."""
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.utcoffset() is None:
        pytest.fail(f"{field}={value!r} was accepted, but it is not an ISO 8601 date-time with an offset")
    return parsed


def instant_of(field: str, value: Any) -> int | None:
    return None if value is None else micros(parsed_aware(field, value))


def shows_something(text: str) -> bool:
    """A letter, digit, punctuation or symbol somewhere: not only spaces, marks or invisible characters, nor the
    letters and symbols that show nothing (Hangul fillers, the blank Braille pattern, U+FFFC, U+1D159)."""
    blank = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0xFFFC, 0x1D159}
    return any(unicodedata.category(char)[0] in "LNPS" and ord(char) not in blank for char in text)


def expected_tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        pytest.fail(f"tags={value!r} was accepted, but it is not a list of strings")
    tags, seen = [], set()
    for tag in value:
        trimmed = tag.strip()
        if trimmed.casefold() not in seen:
            seen.add(trimmed.casefold())
            tags.append(trimmed)
    return tags


def expected_until(value: Any) -> str | None:
    if value is None:
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        pytest.fail(f"recurrence.until={value!r} was accepted, but it is not a date")
    return parsed.isoformat()


def expected_rule(rule: dict[str, Any]) -> dict[str, Any]:
    if rule.get("freq") not in s.FREQUENCIES:
        pytest.fail(f"recurrence.freq={rule.get('freq')!r} was accepted")
    interval = rule.get("interval")
    if type(interval) is not int:
        pytest.fail(f"recurrence.interval={interval!r} was accepted, but it is not an integer")
    return {
        "freq": rule["freq"],
        "interval": interval,
        "until": expected_until(rule.get("until")),
        "byweekday": None,
        "count": None,
        "basis": "due",
    }


def expected_recurrences(value: Any, before: dict[str, Any] | None) -> list[dict[str, Any] | None]:
    """A rule replaces the old one (interval 1 and until null when left out), or merges into it: either reads."""
    if value is None:
        return [None]
    if not isinstance(value, dict):
        pytest.fail(f"recurrence={value!r} was accepted, but it is neither null nor an object")
    options = []
    if "freq" in value:
        options.append(expected_rule({"interval": 1, "until": None, **value}))
    if before is not None:
        options.append(expected_rule({**before, **value}))
    if not options:
        pytest.fail(f"recurrence={value!r} without a freq was accepted for a task that had no rule")
    return options


def assert_reads_as_sent(task: dict[str, Any], sent: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Fields sent read back as sent (normalised as documented); fields not sent are as before (or defaults)."""
    for field in s.TASK_FIELDS:
        if field not in sent:
            expected = before[field] if before is not None else DEFAULTS.get(field)
            if field != "title" or before is not None:
                assert task[field] == expected, f"{field} changed although not sent: {expected!r} -> {task[field]!r}"
            continue
        value = sent[field]
        if field in ("title", "description"):
            if not (isinstance(value, str) or (field == "description" and value is None)):
                pytest.fail(f"{field}={value!r} was accepted, but it is not a string")
            # A title is trimmed; a description is kept as written (Markdown's indented code, its last newline).
            kept = (value or "").strip() if field == "title" else (value or "")
            assert task[field] == kept, f"{field} sent as {value!r} reads back as {task[field]!r}"
        elif field in ("priority", "completed"):
            allowed = s.PRIORITIES if field == "priority" else [True, False]
            if not any(value is choice or (isinstance(value, str) and value == choice) for choice in allowed):
                pytest.fail(f"{field}={value!r} was accepted")
            assert task[field] == value
        elif field == "tags":
            assert task["tags"] == expected_tags(value), f"tags sent as {value!r} read back as {task['tags']!r}"
        elif field in ("due_at", "remind_at"):
            assert instant_of(field, task[field]) == instant_of(field, value), (
                f"{field} sent as {value!r} reads back as {task[field]!r}, another instant"
            )
        elif field == "recurrence":
            previous = before["recurrence"] if before is not None else None
            options = expected_recurrences(value, previous)
            assert task["recurrence"] in options, f"recurrence sent as {value!r} reads back as {task['recurrence']!r}"


def assert_obeys_the_field_rules(task: Any, owner: User) -> None:
    """Whatever the API stored, it is a task its own contract allows."""
    assert isinstance(task, dict), f"not a task: {task!r}"
    assert set(task) == TASK_KEYS, f"not a task: {task!r}"
    assert type(task["id"]) is int
    assert task["user_id"] == owner.better_auth_id
    title = task["title"]
    assert isinstance(title, str)
    assert 1 <= len(title) <= 200, f"title {title!r}"
    assert shows_something(title), f"title {title!r} shows nothing"
    assert isinstance(task["description"], str)
    assert len(task["description"]) <= 1000
    assert task["priority"] in s.PRIORITIES
    tags = task["tags"]
    assert isinstance(tags, list)
    assert len(tags) <= 20, f"tags {tags!r}"
    assert all(isinstance(tag, str) and 1 <= len(tag) <= 50 and tag == tag.strip() for tag in tags), f"tags {tags!r}"
    assert all(shows_something(tag) for tag in tags), f"tags {tags!r}: one shows nothing"
    assert len({tag.casefold() for tag in tags}) == len(tags), f"tags {tags!r} repeat case-insensitively"
    for field in ("created_at", "updated_at"):
        instant_of(field, task[field])
    due, remind = instant_of("due_at", task["due_at"]), instant_of("remind_at", task["remind_at"])
    if due is not None and remind is not None:
        assert remind <= due, f"remind_at {task['remind_at']} is after due_at {task['due_at']}"
    rule = task["recurrence"]
    if rule is not None:
        assert set(rule) == {"freq", "interval", "until", "byweekday", "count", "basis"}, f"recurrence {rule!r}"
        assert rule["until"] is None or rule["count"] is None, f"recurrence {rule!r}"
        assert rule["basis"] in ("due", "completion"), f"recurrence {rule!r}"
        assert rule["freq"] in s.FREQUENCIES, f"recurrence {rule!r}"
        assert type(rule["interval"]) is int, f"recurrence {rule!r}"
        assert 1 <= rule["interval"] <= 365, f"recurrence {rule!r}"
        assert rule["until"] is None or date.fromisoformat(rule["until"]).isoformat() == rule["until"]
        assert task["due_at"] is not None, "a recurring task without a due_at"
    assert type(task["completed"]) is bool
    assert (task["completed_at"] is not None) == task["completed"], "completed_at disagrees with completed"


def owned_ids(owner: User) -> set[int]:
    return set(Task.objects.filter(owner=owner).values_list("id", flat=True))


def database_snapshot() -> Any:
    tasks = list(Task.objects.order_by("id").values())
    tags = list(TaskTag.objects.order_by("id").values())
    return tasks, tags


def task_row(pk: int) -> Any:
    return Task.objects.filter(pk=pk).values().get(), list(TaskTag.objects.filter(task_id=pk).order_by("id").values())


def assert_reads_back_lists_and_renders(client: APIClient, staff: Client, task: dict[str, Any]) -> None:
    """GET reads it back equal; it is in the list under every sort; the admin lists it and renders its page."""
    found = call(client, "GET", f"/api/tasks/{task['id']}")
    assert found.status_code == 200
    assert content(found) == task, f"reads back as {content(found)!r}, not {task!r}"
    for sort in s.SORTS:
        listed = call(client, "GET", f"/api/tasks?limit=500&sort={sort}")
        assert listed.status_code == 200
        assert task in content(listed), f"task {task['id']} is missing from the list under sort={sort}"
    change_list = staff.get("/admin/tasks/task/")
    assert change_list.status_code == 200
    assert task["id"] in [row.pk for row in change_list.context["cl"].result_list]
    change_page = staff.get(f"/admin/tasks/task/{task['id']}/change/")
    assert change_page.status_code == 200
    assert change_page.context["original"].pk == task["id"]


# --- Recurrence oracle, written from the README, not from tasks.recurrence. ---


def plus_months(moment: datetime, months: int) -> datetime:
    years, index = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + years, index + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def following_due(due: datetime, rule: dict[str, Any]) -> datetime | None:
    """The first occurrence after `due`, in the wall-clock time of its offset; None past year 9999."""
    interval = rule["interval"]
    try:
        if rule["freq"] == "daily":
            return due + timedelta(days=interval)
        if rule["freq"] == "weekly":
            return due + timedelta(weeks=interval)
        return plus_months(due, interval * (12 if rule["freq"] == "yearly" else 1))
    except (OverflowError, ValueError):
        return None


def representable(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


def assert_is_the_next_occurrence(
    client: APIClient, staff: Client, owner: User, task: dict[str, Any], sent_due: Any, following: Any
) -> None:
    """`following` is what completing `task` scheduled: the rule's next date after the due date as sent, in the
    wall-clock time of its offset, or nothing once the series ends (at `until`, or past year 9999); it copies the
    task, and reads back, lists and renders."""
    rule = task["recurrence"]
    due = parsed_aware("due_at", sent_due)
    expected = following_due(due, rule)
    until = date.fromisoformat(rule["until"]) if rule["until"] else None
    if expected is None or not representable(expected):
        assert following is None, f"{rule} from {sent_due}: no representable next occurrence, yet {following!r}"
    elif until is not None and expected.date() > until and expected.astimezone(UTC).date() > until:
        assert following is None, f"{rule} from {sent_due}: the series ended on {until}, yet {following!r}"
    elif until is None or (expected.date() <= until and expected.astimezone(UTC).date() <= until):
        assert following is not None, f"{rule} from {sent_due}: {expected.isoformat()} is due next, yet next is null"
    if following is not None:
        assert_obeys_the_field_rules(following, owner)
        assert following["id"] != task["id"]
        assert following["completed"] is False
        copied = ("title", "description", "priority", "tags", "recurrence")
        assert {key: following[key] for key in copied} == {key: task[key] for key in copied}
        assert expected is not None
        assert instant_of("due_at", following["due_at"]) == micros(expected), (
            f"{rule} from {sent_due}: next due {following['due_at']}, expected {expected.isoformat()}"
        )
        if task["remind_at"] is None:
            assert following["remind_at"] is None
        else:
            lead = instant_of("due_at", task["due_at"]) - instant_of("remind_at", task["remind_at"])
            assert instant_of("remind_at", following["remind_at"]) == micros(expected) - lead
        assert_reads_back_lists_and_renders(client, staff, following)


def assert_completing_schedules_the_next_occurrence(
    client: APIClient, staff: Client, owner: User, task: dict[str, Any], sent_due: Any
) -> None:
    """/complete answers 200 with `next` a task or null, scheduled by the rule; the next one reads back, lists and
    renders; reopening and completing again schedules no second one."""
    ids_before = owned_ids(owner)
    done = call(client, "PATCH", f"/api/tasks/{task['id']}/complete", {"completed": True})
    assert done.status_code == 200
    completed = content(done)
    following = completed.pop("next")
    assert_obeys_the_field_rules(completed, owner)
    unchanged = {key: task[key] for key in TASK_KEYS - {"completed", "completed_at", "updated_at"}}
    assert {key: completed[key] for key in unchanged} == unchanged
    assert completed["completed"] is True
    found = call(client, "GET", f"/api/tasks/{task['id']}")
    assert content(found) == completed

    assert_is_the_next_occurrence(client, staff, owner, task, sent_due, following)

    reopened = call(client, "PATCH", f"/api/tasks/{task['id']}/complete", {"completed": False})
    assert reopened.status_code == 200
    assert content(reopened)["completed"] is False
    again = call(client, "PATCH", f"/api/tasks/{task['id']}/complete", {"completed": True})
    assert again.status_code == 200
    again_next = content(again)["next"]
    assert (again_next or {}).get("id") == (following or {}).get("id"), "completing again scheduled another one"
    assert owned_ids(owner) - ids_before <= ({following["id"]} if following else set())


# --- Fixtures. ---


@pytest.fixture
def staff_client(db: Any) -> Client:
    root = User.objects.create_superuser("root", "root@example.com", "correct horse battery staple")
    client = Client()
    client.force_login(root)
    return client


RECURRING_TASK = {
    "title": "Water the plants",
    "description": "The ones on the balcony",
    "priority": "medium",
    "tags": ["home", "Garden"],
    "due_at": "2026-01-31T09:00:00+01:00",
    "remind_at": "2026-01-31T08:30:00+01:00",
    "recurrence": {"freq": "monthly", "interval": 1, "until": None},
}
PLAIN_TASK = {"title": "Call mum"}


@pytest.fixture
def alices_tasks(alice: User, alice_client: APIClient) -> dict[str, dict[str, Any]]:
    """One recurring task with a due date and a reminder, and one with nothing but a title."""
    created = {}
    for name, body in (("recurring", RECURRING_TASK), ("plain", PLAIN_TASK)):
        response = alice_client.post("/api/tasks", body, format="json")
        assert response.status_code == 201, response.content
        created[name] = content(response)
    return created


# --- 1. Creating. ---


def _without_title(body: dict[str, Any], keep: bool) -> dict[str, Any]:
    return body if keep else {key: value for key, value in body.items() if key != "title"}


CREATE_BODIES = st.one_of(
    st.tuples(st.just(True), s.valid_task_payloads()),
    st.tuples(st.just(False), s.edge_task_payloads()),
    st.tuples(
        st.just(False),
        st.builds(_without_title, s.task_payloads(title_required=True), st.integers(0, 9).map(bool)),
    ),
)


@settings(s.ROUND_TRIP, max_examples=800)
@given(case=CREATE_BODIES)
def test_any_created_task_reads_back_lists_under_every_sort_and_renders_in_the_admin(
    alice: User, alice_client: APIClient, staff_client: Client, case: tuple[bool, dict[str, Any]]
) -> None:
    """POST: a 2xx or a JSON 4xx, never a 5xx; a refusal changes nothing; what is accepted reads back as sent,
    lists under every sort, renders in the admin, and (when recurring) completes into its next occurrence."""
    must_accept, body = case
    with rolled_back():
        before = database_snapshot()
        started = datetime.now(UTC) - timedelta(seconds=1)
        response = call(alice_client, "POST", "/api/tasks", body)
        if must_accept:
            assert response.status_code == 201, f"a body within every documented rule was refused: {response.content}"
        if response.status_code >= 300:
            assert database_snapshot() == before, "a refused create changed the database"
            return
        assert response.status_code == 201
        task = content(response)
        assert_obeys_the_field_rules(task, alice)
        assert_reads_as_sent(task, body, None)
        assert instant_of("created_at", task["created_at"]) >= micros(started), "created_at came from the body"
        assert_reads_back_lists_and_renders(alice_client, staff_client, task)
        if task["recurrence"] is not None:
            assert_completing_schedules_the_next_occurrence(alice_client, staff_client, alice, task, body["due_at"])


# --- 2. Updating. ---

NAMED_PATCHES = st.sampled_from(
    [
        {"recurrence": {"freq": "weekly"}},
        {"recurrence": {"interval": 3}},
        {"recurrence": {"until": "2027-12-31"}},
        {"recurrence": {"until": "9999-12-31"}},
        {"recurrence": {"until": "0001-01-01"}},
        {"recurrence": None},
        {"due_at": None},
        {"due_at": None, "recurrence": None},
        {"completed": True},
    ]
)


PATCH_BODIES = st.one_of(
    NAMED_PATCHES,
    s.partial_payloads(s.valid_task_payloads()),
    s.partial_payloads(s.edge_task_payloads()),
    s.task_payloads(title_required=False),
)


@settings(s.ROUND_TRIP, max_examples=450)
@given(which=st.sampled_from(["recurring", "plain"]), body=PATCH_BODIES)
def test_any_partial_update_reads_back_as_sent_and_leaves_the_rest_unchanged(
    alice: User,
    alice_client: APIClient,
    staff_client: Client,
    alices_tasks: dict[str, dict[str, Any]],
    which: str,
    body: dict[str, Any],
) -> None:
    """PATCH: never a 5xx; a refusal leaves the row as it was; the fields sent read back as sent, the others as
    they were, and completing a recurring task schedules its next occurrence."""
    pk = alices_tasks[which]["id"]
    with rolled_back():
        before = content(call(alice_client, "GET", f"/api/tasks/{pk}"))
        row_before, ids_before = task_row(pk), owned_ids(alice)
        response = call(alice_client, "PATCH", f"/api/tasks/{pk}", body)
        if response.status_code >= 300:
            assert task_row(pk) == row_before, "a refused update changed the task"
            assert owned_ids(alice) == ids_before, "a refused update created or deleted tasks"
            return
        assert response.status_code == 200
        task = content(response)
        assert_obeys_the_field_rules(task, alice)
        assert_reads_as_sent(task, body, before)
        assert {key: task[key] for key in ("id", "user_id", "created_at")} == {
            key: before[key] for key in ("id", "user_id", "created_at")
        }
        assert instant_of("updated_at", task["updated_at"]) >= instant_of("updated_at", before["updated_at"])
        if "completed" not in body or body["completed"] == before["completed"]:
            assert task["completed_at"] == before["completed_at"]
        assert_reads_back_lists_and_renders(alice_client, staff_client, task)
        created = owned_ids(alice) - ids_before
        if body.get("completed") is True and before["completed"] is False and task["recurrence"] is not None:
            # Completing a recurring task through PATCH schedules its next occurrence, as /complete does.
            assert len(created) <= 1, f"one update created {len(created)} tasks"
            following = content(call(alice_client, "GET", f"/api/tasks/{created.pop()}")) if created else None
            sent_due = body["due_at"] if "due_at" in body else RECURRING_TASK["due_at"]
            assert_is_the_next_occurrence(alice_client, staff_client, alice, task, sent_due, following)
        else:
            assert not created, "an update that completes no recurring task created tasks"


# --- 3. Listing, and ids. ---


@pytest.fixture
def listed_tasks(alice: User, bob: User, alice_client: APIClient) -> None:
    """Tasks due at the extremes of the calendar, one without a due date, a deleted one, and bob's."""
    for title, due_at in (
        ("first day", datetime(1, 1, 1, tzinfo=UTC)),
        ("last instant", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("next summer", datetime(2027, 6, 1, 12, tzinfo=UTC)),
        ("whenever", None),
    ):
        Task.objects.create(owner=alice, title=title, due_at=due_at, tags=[])
    gone = Task.objects.create(owner=alice, title="gone")
    assert alice_client.delete(f"/api/tasks/{gone.pk}").status_code == 204
    Task.objects.create(owner=bob, title="bob's")


DATE_PARAMETERS = ("due_before", "due_after", "updated_since")


def query_string(params: list[tuple[str, str]], plus_as_space: bool) -> str:
    """Encoded properly, or with the `+` of an offset left as is, which a URL reads as a space."""
    return "&".join(
        f"{name}={quote(value, safe='+' if plus_as_space and name in DATE_PARAMETERS else '')}"
        for name, value in params
    )


def as_integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


@settings(s.ROUND_TRIP, max_examples=1500)
@given(params=s.list_parameters(), plus_as_space=st.booleans(), path_style=st.booleans())
def test_any_list_query_is_answered_without_a_server_error_and_filters_as_asked(
    alice: User,
    alice_client: APIClient,
    listed_tasks: None,
    params: list[tuple[str, str]],
    plus_as_space: bool,
    path_style: bool,
) -> None:
    """GET /api/tasks?...: never a 5xx; a 400 names the parameters at fault; a `+` left unencoded means `+`;
    a 200 keeps to the page size and to the due and updated bounds asked for."""
    base = f"/api/{alice.better_auth_id}/tasks" if path_style else "/api/tasks"
    with rolled_back():
        response = call(alice_client, "GET", f"{base}?{query_string(params, plus_as_space)}")
        sent = dict(params)
        if plus_as_space and any("+" in sent.get(name, "") for name in DATE_PARAMETERS):
            encoded = call(alice_client, "GET", f"{base}?{query_string(params, False)}")
            assert (response.status_code, response.content) == (encoded.status_code, encoded.content), (
                "a + left unencoded was not understood as the + it stands for"
            )
        if response.status_code == 400:
            errors = content(response).get("errors", {})
            assert isinstance(errors, dict), f"errors {errors!r}"
            assert errors, "a 400 naming no parameter"
            assert set(errors) <= set(sent), f"errors {errors} name parameters not sent: {sent}"
            return
        if response.status_code >= 300:
            return
        assert response.status_code == 200
        items = content(response)
        assert isinstance(items, list)
        limit, offset = as_integer(sent.get("limit", "100")), as_integer(sent.get("offset", "0"))
        assert limit in range(1, 501), f"limit={sent.get('limit')!r} was accepted"
        assert offset is not None, f"offset={sent.get('offset')!r} was accepted"
        assert offset >= 0, f"offset={sent.get('offset')!r} was accepted"
        assert len(items) <= limit
        tasks = [item for item in items if not item.get("deleted")]
        for task in tasks:
            assert_obeys_the_field_rules(task, alice)
        if "due_before" in sent:
            bound = instant_of("due_before", sent["due_before"])
            assert all(task["due_at"] and instant_of("due_at", task["due_at"]) < bound for task in tasks)
        if "due_after" in sent:
            bound = instant_of("due_after", sent["due_after"])
            assert all(task["due_at"] and instant_of("due_at", task["due_at"]) > bound for task in tasks)
        if "updated_since" in sent:
            bound = instant_of("updated_since", sent["updated_since"])
            assert all(instant_of("updated_at", item["updated_at"]) >= bound for item in items)


TASK_IDS = st.one_of(
    st.sampled_from([0, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**20, 10**40, 10**100]),
    st.integers(min_value=10**12, max_value=10**60),
    st.just("bob's"),
)
ID_REQUESTS = [
    ("GET", "", NO_BODY),
    ("PUT", "", {"title": "mine now"}),
    ("PATCH", "", {"title": "mine now"}),
    ("DELETE", "", NO_BODY),
    ("PATCH", "/complete", {}),
    ("PATCH", "/complete", {"completed": True}),
]


@settings(s.ROUND_TRIP, max_examples=150)
@given(task_id=TASK_IDS, shape=st.sampled_from(ID_REQUESTS), path_style=st.booleans(), slash=st.booleans())
def test_a_task_id_that_is_not_mine_is_404_even_beyond_the_64_bit_range(
    alice: User,
    alice_client: APIClient,
    listed_tasks: None,
    task_id: int | str,
    shape: tuple[str, str, Any],
    path_style: bool,
    slash: bool,
) -> None:
    """Any id that is not one of alice's tasks, bob's or one past the 64-bit range, is the same JSON 404 for
    every method, and changes nothing."""
    method, suffix, body = shape
    bobs = Task.objects.get(title="bob's")
    pk = bobs.pk if task_id == "bob's" else task_id
    base = f"/api/{alice.better_auth_id}/tasks" if path_style else "/api/tasks"
    with rolled_back():
        before = database_snapshot()
        response = call(alice_client, method, f"{base}/{pk}{suffix}{'/' if slash else ''}", body)
        assert response.status_code == 404
        assert content(response)["code"] == "not_found"
        assert database_snapshot() == before
