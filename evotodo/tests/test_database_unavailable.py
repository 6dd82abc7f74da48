"""A database that cannot be reached is a 503 `database_unavailable` with Retry-After, never a 500; a write
that a deleted row makes fail at COMMIT is a 409 to retry, and changes nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client
from rest_framework.test import APIClient

from authn.models import User
from authn.services import user_from_claims
from authn.user_cache import recent_users
from evotodo.tests.live import LiveDatabase, LiveServer
from evotodo.tests.tcp_proxy import TCPProxy
from tasks.models import Task


@pytest.fixture
def database_down(db: Any) -> Iterator[None]:
    """Every new cursor fails as with a server that is down (a real outage is the cluster tests'); restored
    before the test database's own teardown needs it."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    # Every cursor, Django's own and the hot paths' (evotodo.queries.statement_cursor), is prepared here.
    original = BaseDatabaseWrapper._prepare_cursor
    BaseDatabaseWrapper._prepare_cursor = refuse  # type: ignore[method-assign]
    yield
    BaseDatabaseWrapper._prepare_cursor = original  # type: ignore[method-assign]


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_api_request_without_a_database_is_a_503_with_retry_after(
    alice: User, alice_client: APIClient, method: str, request: Any
) -> None:
    alice_client.get("/api/tasks")  # alice is cached: the first query is the view's own
    request.getfixturevalue("database_down")
    response = getattr(alice_client, method)("/api/tasks", {"title": "x"} if method == "post" else None, format="json")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The database is unavailable; try again shortly.",
        "code": "database_unavailable",
    }
    assert response["Retry-After"] == "2"


def test_authentication_without_a_database_is_a_503_not_a_500(
    alice: User, alice_client: APIClient, database_down: None
) -> None:
    response = alice_client.get("/api/tasks")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


def test_the_admin_without_a_database_is_a_503(database_down: None) -> None:
    client = Client()
    client.cookies["sessionid"] = "a-session-the-database-would-hold"
    response = client.get("/admin/")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


def test_a_write_by_a_user_deleted_behind_the_cache_is_a_409_and_creates_nothing(
    transactional_db: Any, claims_for: Any, client_for: Any
) -> None:
    from authn.tests.factories import UserFactory

    dave = UserFactory()
    user_from_claims(claims_for(dave))  # cached in this process
    with connection.cursor() as cursor:  # deleted by something that no signal reports (raw SQL)
        cursor.execute("DELETE FROM authn_user WHERE id = %s", [dave.pk])
    client = client_for(dave)
    response = client.post("/api/tasks", {"title": "orphan"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert not Task.objects.filter(title="orphan").exists()
    assert dave.better_auth_id not in recent_users
    retried = client.post("/api/tasks", {"title": "orphan"}, format="json")  # a new user for the same sub
    assert retried.status_code == 201
    assert Task.objects.get(title="orphan").owner.better_auth_id == dave.better_auth_id


def test_over_http_a_database_that_stops_answering_is_a_quick_503_and_recovers(
    static_root: Path, tmp_path: Path
) -> None:
    from django.db import connection as test_connection

    if test_connection.vendor != "postgresql":
        pytest.skip("the suite runs on SQLite: set DATABASE_URL to a PostgreSQL server to run this there too")
    database = LiveDatabase("postgresql", tmp_path)
    proxy = TCPProxy((database.server["host"], int(database.server["port"])))
    database.url = database.url.replace(f":{database.server['port']}/", f":{proxy.port}/")
    try:
        server = LiveServer(database, static_root, tmp_path / "gunicorn.log", DATABASE_CONNECT_TIMEOUT="2")
        try:
            token = server.token("db-outage-user")
            assert server.call("GET", "/api/tasks", token)[0] == 200
            proxy.hang()
            answers = []
            for method, path, body in [("GET", "/api/tasks", None), ("POST", "/api/tasks", {"title": "x"})]:
                started = time.monotonic()
                status, payload, headers = server.call(method, path, token, body, with_headers=True)
                answers.append((status, payload["code"], headers["Retry-After"], time.monotonic() - started < 5))
            started = time.monotonic()
            ready, ready_seconds = server.call("GET", "/readyz"), time.monotonic() - started
            assert answers == [(503, "database_unavailable", "2", True)] * 2
            assert ready[0] == 503
            assert ready_seconds < 5
            proxy.forward()
            assert server.call("POST", "/api/tasks", token, {"title": "after"})[0] == 201
            assert "Traceback" not in server.log_text()
        finally:
            server.stop()
    finally:
        proxy.close()
        database.drop()


def test_an_outage_is_logged_once_a_minute_not_once_a_request(
    alice: User, alice_client: APIClient, database_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    from evotodo.unavailable import outage_log

    outage_log._logged_at = None  # a fresh interval
    with caplog.at_level(logging.WARNING):
        codes = [alice_client.get("/api/tasks").status_code for _ in range(20)]
    assert codes == [503] * 20
    lines = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.name for record in lines] == ["evotodo.database"]
    assert lines[0].exc_info is None


def test_a_transaction_out_of_step_after_a_pooler_lost_its_server_is_a_503(
    alice: User, alice_client: APIClient
) -> None:
    from django.db import InternalError
    from django.db.backends.base.base import BaseDatabaseWrapper

    def out_of_step(self: Any, *args: Any, **kwargs: Any) -> None:
        raise InternalError("current transaction is aborted")

    original = BaseDatabaseWrapper.cursor
    BaseDatabaseWrapper.cursor = out_of_step  # type: ignore[method-assign]
    try:
        response = alice_client.post("/api/tasks", {"title": "x"}, format="json")
    finally:
        BaseDatabaseWrapper.cursor = original  # type: ignore[method-assign]
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert not Task.objects.filter(title="x").exists()
