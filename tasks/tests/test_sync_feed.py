"""GET /api/sync: every change since an opaque token, in commit order, deletions included, for one user only."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import SyncState, Task, TaskTombstone
from tasks.sync import TOKEN_SALT


def sync(client: APIClient, token: str | None = None, **params: Any) -> dict[str, Any]:
    query = {**params, **({"token": token} if token is not None else {})}
    response = client.get("/api/sync", query)
    assert response.status_code == 200, response.content[:300]
    return response.json()


def drain(client: APIClient, token: str | None = None, limit: int = 100) -> tuple[list[dict[str, Any]], str]:
    """Every page until `more` is false: all the changes, and the token for next time."""
    changes: list[dict[str, Any]] = []
    while True:
        page = sync(client, token, limit=limit)
        changes += page["changes"]
        token = page["next_token"]
        if not page["more"]:
            return changes, token


def summary(changes: list[dict[str, Any]]) -> list[tuple[str, int, str | None]]:
    return [
        (
            change["type"],
            change["task"]["id"] if change["type"] == "task" else change["id"],
            change.get("task", {}).get("title"),
        )
        for change in changes
    ]


def create(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/tasks", {"title": "t", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_first_sync_sends_every_task_and_a_token_after_which_nothing_is_new(
    alice: User, alice_client: APIClient
) -> None:
    first, second = create(alice_client, title="one"), create(alice_client, title="two")
    page = sync(alice_client)
    assert summary(page["changes"]) == [("task", first["id"], "one"), ("task", second["id"], "two")]
    assert page["changes"][0]["task"] == alice_client.get(f"/api/tasks/{first['id']}").json()
    assert page["more"] is False
    again = sync(alice_client, page["next_token"])
    assert again == {"changes": [], "next_token": page["next_token"], "more": False}


def test_every_kind_of_change_arrives_in_the_order_it_was_made(alice: User, alice_client: APIClient) -> None:
    kept = create(alice_client, title="kept")
    doomed = create(alice_client, title="doomed")
    daily = create(alice_client, title="daily", due_at="2027-01-01T09:00:00Z", recurrence={"freq": "daily"})
    token = sync(alice_client)["next_token"]

    alice_client.patch(f"/api/tasks/{kept['id']}", {"title": "kept, renamed"}, format="json")
    alice_client.patch(f"/api/tasks/{kept['id']}", {"tags": ["Home"]}, format="json")
    following = alice_client.patch(f"/api/tasks/{daily['id']}/complete").json()["next"]
    alice_client.delete(f"/api/tasks/{doomed['id']}")
    alice_client.patch(f"/api/tasks/{following['id']}/complete")  # completes the next one, creating a third
    alice_client.patch(f"/api/tasks/{following['id']}/complete")  # and reopens it

    changes, _ = drain(alice_client, token)
    third = Task.objects.filter(owner=alice).order_by("-id").first()
    assert summary(changes) == [
        ("task", kept["id"], "kept, renamed"),
        ("task", daily["id"], "daily"),
        ("task_deleted", doomed["id"], None),
        ("task", third.pk, "daily"),
        ("task", following["id"], "daily"),
    ]
    assert changes[0]["task"]["tags"] == ["Home"]  # a task appears once, as it is now
    assert changes[1]["task"]["completed"] is True
    assert changes[-1]["task"]["completed"] is False
    assert set(changes[2]) == {"type", "id", "deleted_at"}


def test_pages_are_bounded_and_together_hold_every_change_once(alice: User, alice_client: APIClient) -> None:
    ids = [create(alice_client, title=f"t{n}")["id"] for n in range(7)]
    first = sync(alice_client, limit=3)
    assert (len(first["changes"]), first["more"]) == (3, True)
    changes, token = drain(alice_client, first["next_token"], limit=3)
    assert [c["task"]["id"] for c in first["changes"] + changes] == ids
    assert sync(alice_client, token)["changes"] == []


def test_a_client_never_sees_another_users_changes(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    token = sync(alice_client)["next_token"]
    bobs = create(bob_client, title="bob's")
    bob_client.delete(f"/api/tasks/{bobs['id']}")
    create(bob_client, title="bob's second")
    assert sync(alice_client, token)["changes"] == []
    assert sync(alice_client)["changes"] == []


def test_another_users_token_is_refused_and_shows_nothing(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    create(bob_client, title="bob's")
    bobs_token = sync(bob_client)["next_token"]
    response = alice_client.get("/api/sync", {"token": bobs_token})
    assert response.status_code == 400
    assert response.json()["code"] == "sync_token_invalid"
    assert "bob" not in response.content.decode()


@pytest.mark.parametrize("token", ["", "garbage", "a" * 5000, "W1sxLDBd:forged"])
def test_a_malformed_or_tampered_token_is_a_400(token: str, alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/sync", {"token": token})
    assert response.status_code == 400
    assert response.json()["code"] in {"sync_token_invalid", "invalid"}


def test_a_token_signed_with_another_key_is_refused(alice: User, alice_client: APIClient) -> None:
    forged = signing.dumps([alice.pk, 0], key="not-the-servers-key", salt=TOKEN_SALT)
    assert alice_client.get("/api/sync", {"token": forged}).json()["code"] == "sync_token_invalid"


def test_a_token_older_than_the_tombstones_kept_is_a_410(alice: User, alice_client: APIClient) -> None:
    doomed = create(alice_client)
    token = sync(alice_client)["next_token"]
    alice_client.delete(f"/api/tasks/{doomed['id']}")
    TaskTombstone.objects.update(deleted_at=timezone.now() - timedelta(days=31))
    call_command("purge_expired", stdout=StringIO())
    response = alice_client.get("/api/sync", {"token": token})
    assert response.status_code == 410
    assert response.json()["code"] == "sync_token_expired"
    assert "list everything" in response.json()["detail"]
    fresh = sync(alice_client)
    assert fresh["changes"] == []
    assert sync(alice_client, fresh["next_token"])["changes"] == []


def test_a_token_from_ahead_of_the_counter_is_a_410(alice: User, alice_client: APIClient) -> None:
    create(alice_client)
    token = sync(alice_client)["next_token"]
    SyncState.objects.filter(owner=alice).update(seq=0)  # as after restoring an older backup
    assert alice_client.get("/api/sync", {"token": token}).status_code == 410


def test_the_idle_poll_costs_one_query(alice: User, alice_client: APIClient, django_assert_num_queries: Any) -> None:
    create(alice_client)
    token = sync(alice_client)["next_token"]
    with django_assert_num_queries(1):
        assert sync(alice_client, token)["changes"] == []


def test_a_page_of_changes_costs_three_queries_however_long(
    alice: User, alice_client: APIClient, django_assert_num_queries: Any
) -> None:
    token = sync(alice_client)["next_token"]
    for n in range(30):
        create(alice_client, title=f"t{n}", tags=["a", "b"])
    with django_assert_num_queries(3):  # the counter, the changes, the tasks
        assert len(sync(alice_client, token)["changes"]) == 30


def test_the_path_style_feed_is_mine_only(alice: User, bob: User, alice_client: APIClient) -> None:
    create(alice_client, title="mine")
    assert alice_client.get(f"/api/{alice.better_auth_id}/sync").json()["changes"][0]["task"]["title"] == "mine"
    assert alice_client.get(f"/api/{bob.better_auth_id}/sync").status_code == 403


def test_unknown_sync_parameters_are_refused(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/sync", {"since": "yesterday"})
    assert (response.status_code, response.json()["code"]) == (400, "unknown_parameter")


@pytest.mark.parametrize("limit", ["0", "501", "x"])
def test_a_limit_out_of_bounds_is_a_400(limit: str, alice: User, alice_client: APIClient) -> None:
    assert alice_client.get("/api/sync", {"limit": limit}).status_code == 400


def test_a_task_an_admin_gives_to_another_user_leaves_one_feed_and_enters_the_other(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    moved = create(alice_client, title="moved")
    alices, bobs = sync(alice_client)["next_token"], sync(bob_client)["next_token"]
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("staff", email="staff@example.com", password="pw"))
    task = Task.objects.get(pk=moved["id"])
    form = {
        "owner": bob.pk,
        "title": "moved",
        "description": "",
        "priority": task.priority,
        "due_at_0": "",
        "due_at_1": "",
        "remind_at_0": "",
        "remind_at_1": "",
    }
    response = staff.post(f"/admin/tasks/task/{task.pk}/change/", form)
    assert response.status_code == 302, response.content[:500]
    assert summary(sync(alice_client, alices)["changes"]) == [("task_deleted", moved["id"], None)]
    assert summary(sync(bob_client, bobs)["changes"]) == [("task", moved["id"], "moved")]


def test_a_token_signed_before_a_secret_key_rotation_works_until_the_old_key_is_pruned(
    alice: User, alice_client: APIClient, settings: Any
) -> None:
    create(alice_client)
    token = sync(alice_client)["next_token"]
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-secret-key-" + "x" * 40, [old]
    assert sync(alice_client, token)["changes"] == []
    settings.SECRET_KEY_FALLBACKS = []
    assert alice_client.get("/api/sync", {"token": token}).json()["code"] == "sync_token_invalid"
