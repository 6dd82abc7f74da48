"""A create that reads no other row is one statement committed alone (tasks.services, evotodo.transactions): the
task, its tags, its change number and its event in one round trip, the same rows as the create that runs in the
request's transaction, and nothing at all when it fails."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.signals import pre_save
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from authn.models import User
from authn.services import user_from_claims
from authn.user_cache import recent_users
from events.models import Event
from tasks.models import SyncState, Task, TaskList, TaskTag
from tasks.tests import strategies as s

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="on SQLite every create runs in the request's transaction: set DATABASE_URL to a PostgreSQL server",
    ),
]

# What differs between two creates of the same body: the row's identity, its clock, its place, and for one created
# done its next occurrence's row.
PER_ROW = {"id", "created_at", "updated_at", "completed_at", "position", "next_occurrence_id"}


@contextmanager
def statements() -> Iterator[list[tuple[str, bool]]]:
    """The statements sent meanwhile, each with whether psycopg ran it in autocommit (no BEGIN, no COMMIT)."""
    seen: list[tuple[str, bool]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, connection.connection.autocommit))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


@pytest.fixture
def seen(alice: User, claims_for: Any) -> Callable[[], None]:
    """Alice's user cached in this process as after a request of hers: a create of hers then reads nothing first."""
    return lambda: user_from_claims(claims_for(alice))


@pytest.fixture
def client(alice_client: APIClient, seen: Callable[[], None]) -> APIClient:
    seen()
    return alice_client


def written(task_id: int) -> dict[str, Any]:
    """All a create wrote for the task, but what differs between two creates of one body (PER_ROW, the numbers)."""
    task = Task.objects.filter(pk=task_id).values().get()
    events = list(Event.objects.filter(subject=f"tasks/{task_id}").values("owner_id", "type", "data"))
    for told in events:
        assert told["data"]["change"] == task["change_seq"]
        assert told["data"]["task"]["id"] == task_id
        told["data"] = {**told["data"], "change": None, "task": without(told["data"]["task"], PER_ROW)}
    tags = sorted(TaskTag.objects.filter(task_id=task_id).values_list("owner_id", "key", "name"))
    return {"task": without(task, {*PER_ROW, "change_seq"}), "tags": tags, "events": events}


def without(row: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in keys}


def counter(user: User) -> int:
    return SyncState.objects.filter(owner=user).values_list("seq", flat=True).first() or 0


def test_a_plain_create_is_one_statement_in_autocommit_and_writes_the_task_its_tags_and_its_event(
    alice: User, client: APIClient
) -> None:
    with statements() as sent:
        response = client.post("/api/tasks", {"title": "Alone", "tags": ["Home", "errand"]}, format="json")
    assert response.status_code == 201
    assert [autocommit for _, autocommit in sent] == [True]
    task = Task.objects.get(pk=response.json()["id"])
    assert (task.owner, task.title, task.tags) == (alice, "Alone", ["Home", "errand"])
    assert task.change_seq == counter(alice) == 1
    assert sorted(TaskTag.objects.filter(task=task).values_list("key", "name")) == [
        ("errand", "errand"),
        ("home", "Home"),
    ]
    event = Event.objects.get(subject=f"tasks/{task.pk}")
    assert (event.owner_id, event.type, event.data["change"], event.data["user_id"]) == (
        alice.pk,
        "task.created",
        1,
        alice.better_auth_id,
    )
    assert event.data["task"] == response.json()
    assert (event.published_at, event.dispatched_at) == (None, None)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"title": "Placed", "list_id": "LIST"}, {}),
        ({"title": "Done", "completed": True}, {}),
        ({"title": "Once"}, {"HTTP_IDEMPOTENCY_KEY": "create-once"}),
    ],
    ids=["placed in a list", "created done", "with an idempotency key"],
)
def test_a_create_that_reads_first_runs_in_the_requests_transaction(
    alice: User, client: APIClient, body: dict[str, Any], headers: dict[str, str]
) -> None:
    if body.get("list_id") == "LIST":
        body = {**body, "list_id": TaskList.objects.create(owner=alice, name="Home").pk}
    with statements() as sent:
        response = client.post("/api/tasks", body, format="json", **headers)
    assert response.status_code == 201
    assert len(sent) > 1
    assert not any(autocommit for _, autocommit in sent)
    task = Task.objects.get(pk=response.json()["id"])
    assert Event.objects.get(subject=f"tasks/{task.pk}", type="task.created").data["change"] == task.change_seq


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(s.valid_task_payloads(), s.edge_task_payloads()))
def test_a_create_committed_alone_writes_and_answers_what_one_in_the_requests_transaction_does(
    alice: User, client: APIClient, seen: Callable[[], None], body: dict[str, Any]
) -> None:
    seen()  # again: the cache may have let her go since the fixture ran
    before, sent_body = counter(alice), json.dumps(body)  # escaped: lone surrogates included
    with statements() as sent:
        alone = client.post("/api/tasks", sent_body, content_type="application/json")
    with transaction.atomic():  # the test's transaction around the request's: nothing commits alone in it
        within = client.post("/api/tasks", sent_body, content_type="application/json")
    assert alone.status_code == within.status_code
    event(f"answered {alone.status_code}")
    if alone.status_code != 201:
        assert alone.json() == within.json()
        assert counter(alice) == before
        return
    created = [alone.json(), within.json()]
    assert without(created[0], PER_ROW) == without(created[1], PER_ROW)
    if not body.get("completed"):
        assert [autocommit for _, autocommit in sent] == [True]
    assert written(created[0]["id"]) == written(created[1]["id"])
    numbers = [Task.objects.get(pk=task["id"]).change_seq for task in created]
    assert numbers[1] > numbers[0] > before
    assert counter(alice) == Task.objects.filter(owner=alice).aggregate(Max("change_seq"))["change_seq__max"]


