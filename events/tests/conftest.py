"""Webhook fixtures: a real HTTP receiver on 127.0.0.1 that records what it is sent and answers as told."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from authn.models import User
from events.models import Delivery, Event, WebhookEndpoint
from events.webhooks import new_secret


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the receiver was sent, and what it answers: `statuses` in turn (then `status`); `hold` makes it
    wait (past the sender's timeout) until the test ends."""

    url: str = ""
    status: int = 200
    statuses: list[int] = field(default_factory=list)
    hold: bool = False
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    def ids(self) -> list[str]:
        return [request.headers["webhook-id"] for request in self.requests]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """A receiver on loopback, which webhooks may reach in these tests (WEBHOOK_ALLOW_PRIVATE)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = state.statuses.pop(0) if state.statuses else state.status
            if state.hold:
                state.released.wait(10)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the workers' threads connect at once: none may wait for a SYN retry

    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    state.url = f"http://{host}:{port}/hooks"
    yield state
    state.released.set()
    httpd.shutdown()
    httpd.server_close()


def make_endpoint(owner: User, url: str = "https://hooks.example.com/in", **fields: Any) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        owner=owner, url=url, events=fields.pop("events", ["*"]), secret=fields.pop("secret", new_secret()), **fields
    )


def make_event(owner: User, subject: str = "tasks/1", type: str = "task.updated", **fields: Any) -> Event:
    return Event.objects.create(
        owner_id=owner.pk, type=type, subject=subject, data={"user_id": owner.better_auth_id}, **fields
    )


def make_delivery(endpoint: WebhookEndpoint, event: Event, **fields: Any) -> Delivery:
    return Delivery.objects.create(endpoint=endpoint, event=event, subject=event.subject, **fields)
