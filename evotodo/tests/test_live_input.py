"""Over real HTTP against gunicorn, on SQLite and on PostgreSQL: what a client sends never makes a 500, a
refused request stores nothing, and an oversized body is a 413 however it is sent."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from evotodo.openapi import error_codes
from evotodo.tests.live import LiveServer, live_server_on

LIMIT = 262_144  # API_MAX_BODY_BYTES' default, which these servers keep


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: Any, static_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if request.param == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the suite runs on SQLite: set DATABASE_URL to a PostgreSQL server to run these there too")
    with live_server_on(
        request.param, tmp_path_factory.mktemp(request.param), static_root, WEB_CONCURRENCY="8"
    ) as live:
        yield live


@pytest.fixture
def token(server: LiveServer, request: Any) -> str:
    return server.token(f"live-{request.node.name[:40]}")


def rows(server: LiveServer, sub: str) -> int:
    sql = "SELECT count(*) FROM tasks_task JOIN authn_user u ON u.id = owner_id WHERE u.better_auth_id = %s"
    return server.database.query(sql, sub)[0][0]


def sub_of(server: LiveServer, token: str) -> str:
    return server.call("GET", "/api/me", token)[1]["id"]


def send(server: LiveServer, body: Any, *, chunked: bool = False, token: str = "") -> tuple[int, dict[str, Any]]:
    """POST /api/tasks with a body as bytes (Content-Length) or as an iterable of chunks (chunked)."""
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    # The server may answer before it has read everything: the answer is still there to read.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        client.request("POST", "/api/tasks", body=body, headers=headers, encode_chunked=chunked)
    response = client.getresponse()
    payload = json.loads(response.read() or b"null")
    client.close()
    return response.status, payload


def post_raw(server: LiveServer, token: str, framing: str, body: bytes) -> tuple[int, Any]:
    """POST /api/tasks byte for byte as given (`framing` is the Content-Length or Transfer-Encoding header),
    then stop sending, as a client that gives up does; the answer's status and JSON body."""
    head = (
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\n{framing}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


@pytest.mark.parametrize("due_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_date_past_the_ends_of_the_calendar_is_a_400_and_the_list_still_answers(
    server: LiveServer, token: str, due_at: str
) -> None:
    status, body = server.call("POST", "/api/tasks", token, {"title": "Edge", "due_at": due_at})
    assert (status, body["code"], list(body["errors"])) == (400, "invalid", ["due_at"])
    assert server.call("GET", "/api/tasks", token) == (200, [])
    assert rows(server, sub_of(server, token)) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/tasks?due_before=2026-12-01T00:00:00%2B16:00",
        "/api/tasks?due_after=0001-01-01T00:00:00%2B01:00",
        "/api/tasks?updated_since=9999-12-31T23:59:59-01:00",
        "/api/tasks?due_before=2026-12-01T00:00:00-23:59",
    ],
)
def test_an_unstorable_date_in_a_query_is_a_400(server: LiveServer, token: str, path: str) -> None:
    status, body = server.call("GET", path, token)
    assert (status, body["code"]) == (400, "invalid")


def test_an_offset_beyond_15_59_in_a_body_is_a_400(server: LiveServer, token: str) -> None:
    status, body = server.call("POST", "/api/tasks", token, {"title": "x", "due_at": "2026-12-01T09:00:00+16:00"})
    assert (status, list(body["errors"])) == (400, ["due_at"])
    assert rows(server, sub_of(server, token)) == 0


def test_patching_a_bare_weekly_rule_is_a_200(server: LiveServer, token: str) -> None:
    _, task = server.call("POST", "/api/tasks", token, {"title": "Standup", "due_at": "2027-01-04T09:00:00+01:00"})
    status, body = server.call("PATCH", f"/api/tasks/{task['id']}", token, {"recurrence": {"freq": "weekly"}})
    assert (status, body["recurrence"]) == (
        200,
        {"freq": "weekly", "interval": 1, "until": None, "byweekday": None, "count": None, "basis": "due"},
    )


def test_unknown_fields_and_parameters_are_400s_that_change_nothing(server: LiveServer, token: str) -> None:
    status, body = server.call("POST", "/api/tasks", token, {"title": "x", "done": True})
    assert (status, body["code"]) == (400, "unknown_field")
    _, task = server.call("POST", "/api/tasks", token, {"title": "Done", "completed": True})
    status, body = server.call("PATCH", f"/api/tasks/{task['id']}/complete", token, {"complete": True})
    assert (status, body["code"]) == (400, "unknown_field")
    assert server.call("GET", f"/api/tasks/{task['id']}", token)[1]["completed"] is True
    status, body = server.call("GET", "/api/tasks?page=2", token)
    assert (status, body["code"]) == (400, "unknown_parameter")
    assert rows(server, sub_of(server, token)) == 1


