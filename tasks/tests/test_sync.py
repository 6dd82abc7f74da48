"""updated_since: what changed since then, deletions included as tombstones, for offline clients."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import IdempotencyRecord, Task, TaskTombstone
from tasks.tests.factories import TaskFactory


def since(moment: Any) -> dict[str, str]:
    return {"updated_since": moment.isoformat()}


def test_changes_and_deletions_since_a_moment_oldest_first(alice: User, alice_client: APIClient) -> None:
    unchanged = TaskFactory(owner=alice, title="unchanged")
    Task.objects.filter(pk=unchanged.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    mark = timezone.now()
    edited = TaskFactory(owner=alice, title="edited")
    doomed = TaskFactory(owner=alice, title="doomed")
    alice_client.delete(f"/api/tasks/{doomed.pk}")
    alice_client.patch(f"/api/tasks/{edited.pk}", {"title": "edited again"}, format="json")

    body = alice_client.get("/api/tasks", since(mark)).json()
    assert [(item["id"], item.get("deleted", False)) for item in body] == [(doomed.pk, True), (edited.pk, False)]
    assert body[0] == {"id": doomed.pk, "deleted": True, "updated_at": body[0]["updated_at"]}
    assert body[1]["title"] == "edited again"


def test_other_users_changes_and_deletions_are_not_synced(
    alice: User, bob: User, alice_client: APIClient, bob_client: APIClient
) -> None:
    mark = timezone.now()
    bobs = TaskFactory(owner=bob)
    bob_client.delete(f"/api/tasks/{bobs.pk}")
    TaskFactory(owner=bob, title="bob's new")
    assert alice_client.get("/api/tasks", since(mark)).json() == []
    assert TaskTombstone.objects.filter(owner=bob).count() == 1


def test_sync_pages_follow_link_headers(alice: User, alice_client: APIClient) -> None:
    mark = timezone.now()
    tasks = TaskFactory.create_batch(5, owner=alice)
    for task in tasks[:2]:
        alice_client.delete(f"/api/tasks/{task.pk}")
    first = alice_client.get("/api/tasks", {**since(mark), "limit": 4})
    assert len(first.json()) == 4
    assert 'rel="next"' in first["Link"]
    second = alice_client.get("/api/tasks", {**since(mark), "limit": 4, "offset": 4})
    ids = [item["id"] for item in first.json() + second.json()]
    assert sorted(ids) == sorted(task.pk for task in tasks)


def test_sync_with_another_sort_is_400(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/tasks", {**since(timezone.now()), "sort": "title"})
    assert response.status_code == 400
    assert "sort" in response.json()["errors"]


def test_sync_from_before_the_tombstone_window_is_410(alice: User, alice_client: APIClient, settings: Any) -> None:
    settings.TASK_TOMBSTONE_RETENTION_DAYS = 30
    response = alice_client.get("/api/tasks", since(timezone.now() - timedelta(days=31)))
    assert response.status_code == 410
    assert response.json()["code"] == "sync_window_expired"


def test_naive_updated_since_is_400(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/tasks", {"updated_since": "2027-01-01T00:00:00"})
    assert response.status_code == 400
    assert "updated_since" in response.json()["errors"]


def test_purge_expired_forgets_old_tombstones_and_idempotency_keys(alice: User, settings: Any) -> None:
    settings.TASK_TOMBSTONE_RETENTION_DAYS = 30
    now = timezone.now()
    TaskTombstone.objects.create(owner=alice, task_id=1, deleted_at=now - timedelta(days=31))
    TaskTombstone.objects.create(owner=alice, task_id=2, deleted_at=now - timedelta(days=29))
    for key, age in (("old", 25), ("fresh", 1)):
        IdempotencyRecord.objects.create(
            owner=alice,
            key=key,
            scope="create",
            fingerprint="f",
            status_code=201,
            body={},
            created_at=now - timedelta(hours=age),
        )
    out = StringIO()
    call_command("purge_expired", stdout=out)
    assert "Purged 1 tombstones and 1 idempotency records." in out.getvalue()
    assert list(TaskTombstone.objects.values_list("task_id", flat=True)) == [2]
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.parametrize("path", ["/api/tags", "/api/tags/"])
def test_tags_lists_my_tags_with_counts(path: str, alice: User, bob: User, alice_client: APIClient) -> None:
    from tasks.services import task_create

    task_create(owner=alice, data={"title": "a", "tags": ["Work", "home"]})
    task_create(owner=alice, data={"title": "b", "tags": ["work"]})
    task_create(owner=bob, data={"title": "c", "tags": ["work", "secret"]})
    response = alice_client.get(path)
    assert response.status_code == 200
    assert response.json() == [{"name": "Work", "count": 2}, {"name": "home", "count": 1}]


def test_tags_needs_a_token(db: Any, api_client: APIClient) -> None:
    assert api_client.get("/api/tags").status_code == 401
