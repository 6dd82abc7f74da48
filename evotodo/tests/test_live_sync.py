"""Sync that never loses a change, over real HTTP against gunicorn on PostgreSQL, with concurrent writers, two
servers whose clocks disagree, and pages that never skip or repeat a task."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from evotodo.tests.live import LiveDatabase, LiveServer

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL): SQLite has a single writer"
)

WRITERS = 6
WRITE_SECONDS = 15
CLOCK_SKEW = "+7s"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[LiveDatabase]:
    database = LiveDatabase("postgresql", tmp_path)
    yield database
    database.drop()


def start(database: LiveDatabase, static_root: Path, tmp_path: Path, name: str, **kwargs: Any) -> LiveServer:
    return LiveServer(database, static_root, tmp_path / f"{name}.log", WEB_CONCURRENCY="3", **kwargs)


@dataclass
class Mirror:
    """What an offline client keeps: the tasks and lists it synced, by id, and its token."""

    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    lists: dict[int, dict[str, Any]] = field(default_factory=dict)
    token: str | None = None
    syncs: int = 0
    foreign: list[Any] = field(default_factory=list)

    def sync(self, server: LiveServer, token: str, owner: str) -> None:
        while True:
            query = {"limit": "50", **({"token": self.token} if self.token else {})}
            status, page = server.call("GET", "/api/sync?" + urllib.parse.urlencode(query), token)
            assert status == 200, page
            self.syncs += 1
            for change in page["changes"]:
                kind = change["type"]
                if kind in ("task", "list"):
                    item = change[kind]
                    if item["user_id"] != owner:
                        self.foreign.append(change)
                    (self.tasks if kind == "task" else self.lists)[item["id"]] = item
                elif kind == "task_deleted":
                    self.tasks.pop(change["id"], None)
                else:
                    self.lists.pop(change["id"], None)
            self.token = page["next_token"]
            if not page["more"]:
                return


def every_task(server: LiveServer, token: str) -> dict[int, dict[str, Any]]:
    """The server's tasks of the token's user, following the list's cursor links."""
    tasks: dict[int, dict[str, Any]] = {}
    path: str | None = "/api/tasks?limit=500"
    while path:
        status, page, headers = server.call("GET", path, token, with_headers=True)
        assert status == 200, page
        tasks.update((task["id"], task) for task in page)
        link = headers.get("Link", "")
        path = link.split(">")[0].split(server.url, 1)[1] if 'rel="next"' in link else None
    return tasks


def every_list(server: LiveServer, token: str) -> dict[int, dict[str, Any]]:
    """The server's lists of the token's user, as the feed shows them (without the counts)."""
    status, lists = server.call("GET", "/api/lists", token)
    assert status == 200, lists
    return {item["id"]: {k: v for k, v in item.items() if k not in ("task_count", "open_count")} for item in lists}


