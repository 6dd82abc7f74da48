"""The per-request health check of a PostgreSQL connection (evotodo/postgresql/base.py): an idle healthy
connection is kept without a query, one the server ended (terminated, restarted, closed by a pooler) is
replaced before the request's first query, so no request fails for it."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, close_old_connections, connection, connections

from evotodo.postgresql.base import DatabaseWrapper
from evotodo.tests.live import free_port, live_server_on
from evotodo.tests.tcp_proxy import TCPProxy

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's health check")


def server() -> dict[str, Any]:
    settings = connection.settings_dict
    return {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
        "dbname": settings["NAME"],
    }


def admin(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """A query on a connection of its own, beside the one under test."""
    with psycopg.connect(autocommit=True, **server()) as other:
        cursor = other.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def last_statement(pid: int) -> str:
    return admin("SELECT query FROM pg_stat_activity WHERE pid = %s", pid)[0][0]


def backend_pid(wrapper: Any = connection) -> int:
    wrapper.ensure_connection()
    return wrapper.connection.info.backend_pid


def wait_until_readable(wrapper: Any = connection) -> None:
    """Until the server's notice reaches the socket (bounded): what a next request would find."""
    readable, _, _ = select.select([wrapper.connection.pgconn.socket], [], [], 5)
    assert readable


def next_request(wrapper: Any = connection) -> list[tuple[Any, ...]]:
    """What Django does between requests (`request_started` closes old connections, then the first query
    checks the connection's health), and a query."""
    if wrapper is connection:
        close_old_connections()
    else:
        wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 'the request''s query'")
        return cursor.fetchall()


def test_the_postgresql_engine_is_the_projects_backend() -> None:
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_an_idle_healthy_connection_is_kept_without_a_query(transactional_db: Any) -> None:
    pid = backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last request''s query'")
    close_old_connections()
    connection.close_if_health_check_failed()  # the check the next request's first query makes
    assert backend_pid() == pid
    assert last_statement(pid) == "SELECT 'the last request''s query'"


def test_a_terminated_session_is_replaced_before_the_next_request_queries(transactional_db: Any) -> None:
    pid = backend_pid()
    assert admin("SELECT pg_terminate_backend(%s)", pid) == [(True,)]
    wait_until_readable()
    assert next_request() == [("the request's query",)]
    assert backend_pid() != pid
    assert admin("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", pid) == [(0,)]


def test_a_connection_with_a_notification_waiting_is_asked_and_kept(transactional_db: Any) -> None:
    """Something to read that is not the end of the session: the server is asked (`SELECT 1`), and it stays."""
    pid = backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN evotodo_health")
    admin("NOTIFY evotodo_health")
    wait_until_readable()
    close_old_connections()
    connection.close_if_health_check_failed()
    assert backend_pid() == pid
    assert last_statement(pid) == "SELECT 1"
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")


def test_a_connection_after_an_error_is_asked_before_it_is_reused(transactional_db: Any) -> None:
    pid = backend_pid()
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    assert connection.errors_occurred
    close_old_connections()
    assert backend_pid() == pid
    assert last_statement(pid) == "DEALLOCATE ALL"  # checked, and its prepared statements dropped


def test_a_statement_prepared_before_a_column_changed_type_fails_once_then_runs_again(
    transactional_db: Any,
) -> None:
    """A migration that changes a column's type under running workers: PostgreSQL refuses to run a statement
    planned for the old type; after that one error the connection's statements are dropped, and it goes on."""
    admin("DROP TABLE IF EXISTS health_retyped")
    admin("CREATE TABLE health_retyped (id int, v int)")
    admin("INSERT INTO health_retyped VALUES (1, 2)")
    try:
        pid = backend_pid()

        def read() -> list[tuple[Any, ...]]:
            with connection.cursor() as cursor:
                cursor.execute("SELECT id, v FROM health_retyped WHERE id = %s", [1])
                return cursor.fetchall()

        for _ in range(6):  # past prepare_threshold: prepared
            assert read() == [(1, 2)]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%health_retyped%"])
            assert cursor.fetchall() == [(1,)]
        admin("ALTER TABLE health_retyped ALTER COLUMN v TYPE bigint")
        with pytest.raises(DatabaseError, match="cached plan"):
            read()
        close_old_connections()  # the end of that request
        assert read() == [(1, 2)]
        assert backend_pid() == pid  # the same connection
    finally:
        admin("DROP TABLE IF EXISTS health_retyped")


