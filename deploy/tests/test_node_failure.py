"""A gunicorn node dies (SIGKILL) under mixed load through nginx: only what it held in flight fails, nothing
acknowledged is lost, and creates retried with their Idempotency-Key land exactly once."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from deploy.cluster import Cluster, wait_for
from deploy.tests.conftest import Answer, call

CLIENTS = 6
LOAD_SECONDS_BEFORE, LOAD_SECONDS_AFTER = 3.0, 6.0
RETRIES = 5


@dataclass
class ClientRecord:
    """One client thread's user, what it was told, and the state it believes the server holds."""

    sub: str
    token: str
    answers: list[Answer] = field(default_factory=list)
    titles: dict[int, str] = field(default_factory=dict)  # acknowledged: task id -> its last acknowledged title
    unsure: dict[int, set[str]] = field(default_factory=dict)  # titles a failed PATCH may or may not have set
    deleted: set[int] = field(default_factory=set)
    created_titles: list[str] = field(default_factory=list)  # every create attempted (each retried to success)
    gave_up: list[str] = field(default_factory=list)


def client_loop(cluster: Cluster, record: ClientRecord, seed: int, stop: threading.Event) -> None:
    rng = random.Random(seed)  # noqa: S311 (test data)
    while not stop.is_set():
        action = rng.random()
        mine = sorted(record.titles)
        if action < 0.35 or not mine:
            title = f"{record.sub} {uuid.uuid4().hex[:12]}"
            record.created_titles.append(title)
            key = uuid.uuid4().hex
            for attempt in range(RETRIES):
                answer = call(
                    cluster.url, "POST", "/api/tasks", record.token, {"title": title}, headers={"Idempotency-Key": key}
                )
                record.answers.append(answer)
                if answer.status == 201:
                    record.titles[answer.body["id"]] = title
                    break
                time.sleep(0.2 * (attempt + 1))  # a client's back-off before retrying with the same key
            else:
                record.gave_up.append(title)
        elif action < 0.65:
            task_id = rng.choice(mine)
            title = f"patched {uuid.uuid4().hex[:12]}"
            answer = call(cluster.url, "PATCH", f"/api/tasks/{task_id}", record.token, {"title": title})
            record.answers.append(answer)
            if answer.status == 200:
                record.titles[task_id] = title
                record.unsure.pop(task_id, None)
            else:
                record.unsure.setdefault(task_id, set()).add(title)
        elif action < 0.75:
            task_id = rng.choice(mine)
            answer = call(cluster.url, "DELETE", f"/api/tasks/{task_id}", record.token)
            record.answers.append(answer)
            if answer.status == 204:
                del record.titles[task_id]
                record.unsure.pop(task_id, None)
                record.deleted.add(task_id)
        else:
            record.answers.append(call(cluster.url, "GET", "/api/tasks?limit=20", record.token))


