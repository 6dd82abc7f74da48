"""What nginx answers itself is the API's JSON with the request id and security headers, and a read held by a
hung node is answered by the other one."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Iterator

import pytest

from deploy.cluster import Cluster
from deploy.tests.conftest import Answer, call


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    from deploy.tests.conftest import BASE_PORT

    with Cluster(base_port=BASE_PORT, nodes=2, workers=1, env={"API_THROTTLE_USER": "off"}) as started:
        yield started


def raw(cluster: Cluster, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (what no HTTP client library would send) and read nginx's whole answer."""
    port = int(cluster.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks: list[bytes] = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:  # nginx answered, then reset a connection whose body it would not read
            if not chunks:
                raise
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"TRACE /api/tasks HTTP/1.1\r\nHost: localhost\r\n\r\n", 405, "method_not_allowed"),
        (b"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"),
        (b"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Length: 300000\r\n\r\n", 413, "request_too_large"),
    ],
    ids=["TRACE", "gzip coding", "413"],
)
def test_what_nginx_refuses_itself_is_json_with_the_request_id(
    cluster: Cluster, request_bytes: bytes, status: int, code: str
) -> None:
    request_bytes = request_bytes.replace(
        b"\r\n\r\n", b"\r\nX-Request-ID: proxy-answer-1\r\nConnection: close\r\n\r\n", 1
    )
    got, headers, body = raw(cluster, request_bytes)
    assert got == status
    assert json.loads(body)["code"] == code
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Request-ID"] == "proxy-answer-1"


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (
            b"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
            400,
            "bad_request",
        ),
        (b"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n", 400, "bad_request"),
        (
            b"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
            400,
            "bad_request",
        ),
        (b"GET /api/tasks HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n", 400, "bad_request"),
        (b"GET /" + b"a" * 6000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 414, "request_line_too_long"),
        (
            b"GET /api/tasks HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
            431,
            "request_headers_too_large",
        ),
        (
            b"GET /api/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n",
            400,
            "bad_request",
        ),
        (
            b"GET /api/tasks HTTP/1.1\r\nHost: localhost\r\n" + b"X-A: b\r\n" * 120 + b"\r\n",
            431,
            "request_headers_too_large",
        ),
    ],
    ids=[
        "bad chunk size",
        "Content-Length abc",
        "Content-Length twice",
        "folded header",
        "6 KB request line (gunicorn)",
        "9 KB header",
        "Content-Type twice (gunicorn)",
        "120 headers (gunicorn)",
    ],
)
def test_a_request_nginx_or_gunicorn_will_not_take_is_json_with_a_code(
    cluster: Cluster, request_bytes: bytes, status: int, code: str
) -> None:
    got, headers, body = raw(cluster, request_bytes.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
    assert (got, json.loads(body)["code"]) == (status, code)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_read_held_by_a_hung_node_is_answered_by_the_other_node(cluster: Cluster) -> None:
    token = cluster.token("hung-node-reader")
    assert call(cluster.url, "GET", "/api/me", token).status == 200
    hung = cluster.nodes[1].process
    assert hung is not None
    os.killpg(hung.pid, signal.SIGSTOP)
    answers: list[Answer] = []
    try:
        readers = [
            threading.Thread(target=lambda: answers.append(call(cluster.url, "GET", "/api/me", token, timeout=90)))
            for _ in range(4)
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout=120)
    finally:
        os.killpg(hung.pid, signal.SIGCONT)
    assert [answer.status for answer in answers] == [200] * 4
