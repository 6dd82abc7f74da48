"""PostgreSQL goes away, stopped or crashed, and comes back (behind PgBouncer): nothing acknowledged is lost;
meanwhile the API answers 503 database_unavailable with Retry-After and never a 500, /readyz is 503, and afterwards
everything recovers without restarting gunicorn."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest

from deploy.cluster import Cluster, wait_for
from deploy.tests.conftest import Answer, call

CLIENTS = 4
DOWN_SECONDS = 4.0


@pytest.mark.parametrize("mode", ["fast", "immediate"], ids=["stopped", "crashed"])
def test_a_database_restart_is_a_503_with_retry_after_and_recovers_without_restarting_gunicorn(
    make_cluster: Callable[..., Cluster], mode: str
) -> None:
    cluster = make_cluster(nodes=2, workers=2, env={"API_THROTTLE_USER": "off"})
    masters = [node.process.pid for node in cluster.nodes if node.process]
    tokens = [cluster.token(f"db-{n}") for n in range(CLIENTS)]
    answers: list[Answer] = []
    readiness: list[Answer] = []
    created: list[tuple[str, int]] = []
    stop = threading.Event()

    def load(token: str) -> None:
        while not stop.is_set():
            title = uuid.uuid4().hex
            answer = call(cluster.url, "POST", "/api/tasks", token, {"title": title}, timeout=40)
            answers.append(answer)
            if answer.status == 201:
                created.append((title, answer.body["id"]))
            answers.append(call(cluster.url, "GET", "/api/tasks?limit=5", token, timeout=40))

    def probe() -> None:
        while not stop.is_set():
            readiness.append(call(cluster.url, "GET", "/readyz", timeout=40))
            stop.wait(0.2)

    threads = [threading.Thread(target=load, args=(token,)) for token in tokens] + [threading.Thread(target=probe)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(created) > 20, "load before the outage")
        cluster.postgres_stop(mode)  # immediate: as if it crashed, recovering from its WAL at the start
        down_at = time.monotonic()
        time.sleep(DOWN_SECONDS)  # the outage lasts this long while the load goes on
        cluster.postgres_start()
        up_at = time.monotonic()
        # Recovery: every node serves writes again, by itself.
        wait_for(
            lambda: all(
                call(node.url, "POST", "/api/tasks", tokens[0], {"title": "after"}).status == 201
                for node in cluster.nodes
            ),
            "the nodes to write again",
            timeout=30,
            interval=0.5,
        )
        recovered_at = time.monotonic()
        time.sleep(1.0)  # some load after recovery
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    during = [answer for answer in answers if answer.ended >= down_at and answer.started <= up_at]
    refused = [answer for answer in answers if answer.status not in (200, 201)]
    assert {answer.status for answer in refused} <= {503}, sorted({(a.status, a.code) for a in refused})
    assert all(answer.code == "database_unavailable" for answer in refused)
    assert all(answer.headers.get("Retry-After", "").isdigit() for answer in refused)
    assert any(answer.status == 503 for answer in during), "the outage was never seen"
    assert any(answer.status == 503 and answer.code == "database_unavailable" for answer in readiness)
    assert [answer.status for answer in answers if answer.started > recovered_at] == [
        200 if answer.method == "GET" else 201 for answer in answers if answer.started > recovered_at
    ]
    assert readiness[-1].status == 200
    assert [node.process.pid for node in cluster.nodes if node.process] == masters  # no gunicorn restarted
    assert all(node.process and node.process.poll() is None for node in cluster.nodes)
    stored = dict(cluster.query("SELECT title, id FROM tasks_task WHERE title = ANY(%s)", [t for t, _ in created]))
    assert stored == dict(created)  # every acknowledged create survived the restart
    print(
        f"\npostgres {mode} restart: down {DOWN_SECONDS:.0f} s, {len(answers)} requests, {len(refused)} refused 503, "
        f"slowest during {max(a.seconds for a in during):.2f} s, recovered {recovered_at - up_at:.1f} s after start"
    )
