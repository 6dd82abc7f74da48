"""The benchmark's comparison endpoints measure what they claim, and its report states the targets."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from authn.models import User
from bench.run import markdown
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
    }
    text = markdown(report)
    assert "| list p99 under 3x its p50 | 4.0x | **no** |" in text
    assert "| list | 8 | 100.0 | 10.0 | 40.0 | 4.0 | 0 |" in text
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