@pytest.mark.parametrize("task_id", ["9223372036854775808", "123456789012345678901234567890"])
def test_an_id_past_64_bits_is_a_404(server: LiveServer, token: str, task_id: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        status, body = server.call(method, f"/api/tasks/{task_id}", token, {} if method == "PATCH" else None)
        assert (status, body["code"]) == (404, "not_found")


@pytest.mark.parametrize("size", [LIMIT + 1, 1_000_000, 5_000_000])
def test_a_body_over_the_limit_with_a_length_is_a_413_naming_the_limit(
    server: LiveServer, token: str, size: int
) -> None:
    status, body = send(server, b"x" * size, token=token)
    assert (status, body["code"]) == (413, "request_too_large")
    assert str(LIMIT) in body["detail"]


@pytest.mark.parametrize("size", [LIMIT + 1, 5_000_000])
def test_a_chunked_body_over_the_limit_is_a_413(server: LiveServer, token: str, size: int) -> None:
    chunks = (b"x" * min(65_536, size - offset) for offset in range(0, size, 65_536))
    status, body = send(server, chunks, chunked=True, token=token)
    assert (status, body["code"]) == (413, "request_too_large")


def test_a_chunked_body_within_the_limit_is_read(server: LiveServer, token: str) -> None:
    document = json.dumps({"title": "Sent in chunks"}).encode()
    status, body = send(server, iter([document[:5], document[5:]]), chunked=True, token=token)
    assert (status, body["title"]) == (201, "Sent in chunks")


def test_a_body_at_the_limit_reaches_validation(server: LiveServer, token: str) -> None:
    document = json.dumps({"title": "x", "description": ""}).encode()
    padded = document[:-1] + b" " * (LIMIT - len(document)) + b"}"
    assert len(padded) == LIMIT
    status, body = send(server, padded, token=token)
    assert status == 201, body


def test_refused_requests_log_one_line_each_and_never_a_traceback(server: LiveServer, token: str) -> None:
    send(server, b"x" * (LIMIT + 1), token=token)
    server.call("POST", "/api/tasks", token, {"title": "x", "due_at": "0001-01-01T00:00:00+01:00"})
    log = server.log_text()
    assert "Traceback" not in log
    refusals = [json.loads(line) for line in log.splitlines() if "Request Entity Too Large" in line]
    assert refusals
    assert {line["level"] for line in refusals} == {"WARNING"}


@pytest.mark.parametrize(
    "chunks",
    [
        b'zz\r\n{"title": "chunky"}\r\n0\r\n\r\n',  # not a hexadecimal size
        b'-5\r\n{"title": "chunky"}\r\n0\r\n\r\n',
        b"f" * 40 + b'\r\n{"title": "chunky"}\r\n0\r\n\r\n',
        b'13\r\n{"title": "chunky"}XX0\r\n\r\n',  # no CRLF after the chunk
        b'40\r\n{"title": "chunky"}',  # cut short: the client stops sending
    ],
)
def test_a_malformed_chunked_body_is_a_400_and_stores_nothing(server: LiveServer, token: str, chunks: bytes) -> None:
    status, body = post_raw(server, token, "Transfer-Encoding: chunked", chunks)
    assert status == 400, body
    assert body["code"] == "body_malformed"
    assert rows(server, sub_of(server, token)) == 0
    assert "Traceback" not in server.log_text()


def raw_exchange(server: LiveServer, request: bytes) -> tuple[int, str, Any]:
    """Send `request` byte for byte; the answer's status, Content-Type and JSON body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.getheader("Content-Type", ""), json.loads(response.read())


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", 400, "bad_request"),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request_line_too_long"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", 431, "request_headers_too_large"),
        (b"GET /api/tasks HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400, "bad_request"),
        (b"get /api/tasks HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    ],
)
def test_what_gunicorn_refuses_itself_is_answered_in_json_with_a_code(
    server: LiveServer, request_bytes: bytes, status: int, code: str
) -> None:
    answered, content_type, body = raw_exchange(server, request_bytes)
    assert (answered, content_type, body["code"]) == (status, "application/json", code)
    assert body["detail"]
    assert code in error_codes()


def test_concurrent_writes_of_one_user_all_succeed_and_complete_once(server: LiveServer, token: str) -> None:
    """SQLite included: a write waits for the write lock instead of failing with "database is locked"."""
    import threading

    _, task = server.call(
        "POST",
        "/api/tasks",
        token,
        {"title": "Daily", "due_at": "2027-01-01T09:00:00Z", "recurrence": {"freq": "daily"}},
    )
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def write(n: int) -> None:
        barrier.wait()
        if n % 2:
            statuses.append(server.call("PATCH", f"/api/tasks/{task['id']}/complete", token, {"completed": True})[0])
        else:
            statuses.append(server.call("POST", "/api/tasks", token, {"title": f"concurrent {n}"})[0])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 4 + [201] * 4
    assert rows(server, sub_of(server, token)) == 1 + 1 + 4  # the task, its one next occurrence, four creates


def test_every_log_line_gunicorn_writes_is_one_json_object_whatever_the_path(static_root: Path, tmp_path: Path) -> None:
    with live_server_on("sqlite", tmp_path, static_root, GUNICORN_ACCESS_LOG="-") as live:
        for path in ["/api/x%0Ay", "/api/%00nul", '/api/"quoted"', "/healthz"]:
            live.call("GET", path)
        with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
            sock.sendall(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # gunicorn refuses it
            sock.recv(65536)
        log = live.log_text()
    records = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line parses
    paths = [record.get("path") for record in records]
    assert "/api/x\ny" in paths
    assert "/api/\x00nul" in paths
    assert any(
        record.get("level") == "WARNING" and "Request Line is too large" in record["message"] for record in records
    )


def test_a_body_shorter_than_its_content_length_is_a_400_and_stores_nothing(server: LiveServer, token: str) -> None:
    status, body = post_raw(server, token, "Content-Length: 100", b'{"title":"short"}')  # 17 of the 100 bytes
    assert status == 400, body
    assert body["code"] == "parse_error"
    assert rows(server, sub_of(server, token)) == 0