@pytest.mark.parametrize("with_workers", [True, False], ids=["master-and-workers", "master-only"])
def test_a_killed_node_fails_only_its_requests_in_flight_and_loses_no_acknowledged_write(
    make_cluster: Callable[..., Cluster], with_workers: bool
) -> None:
    cluster = make_cluster(nodes=2, workers=2, env={"API_THROTTLE_USER": "off"})  # the load is one user's
    records = [ClientRecord(sub=f"load-{n}", token=cluster.token(f"load-{n}")) for n in range(CLIENTS)]
    stop = threading.Event()
    threads = [
        threading.Thread(target=client_loop, args=(cluster, record, n, stop)) for n, record in enumerate(records)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(LOAD_SECONDS_BEFORE)  # load runs meanwhile; the kill must land while requests are in flight
        killed_at = time.monotonic()
        cluster.kill_node(1, workers=with_workers)
        kill_done = time.monotonic()
        time.sleep(LOAD_SECONDS_AFTER)
        cluster.restart_node(1)
        restarted_at, log_before_restart = time.monotonic(), len(cluster.nginx_log())
        back = f'"upstream":"127.0.0.1:{cluster.nodes[1].port}"'
        # nginx tries the node again once its fail_timeout (5 s) has passed, by itself; the load goes on.
        wait_for(lambda: back in cluster.nginx_log()[log_before_restart:], "nginx to use node 1 again", timeout=20)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    answers = [answer for record in records for answer in record.answers]
    failed = [answer for answer in answers if answer.status not in (200, 201, 204)]
    # A request fails only if node 1 held it when it died: started before the kill, answered after it.
    assert all(answer.started <= kill_done and answer.ended >= killed_at for answer in failed), [
        (a.method, a.status, a.code) for a in failed
    ]
    assert len(failed) <= CLIENTS  # each client has one request in flight at most
    assert all(answer.status == 502 and answer.code == "upstream_unavailable" for answer in failed)
    assert [title for record in records for title in record.gave_up] == []
    assert len(answers) > 200, "the load did too little to prove anything"

    for record in records:
        rows = dict(
            cluster.query(
                "SELECT t.id, t.title FROM tasks_task t JOIN authn_user u ON u.id = t.owner_id "
                "WHERE u.better_auth_id = %s",
                record.sub,
            )
        )
        for task_id, title in record.titles.items():  # every acknowledged write is there
            assert rows.get(task_id) in {title, *record.unsure.get(task_id, set())}
        assert record.deleted.isdisjoint(rows)  # every acknowledged delete too
    every_title = [title for record in records for title in record.created_titles]
    # Every create got its 201 in the end (above), and none landed twice, retried after a failure or not.
    duplicates = cluster.query(
        "SELECT title, count(*) FROM tasks_task WHERE title = ANY(%s) GROUP BY title HAVING count(*) > 1",
        every_title,
    )
    assert duplicates == []
    served_by_restarted = [
        answer for answer in answers if answer.started > restarted_at and answer.status in (200, 201, 204)
    ]
    assert served_by_restarted, "no load after the restart"
    print(
        f"\nnode kill ({'master and workers' if with_workers else 'master only'}): {len(answers)} requests, "
        f"{len(failed)} failed {[(a.method, a.status) for a in failed]}, "
        f"{sum(1 for a in answers if a.headers.get('Idempotent-Replayed') == 'true')} idempotent replays"
    )


def test_a_create_in_flight_on_a_killed_node_fails_and_its_retry_with_the_same_key_lands_once(
    make_cluster: Callable[..., Cluster],
) -> None:
    """Held deterministically: the create waits on a row lock the test owns (its user's change counter) when
    the node that holds it is killed; nginx must not resend it elsewhere, and the client's retry makes one task."""
    import psycopg

    cluster = make_cluster(nodes=2, workers=2, env={"API_THROTTLE_USER": "off"})  # the load is one user's
    token = cluster.token("in-flight")
    assert call(cluster.url, "POST", "/api/tasks", token, {"title": "first"}).status == 201
    owner_id = cluster.query("SELECT id FROM authn_user WHERE better_auth_id = 'in-flight'")[0][0]
    body, key = {"title": "retried once"}, uuid.uuid4().hex
    answers: list[Answer] = []
    with psycopg.connect(cluster.direct_database_url) as held:
        held.execute("SELECT 1 FROM tasks_syncstate WHERE owner_id = %s FOR UPDATE", [owner_id])
        writer = threading.Thread(
            target=lambda: answers.append(
                call(cluster.url, "POST", "/api/tasks", token, body, headers={"Idempotency-Key": key})
            )
        )
        writer.start()
        waiting: list[str] = []

        def create_waits() -> bool:
            waiting[:] = [
                name
                for (name,) in cluster.query(
                    "SELECT application_name FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND application_name LIKE 'evotodo-node%%'"
                )
            ]
            return bool(waiting)

        wait_for(create_waits, "the create to wait on the held lock", timeout=10)
        cluster.kill_node(int(waiting[0].removeprefix("evotodo-node")), workers=True)
        writer.join(timeout=30)
        held.rollback()
    assert [(answer.status, answer.code) for answer in answers] == [(502, "upstream_unavailable")]
    assert cluster.query("SELECT count(*) FROM tasks_task WHERE title = 'retried once'") == [(0,)]

    retried = call(cluster.url, "POST", "/api/tasks", token, body, headers={"Idempotency-Key": key})
    replayed = call(cluster.url, "POST", "/api/tasks", token, body, headers={"Idempotency-Key": key})

    assert retried.status == replayed.status == 201
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.body["id"] == retried.body["id"]
    assert cluster.query("SELECT id FROM tasks_task WHERE title = 'retried once'") == [(retried.body["id"],)]
