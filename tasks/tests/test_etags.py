"""ETags: 304 for an unchanged task, 412 instead of a lost update; without them, writes work as before."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task
from tasks.tests.factories import TaskFactory


@pytest.fixture
def task(alice: User) -> Task:
    return TaskFactory(owner=alice, title="Draft")


def etag_of(client: APIClient, task: Task) -> str:
    return client.get(f"/api/tasks/{task.pk}")["ETag"]


def test_every_task_response_carries_an_etag(alice: User, alice_client: APIClient, task: Task) -> None:
    created = alice_client.post("/api/tasks", {"title": "New"}, format="json")
    assert created["ETag"].startswith('"')
    fetched = alice_client.get(f"/api/tasks/{task.pk}")
    patched = alice_client.patch(f"/api/tasks/{task.pk}", {"title": "Edited"}, format="json")
    completed = alice_client.patch(f"/api/tasks/{task.pk}/complete")
    assert len({fetched["ETag"], patched["ETag"], completed["ETag"]}) == 3
    assert completed["ETag"] == alice_client.get(f"/api/tasks/{task.pk}")["ETag"]


def test_if_none_match_with_the_current_etag_is_304(alice_client: APIClient, task: Task) -> None:
    etag = etag_of(alice_client, task)
    response = alice_client.get(f"/api/tasks/{task.pk}", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_if_none_match_with_an_old_etag_is_the_task(alice_client: APIClient, task: Task) -> None:
    etag = etag_of(alice_client, task)
    alice_client.patch(f"/api/tasks/{task.pk}", {"title": "Changed"}, format="json")
    response = alice_client.get(f"/api/tasks/{task.pk}", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["title"] == "Changed"


def test_second_writer_with_the_same_etag_gets_412_and_the_first_write_stays(
    alice: User, client_for: object, task: Task
) -> None:
    laptop, phone = client_for(alice), client_for(alice)  # type: ignore[operator]
    etag = etag_of(laptop, task)
    first = laptop.patch(f"/api/tasks/{task.pk}", {"title": "From the laptop"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200
    second = phone.patch(f"/api/tasks/{task.pk}", {"title": "From the phone"}, format="json", HTTP_IF_MATCH=etag)
    assert second.status_code == 412
    assert second.json()["code"] == "precondition_failed"
    assert Task.objects.get(pk=task.pk).title == "From the laptop"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("put", "", {"title": "x"}), ("patch", "", {"title": "x"}), ("patch", "/complete", None), ("delete", "", None)],
)
def test_every_write_honours_if_match(
    method: str, path: str, body: object, alice_client: APIClient, task: Task
) -> None:
    response = getattr(alice_client, method)(
        f"/api/tasks/{task.pk}{path}", body, format="json", HTTP_IF_MATCH='"stale"'
    )
    assert response.status_code == 412
    stored = Task.objects.get(pk=task.pk)
    assert (stored.title, stored.completed, stored.version) == ("Draft", False, 1)


def test_current_etag_lets_the_write_through(alice_client: APIClient, task: Task) -> None:
    etag = etag_of(alice_client, task)
    assert alice_client.delete(f"/api/tasks/{task.pk}", HTTP_IF_MATCH=etag).status_code == 204
    assert not Task.objects.filter(pk=task.pk).exists()


def test_if_match_star_matches_any_existing_task(alice_client: APIClient, task: Task) -> None:
    response = alice_client.patch(f"/api/tasks/{task.pk}", {"title": "Any"}, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 200


def test_other_users_etag_probe_is_still_404(task: Task, bob_client: APIClient) -> None:
    response = bob_client.patch(f"/api/tasks/{task.pk}", {"title": "x"}, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 404
    assert Task.objects.get(pk=task.pk).title == "Draft"


WRITES = [
    ("patch", "", {"title": "Written"}),
    ("put", "", {"title": "Written", "description": "", "completed": False}),
    ("patch", "/complete", None),
    ("post", "/move", {"after": None}),
    ("delete", "", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES)
@pytest.mark.parametrize("current", ["*", "{etag}", "W/{etag}", '"0-stale", {etag}'])
def test_a_write_whose_if_none_match_names_the_current_etag_is_412_and_changes_nothing(
    method: str, suffix: str, body: dict | None, current: str, alice_client: APIClient, task: Task
) -> None:
    etag = etag_of(alice_client, task)
    before = Task.objects.values().get(pk=task.pk)
    send = getattr(alice_client, method)
    response = send(f"/api/tasks/{task.pk}{suffix}", body, format="json", HTTP_IF_NONE_MATCH=current.format(etag=etag))
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert Task.objects.values().get(pk=task.pk) == before


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES)
def test_a_write_whose_if_none_match_names_only_old_etags_goes_through(
    method: str, suffix: str, body: dict | None, alice_client: APIClient, task: Task
) -> None:
    old = etag_of(alice_client, task)
    alice_client.patch(f"/api/tasks/{task.pk}", {"title": "Changed"}, format="json")
    send = getattr(alice_client, method)
    response = send(f"/api/tasks/{task.pk}{suffix}", body, format="json", HTTP_IF_NONE_MATCH=old)
    assert response.status_code in (200, 204)
    assert Task.objects.filter(pk=task.pk).exists() == (method != "delete")


def test_if_match_and_if_none_match_both_have_to_hold(alice_client: APIClient, task: Task) -> None:
    etag = etag_of(alice_client, task)
    url = f"/api/tasks/{task.pk}"
    both = alice_client.patch(url, {"title": "No"}, format="json", HTTP_IF_MATCH=etag, HTTP_IF_NONE_MATCH=etag)
    assert both.status_code == 412
    fine = alice_client.patch(url, {"title": "Yes"}, format="json", HTTP_IF_MATCH=etag, HTTP_IF_NONE_MATCH='"0-0"')
    assert fine.status_code == 200
    assert Task.objects.get(pk=task.pk).title == "Yes"


def test_a_read_whose_if_match_names_another_etag_is_412_and_if_match_comes_before_if_none_match(
    alice_client: APIClient, task: Task
) -> None:
    etag = etag_of(alice_client, task)
    url = f"/api/tasks/{task.pk}"
    assert alice_client.get(url, HTTP_IF_MATCH='"0-nope"').status_code == 412
    assert alice_client.get(url, HTTP_IF_MATCH=etag).status_code == 200
    assert alice_client.get(url, HTTP_IF_MATCH='"0-nope"', HTTP_IF_NONE_MATCH=etag).status_code == 412
    assert alice_client.get(url, HTTP_IF_MATCH=etag, HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.parametrize(("method", "suffix", "body"), [*WRITES, ("get", "", None)])
@pytest.mark.parametrize("header", ["HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH"])
def test_another_users_conditional_request_is_404_whatever_its_etags_and_changes_nothing(
    method: str, suffix: str, body: dict | None, header: str, alice_client: APIClient, bob_client: APIClient, task: Task
) -> None:
    before = Task.objects.values().get(pk=task.pk)
    for given in ("*", etag_of(alice_client, task), '"0-other"'):
        send = getattr(bob_client, method)
        response = send(f"/api/tasks/{task.pk}{suffix}", body, format="json", **{header: given})
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert Task.objects.values().get(pk=task.pk) == before
