"""GET /api/export and POST /api/import: one document with everything of a user's, and back, all or nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task, TaskList, TaskTag


def create(client: APIClient, path: str, **body: Any) -> dict[str, Any]:
    response = client.post(path, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def populate(client: APIClient) -> None:
    """Lists in a chosen order, subtasks two levels down, tags, dates, a rule, a completed task, a moved one."""
    work = create(client, "/api/lists", name="Work", color="#2563EB")
    home = create(client, "/api/lists", name="Home")
    client.post(f"/api/lists/{home['id']}/move", {"after": None}, format="json")
    client.patch(f"/api/lists/{home['id']}", {"archived": True}, format="json")
    review = create(
        client,
        "/api/tasks",
        title="Weekly review",
        list_id=work["id"],
        due_at="2027-03-01T09:00:00+01:00",
        remind_at="2027-03-01T08:00:00+01:00",
        recurrence={"freq": "weekly", "interval": 2, "until": "2027-12-31"},
        tags=["Focus", "work"],
        priority="high",
    )
    step = create(client, "/api/tasks", title="Inbox zero", parent_id=review["id"])
    create(client, "/api/tasks", title="Archive mail", parent_id=step["id"], description="Older than a month")
    done = create(client, "/api/tasks", title="Paint the fence", list_id=home["id"])
    client.patch(f"/api/tasks/{done['id']}/complete")
    loose = create(client, "/api/tasks", title="Call the bank")
    client.post(f"/api/tasks/{loose['id']}/move", {"after": None}, format="json")
    create(client, "/api/tasks", title="Ünïcode ✓", tags=["Été"])


def recurring(document: dict[str, Any]) -> dict[str, Any]:
    return next(task for task in document["tasks"] if task["recurrence"])


def without_ids(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every id (and reference) replaced by its rank, and the export time left out."""
    lists = {item["id"]: n for n, item in enumerate(document["lists"])}
    tasks = {item["id"]: n for n, item in enumerate(document["tasks"])}
    return {
        "lists": [{**item, "id": lists[item["id"]]} for item in document["lists"]],
        "tasks": [
            {
                **item,
                "id": tasks[item["id"]],
                "list_id": lists.get(item["list_id"]),
                "parent_id": tasks.get(item["parent_id"]),
                "next_id": tasks.get(item["next_id"]),
            }
            for item in document["tasks"]
        ],
    }


