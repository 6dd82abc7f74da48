"""Several users writing at once over real HTTP: every acknowledged write is there, and nothing else."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.db import connection

from authn.models import User
from conftest import better_auth_id
from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

USERS = 4
WRITES_PER_USER = 15


def call(base: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 (the live server on loopback)
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_concurrent_writers_lose_nothing_and_invent_nothing(
    live_server: Any, signing_key: Any, claims_for: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite's single writer lock makes concurrent writers fail with 'database is locked'"
        )
    people = [
        User(better_auth_id=better_auth_id(f"writer{n}"), email=f"w{n}@example.com", name=f"W{n}") for n in range(USERS)
    ]
    tokens = {person.better_auth_id: signing_key.sign(claims_for(person)) for person in people}
    acknowledged: dict[str, set[int]] = {person.better_auth_id: set() for person in people}
    deleted: dict[str, set[int]] = {person.better_auth_id: set() for person in people}
    errors: list[Any] = []
    barrier = threading.Barrier(USERS)

    def writer(sub: str) -> None:
        token = tokens[sub]
        barrier.wait()
        for n in range(WRITES_PER_USER):
            status, body = call(
                live_server.url, "POST", "/api/tasks", token, {"title": f"{sub[:6]} {n}", "tags": ["load"]}
            )
            if status != 201:
                errors.append((status, body))
                continue
            acknowledged[sub].add(body["id"])
            call(live_server.url, "PATCH", f"/api/tasks/{body['id']}/complete", token)
            if n % 5 == 0 and call(live_server.url, "DELETE", f"/api/tasks/{body['id']}", token)[0] == 204:
                deleted[sub].add(body["id"])

    threads = [threading.Thread(target=writer, args=(person.better_auth_id,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert User.objects.count() == USERS  # each writer's first requests raced to create its user: one row each
    for sub, ids in acknowledged.items():
        kept = set(Task.objects.filter(owner__better_auth_id=sub).values_list("id", flat=True))
        assert kept == ids - deleted[sub]
        assert Task.objects.filter(id__in=kept, completed=True).count() == len(kept)
    assert Task.objects.count() == sum(len(ids - deleted[sub]) for sub, ids in acknowledged.items())
