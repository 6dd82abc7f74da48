"""Idempotency-Key: retries replay the first response; a reused key with another body is a 422."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from authn.models import User
from conftest import run_concurrently
from tasks.idempotency import KEY_FORMAT
from tasks.models import IdempotencyRecord, Task
from tasks.tests.factories import TaskFactory
from tasks.views import IDEMPOTENCY_KEY


def post(client: APIClient, body: dict[str, Any], key: str = "key-0001") -> Any:
    return client.post("/api/tasks", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_retry_with_the_same_key_and_body_returns_the_first_response(alice: User, alice_client: APIClient) -> None:
    first = post(alice_client, {"title": "Once"})
    retry = post(alice_client, {"title": "Once"})
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["ETag"] == first["ETag"]
    assert retry["Idempotent-Replayed"] == "true"
    assert Task.objects.count() == 1


def test_same_key_with_another_body_is_422_and_creates_nothing(alice: User, alice_client: APIClient) -> None:
    post(alice_client, {"title": "Once"})
    response = post(alice_client, {"title": "Twice"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert list(Task.objects.values_list("title", flat=True)) == ["Once"]


def test_keys_are_per_user(alice: User, bob: User, alice_client: APIClient, bob_client: APIClient) -> None:
    post(alice_client, {"title": "Same"})
    response = post(bob_client, {"title": "Same"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Task.objects.filter(owner=bob).count() == 1


def test_keys_expire_after_24_hours(alice: User, alice_client: APIClient) -> None:
    post(alice_client, {"title": "Old"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    response = post(alice_client, {"title": "Old"})
    assert "Idempotent-Replayed" not in response
    assert Task.objects.count() == 2


def test_failed_requests_are_not_remembered(alice: User, alice_client: APIClient) -> None:
    assert post(alice_client, {"title": ""}).status_code == 400
    assert post(alice_client, {"title": "Fixed"}).status_code == 201
    assert Task.objects.count() == 1


def test_without_a_key_every_post_creates(alice: User, alice_client: APIClient) -> None:
    alice_client.post("/api/tasks", {"title": "a"}, format="json")
    alice_client.post("/api/tasks", {"title": "a"}, format="json")
    assert Task.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "with space", "é", "k" * 256, "a,b", "a, b"])
def test_malformed_key_is_400(key: str, alice: User, alice_client: APIClient) -> None:
    response = post(alice_client, {"title": "x"}, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Task.objects.exists()


def test_complete_with_a_key_toggles_once(alice: User, alice_client: APIClient) -> None:
    task = TaskFactory(owner=alice)
    for _ in range(3):
        response = alice_client.patch(f"/api/tasks/{task.pk}/complete", HTTP_IDEMPOTENCY_KEY="toggle-1")
        assert response.json()["completed"] is True
    assert Task.objects.get(pk=task.pk).completed is True


def test_same_key_on_another_task_is_422(alice: User, alice_client: APIClient) -> None:
    first, second = TaskFactory(owner=alice), TaskFactory(owner=alice)
    alice_client.patch(f"/api/tasks/{first.pk}/complete", HTTP_IDEMPOTENCY_KEY="toggle-2")
    response = alice_client.patch(f"/api/tasks/{second.pk}/complete", HTTP_IDEMPOTENCY_KEY="toggle-2")
    assert response.status_code == 422
    assert Task.objects.get(pk=second.pk).completed is False


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_one_task(alice: User, client_for: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent transactions; SQLite serialises writers on one file")
    statuses = run_concurrently(lambda: post(client_for(alice), {"title": "Racing"}, key="race-1").status_code, 4)
    assert statuses == [201] * 4
    assert Task.objects.filter(title="Racing").count() == 1


def answer(response: Any) -> Any:
    """The body as JSON (a replay's keys may come back in the database's order), or the empty body of a 204."""
    return response.json() if response.content else response.content


def write(client: APIClient, method: str, path: str, body: Any, key: str) -> Any:
    return getattr(client, method)(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


TASK_WRITES = [
    ("patch", "/api/tasks/{task}", {"title": "Renamed"}),
    ("put", "/api/tasks/{task}", {"title": "Replaced", "description": "whole"}),
    ("post", "/api/tasks/{task}/move", {"after": "{other}"}),
    ("delete", "/api/tasks/{task}", None),
    ("patch", "/api/{user}/tasks/{task}", {"title": "Path-style"}),
    ("post", "/api/{user}/tasks/{task}/move", {"after": "{other}"}),
    ("delete", "/api/{user}/tasks/{task}", None),
]


def filled(value: Any, names: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return names[value[1:-1]] if value.startswith("{") and value.endswith("}") else value.format(**names)
    if isinstance(value, dict):
        return {key: filled(item, names) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), TASK_WRITES)
def test_every_write_of_a_task_with_a_key_runs_once_and_replays_its_answer(
    alice: User, alice_client: APIClient, method: str, path: str, body: Any
) -> None:
    task, other = TaskFactory(owner=alice, title="Task"), TaskFactory(owner=alice, title="Other")
    names = {"task": task.pk, "other": other.pk, "user": alice.better_auth_id}
    path, body = filled(path, names), filled(body, names)
    first = write(alice_client, method, path, body, "w-1")
    state = list(Task.objects.order_by("id").values())
    retry = write(alice_client, method, path, body, "w-1")
    assert first.status_code in (200, 204), first.content
    assert (retry.status_code, retry["Idempotent-Replayed"]) == (first.status_code, "true")
    assert answer(retry) == answer(first)
    assert retry.get("ETag") == first.get("ETag")
    assert list(Task.objects.order_by("id").values()) == state  # the retry changed nothing: no second version
    another = {"after": None} if path.endswith("/move") else {"title": "Another body"} if body else {"x": 1}
    reused = write(alice_client, method, path, another, "w-1")
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert list(Task.objects.order_by("id").values()) == state


LIST_WRITES = [
    ("patch", "/api/lists/{list}", {"name": "Renamed"}),
    ("put", "/api/lists/{list}", {"name": "Replaced"}),
    ("post", "/api/lists/{list}/move", {"after": "{other}"}),
    ("delete", "/api/lists/{list}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), LIST_WRITES)
def test_every_write_of_a_list_with_a_key_runs_once_and_replays_its_answer(
    alice: User, alice_client: APIClient, method: str, path: str, body: Any
) -> None:
    from tasks.models import TaskList

    made = [alice_client.post("/api/lists", {"name": name}, format="json").json() for name in ("One", "Two")]
    path, body = filled(path, {"list": made[0]["id"], "other": made[1]["id"]}), filled(body, {"other": made[1]["id"]})
    first = write(alice_client, method, path, body, "l-1")
    state = list(TaskList.objects.order_by("id").values())
    retry = write(alice_client, method, path, body, "l-1")
    assert first.status_code in (200, 204), first.content
    assert (retry.status_code, retry["Idempotent-Replayed"]) == (first.status_code, "true")
    assert answer(retry) == answer(first)
    assert list(TaskList.objects.order_by("id").values()) == state


def test_a_delete_with_a_key_replays_its_204_after_the_task_is_gone(alice: User, alice_client: APIClient) -> None:
    task = TaskFactory(owner=alice)
    first = alice_client.delete(f"/api/tasks/{task.pk}", HTTP_IDEMPOTENCY_KEY="d-1")
    retry = alice_client.delete(f"/api/tasks/{task.pk}", HTTP_IDEMPOTENCY_KEY="d-1")
    unkeyed = alice_client.delete(f"/api/tasks/{task.pk}")
    assert (first.status_code, retry.status_code, unkeyed.status_code) == (204, 204, 404)
    assert retry.content == b""
    assert IdempotencyRecord.objects.get(key="d-1").body is None


@pytest.mark.parametrize(
    ("method", "path", "valid", "invalid"),
    [
        ("patch", "/api/tasks/{task}/complete", {"completed": True}, {"complete": True}),
        ("post", "/api/tasks/{task}/move", {"after": None}, {"after": "x"}),
        ("post", "/api/lists/{list}/move", {"after": None}, {"bogus": 1}),
        (
            "post",
            "/api/batch",
            {"operations": [{"op": "create", "type": "task", "data": {"title": "B"}}]},
            {"operations": []},
        ),
    ],
)
def test_a_key_reused_with_a_body_that_does_not_even_read_is_a_422_that_changes_nothing(
    alice: User, alice_client: APIClient, method: str, path: str, valid: Any, invalid: Any
) -> None:
    from tasks.models import TaskList

    task = TaskFactory(owner=alice)
    task_list = TaskList.objects.create(owner=alice, name="L", name_key="l", position="a0")
    path = path.format(task=task.pk, list=task_list.pk)
    assert write(alice_client, method, path, valid, "k-1").status_code == 200
    state = (list(Task.objects.order_by("id").values()), list(TaskList.objects.values()))
    reused = write(alice_client, method, path, invalid, "k-1")
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert (list(Task.objects.order_by("id").values()), list(TaskList.objects.values())) == state


def test_a_key_names_the_task_not_how_its_id_was_typed(alice: User, alice_client: APIClient) -> None:
    task, other = TaskFactory(owner=alice), TaskFactory(owner=alice)
    first = write(alice_client, "post", f"/api/tasks/0{task.pk}/move", {"after": other.pk}, "z-1")
    again = write(alice_client, "post", f"/api/tasks/{task.pk}/move", {"after": other.pk}, "z-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (200, 200, "true")
    assert Task.objects.get(pk=task.pk).version == 2


def test_a_key_header_sent_twice_is_400_and_creates_nothing(alice: User, alice_client: APIClient) -> None:
    # WSGI servers hand the application a repeated header as one value, joined by commas (as gunicorn does).
    response = alice_client.post("/api/tasks", {"title": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="one,two")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "other than the comma" in body["errors"]["Idempotency-Key"][0]
    assert not Task.objects.exists()


def test_the_schema_documents_the_key_format_the_server_checks() -> None:
    documented = re.compile(IDEMPOTENCY_KEY.type["pattern"])
    for code in range(0x80):
        key = chr(code) * 3
        assert bool(documented.fullmatch(key)) == bool(KEY_FORMAT.fullmatch(key)), repr(key)
