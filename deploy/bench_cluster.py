"""What nginx and a second node cost or gain: wrk against one gunicorn node directly, then through nginx over two.

`.venv/bin/python -m deploy.bench_cluster [--seconds 10] [--connections 8]` starts a local cluster (deploy/cluster.py,
rate limits off), seeds demo users, and replays an authenticated list request (bench/wrk.lua, HS256 tokens) for
each target in turn. Separate from bench/run.py, which measures a single node in depth.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from deploy.cluster import PROJECT_DIR, Cluster

USERS = 20
WRK_SCRIPT = PROJECT_DIR / "bench" / "wrk.lua"


def run_wrk(url: str, requests: Path, seconds: int, connections: int) -> dict[str, str]:
    """wrk's requests/s and latency percentiles (as wrk prints them) against `url`."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is needed: apt-get install wrk")
    result = subprocess.run(  # noqa: S603 (the local wrk)
        [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(WRK_SCRIPT), url, "--", str(requests)],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    figures = {"requests/s": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)}  # type: ignore[union-attr]
    for percentile in ("50", "90", "99"):
        match = re.search(rf"^\s+{percentile}%\s+(\S+)", out, re.MULTILINE)
        figures[f"p{percentile}"] = match.group(1) if match else "?"
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non-2xx"] = non_2xx.group(1) if non_2xx else "0"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--base-port", type=int, default=18160)
    args = parser.parse_args()
    env = {"API_THROTTLE_USER": "off", "API_THROTTLE_ANON": "off", "API_THROTTLE_AUTH_FAILURES": "off"}
    with Cluster(nodes=2, workers=2, base_port=args.base_port, env=env) as cluster:
        cluster.manage("seed_demo", "--users", str(USERS), "--tasks-per-user", "50")
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as requests:
            for n in range(1, USERS + 1):
                # Demo user n (tasks.demo.demo_user_id); its email changes once, on the warm-up's first request.
                token = cluster.token(f"demo{n:028d}")
                requests.write(f"GET\t/api/tasks?limit=20\tAuthorization: Bearer {token}\t\n")
        path = Path(requests.name)
        targets = {
            "one node, direct (2 workers)": cluster.nodes[0].url,
            "nginx over two nodes (2 x 2 workers)": cluster.url,
        }
        for name, url in targets.items():
            run_wrk(url, path, 2, args.connections)  # warm-up: caches, connections
            print(f"{name:40} {run_wrk(url, path, args.seconds, args.connections)}", flush=True)
        path.unlink()


if __name__ == "__main__":
    main()
