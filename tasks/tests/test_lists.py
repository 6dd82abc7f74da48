"""Lists: /api/lists (and /api/{user_id}/lists), a task's `list_id`, `?list=`, deleting a list, the sync feed."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import ListTombstone, Task, TaskList, TaskTombstone
from tasks.order_keys import key_after


def create_list(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/lists", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def create_task(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/tasks", {"title": "a task", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def errors(response: Any) -> dict[str, Any]:
    """A 400's `errors`: the messages by field."""
    assert response.status_code == 400, response.content
    return response.json()["errors"]


# --- Creating and reading ---


def test_a_created_list_is_stored_with_its_etag_and_comes_after_the_others(
    alice: User, alice_client: APIClient
) -> None:
    first = create_list(alice_client, name="Work", color="#FFAA00")
    second = create_list(alice_client, name="Home")
    assert first["color"] == "#ffaa00"
    assert second["color"] is None
    assert first["user_id"] == alice.better_auth_id
    assert first["task_count"] == first["open_count"] == 0
    assert first["archived"] is False
    assert first["position"] < second["position"]
    stored = TaskList.objects.get(pk=first["id"])
    assert (stored.owner_id, stored.name, stored.color, stored.position) == (alice.pk, "Work", "#ffaa00", "a0")
    response = alice_client.get(f"/api/lists/{first['id']}")
    assert response.status_code == 200
    assert response["ETag"] == stored.etag
    assert [item["name"] for item in alice_client.get("/api/lists").json()] == ["Work", "Home"]


def test_the_lists_come_in_order_with_their_counts_in_a_fixed_number_of_queries(
    alice: User, alice_client: APIClient
) -> None:
    lists = [create_list(alice_client, name=f"List {n}") for n in range(5)]
    for n, task_list in enumerate(lists):
        for done in range(n):
            task = create_task(alice_client, list_id=task_list["id"])
            if done % 2:
                alice_client.patch(f"/api/tasks/{task['id']}/complete")
    with CaptureQueriesContext(connection) as queries:
        body = alice_client.get("/api/lists").json()
    assert len(queries) == 1
    assert [(item["task_count"], item["open_count"]) for item in body] == [(0, 0), (1, 1), (2, 1), (3, 2), (4, 2)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 5}, "name"),
        ({"name": None}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345g"}, "color"),
        ({"name": "ok", "color": "#1234567"}, "color"),
        ({"name": "ok", "color": 123456}, "color"),
        ({"name": "ok", "archived": "yes"}, "archived"),
        ({"name": "ok", "archived": None}, "archived"),
        ({"name": "ok", "owner": 1}, "owner"),
    ],
)
def test_an_invalid_list_is_a_400_naming_the_field_and_stores_nothing(
    alice: User, alice_client: APIClient, body: dict[str, Any], field: str
) -> None:
    response = alice_client.post("/api/lists", body, format="json")
    assert set(errors(response)) == {field}
    assert not TaskList.objects.exists()