def test_a_create_refused_at_its_commit_is_a_409_that_leaves_nothing_and_takes_no_number(
    claims_for: Any, client_for: Callable[..., APIClient]
) -> None:
    from authn.tests.factories import UserFactory

    dave = UserFactory()
    user_from_claims(claims_for(dave))  # cached in this process
    with connection.cursor() as cursor:  # deleted by something that no signal reports (raw SQL)
        cursor.execute("DELETE FROM authn_user WHERE id = %s", [dave.pk])
    with statements() as sent:
        response = client_for(dave).post("/api/tasks", {"title": "Orphan", "tags": ["a"]}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert [autocommit for _, autocommit in sent] == [True]
    assert not Task.objects.filter(owner_id=dave.pk).exists()
    assert not TaskTag.objects.filter(owner_id=dave.pk).exists()
    assert not Event.objects.filter(owner_id=dave.pk).exists()
    assert not SyncState.objects.filter(owner_id=dave.pk).exists()
    assert dave.better_auth_id not in recent_users


def test_a_batch_that_begins_with_a_plain_create_and_then_fails_leaves_nothing(alice: User, client: APIClient) -> None:
    operations = [
        {"type": "task", "op": "create", "temp_id": "new", "data": {"title": "First"}},
        {"type": "task", "op": "update", "id": "new", "data": {"priority": "urgent-ish"}},
    ]
    with statements() as sent:
        response = client.post("/api/batch", {"operations": operations}, format="json")
    assert response.status_code == 400
    assert response.json()["index"] == 1
    assert not any(autocommit for _, autocommit in sent)
    assert (Task.objects.count(), Event.objects.count(), counter(alice)) == (0, 0, 0)


def test_a_plain_create_on_the_path_style_route_is_one_statement_too(alice: User, client: APIClient) -> None:
    with statements() as sent:
        response = client.post(f"/api/{alice.better_auth_id}/tasks", {"title": "Path"}, format="json")
    assert response.status_code == 201
    assert [autocommit for _, autocommit in sent] == [True]
    assert Event.objects.get(subject=f"tasks/{response.json()['id']}").data["task"]["title"] == "Path"


def test_a_plain_create_runs_in_the_transaction_when_the_outbox_cannot_write_in_its_statement(
    alice: User, client: APIClient
) -> None:
    heard: list[str] = []

    def listener(sender: Any, instance: Event, **kwargs: Any) -> None:
        heard.append(instance.type)

    pre_save.connect(listener, sender=Event)
    try:
        with statements() as sent:
            response = client.post("/api/tasks", {"title": "Heard", "tags": ["a"]}, format="json")
    finally:
        pre_save.disconnect(listener, sender=Event)
    assert response.status_code == 201
    assert heard == ["task.created"]
    assert len(sent) > 1
    assert not any(autocommit for _, autocommit in sent)
    task = Task.objects.get(pk=response.json()["id"])
    assert Event.objects.get(subject=f"tasks/{task.pk}").data["change"] == task.change_seq == counter(alice)
    assert list(TaskTag.objects.filter(task=task).values_list("key", flat=True)) == ["a"]


def broken_representation() -> Any:
    raise RuntimeError("the response could not be built")


def test_a_create_with_an_idempotency_key_that_fails_while_its_response_is_built_leaves_nothing(
    alice: User, client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tasks.views.output_zone", broken_representation)
    client.raise_request_exception = False
    response = client.post("/api/tasks", {"title": "Half done"}, format="json", HTTP_IDEMPOTENCY_KEY="half-done")
    assert response.status_code == 500
    assert (Task.objects.count(), Event.objects.count(), counter(alice)) == (0, 0, 0)


def test_a_create_committed_alone_that_fails_while_its_response_is_built_leaves_it_whole(
    alice: User, client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the README says: committed as its statement ended, the task stands with its tags, number and event."""
    monkeypatch.setattr("tasks.views.output_zone", broken_representation)
    client.raise_request_exception = False
    response = client.post("/api/tasks", {"title": "Whole", "tags": ["a"]}, format="json")
    assert response.status_code == 500
    task = Task.objects.get(title="Whole")
    assert list(TaskTag.objects.filter(task=task).values_list("key", flat=True)) == ["a"]
    assert Event.objects.get(subject=f"tasks/{task.pk}").data["change"] == task.change_seq == counter(alice)
