"""The worker as operators run it: real processes (gunicorn, `manage.py run_worker`, a webhook receiver, RabbitMQ)
on SQLite (the embedded default) and on PostgreSQL, checked over HTTP, at the receiver and in the database."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection, Exchange, Queue
from standardwebhooks import Webhook

from evotodo.tests.live import LiveServer, live_server_on

BROKER_URL = os.environ.get("BROKER_TEST_URL", "amqp://guest:guest@127.0.0.1:5672//")


class Receiver:
    """A webhook receiver on 127.0.0.1: every request's headers and body, in a queue."""

    def __init__(self, delay: float = 0) -> None:
        got: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                got.put(({key.lower(): value for key, value in self.headers.items()}, body))
                stopping.wait(delay)  # a slow receiver: answers after `delay` seconds
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.got, self.stopping = got, stopping
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float) -> list[tuple[dict[str, str], bytes]]:
        """The next `count` deliveries, or fewer if `timeout` passes first."""
        received = []
        deadline = time.monotonic() + timeout
        while len(received) < count and (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(queue.Empty):
                received.append(self.got.get(timeout=left))
        return received

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()


class Workers:
    """`manage.py run_worker` processes with the live server's settings."""

    def __init__(self, server: LiveServer, log_dir: Path) -> None:
        self.server, self.log_dir, self.processes = server, log_dir, []  # type: ignore[var-annotated]

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{len(self.processes)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker"],
            cwd=settings.BASE_DIR,
            env=self.server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: Any, static_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Workers]]:
    if request.param == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the suite runs on SQLite: set DATABASE_URL to a PostgreSQL server to run these there too")
    tmp = tmp_path_factory.mktemp(f"worker-{request.param}")
    suffix = uuid.uuid4().hex[:8]
    env = {
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "REMINDER_TICK_SECONDS": "1",
        "WORKER_POLL_SECONDS": "1",
        "EVENTS_EXCHANGE": f"task-events-{suffix}",
        "REMINDERS_EXCHANGE": f"reminders-{suffix}",
    }
    if request.param == "postgresql":
        env["BROKER_URL"] = BROKER_URL
    with live_server_on(request.param, tmp, static_root, **env) as server:
        workers = Workers(server, tmp)
        workers.start()
        try:
            yield server, workers
        finally:
            workers.stop_all()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def make_webhook(server: LiveServer, token: str, url: str, events: list[str]) -> dict[str, Any]:
    status, body = server.call("POST", "/api/webhooks", token, {"url": url, "events": events})
    assert status == 201, body
    return body


def test_a_webhook_gets_a_signed_task_created_within_seconds(
    stack: tuple[LiveServer, Workers], receiver: Receiver
) -> None:
    server, _ = stack
    token = server.token(f"hook-{uuid.uuid4().hex[:8]}")
    webhook = make_webhook(server, token, receiver.url, ["task.created"])
    status, task = server.call("POST", "/api/tasks", token, {"title": "Hello events"})
    assert status == 201
    started = time.monotonic()
    (delivery,) = receiver.wait(1, timeout=15)
    assert time.monotonic() - started < 5
    headers, body = delivery
    Webhook(webhook["secret"]).verify(body, headers)
    event = json.loads(body)
    assert (event["type"], event["data"]["task"]) == ("com.evotodo.task.created", task)
    assert headers["webhook-id"] == event["id"]
    assert headers["content-type"].startswith("application/cloudevents+json")
    deadline = time.monotonic() + 10
    while (log := server.call("GET", f"/api/webhooks/{webhook['id']}/deliveries", token)[1])[0][
        "status"
    ] != "delivered":
        assert time.monotonic() < deadline, log
        time.sleep(0.2)
    assert (log[0]["event_id"], log[0]["response_status"]) == (event["id"], 204)


def test_one_endpoints_backlog_is_sent_as_fast_as_it_is_answered_not_one_a_poll(
    stack: tuple[LiveServer, Workers], receiver: Receiver
) -> None:
    """An endpoint gets one delivery at a time: when it answers, its next is due at once, not at the worker's next
    poll (WORKER_POLL_SECONDS, 1 s here: 30 deliveries one a poll would take 30 s)."""
    server, _ = stack
    token = server.token(f"backlog-{uuid.uuid4().hex[:8]}")
    make_webhook(server, token, receiver.url, ["task.created"])
    ids = {server.call("POST", "/api/tasks", token, {"title": f"backlog {n}"})[1]["id"] for n in range(30)}
    started = time.monotonic()
    received = receiver.wait(30, timeout=60)
    elapsed = time.monotonic() - started
    assert {json.loads(body)["data"]["task"]["id"] for _, body in received} == ids
    assert elapsed < 10, f"30 deliveries took {elapsed:.1f} s"