def test_names_are_unique_per_user_whatever_their_case(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    create_list(alice_client, name="Work")
    response = alice_client.post("/api/lists", {"name": "wORK"}, format="json")
    assert errors(response) == {"name": ["You have a list with this name already."]}
    create_list(bob_client, name="work")  # another user's names are theirs
    home = create_list(alice_client, name="Home")
    renamed = alice_client.patch(f"/api/lists/{home['id']}", {"name": "WORK"}, format="json")
    assert renamed.status_code == 400
    assert TaskList.objects.get(pk=home["id"]).name == "Home"
    assert alice_client.patch(f"/api/lists/{home['id']}", {"name": "HOME"}, format="json").status_code == 200


def test_a_create_retried_with_its_idempotency_key_makes_one_list(alice: User, alice_client: APIClient) -> None:
    first = alice_client.post("/api/lists", {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = alice_client.post("/api/lists", {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    assert TaskList.objects.filter(owner=alice).count() == 1


# --- Changing ---


def test_a_patch_changes_only_what_it_sends_and_a_put_keeps_what_it_leaves_out(
    alice: User, alice_client: APIClient
) -> None:
    task_list = create_list(alice_client, name="Work", color="#000000")
    patched = alice_client.patch(f"/api/lists/{task_list['id']}", {"archived": True}, format="json").json()
    assert (patched["name"], patched["color"], patched["archived"]) == ("Work", "#000000", True)
    put = alice_client.put(f"/api/lists/{task_list['id']}", {"name": "Job"}, format="json").json()
    assert (put["name"], put["color"], put["archived"]) == ("Job", "#000000", True)
    cleared = alice_client.patch(f"/api/lists/{task_list['id']}", {"color": None}, format="json").json()
    assert cleared["color"] is None
    stored = TaskList.objects.get(pk=task_list["id"])
    assert (stored.name, stored.color, stored.archived, stored.version) == ("Job", "", True, 4)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("patch", "", {"name": "Renamed"}), ("post", "/move", {"after": None}), ("delete", "?tasks=delete", None)],
)
def test_a_list_write_whose_if_none_match_names_the_list_is_412_and_changes_nothing(
    method: str, suffix: str, body: dict | None, alice: User, alice_client: APIClient
) -> None:
    task_list = create_list(alice_client, name="Work")
    url = f"/api/lists/{task_list['id']}"
    etag = alice_client.get(url)["ETag"]
    before = TaskList.objects.values().get(pk=task_list["id"])
    for given in ("*", etag):
        response = getattr(alice_client, method)(url + suffix, body, format="json", HTTP_IF_NONE_MATCH=given)
        assert (response.status_code, response.json()["code"]) == (412, "precondition_failed")
    assert TaskList.objects.values().get(pk=task_list["id"]) == before
    through = getattr(alice_client, method)(url + suffix, body, format="json", HTTP_IF_NONE_MATCH='"0-0-0"')
    assert through.status_code in (200, 204)


def test_if_match_guards_a_list_and_if_none_match_saves_a_read(alice: User, alice_client: APIClient) -> None:
    task_list = create_list(alice_client, name="Work")
    etag = alice_client.get(f"/api/lists/{task_list['id']}")["ETag"]
    assert alice_client.get(f"/api/lists/{task_list['id']}", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert alice_client.patch(f"/api/lists/{task_list['id']}", {"name": "A"}, format="json").status_code == 200
    stale = alice_client.patch(f"/api/lists/{task_list['id']}", {"name": "B"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    assert TaskList.objects.get(pk=task_list["id"]).name == "A"
    assert alice_client.delete(f"/api/lists/{task_list['id']}", HTTP_IF_MATCH=etag).status_code == 412
    assert TaskList.objects.filter(pk=task_list["id"]).exists()


def test_archived_filters_the_lists(alice: User, alice_client: APIClient) -> None:
    create_list(alice_client, name="Open")
    old = create_list(alice_client, name="Old")
    alice_client.patch(f"/api/lists/{old['id']}", {"archived": True}, format="json")
    assert [item["name"] for item in alice_client.get("/api/lists?archived=true").json()] == ["Old"]
    assert [item["name"] for item in alice_client.get("/api/lists?archived=false").json()] == ["Open"]
    assert len(alice_client.get("/api/lists").json()) == 2
    assert alice_client.get("/api/lists?archived=yes").status_code == 400
    assert alice_client.get("/api/lists?sort=name").status_code == 400


# --- Another user's lists ---


def test_another_users_list_is_a_404_for_every_method_and_stays_as_it_was(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    theirs = create_list(alice_client, name="Alice's")
    create_task(alice_client, list_id=theirs["id"])
    url = f"/api/lists/{theirs['id']}"
    assert bob_client.get(url).status_code == 404
    assert bob_client.patch(url, {"name": "mine"}, format="json").status_code == 404
    assert bob_client.put(url, {"name": "mine"}, format="json").status_code == 404
    assert bob_client.delete(url + "?tasks=delete").status_code == 404
    assert bob_client.get("/api/lists").json() == []
    stored = TaskList.objects.get(pk=theirs["id"])
    assert (stored.name, stored.version) == ("Alice's", 1)
    assert Task.objects.filter(task_list=stored).count() == 1


def test_a_task_cannot_go_into_another_users_list_and_the_answer_does_not_tell_it_exists(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    theirs = create_list(bob_client, name="Bob's")
    missing = theirs["id"] + 1000
    into_theirs = alice_client.post("/api/tasks", {"title": "t", "list_id": theirs["id"]}, format="json")
    into_nothing = alice_client.post("/api/tasks", {"title": "t", "list_id": missing}, format="json")
    assert into_theirs.json() == into_nothing.json()
    assert errors(into_theirs) == {"list_id": ["No such list."]}
    task = create_task(alice_client)
    moved = alice_client.patch(f"/api/tasks/{task['id']}", {"list_id": theirs["id"]}, format="json")
    assert moved.status_code == 400
    assert not Task.objects.filter(task_list_id=theirs["id"]).exists()


@pytest.mark.parametrize("value", ["1", 1.0, True, 0, -1, 2**63, [1], {"id": 1}])
def test_a_list_id_that_is_not_an_id_is_a_400(alice: User, alice_client: APIClient, value: Any) -> None:
    response = alice_client.post("/api/tasks", {"title": "t", "list_id": value}, format="json")
    assert response.status_code == 400
    assert "list_id" in response.json()["errors"]
    assert not Task.objects.exists()


# --- Tasks in lists ---


def test_a_task_moves_between_lists_and_back_to_the_inbox(alice: User, alice_client: APIClient) -> None:
    work, home = create_list(alice_client, name="Work"), create_list(alice_client, name="Home")
    task = create_task(alice_client, list_id=work["id"])
    assert task["list_id"] == work["id"]
    moved = alice_client.patch(f"/api/tasks/{task['id']}", {"list_id": home["id"]}, format="json").json()
    assert moved["list_id"] == home["id"]
    assert Task.objects.get(pk=task["id"]).task_list_id == home["id"]
    inbox = alice_client.patch(f"/api/tasks/{task['id']}", {"list_id": None}, format="json").json()
    assert inbox["list_id"] is None
    assert Task.objects.get(pk=task["id"]).task_list_id is None
    titled = alice_client.patch(f"/api/tasks/{task['id']}", {"title": "renamed"}, format="json").json()
    assert titled["list_id"] is None  # a PATCH that leaves list_id out leaves the task where it is


def test_the_task_list_filters_by_list_and_inbox(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    work = create_list(alice_client, name="Work")
    in_work = create_task(alice_client, title="in work", list_id=work["id"])
    in_inbox = create_task(alice_client, title="in inbox")
    bobs = create_list(bob_client, name="Bob's")
    create_task(bob_client, list_id=bobs["id"])
    assert [t["id"] for t in alice_client.get(f"/api/tasks?list={work['id']}").json()] == [in_work["id"]]
    assert [t["id"] for t in alice_client.get("/api/tasks?list=inbox").json()] == [in_inbox["id"]]
    assert alice_client.get(f"/api/tasks?list={bobs['id']}").json() == []
    for bad in ["abc", "", "1.5", "9" * 19]:
        response = alice_client.get(f"/api/tasks?list={bad}")
        assert response.status_code == 400, bad
        assert "list" in response.json()["errors"]


# --- Deleting a list ---


def test_a_list_with_tasks_is_not_deleted_without_saying_what_becomes_of_them(
    alice: User, alice_client: APIClient
) -> None:
    work = create_list(alice_client, name="Work")
    create_task(alice_client, list_id=work["id"])
    response = alice_client.delete(f"/api/lists/{work['id']}")
    assert response.status_code == 409
    assert response.json()["code"] == "list_not_empty"
    assert TaskList.objects.filter(pk=work["id"]).exists()
    assert Task.objects.filter(task_list_id=work["id"]).count() == 1
    assert not ListTombstone.objects.exists()
    bogus = alice_client.delete(f"/api/lists/{work['id']}?tasks=keep")
    assert bogus.status_code == 400
    assert TaskList.objects.filter(pk=work["id"]).exists()


def test_deleting_a_list_can_move_its_tasks_to_the_inbox(alice: User, alice_client: APIClient) -> None:
    work = create_list(alice_client, name="Work")
    tasks = [create_task(alice_client, list_id=work["id"]) for _ in range(3)]
    assert alice_client.delete(f"/api/lists/{work['id']}?tasks=move_to_inbox").status_code == 204
    assert not TaskList.objects.filter(pk=work["id"]).exists()
    moved = Task.objects.filter(pk__in=[t["id"] for t in tasks])
    assert [(t.task_list_id, t.version) for t in moved] == [(None, 2)] * 3
    assert ListTombstone.objects.get(list_id=work["id"]).owner_id == alice.pk
    assert alice_client.get(f"/api/lists/{work['id']}").status_code == 404


def test_deleting_a_list_can_delete_its_tasks_leaving_tombstones(alice: User, alice_client: APIClient) -> None:
    work = create_list(alice_client, name="Work")
    tasks = [create_task(alice_client, list_id=work["id"], tags=["x"]) for _ in range(2)]
    kept = create_task(alice_client)
    assert alice_client.delete(f"/api/lists/{work['id']}?tasks=delete").status_code == 204
    assert list(Task.objects.values_list("id", flat=True)) == [kept["id"]]
    assert set(TaskTombstone.objects.values_list("task_id", flat=True)) == {t["id"] for t in tasks}
    assert ListTombstone.objects.filter(list_id=work["id"]).exists()


def test_an_empty_list_is_deleted_without_a_parameter(alice: User, alice_client: APIClient) -> None:
    work = create_list(alice_client, name="Work")
    assert alice_client.delete(f"/api/lists/{work['id']}").status_code == 204
    assert not TaskList.objects.exists()


# --- The sync feed ---


def test_the_sync_feed_carries_lists_their_moves_and_deletions_in_order(alice: User, alice_client: APIClient) -> None:
    token = alice_client.get("/api/sync").json()["next_token"]
    work = create_list(alice_client, name="Work")
    task = create_task(alice_client, list_id=work["id"])
    alice_client.delete(f"/api/lists/{work['id']}?tasks=move_to_inbox")
    changes = alice_client.get("/api/sync", {"token": token}).json()["changes"]
    # A task appears once, as it is now: in the inbox, and the list's deletion after it.
    assert [(c["type"], c.get("id") or c.get("task", c.get("list", {})).get("id")) for c in changes] == [
        ("task", task["id"]),
        ("list_deleted", work["id"]),
    ]
    assert changes[0]["task"]["list_id"] is None
    first_sync = alice_client.get("/api/sync").json()["changes"]
    assert [c["type"] for c in first_sync] == ["task"]
    home = create_list(alice_client, name="Home")
    feed = alice_client.get("/api/sync").json()["changes"]
    assert {"type": "list", "list": {key: home[key] for key in feed[-1]["list"]}} == feed[-1]
    assert "task_count" not in feed[-1]["list"]


def test_another_users_lists_never_appear_in_the_feed(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    create_list(bob_client, name="Bob's")
    alice_client.get("/api/sync")
    assert alice_client.get("/api/sync").json()["changes"] == []


# --- The path-style twin ---


def test_the_path_style_lists_are_the_same_and_refuse_another_users_id(
    alice: User, bob: User, alice_client: APIClient
) -> None:
    created = alice_client.post(f"/api/{alice.better_auth_id}/lists", {"name": "Work"}, format="json")
    assert created.status_code == 201
    listed = alice_client.get(f"/api/{alice.better_auth_id}/lists").json()
    assert [item["id"] for item in listed] == [created.json()["id"]]
    assert alice_client.get(f"/api/{bob.better_auth_id}/lists").status_code == 403
    assert alice_client.post(f"/api/{bob.better_auth_id}/lists", {"name": "x"}, format="json").status_code == 403
    assert TaskList.objects.filter(owner=alice).count() == 1


# --- Order keys ---


def test_order_keys_sort_in_the_database_as_they_compare_in_python(alice: User) -> None:
    keys, last = [], None
    for _ in range(200):  # past "Zz", where a case-insensitive collation would put "a0" first
        last = key_after(last)
        keys.append(last)
    mixed = ["Zz", "a0", "a1", "b00", "Zy"]
    rows = [TaskList(owner=alice, name=f"l{n}", name_key=f"l{n}", position=key) for n, key in enumerate(mixed)]
    TaskList.objects.bulk_create(rows)
    assert list(TaskList.objects.filter(owner=alice).values_list("position", flat=True)) == sorted(mixed)
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


# --- Concurrency (PostgreSQL) ---


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_name_make_one_list_and_distinct_positions(alice: User, client_for: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent transactions; SQLite serialises writers on one file")
    from conftest import run_concurrently

    def create(name: str) -> int:
        return client_for(alice).post("/api/lists", {"name": name}, format="json").status_code

    assert sorted(run_concurrently(lambda: create("Same"), 6)) == [201] + [400] * 5
    names = iter(range(6))
    assert run_concurrently(lambda: create(f"List {next(names)}"), 6) == [201] * 6
    positions = list(TaskList.objects.filter(owner=alice).values_list("position", flat=True))
    assert len(set(positions)) == len(positions) == 7


@pytest.mark.django_db(transaction=True)
def test_a_task_written_into_a_list_deleted_meanwhile_never_lands_in_it(alice: User, client_for: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent transactions; SQLite serialises writers on one file")
    from conftest import run_concurrently

    for round_ in range(5):
        target = create_list(client_for(alice), name=f"Doomed {round_}")
        actions = iter(["delete", "create", "create", "create"])

        def act(target: dict[str, Any] = target, actions: Any = actions) -> int:
            client = client_for(alice)
            if next(actions) == "delete":
                return client.delete(f"/api/lists/{target['id']}?tasks=move_to_inbox").status_code
            body = {"title": f"racing {target['id']}", "list_id": target["id"]}
            return client.post("/api/tasks", body, format="json").status_code

        statuses = run_concurrently(act, 4)
        assert set(statuses) <= {201, 204, 400, 409}, statuses
        assert 204 in statuses
        assert not TaskList.objects.filter(pk=target["id"]).exists()
        assert not Task.objects.filter(task_list_id=target["id"]).exists()
        assert Task.objects.filter(title=f"racing {target['id']}").count() == statuses.count(201)


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_a_list_create_all_get_the_first_response(alice: User, client_for: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent transactions; SQLite serialises writers on one file")
    from conftest import run_concurrently

    def create() -> tuple[int, int]:
        response = client_for(alice).post("/api/lists", {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
        return response.status_code, response.json().get("id", 0)

    results = run_concurrently(create, 8)
    assert {status for status, _ in results} == {201}
    assert len({pk for _, pk in results}) == 1
    assert TaskList.objects.filter(owner=alice).count() == 1


def test_a_lists_etag_changes_with_its_tasks_so_a_stale_delete_is_refused(alice: User, alice_client: APIClient) -> None:
    task_list = create_list(alice_client, name="Shared")
    url = f"/api/lists/{task_list['id']}"
    seen = [alice_client.get(url)["ETag"]]
    task = create_task(alice_client, list_id=task_list["id"])  # another device adds a task
    seen.append(alice_client.get(url)["ETag"])
    alice_client.patch(f"/api/tasks/{task['id']}", {"title": "edited"}, format="json")
    seen.append(alice_client.get(url)["ETag"])
    alice_client.patch(f"/api/tasks/{task['id']}/complete")
    seen.append(alice_client.get(url)["ETag"])
    assert len(set(seen)) == len(seen)
    assert alice_client.get(url, HTTP_IF_NONE_MATCH=seen[0]).status_code == 200
    assert alice_client.get(url, HTTP_IF_NONE_MATCH=seen[-1]).status_code == 304
    stale = alice_client.delete(url + "?tasks=delete", HTTP_IF_MATCH=seen[0])
    assert stale.status_code == 412
    assert Task.objects.filter(pk=task["id"]).exists()
    assert alice_client.delete(url + "?tasks=delete", HTTP_IF_MATCH=seen[-1]).status_code == 204
    assert not Task.objects.filter(pk=task["id"]).exists()
    # The ETag of a write's response is the one a read gives.
    other = create_list(alice_client, name="Other")
    patched = alice_client.patch(f"/api/lists/{other['id']}", {"color": "#000000"}, format="json")
    assert patched["ETag"] == alice_client.get(f"/api/lists/{other['id']}")["ETag"]


@pytest.mark.parametrize(
    ("first", "second"),
    [("Straße", "STRASSE"), ("ΣΊΣΥΦΟΣ", "σίσυφος"), ("\u00e9t\u00e9", "e\u0301te\u0301"), ("ﬁle", "File")],
)
def test_names_that_differ_only_in_case_or_unicode_form_are_one_name(
    alice: User, alice_client: APIClient, first: str, second: str
) -> None:
    created = create_list(alice_client, name=first)
    response = alice_client.post("/api/lists", {"name": second}, format="json")
    assert errors(response) == {"name": ["You have a list with this name already."]}
    assert TaskList.objects.filter(owner=alice).count() == 1
    assert TaskList.objects.get(pk=created["id"]).name == unicodedata.normalize("NFC", first)


@pytest.mark.parametrize("name", ["\u200b", "\ufeff", "\u0301", " \u200b\u200d ", "\u2028"])
def test_a_name_that_shows_nothing_is_refused(alice: User, alice_client: APIClient, name: str) -> None:
    response = alice_client.post("/api/lists", {"name": name}, format="json")
    assert set(errors(response)) == {"name"}
    assert not TaskList.objects.exists()


def test_a_name_that_composing_lengthens_past_the_limit_is_refused(alice: User, alice_client: APIClient) -> None:
    # U+0958 is decomposed by NFC into two characters (a composition exclusion): 100 of them make 200.
    response = alice_client.post("/api/lists", {"name": "\u0958" * 100}, format="json")
    assert set(errors(response)) == {"name"}
    assert create_list(alice_client, name="\ufdfa" * 100)["name"] == "\ufdfa" * 100  # NFKC makes it 1 800 long


@pytest.mark.parametrize("variant", ["Work\u200b", "W\u00adork", "\ufeffWork", "Wo\u200drk"])
def test_names_that_differ_only_by_invisible_characters_are_one_name(
    alice: User, alice_client: APIClient, variant: str
) -> None:
    create_list(alice_client, name="Work")
    response = alice_client.post("/api/lists", {"name": variant}, format="json")
    assert errors(response) == {"name": ["You have a list with this name already."]}


# --- Large lists: a statement has at most 65 535 parameters on PostgreSQL ---

LARGE_LIST = 9000  # its tasks' events alone are 72 000 parameters in one INSERT


def fill_list(owner: User, task_list_id: int, count: int) -> list[int]:
    Task.objects.bulk_create(
        [Task(owner=owner, task_list_id=task_list_id, title=f"t{n}", position=f"a{n:05d}") for n in range(count)],
        batch_size=2000,
    )
    return list(Task.objects.filter(task_list_id=task_list_id).order_by("id").values_list("id", flat=True))


@pytest.mark.parametrize("what", ["move_to_inbox", "delete"])
def test_a_list_of_thousands_of_tasks_is_deleted_with_one_change_and_one_event_per_task(
    alice: User, alice_client: APIClient, what: str
) -> None:
    from events.models import Event

    work = create_list(alice_client, name="Work")
    ids = fill_list(alice, work["id"], LARGE_LIST)
    before = Event.objects.count()
    response = alice_client.delete(f"/api/lists/{work['id']}?tasks={what}")
    assert response.status_code == 204, response.content
    assert not TaskList.objects.filter(pk=work["id"]).exists()
    if what == "delete":
        assert not Task.objects.filter(pk__in=ids).exists()
        numbers = list(TaskTombstone.objects.filter(task_id__in=ids).values_list("change_seq", flat=True))
    else:
        assert set(Task.objects.filter(pk__in=ids).values_list("task_list_id", "version")) == {(None, 2)}
        numbers = list(Task.objects.filter(pk__in=ids).values_list("change_seq", flat=True))
    assert len(set(numbers)) == LARGE_LIST  # a change number each, none shared
    assert Event.objects.count() - before == LARGE_LIST + 1  # one per task, one for the list


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("get", "", None), ("patch", "", {"name": "Mine"}), ("post", "/move", {"after": None}), ("delete", "", None)],
)
@pytest.mark.parametrize("header", ["HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH"])
def test_another_users_conditional_request_on_a_list_is_404_and_changes_nothing(
    method: str,
    suffix: str,
    body: dict | None,
    header: str,
    alice: User,
    alice_client: APIClient,
    bob_client: APIClient,
) -> None:
    task_list = create_list(alice_client, name="Work")
    url = f"/api/lists/{task_list['id']}"
    before = TaskList.objects.values().get(pk=task_list["id"])
    for given in ("*", alice_client.get(url)["ETag"]):
        response = getattr(bob_client, method)(url + suffix, body, format="json", **{header: given})
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert TaskList.objects.values().get(pk=task_list["id"]) == before
