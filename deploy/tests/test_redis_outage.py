"""Redis killed (SIGKILL) or stalled (SIGSTOP) under load: the API keeps answering 2xx, /readyz stays 200 and
says Redis is degraded, the logs get no traceback per request, and everything recovers by itself."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest

from deploy.cluster import Cluster, wait_for
from deploy.tests.conftest import Answer, call, p99

CLIENTS = 4
OUTAGE_SECONDS = 5.0
# Rate limits on, so every request goes to Redis; high enough never to refuse this load.
ENV = {"API_THROTTLE_USER": "100000/min", "API_THROTTLE_ANON": "100000/min"}
# Log lines a whole outage may add over both nodes: one warning per interval per worker, not one per request.
MAX_LOG_LINES_PER_OUTAGE = 20


def readiness(cluster: Cluster) -> tuple[int, str | None]:
    answer = call(cluster.url, "GET", "/readyz", timeout=5)
    checks = answer.body.get("checks", {}) if isinstance(answer.body, dict) else {}
    return answer.status, checks.get("redis")


@pytest.mark.parametrize("fault", ["killed", "stalled"])
def test_the_api_keeps_serving_while_redis_is_down_and_recovers_by_itself(
    make_cluster: Callable[..., Cluster], fault: str
) -> None:
    cluster = make_cluster(nodes=2, workers=2, env=ENV)
    tokens = [cluster.token(f"redis-{n}") for n in range(CLIENTS)]
    answers: list[Answer] = []
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
            answers.append(call(cluster.url, "GET", "/api/schema", timeout=40))

    assert readiness(cluster) == (200, "ok")
    threads = [threading.Thread(target=load, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(created) > 10, "load before the outage")
        logs_before = [len(cluster.node_log(i).splitlines()) for i in range(len(cluster.nodes))]
        if fault == "killed":
            cluster.redis_stop()
        else:
            cluster.redis_pause()
        started = time.monotonic()
        time.sleep(OUTAGE_SECONDS)  # the outage lasts this long while the load goes on
        during_readiness = readiness(cluster)
        logs_during = [cluster.node_log(i).splitlines()[logs_before[i] :] for i in range(len(cluster.nodes))]
        if fault == "killed":
            cluster.redis_start()
        else:
            cluster.redis_resume()
        ended = time.monotonic()
        wait_for(lambda: readiness(cluster) == (200, "ok"), "readiness to say Redis is ok again", timeout=30)
        recovered = time.monotonic()
        time.sleep(1.0)  # some load after recovery
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    during = [answer for answer in answers if answer.ended >= started and answer.started <= ended]
    before = [answer for answer in answers if answer.ended < started]
    assert sorted({(a.status, a.code) for a in answers if a.status not in (200, 201)}) == []
    assert len(during) > 50, "the load did too little during the outage to prove anything"
    assert during_readiness == (200, "degraded")
    lines = [line for log in logs_during for line in log]
    assert [line for line in lines if "Traceback" in line] == []
    assert len(lines) <= MAX_LOG_LINES_PER_OUTAGE, lines[:5]
    stored = dict(cluster.query("SELECT title, id FROM tasks_task WHERE title = ANY(%s)", [t for t, _ in created]))
    assert stored == dict(created)
    print(
        f"\nredis {fault} {OUTAGE_SECONDS:.0f} s: {len(during)} requests during, all 2xx; p99 before "
        f"{p99([a.seconds for a in before]) * 1000:.0f} ms, during {p99([a.seconds for a in during]) * 1000:.0f} ms; "
        f"{len(lines)} log lines; "
        f"ok again {recovered - ended:.1f} s after it came back"
    )
