"""A webhook attempt ends at WEBHOOK_TIMEOUT_SECONDS whatever the receiver does: a receiver that trickles its
answer cannot hold a sending thread (and so the worker) for longer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from events.webhooks import Attempt, Sender


@pytest.fixture
def trickler() -> Iterator[str]:
    """A receiver that reads the request, then sends its answer's headers one byte every 0.2 s, for a minute."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 300:
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    thread.join(timeout=5)
    server.close()


def attempt_to(url: str) -> Attempt:
    return Attempt(1, None, url, b"{}", {"content-type": "application/json"})  # type: ignore[arg-type]


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(trickler: str) -> None:
    started = time.monotonic()
    outcome = Sender(timeout=1, allow_private=True).send(attempt_to(trickler))
    elapsed = time.monotonic() - started
    assert (outcome.status, outcome.error) == (None, "no answer within 1 s")
    assert 0.9 <= elapsed < 3
    assert 900 <= outcome.duration_ms < 3000


def test_a_receiver_that_never_answers_is_cut_off_at_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (the backlog) and never answers
        started = time.monotonic()
        outcome = Sender(timeout=1, allow_private=True).send(attempt_to(f"http://127.0.0.1:{silent.getsockname()[1]}/"))
    assert (outcome.status, outcome.error) == (None, "no answer within 1 s")
    assert time.monotonic() - started < 3


def test_a_closed_port_is_a_failed_connection_not_a_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = Sender(timeout=5, allow_private=True).send(attempt_to(f"http://127.0.0.1:{port}/"))
    assert (outcome.status, outcome.error) == (None, f"could not connect to 127.0.0.1:{port}")