@dataclass
class Writers:
    """Threads that create, retitle, retag, complete (recurring ones too), nest, move and delete one user's tasks,
    and create, rename, reorder and delete their lists."""

    servers: list[LiveServer]
    token: str
    seed: int
    ids: list[int] = field(default_factory=list)
    lists: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    writes: int = 0
    failures: list[Any] = field(default_factory=list)

    def run(self, threads: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        workers = [threading.Thread(target=self.work, args=(n, deadline)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def work(self, n: int, deadline: float) -> None:
        rng = random.Random(self.seed * 100 + n)  # noqa: S311 (test data)
        while time.monotonic() < deadline and len(self.failures) < 5:
            server = self.servers[rng.randrange(len(self.servers))]
            with self.lock:
                known = rng.choice(self.ids) if self.ids else None
            with self.lock:
                a_list = rng.choice(self.lists) if self.lists else None
            action = rng.random() if known else 0.1  # a task first
            ok: tuple[int, ...] = (200, 201, 204, 404)
            if action < 0.03 or (0.9 <= action < 0.93 and a_list is None):
                status, made = server.call(
                    "POST", "/api/lists", self.token, {"name": f"w{n} {self.writes} {rng.random():.9f}"}
                )
                if status == 201:
                    with self.lock:
                        self.lists.append(made["id"])
            elif action >= 0.9:
                roll = rng.random()
                if roll < 0.3:
                    status, _ = server.call("PATCH", f"/api/lists/{a_list}", self.token, {"name": f"r {rng.random()}"})
                elif roll < 0.8:
                    status, _ = server.call("POST", f"/api/lists/{a_list}/move", self.token, {"after": None})
                else:
                    status, _ = server.call("DELETE", f"/api/lists/{a_list}?tasks=move_to_inbox", self.token)
                    if status == 204:
                        with self.lock, contextlib.suppress(ValueError):  # another thread removed it
                            self.lists.remove(a_list)
                ok = (200, 204, 400, 404)  # 400: a rename to a name another thread just took
            elif action >= 0.82:
                body = {"list_id": a_list if rng.random() < 0.7 else None, "after": None}
                if rng.random() < 0.3:
                    body = {"after": None}  # first among its siblings
                status, _ = server.call("POST", f"/api/tasks/{known}/move", self.token, body)
                ok = (200, 400, 404, 409)  # 400/409: the list was deleted meanwhile
            elif action >= 0.76:
                status, task = server.call("POST", "/api/tasks", self.token, {"title": "sub", "parent_id": known})
                if status == 201:
                    with self.lock:
                        self.ids.append(task["id"])
                ok = (201, 400)  # 400: the parent was deleted meanwhile, or it would nest too deep
            elif action < 0.3:
                body: dict[str, Any] = {"title": f"w{n} {rng.random():.6f}", "tags": rng.sample(["a", "b", "c"], 2)}
                if rng.random() < 0.3:
                    body |= {"due_at": "2027-01-01T09:00:00+01:00", "recurrence": {"freq": "daily"}}
                status, task = server.call("POST", "/api/tasks", self.token, body)
                if status == 201:
                    with self.lock:
                        self.ids.append(task["id"])
            elif action < 0.5:
                status, _ = server.call("PATCH", f"/api/tasks/{known}", self.token, {"title": f"re {rng.random():.6f}"})
            elif action < 0.65:
                status, _ = server.call("PATCH", f"/api/tasks/{known}", self.token, {"tags": [rng.choice("xyz")]})
            elif action < 0.7:
                status, result = server.call("PATCH", f"/api/tasks/{known}/complete", self.token)
                if status == 200 and result["next"]:
                    with self.lock:
                        self.ids.append(result["next"]["id"])
            else:
                status, _ = server.call("DELETE", f"/api/tasks/{known}", self.token)
            # 404: another thread deleted the task first; anything else but success is a failure.
            if status >= 500 or status not in ok:
                self.failures.append((status, round(action, 2)))  # the status, and which kind of write
            self.writes += 1


def converge(servers: list[LiveServer], tmp_path: Path) -> dict[str, int]:
    """Writers of two users on `servers` while alice's client syncs against them in turn; then compare."""
    alice, bob = servers[0].token("sync-alice"), servers[0].token("sync-bob")
    alice_sub = servers[0].call("GET", "/api/me", alice)[1]["id"]
    servers[0].call("GET", "/api/me", bob)
    mirror = Mirror()
    mirror.sync(servers[0], alice, alice_sub)
    alices, bobs = Writers(servers, alice, seed=1), Writers(servers, bob, seed=2)
    stop = threading.Event()

    def syncing() -> None:
        turn = 0
        while not stop.is_set():
            mirror.sync(servers[turn % len(servers)], alice, alice_sub)
            turn += 1

    threads = [
        threading.Thread(target=alices.run, args=(WRITERS, WRITE_SECONDS)),
        threading.Thread(target=bobs.run, args=(1, WRITE_SECONDS)),
    ]
    syncer = threading.Thread(target=syncing)
    for thread in [*threads, syncer]:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    syncer.join()
    for server in servers:  # the last sync, against each
        mirror.sync(server, alice, alice_sub)
    truth = every_task(servers[0], alice)
    differences = sorted(set(truth) ^ set(mirror.tasks)) + [
        i for i in truth if i in mirror.tasks and truth[i] != mirror.tasks[i]
    ]
    lists = every_list(servers[0], alice)
    assert lists == mirror.lists, "the lists differ"
    assert {task["list_id"] for task in truth.values()} <= {None, *lists}
    assert alices.failures == bobs.failures == []
    assert mirror.foreign == []
    assert differences == [], f"{len(differences)} tasks differ"
    assert len(truth) > 10, "the writers did too little to prove anything"
    assert alices.writes > 100, "the writers did too little to prove anything"
    assert any(task["parent_id"] for task in truth.values()), "no subtask: the writers did too little"
    return {
        "writes": alices.writes + bobs.writes,
        "syncs": mirror.syncs,
        "tasks": len(truth),
        "lists": len(lists),
        "differences": 0,
    }


def test_concurrent_writers_and_a_syncing_client_converge_exactly(
    database: LiveDatabase, static_root: Path, tmp_path: Path
) -> None:
    server = start(database, static_root, tmp_path, "one")
    try:
        report = converge([server], tmp_path)
    finally:
        server.stop()
    print(f"one server, 3 workers: {report}")


@pytest.fixture(scope="module")
def faketime() -> str:
    found = shutil.which("faketime")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's faketime package (.ci/run installs it)")
        pytest.skip("Debian's faketime package is not installed: apt-get install faketime")
    return found


def test_two_servers_whose_clocks_differ_converge(
    database: LiveDatabase, static_root: Path, tmp_path: Path, faketime: str
) -> None:
    honest = start(database, static_root, tmp_path, "honest")
    ahead = start(database, static_root, tmp_path, "ahead", prefix=(faketime, "-f", CLOCK_SKEW))
    try:
        skew = ahead.call("GET", "/healthz")  # both answer; the skew shows in the timestamps they write
        assert skew[0] == 200
        report = converge([honest, ahead], tmp_path)
    finally:
        honest.stop()
        ahead.stop()
    print(f"two servers, one {CLOCK_SKEW}: {report}")


SORTS = [
    *("created", "-created", "updated", "-updated", "title", "-title"),
    *("due", "-due", "priority", "-priority", "position"),
]


def test_paging_under_every_sort_sees_each_lasting_task_exactly_once_while_others_write(
    database: LiveDatabase, static_root: Path, tmp_path: Path
) -> None:
    server = start(database, static_root, tmp_path, "paging")
    try:
        token = server.token("pager")
        rng = random.Random(7)  # noqa: S311 (test data)
        lasting = set()
        for _ in range(2000):
            body: dict[str, Any] = {"title": f"T{rng.randrange(300)}", "priority": rng.choice(["none", "low", "high"])}
            if rng.random() < 0.6:
                body["due_at"] = f"2027-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}T09:00:00Z"
            status, task = server.call("POST", "/api/tasks", token, body)
            assert status == 201
            lasting.add(task["id"])
        churn = Writers([server], token, seed=3)
        with churn.lock:
            churn.ids = []  # the churn touches only the tasks it creates itself: the 2 000 must last
        for sort in SORTS:
            stop = threading.Event()

            def churning(stop: threading.Event = stop) -> None:
                while not stop.is_set():
                    churn.run(2, 0.5)

            thread = threading.Thread(target=churning)
            thread.start()
            seen: list[int] = []
            path: str | None = f"/api/tasks?limit=50&sort={sort}"
            try:
                while path:
                    status, page, headers = server.call("GET", path, token, with_headers=True)
                    assert status == 200, page
                    seen += [task["id"] for task in page]
                    link = headers.get("Link", "")
                    path = link.split(">")[0].split(server.url, 1)[1] if 'rel="next"' in link else None
            finally:
                stop.set()
                thread.join()
            counted = [task_id for task_id in seen if task_id in lasting]
            assert len(counted) == len(set(counted)) == len(lasting), sort
        assert churn.failures == []
        assert churn.writes > 50, "the churn did too little to prove anything"
    finally:
        server.stop()


def test_a_write_still_in_flight_is_never_skipped_by_a_sync_that_sees_a_later_one(
    database: LiveDatabase, static_root: Path, tmp_path: Path
) -> None:
    """The race that lost changes when a wall clock ordered them, held open deterministically: write 1 has
    taken its change number but not committed; write 2 starts meanwhile; a client syncs; then write 1
    commits. Write 2 waits for write 1 (the user's counter), and the sync after returns both, in order."""
    import psycopg

    server = start(database, static_root, tmp_path, "race")
    try:
        token = server.token("racer")
        sub = server.call("GET", "/api/me", token)[1]["id"]
        first = server.call("POST", "/api/tasks", token, {"title": "first"})[1]
        second = server.call("POST", "/api/tasks", token, {"title": "second"})[1]
        mirror = Mirror()
        mirror.sync(server, token, sub)
        with psycopg.connect(dbname=database.name, **database.server) as held:
            owner_id = held.execute("SELECT id FROM authn_user WHERE better_auth_id = %s", [sub]).fetchone()[0]
            seq = held.execute(
                "INSERT INTO tasks_syncstate (owner_id, seq, purged_seq) VALUES (%s, 1, 0) ON CONFLICT (owner_id) "
                "DO UPDATE SET seq = tasks_syncstate.seq + 1 RETURNING seq",
                [owner_id],
            ).fetchone()[0]
            held.execute(
                "UPDATE tasks_task SET title = 'written first', change_seq = %s, version = version + 1 WHERE id = %s",
                [seq, first["id"]],
            )
            answers: list[Any] = []
            writer = threading.Thread(
                target=lambda: answers.append(
                    server.call("PATCH", f"/api/tasks/{second['id']}", token, {"title": "written second"})
                )
            )
            writer.start()
            for _ in range(100):  # until write 2 waits on the lock that write 1 holds
                waiting = database.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                    database.name,
                )[0][0]
                if waiting:
                    break
                time.sleep(0.05)
            assert waiting, "write 2 should be waiting for write 1"
            before = dict(mirror.tasks)
            mirror.sync(server, token, sub)
            assert mirror.tasks == before  # neither write is visible yet
            held.commit()
        writer.join(timeout=30)
        assert answers[0][0] == 200
        status, page = server.call("GET", f"/api/sync?token={urllib.parse.quote(mirror.token or '')}", token)
        assert status == 200
        assert [(change["task"]["id"], change["task"]["title"]) for change in page["changes"]] == [
            (first["id"], "written first"),
            (second["id"], "written second"),
        ]
    finally:
        server.stop()
