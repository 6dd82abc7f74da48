"""Slow clients are nginx's to hold: 200 connections dripping their headers a byte a second do not slow a normal
client down, never reach a sync worker, and are closed by nginx's client_header_timeout."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

from deploy.cluster import Cluster
from deploy.tests.conftest import call, p99

SLOW_CLIENTS = 200
HEADER_TIMEOUT = 10.0  # client_header_timeout in deploy/nginx/evotodo.conf.template
MEASURE_SECONDS = 6.0


class Drip:
    """`count` connections that send a request's headers one byte per second, until nginx closes them."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets: list[socket.socket] = []
        self.closed_after: list[float] = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.setblocking(False)
            self.sockets.append(sock)
        self.opened = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self) -> None:
        request = b"GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
        sent = 0
        open_ones = list(self.sockets)
        while open_ones and not self.stop.is_set() and time.monotonic() - self.opened < 3 * HEADER_TIMEOUT:
            byte = request[sent % len(request) : sent % len(request) + 1]
            for sock in list(open_ones):
                try:
                    if sock.recv(4096) == b"":  # nginx closed it (or answered 408 first)
                        raise ConnectionResetError
                except BlockingIOError:
                    try:
                        sock.send(byte)
                        continue
                    except OSError:
                        pass
                except OSError:
                    pass
                open_ones.remove(sock)
                self.closed_after.append(time.monotonic() - self.opened)
            sent += 1
            self.stop.wait(1.0)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def test_slow_header_senders_do_not_slow_a_normal_client_and_are_cut_off_by_nginx(
    make_cluster: Callable[..., Cluster],
) -> None:
    cluster = make_cluster(nodes=2, workers=2, env={"API_THROTTLE_USER": "off"})
    token = cluster.token("normal")
    assert call(cluster.url, "POST", "/api/tasks", token, {"title": "one"}).status == 201
    drip = Drip(cluster.port, SLOW_CLIENTS)
    try:
        seconds: list[float] = []
        statuses: set[int] = set()
        deadline = time.monotonic() + MEASURE_SECONDS
        while time.monotonic() < deadline:
            answer = call(cluster.url, "GET", "/api/tasks", token, timeout=5)
            statuses.add(answer.status)
            seconds.append(answer.seconds)
        still_open_while_measured = SLOW_CLIENTS - len(drip.closed_after)
        drip.thread.join(timeout=3 * HEADER_TIMEOUT + 5)
    finally:
        drip.close()

    assert statuses == {200}
    assert still_open_while_measured == SLOW_CLIENTS  # the normal client really ran beside all 200
    assert len(seconds) > 50
    assert p99(seconds) < 0.2, f"p99 {p99(seconds) * 1000:.0f} ms"
    # nginx cut every slow client off after its header timeout (not before, not much after).
    assert len(drip.closed_after) == SLOW_CLIENTS
    assert min(drip.closed_after) >= HEADER_TIMEOUT - 1
    assert max(drip.closed_after) <= HEADER_TIMEOUT + 3
    # None of them reached gunicorn: nginx logged each as a 408 with no upstream.
    timed_out = [line for line in cluster.nginx_log().splitlines() if '"status":408' in line]
    assert len(timed_out) == SLOW_CLIENTS
    assert all('"upstream":""' in line for line in timed_out)
    print(  # the figures for the report
        f"\nslow clients: {SLOW_CLIENTS} dripping; normal client {len(seconds)} requests, "
        f"p99 {p99(seconds) * 1000:.1f} ms, max {max(seconds) * 1000:.1f} ms; "
        f"cut off after {min(drip.closed_after):.1f}-{max(drip.closed_after):.1f} s"
    )