@pytest.fixture
def proxied(transactional_db: Any) -> Iterator[tuple[TCPProxy, DatabaseWrapper]]:
    """A connection of the project's backend that reaches PostgreSQL through a proxy the test can cut."""
    proxy = TCPProxy((server()["host"], int(server()["port"])))
    wrapper = DatabaseWrapper({**connection.settings_dict, "HOST": "127.0.0.1", "PORT": proxy.port}, "proxied")
    yield proxy, wrapper
    wrapper.close()
    proxy.close()


def test_a_connection_the_server_side_closed_is_replaced_without_a_failed_query(
    proxied: tuple[TCPProxy, DatabaseWrapper],
) -> None:
    """As a restart or a pooler closing an idle client looks to the application: the socket is closed."""
    proxy, wrapper = proxied
    next_request(wrapper)
    first = wrapper.connection
    proxy.hang()  # cuts the open connections
    proxy.forward()
    wait_until_readable(wrapper)
    assert next_request(wrapper) == [("the request's query",)]
    assert wrapper.connection is not first


@pytest.fixture
def pgbouncer(transactional_db: Any) -> Iterator[Any]:
    """A PgBouncer of this test's own in transaction pooling, in front of the test database; `restart()` stops
    it by its PID and starts it again on the same port."""
    executable = shutil.which("pgbouncer")
    if executable is None:
        pytest.skip("pgbouncer is not installed")
    directory = Path(tempfile.mkdtemp(prefix="evotodo-pgbouncer-"))
    directory.chmod(0o755)  # PgBouncer refuses to run as root: it runs as postgres, who must read the files
    port = free_port()
    (directory / "users.txt").write_text(f'"{server()["user"]}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={server()['host']} port={server()['port']}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'users.txt'}\npool_mode = transaction\n"
        "server_reset_query =\nignore_startup_parameters = extra_float_digits\n"
    )
    for path in directory.iterdir():
        path.chmod(0o644)
    command = [executable, *(["-u", "postgres"] if os.geteuid() == 0 else []), str(directory / "pgbouncer.ini")]

    class PgBouncer:
        def __init__(self) -> None:
            self.port = port
            self.start()

        def start(self) -> None:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):  # bounded wait for it to listen
                with contextlib.suppress(psycopg.OperationalError), psycopg.connect(**{**server(), "port": port}):
                    return
                time.sleep(0.05)
            raise RuntimeError("pgbouncer did not start")

        def stop(self) -> None:
            self.process.send_signal(signal.SIGINT)  # immediate shutdown: clients are disconnected
            self.process.wait(timeout=10)

        def restart(self) -> None:
            self.stop()
            self.start()

    bouncer = PgBouncer()
    wrapper = DatabaseWrapper(
        {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": port, "DISABLE_SERVER_SIDE_CURSORS": True},
        "pgbouncer",
    )
    # No statements prepared server-side behind transaction pooling; a name to find its server sessions by.
    wrapper.settings_dict["OPTIONS"] = {
        **wrapper.settings_dict["OPTIONS"],
        "prepare_threshold": None,
        "application_name": "evotodo-behind-pgbouncer",
    }
    yield bouncer, wrapper
    wrapper.close()
    with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
        bouncer.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_behind_pgbouncer_a_terminated_server_session_costs_no_failed_query(pgbouncer: Any) -> None:
    """PgBouncer keeps the client connection and hands the next transaction another server session."""
    _, wrapper = pgbouncer
    next_request(wrapper)
    client = wrapper.connection
    admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'evotodo-behind-pgbouncer'"
    )
    assert next_request(wrapper) == [("the request's query",)]
    assert wrapper.connection is client


def test_behind_pgbouncer_a_restarted_pooler_is_reconnected_without_a_failed_query(pgbouncer: Any) -> None:
    bouncer, wrapper = pgbouncer
    next_request(wrapper)
    client = wrapper.connection
    bouncer.restart()
    wait_until_readable(wrapper)
    assert next_request(wrapper) == [("the request's query",)]
    assert wrapper.connection is not client


def test_a_live_server_serves_on_after_its_database_sessions_are_terminated(tmp_path: Path, static_root: Path) -> None:
    with live_server_on("postgresql", tmp_path, static_root, WEB_CONCURRENCY="1") as live:
        token = live.token("alice-live")
        assert live.call("GET", "/api/tasks", token)[0] == 200
        terminated = live.database.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        assert terminated  # the worker's session, at least
        assert all(row == (True,) for row in terminated)
        statuses = [live.call("GET", "/api/tasks", token)[0] for _ in range(3)]
    assert statuses == [200, 200, 200]
