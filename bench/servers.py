"""The same code under other WSGI servers, side by side with the project's gunicorn: what the server itself costs.

`.venv/bin/python -m bench.servers` serves the working tree with each server of SERVERS below (granian, from
bench/requirements.txt, is a benchmark-only dependency: the application is not deployed on it), and runs the
scenarios (BENCH_STEP_SCENARIOS, default list,retrieve,create,complete) against each in turn, at concurrency 8
for the CPU a request and 32 for the tail, BENCH_ROUNDS times (default 2) of BENCH_DURATION seconds, the order
rotating by scenario and round. Each cell is a server's lowest CPU per request over its rounds (other work on a
shared machine only ever adds to it), and at concurrency 32 its median p99/p50. Writes bench/results/servers.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.run import (
    JWKS,
    RESULTS,
    ROOT,
    Server,
    build_scenarios,
    recreate_database,
    seed,
    server_env,
    taken_in_turn,
)

SCENARIOS = os.environ.get("BENCH_STEP_SCENARIOS", "list,retrieve,create,complete").split(",")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
GUNICORN = [sys.executable, "-m", "gunicorn", "bench.wsgi", "--bind", "127.0.0.1:{port}"]
GRANIAN = [sys.executable, "-m", "granian", "--interface", "wsgi", "--no-ws", "--host", "127.0.0.1", "--port", "{port}"]
# label: (what it is, the command). The project's gunicorn config (a sync worker per core), the same with more
# workers (5 was the default before: 2 per core + 1), and granian with 2 processes of one thread each (the sync
# workers' model: one request at a time in each process), with keep-alive: what the server itself costs.
SERVERS = {
    "gunicorn": ("gunicorn, the project's config (a sync worker per core)", GUNICORN),
    "gunicorn-3": ("gunicorn, 3 sync workers", [*GUNICORN, "--workers", "3"]),
    "gunicorn-5": ("gunicorn, 5 sync workers (2 per core + 1 on 2 cores)", [*GUNICORN, "--workers", "5"]),
    "granian-2": (
        "granian, 2 workers x 1 thread, keep-alive",
        [*GRANIAN, "--workers", "2", "--blocking-threads", "1", "bench.wsgi:application"],
    ),
}


def table(results: dict[tuple[str, str, int], list[dict[str, Any]]]) -> str:
    """Per server: the lowest CPU ms a request at concurrency 8 (and the highest req/s), and the median p99/p50
    at concurrency 32, of each scenario."""

    lines = [
        "| server | "
        + " | ".join(f"{name} CPU ms/req at 8 (req/s)" for name in SCENARIOS)
        + " | "
        + " | ".join(f"{name} p99/p50 at 32" for name in SCENARIOS)
        + " |",
        "| --- | " + " | ".join("---:" for _ in range(2 * len(SCENARIOS))) + " |",
    ]
    for label, (described, _) in SERVERS.items():
        cpu = [
            f"{min(run['cpu_ms_per_request'] for run in results[(label, name, 8)])} "
            f"({max(run['rps'] for run in results[(label, name, 8)])})"
            for name in SCENARIOS
        ]
        tail = [
            f"{statistics.median(run['p99_us'] / run['p50_us'] for run in results[(label, name, 32)]):.2f}"
            for name in SCENARIOS
        ]
        lines.append(f"| {described} | " + " | ".join(cpu + tail) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    jwks = JWKS()
    recreate_database()
    env = server_env(jwks, "")
    data = seed(env)
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    servers: dict[str, Server] = {}
    with tempfile.TemporaryDirectory() as directory:
        try:
            for label, (_, command) in SERVERS.items():
                servers[label] = Server(label, ROOT, env, command)
            files = build_scenarios(data, jwks, Path(directory))
            results = taken_in_turn(servers, files, SCENARIOS, (8, 32), ROUNDS)
        finally:
            for server in servers.values():
                server.stop()
    text = table(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "servers.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
