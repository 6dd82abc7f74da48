"""CPU per request of several revisions side by side, to see what each step of a change earned.

`.venv/bin/python -m bench.steps REV [REV ...]` checks each revision out as a worktree, serves each with its own
gunicorn (WEB_CONCURRENCY, default 2 here, so that many fit beside each other on the database), and runs the
scenarios (BENCH_STEP_SCENARIOS, default list,retrieve,create,complete) at concurrency 8 for BENCH_DURATION
seconds against each revision in turn, the order rotating by scenario and round (BENCH_ROUNDS, default 2).
Each cell is a revision's lowest CPU per request over its rounds (other work on a shared machine only ever
adds to it) and its highest requests/s. Writes bench/results/steps.md.
"""

from __future__ import annotations

import os
import subprocess
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
    checkout_baseline,
    recreate_database,
    remove_baseline,
    revision,
    seed,
    server_env,
    taken_in_turn,
)

SCENARIOS = os.environ.get("BENCH_STEP_SCENARIOS", "list,retrieve,create,complete").split(",")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))


def subject(rev: str) -> str:
    """A revision's subject line, for the table."""
    return subprocess.run(  # noqa: S603
        ["git", "log", "-1", "--format=%s", rev],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def table(revisions: list[str], results: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    """The lowest CPU ms per request (and highest req/s) of each revision and scenario over its rounds."""

    lines = [
        "| revision | " + " | ".join(f"{name} CPU ms/req (req/s)" for name in SCENARIOS) + " |",
        "| --- | " + " | ".join("---:" for _ in SCENARIOS) + " |",
    ]
    for rev in revisions:
        cells = [
            f"{min(run['cpu_ms_per_request'] for run in results[(rev, name)])} "
            f"({max(run['rps'] for run in results[(rev, name)])})"
            for name in SCENARIOS
        ]
        lines.append(f"| `{rev}` {subject(rev)[:70]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(revs: list[str]) -> None:
    revisions = [revision(rev) for rev in revs]
    jwks = JWKS()
    recreate_database()
    env = server_env(jwks, os.environ.get("WEB_CONCURRENCY", "2"))
    data = seed(env)
    runs: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        roots = {rev: checkout_baseline(rev, Path(directory), f"rev-{rev}") for rev in revisions}
        servers: dict[str, Server] = {}
        try:
            for rev, root in roots.items():
                servers[rev] = Server(rev, root, env)
            files = build_scenarios(data, jwks, Path(directory))
            runs = taken_in_turn(servers, files, SCENARIOS, (8,), ROUNDS)
        finally:
            for server in servers.values():
                server.stop()
            for root in roots.values():
                remove_baseline(root)
    text = table(revisions, {(rev, name): found for (rev, name, _), found in runs.items()})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "steps.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