def test_two_workers_fire_each_reminder_exactly_once(stack: tuple[LiveServer, Workers], receiver: Receiver) -> None:
    server, workers = stack
    second = workers.start()
    token = server.token(f"remind-{uuid.uuid4().hex[:8]}")
    make_webhook(server, token, receiver.url, ["reminder.due"])
    remind_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    ids = {
        server.call("POST", "/api/tasks", token, {"title": f"r{n}", "remind_at": remind_at})[1]["id"] for n in range(20)
    }
    received = receiver.wait(20, timeout=30)
    received += receiver.wait(1, timeout=4)  # a duplicate would come within a few more ticks
    subjects = [json.loads(body)["subject"] for _, body in received]
    assert sorted(subjects) == sorted(f"tasks/{pk}" for pk in ids)
    second.terminate()
    second.wait(timeout=20)


def test_a_worker_that_was_down_fires_the_reminders_it_missed(
    stack: tuple[LiveServer, Workers], receiver: Receiver
) -> None:
    server, workers = stack
    workers.stop_all()
    token = server.token(f"late-{uuid.uuid4().hex[:8]}")
    make_webhook(server, token, receiver.url, ["reminder.due"])
    remind_at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    status, task = server.call("POST", "/api/tasks", token, {"title": "while down", "remind_at": remind_at})
    assert status == 201
    assert receiver.wait(1, timeout=3) == []  # nobody is there to fire it
    workers.start()
    (delivery,) = receiver.wait(1, timeout=15)
    event = json.loads(delivery[1])
    assert (event["subject"], event["data"]["task"]["id"]) == (f"tasks/{task['id']}", task["id"])
    assert event["data"]["late_seconds"] >= 1


def test_task_events_reach_rabbitmq_in_order(stack: tuple[LiveServer, Workers]) -> None:
    server, _ = stack
    if "BROKER_URL" not in server.env:
        pytest.skip("the embedded default has no broker: events go to webhooks only")
    with Connection(BROKER_URL) as conn:
        exchange = Exchange(server.env["EVENTS_EXCHANGE"], type="topic", durable=True)
        exchange(conn.default_channel).declare()
        bound = Queue(f"q-{uuid.uuid4().hex[:8]}", exchange, routing_key="task.#", auto_delete=True)(
            conn.default_channel
        )
        bound.declare()
        token = server.token(f"amqp-{uuid.uuid4().hex[:8]}")
        task = server.call("POST", "/api/tasks", token, {"title": "to the broker"})[1]
        server.call("PATCH", f"/api/tasks/{task['id']}/complete", token)
        server.call("DELETE", f"/api/tasks/{task['id']}", token)
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + 15
        while len(got) < 3 and time.monotonic() < deadline:
            message = bound.get(no_ack=True)
            if message is None:
                time.sleep(0.2)
            else:
                got.append(json.loads(message.body))
        exchange(conn.default_channel).delete()
    assert [(event["type"], event["subject"]) for event in got] == [
        (f"com.evotodo.task.{kind}", f"tasks/{task['id']}") for kind in ("created", "completed", "deleted")
    ]


def test_a_receiver_that_hangs_does_not_delay_another_users_webhooks(
    stack: tuple[LiveServer, Workers], receiver: Receiver
) -> None:
    server, _ = stack
    hanging = Receiver(delay=60)  # past WEBHOOK_TIMEOUT_SECONDS (10): each attempt to it takes the whole timeout
    try:
        carol = server.token(f"carol-{uuid.uuid4().hex[:8]}")
        make_webhook(server, carol, hanging.url, ["*"])
        for n in range(6):
            server.call("POST", "/api/tasks", carol, {"title": f"to a receiver that hangs {n}"})
        assert len(hanging.wait(1, timeout=10)) == 1  # the worker is waiting on carol's receiver now
        alice = server.token(f"alice-{uuid.uuid4().hex[:8]}")
        make_webhook(server, alice, receiver.url, ["task.created"])
        started = time.monotonic()
        status, task = server.call("POST", "/api/tasks", alice, {"title": "not held up"})
        assert status == 201
        (delivery,) = receiver.wait(1, timeout=15)
        assert json.loads(delivery[1])["data"]["task"]["id"] == task["id"]
        assert time.monotonic() - started < 4
    finally:
        hanging.close()
