"""The benchmark's comparison endpoints measure what they claim, and its report states the targets."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from rest_framework.test import APIClient

from authn.models import User
from bench.measure import CPUAccount, process_group, read_times
from bench.run import before_after_markdown, markdown, top_frames
from tasks.tests.factories import TaskFactory


def test_the_auth_stubbed_list_returns_exactly_the_authenticated_list(
    settings: Any, alice: User, alice_client: APIClient
) -> None:
    settings.ROOT_URLCONF = "bench.urls"
    TaskFactory.create_batch(3, owner=alice)
    stubbed = APIClient().get("/bench/list-noauth?limit=50", HTTP_X_BENCH_USER=alice.better_auth_id)
    assert stubbed.status_code == 200
    assert stubbed.json() == alice_client.get("/api/tasks?limit=50").json()


def test_the_floor_is_a_plain_json_response(settings: Any, db: Any) -> None:
    settings.ROOT_URLCONF = "bench.urls"
    assert APIClient().get("/bench/plain").json() == {"status": "ok"}


def test_the_comparison_endpoints_are_not_in_the_applications_urls(db: Any) -> None:
    assert APIClient().get("/bench/plain").status_code == 404


def test_the_report_flags_a_missed_target() -> None:
    run = {"scenario": "list", "concurrency": 8, "rps": 100.0, "p50_ms": 10.0, "p99_ms": 40.0}
    report = {
        "runs": [{**run, "p50_us": 10_000, "p99_us": 40_000, "non_2xx": 0, "rounds_rps": [90.0, 100.0, 110.0]}],
        "targets": {
            "auth_cost_percent": 2.0,
            "auth_cost_ok": True,
            "list_p99_over_p50": 4.0,
            "p99_ok": False,
            "heavy_vs_normal_percent": 1.0,
            "heavy_ok": True,
            "list_vs_floor_percent": 12.0,
            "auth_hot_path_us": 40.0,
            "auth_hot_path_percent_of_list": 0.8,
        },
        "machine": {"cpu": "cpu", "cores": 2, "memory_gib": 24, "python": "3.11", "postgresql": "15", "date": "now"},
        "workers": 5,
        "duration_s": 10,
        "rounds": 5,
    }
    text = markdown(report)
    assert "| list p99 under 3x its p50 | 4.0x | **no** |" in text
    assert "| list | 8 | 100.0 | - | 10.0 | 40.0 | 4.0 | 0 |" in text
    assert "`list` (90.0 / 100.0 / 110.0 req/s) are the median of 5" in text


def test_the_idle_polls_carry_each_users_current_sync_token_on_every_run(
    alice: User, alice_client: APIClient, tmp_path: Any
) -> None:
    from bench.run import IDLE_PLACEHOLDER, up_to_date

    requests = tmp_path / "sync_idle.txt"
    requests.write_text(f"GET\t{IDLE_PLACEHOLDER}{alice.better_auth_id}\tAuthorization: Bearer x\t\n")
    for _ in range(2):  # writes between runs move the counter; each run polls from where the user is now
        TaskFactory(owner=alice)
        alice_client.post("/api/tasks", {"title": "moves the counter"}, format="json")
        up_to_date(requests)
        path = requests.read_text().split("\t")[1]
        assert alice_client.get(path).json()["changes"] == []


def test_the_report_sets_baseline_and_current_side_by_side_and_flags_missed_cpu_targets() -> None:
    def run(cpu: float, rps: float) -> dict[str, Any]:
        return {"cpu_ms_per_request": cpu, "rps": rps, "p50_us": 10_000, "p99_us": 15_000}

    report = {
        "baseline": "a1d8df5",
        "current": "abc1234",
        "before_after": [{"scenario": "list", "concurrency": 8, "baseline": run(4.0, 300), "current": run(2.0, 500)}],
        "cpu_targets": [
            {"scenario": "list", "target_ms": 1.8, "aim_ms": 1.2, "measured_ms": 2.0, "ok": False},
            {"scenario": "retrieve", "target_ms": 1.2, "aim_ms": 0.8, "measured_ms": 1.0, "ok": True},
        ],
        "tail_targets": [{"scenario": "list", "ratio": 1.5, "ok": True}],
    }
    lines = before_after_markdown(report)
    assert "| list | 8 | 4.0 | 2.0 | -50 % | 300 | 500 | 1.5 |" in lines
    assert "| list: at most 1.8 ms CPU a request at concurrency 8 | 2.0 ms | **no** | **no** (1.2 ms) |" in lines
    assert "| retrieve: at most 1.2 ms CPU a request at concurrency 8 | 1.0 ms | yes | **no** (0.8 ms) |" in lines


def test_cpu_of_a_child_that_exits_during_the_run_is_counted_through_its_parent() -> None:
    """The parent (this test's subprocess) starts a child that burns CPU and exits; the parent reaps it, so the
    child's CPU lands in the parent's reaped time, and is counted once."""
    burn = (
        "import subprocess, sys, time; "
        "child = 'import time\\nwhile time.process_time() < 0.3: pass'; "
        "subprocess.run([sys.executable, '-c', child]); sys.stdin.read()"
    )
    parent = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE, start_new_session=True)
    account = CPUAccount(process_group(parent.pid), interval=0.05)
    account.start()
    try:
        deadline = time.monotonic() + 30
        while read_times(parent.pid).reaped < 30 and time.monotonic() < deadline:  # 0.3 s in clock ticks
            time.sleep(0.05)
    finally:
        result = account.stop()
        parent.communicate(b"")
    # The child burned 0.3 s of its own CPU, plus its start; the parent almost nothing. Counted twice would be 0.6.
    assert 0.29 <= result["cpu_s"] < 0.55
    assert result["exited"] >= 1


def test_top_frames_ranks_functions_by_samples_on_top_and_anywhere_in_the_stack() -> None:
    collapsed = (
        'process 1:"gunicorn";handle (gunicorn/workers/sync.py:1);view (tasks/views.py:10);'
        "dumps (json/__init__.py:5) 30\n"
        'process 1:"gunicorn";handle (gunicorn/workers/sync.py:1);view (tasks/views.py:12) 10\n'
        'process 2:"gunicorn";handle (gunicorn/workers/sync.py:2);execute (psycopg/cursor.py:3) 60\n'
    )
    frames = top_frames(collapsed)
    assert frames["self"] == [
        ("execute (psycopg/cursor.py)", 60.0),
        ("dumps (json/__init__.py)", 30.0),
        ("view (tasks/views.py)", 10.0),
    ]
    # `handle` is on every stack: left out of the inclusive list.
    assert frames["total"][0] == ("execute (psycopg/cursor.py)", 60.0)
    assert ("view (tasks/views.py)", 40.0) in frames["total"]