def test_an_export_imported_into_another_user_exports_the_same(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    populate(alice_client)
    exported = alice_client.get("/api/export")
    assert exported.status_code == 200
    assert "attachment" in exported["Content-Disposition"]
    document = exported.json()
    assert (document["format"], document["version"]) == ("evotodo", 1)
    assert len(document["lists"]) == 2
    assert len(document["tasks"]) == 6
    imported = bob_client.post("/api/import", document, format="json")
    assert imported.status_code == 201, imported.content
    assert imported.json() == {"lists_created": 2, "lists_merged": 0, "tasks_created": 6, "dry_run": False}
    again = bob_client.get("/api/export").json()
    assert without_ids(again) == without_ids(document)
    # Bob's copies are his, tags rows included, and Alice's are untouched.
    assert TaskList.objects.filter(owner=bob).count() == 2
    assert TaskTag.objects.filter(owner=bob).count() == TaskTag.objects.filter(owner=alice).count() == 3
    assert not Task.objects.filter(owner=bob, task_list__owner=alice).exists()
    kinds = [change["type"] for change in bob_client.get("/api/sync").json()["changes"]]
    assert (kinds.count("list"), kinds.count("task")) == (2, 6)  # every one a change in Bob's feed


def test_a_dry_run_counts_and_writes_nothing(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    populate(alice_client)
    document = alice_client.get("/api/export").json()
    response = bob_client.post("/api/import?dry_run=true", document, format="json")
    assert response.status_code == 200
    assert response.json() == {"lists_created": 2, "lists_merged": 0, "tasks_created": 6, "dry_run": True}
    assert not Task.objects.filter(owner=bob).exists()
    assert not TaskList.objects.filter(owner=bob).exists()


def test_a_list_whose_name_exists_is_merged_into(alice: User, alice_client: APIClient) -> None:
    populate(alice_client)
    document = alice_client.get("/api/export").json()
    response = alice_client.post("/api/import", document, format="json")
    assert response.json()["lists_merged"] == 2
    assert TaskList.objects.filter(owner=alice).count() == 2
    assert Task.objects.filter(owner=alice).count() == 12


def test_an_import_into_lists_and_an_inbox_that_hold_tasks_puts_its_tasks_after_theirs(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    populate(alice_client)
    document = alice_client.get("/api/export").json()
    assert bob_client.post("/api/import", document, format="json").status_code == 201
    first = {t.pk for t in Task.objects.filter(owner=bob)}
    assert bob_client.post("/api/import", document, format="json").json()["lists_merged"] == 2

    groups: dict[tuple[Any, Any], list[Task]] = {}
    for task in Task.objects.filter(owner=bob).order_by("position", "id"):
        groups.setdefault((task.task_list_id, task.parent_id), []).append(task)
    for (list_id, parent_id), siblings in groups.items():
        keys = [task.position for task in siblings]
        assert len(set(keys)) == len(keys), (list_id, parent_id, keys)  # no two siblings share a position
        if parent_id is None:  # the second import's come after the first's, in the document's order
            assert [task.pk in first for task in siblings] == sorted(
                (task.pk in first for task in siblings), reverse=True
            )
            titles = [task.title for task in siblings]
            half = len(titles) // 2
            assert titles[:half] == titles[half:]
    assert len([key for key in groups if key[1] is None]) == 3  # the inbox and both lists
    listed = [item["name"] for item in bob_client.get("/api/lists").json()]
    assert listed == [item["name"] for item in document["lists"]]


@pytest.mark.parametrize("key", ["a b", "a\u00e9", "a_", "a-", "a.", "a\u00b2", "a\u0660", "a\uff10", "k" + "_" * 11])
@pytest.mark.parametrize("where", ["lists", "tasks"])
def test_a_position_with_a_character_no_key_of_the_api_has_is_a_400_and_later_writes_still_work(
    key: str, where: str, alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    populate(alice_client)
    document = alice_client.get("/api/export").json()
    document[where][-1]["position"] = key
    response = bob_client.post("/api/import", document, format="json")
    assert response.status_code == 400, response.content
    assert not Task.objects.filter(owner=bob).exists()
    assert create(bob_client, "/api/lists", name="After")["name"] == "After"


def test_new_lists_imported_beside_existing_ones_come_after_them(
    bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    populate(alice_client)
    document = alice_client.get("/api/export").json()
    create(bob_client, "/api/lists", name="Errands")
    create(bob_client, "/api/lists", name="Garden")
    assert bob_client.post("/api/import", document, format="json").json()["lists_created"] == 2
    listed = [item["name"] for item in bob_client.get("/api/lists").json()]
    assert listed == ["Errands", "Garden", *[item["name"] for item in document["lists"]]]
    positions = list(TaskList.objects.filter(owner=bob).values_list("position", flat=True))
    assert len(set(positions)) == len(positions)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: d.update(format="todoist"),
        lambda d: d.update(version=2),
        lambda d: d.pop("tasks"),
        lambda d: d["tasks"][0].update(title=""),
        lambda d: d["tasks"][0].update(list_id=999_999),
        lambda d: d["tasks"][1].update(parent_id=999_999),
        lambda d: d["tasks"].reverse(),  # subtasks before their parents
        lambda d: d["tasks"][0].update(parent_id=d["tasks"][2]["id"]),  # a cycle
        lambda d: d["tasks"].append(dict(d["tasks"][0])),  # an id twice
        lambda d: d["lists"].append({**d["lists"][0], "id": 10**12, "name": d["lists"][0]["name"].upper()}),
        lambda d: d["lists"][0].update(position="not a key"),
        lambda d: recurring(d).update(recurrence={"freq": "weekly", "interval": 1, "until": None}),  # no anchor
        lambda d: d["tasks"][0].update(surprise=True),
        lambda d: recurring(d).update(due_at=None, remind_at=None),  # a rule without a due date
        lambda d: recurring(d).update(remind_at="2027-03-02T08:00:00Z"),  # a reminder after the due date
    ],
)
def test_a_document_with_any_fault_is_a_400_and_imports_nothing(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient, break_it: Any
) -> None:
    populate(alice_client)
    document = copy.deepcopy(alice_client.get("/api/export").json())
    break_it(document)
    response = bob_client.post("/api/import", document, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"]
    assert not Task.objects.filter(owner=bob).exists()
    assert not TaskList.objects.filter(owner=bob).exists()


def test_export_and_import_take_no_unknown_parameters(alice: User, alice_client: APIClient) -> None:
    assert alice_client.get("/api/export?format=csv").status_code == 400
    assert alice_client.post("/api/import?dry_run=yes", {}, format="json").status_code == 400
    assert alice_client.get("/api/export").json()["tasks"] == []


def test_an_import_retried_with_its_idempotency_key_imports_once(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    populate(alice_client)
    document = alice_client.get("/api/export").json()
    first = bob_client.post("/api/import", document, format="json", HTTP_IDEMPOTENCY_KEY="import-1")
    again = bob_client.post("/api/import", document, format="json", HTTP_IDEMPOTENCY_KEY="import-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Task.objects.filter(owner=bob).count() == 6


def test_an_import_past_the_list_cap_is_a_409_and_a_completed_task_gets_a_completion_date(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(alice_client)
    document = alice_client.get("/api/export").json()
    monkeypatch.setattr("tasks.transfer.MAX_LISTS", 1)
    capped = bob_client.post("/api/import", document, format="json")
    assert (capped.status_code, capped.json()["code"]) == (409, "too_many_lists")
    assert not Task.objects.filter(owner=bob).exists()
    monkeypatch.undo()
    done = next(task for task in document["tasks"] if task["completed"])
    done["completed_at"] = None
    document["version"] = "1"
    assert bob_client.post("/api/import", document, format="json").status_code == 400  # a version is a number
    document["version"] = 1
    assert bob_client.post("/api/import", document, format="json").status_code == 201
    assert not Task.objects.filter(owner=bob, completed=True, completed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_one_list_name_never_fail_or_duplicate_it(
    alice: User, bob: User, client_for: Any
) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent transactions; SQLite serialises writers on one file")
    from conftest import run_concurrently

    document = {
        "format": "evotodo",
        "version": 1,
        "lists": [{"id": 1, "name": "Shared name"}],
        "tasks": [{"id": 1, "list_id": 1, "title": "t"}],
    }
    statuses = run_concurrently(lambda: client_for(bob).post("/api/import", document, format="json").status_code, 5)
    assert statuses == [201] * 5
    assert TaskList.objects.filter(owner=bob).count() == 1
    assert Task.objects.filter(owner=bob).count() == 5


@pytest.mark.parametrize(
    ("break_it", "errors"),
    [
        (lambda d: d["lists"][0].update(foo=1), {"lists": {"0": {"foo": ["Unknown field."]}}}),
        (lambda d: d["tasks"][1].update(foo=1), {"tasks": {"1": {"foo": ["Unknown field."]}}}),
        (
            lambda d: recurring(d)["recurrence"].update(byday=["MO"]),
            {"tasks": {"1": {"recurrence": {"byday": ["Unknown field."]}}}},  # populate: the second is recurring
        ),
        (lambda d: d.update(extra=[]), {"extra": ["Unknown field."]}),
    ],
)
def test_an_unknown_member_anywhere_in_a_document_is_refused_first_on_its_own(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient, break_it: Any, errors: Any
) -> None:
    populate(alice_client)
    document = copy.deepcopy(alice_client.get("/api/export").json())
    break_it(document)
    document["tasks"][0]["title"] = ""  # a value wrong too: named once the members are known
    document["lists"][0]["color"] = "not a color"
    response = bob_client.post("/api/import", document, format="json")
    assert response.status_code == 400, response.content
    assert (response.json()["code"], response.json()["errors"]) == ("unknown_field", errors)
    assert not Task.objects.filter(owner=bob).exists()


def test_a_completed_occurrence_imported_keeps_its_next_so_completing_it_again_makes_no_second(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    first = create(
        alice_client, "/api/tasks", title="Water plants", due_at="2027-01-01T09:00:00Z", recurrence={"freq": "weekly"}
    )
    alice_client.patch(f"/api/tasks/{first['id']}/complete")
    document = alice_client.get("/api/export").json()
    assert [item["next_id"] for item in document["tasks"]] == [document["tasks"][1]["id"], None]
    assert bob_client.post("/api/import", document, format="json").status_code == 201
    done = Task.objects.get(owner=bob, completed=True)
    assert done.next_occurrence == Task.objects.get(owner=bob, completed=False)
    for completed in (False, True):  # reopened and completed again
        bob_client.patch(f"/api/tasks/{done.pk}/complete", {"completed": completed}, format="json")
    assert Task.objects.filter(owner=bob, completed=False).count() == 1


@pytest.mark.parametrize(
    ("link", "message"),
    [
        (lambda d: d["tasks"][0].update(next_id=999_999), "No other task"),
        (lambda d: d["tasks"][0].update(next_id=d["tasks"][0]["id"]), "No other task"),
        (lambda d: d["tasks"][2].update(next_id=d["tasks"][1]["id"]), "Another task's next"),
        (lambda d: d["tasks"][0].update(next_id="1"), "integer"),
        (lambda d: d["tasks"][1].update(next_id=d["tasks"][0]["id"]), "A cycle"),  # each the other's next
        (
            lambda d: (
                d["tasks"][1].update(next_id=d["tasks"][2]["id"]),
                d["tasks"][2].update(next_id=d["tasks"][0]["id"]),
            ),
            "A cycle",
        ),
    ],
)
def test_a_next_that_is_not_another_task_of_the_document_is_a_400(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient, link: Any, message: str
) -> None:
    first = create(
        alice_client, "/api/tasks", title="Water plants", due_at="2027-01-01T09:00:00Z", recurrence={"freq": "weekly"}
    )
    alice_client.patch(f"/api/tasks/{first['id']}/complete")
    create(alice_client, "/api/tasks", title="Other")
    document = alice_client.get("/api/export").json()
    link(document)
    response = bob_client.post("/api/import", document, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert not Task.objects.filter(owner=bob).exists()


@pytest.mark.parametrize(
    "anchor",
    [
        "9999-06-01T09:00:00+01:00",  # years after the due date: completing jumped the series there
        "2031-01-01T09:00:00Z",
        "2027-01-01T09:00:01Z",  # a second later
        "2026-12-31T09:00:00-09:00",  # before it, at another time of day (18:00 UTC)
    ],
)
def test_an_imported_series_anchored_after_its_due_date_or_at_another_hour_is_a_400(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient, anchor: str
) -> None:
    create(alice_client, "/api/tasks", title="Standup", due_at="2027-01-01T09:00:00Z", recurrence={"freq": "daily"})
    document = alice_client.get("/api/export").json()
    document["tasks"][0]["recurrence"]["anchor"] = anchor
    response = bob_client.post("/api/import", document, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {
        "tasks": {"0": {"recurrence": {"anchor": ["Not after due_at, and at due_at's time of day in its offset."]}}}
    }
    assert not Task.objects.filter(owner=bob).exists()


@pytest.mark.parametrize(
    "steps",
    [
        [{"due_at": "2027-01-31T09:00:00+02:00", "recurrence": {"freq": "monthly"}}, "complete", "complete"],
        [{"due_at": "2027-01-04T08:30:00-05:00", "recurrence": {"freq": "daily", "basis": "completion"}}, "complete"],
        [{"due_at": "2027-01-04T08:30:00Z", "recurrence": {"freq": "weekly", "byweekday": ["MO", "TH"]}}, "complete"],
        # the rule changed without the due date: the series keeps its anchor, before the current due date
        [{"due_at": "2027-01-01T07:00:00Z", "recurrence": {"freq": "daily"}}, "complete", {"interval": 3}],
    ],
)
def test_a_series_the_api_made_is_imported_as_it_was_exported(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient, steps: list[Any]
) -> None:
    task = create(alice_client, "/api/tasks", title="Series", **steps[0])
    for step in steps[1:]:
        if step == "complete":
            task = alice_client.patch(f"/api/tasks/{task['id']}/complete").json()["next"]
        else:
            task = alice_client.patch(f"/api/tasks/{task['id']}", step, format="json").json()
    document = alice_client.get("/api/export").json()
    assert bob_client.post("/api/import", document, format="json").status_code == 201
    imported = bob_client.get("/api/export").json()
    assert [item["recurrence"] for item in imported["tasks"]] == [item["recurrence"] for item in document["tasks"]]
