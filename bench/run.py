"""Evo-TODO benchmark: gunicorn (the project's config) on PostgreSQL, real EdDSA tokens, wrk as the load.

Run from the project root: `make bench` (or `.venv/bin/python -m bench.run`). It needs PostgreSQL (DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/evotodo_bench, dropped and created afresh) and `wrk` (Debian's
package; installed with apt-get when missing and running as root). Results go to bench/results/latest.json and
latest.md, and the table in bench/README.md is replaced.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
USERS = int(os.environ.get("BENCH_USERS", "50"))
TASKS_PER_USER = int(os.environ.get("BENCH_TASKS_PER_USER", "200"))
HEAVY_TASKS = int(os.environ.get("BENCH_HEAVY_TASKS", "10000"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,8,32").split(",")]
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evotodo_bench")


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk from Debian's packages")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is needed: apt-get install wrk")
    return found


def recreate_database() -> None:
    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    subprocess.run(["dropdb", "--if-exists", *args, name], check=True, env=env)
    subprocess.run(["createdb", *args, name], check=True, env=env)


class JWKS:
    """Serves one Ed25519 public key on 127.0.0.1, as Better Auth's /api/auth/jwks would."""

    def __init__(self) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import ed25519

        self.kid = "benchkid0123456789abcdefghijklmn"
        self.private_key = ed25519.Ed25519PrivateKey.generate()
        public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key()))
        body = json.dumps({"keys": [{**public, "alg": "EdDSA", "kid": self.kid}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def token(self, sub: str, email: str, name: str) -> str:
        import jwt

        now = int(time.time())
        claims = {"sub": sub, "iss": self.base_url, "aud": self.base_url, "iat": now, "exp": now + 4 * 3600}
        claims.update(email=email, name=name, emailVerified=True)
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid, "typ": None})


def seed(env: dict[str, str]) -> dict[str, Any]:
    """Migrate and create the users and tasks; returns (sub, email, name, task ids) per user."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from authn.models import User
    from tasks.models import Task
    from tasks.ordering import DEFAULT_SORT, make_cursor, sorted_tasks

    call_command("migrate", verbosity=0)
    people = [
        User(better_auth_id=f"bench{n:027d}", email=f"user{n}@bench.test", name=f"User {n}", password="!")
        for n in range(USERS)
    ]
    heavy = User(better_auth_id="heavy" + "0" * 27, email="heavy@bench.test", name="Heavy", password="!")
    User.objects.bulk_create([*people, heavy])
    users = {user.better_auth_id: user for user in User.objects.all()}
    rows = [
        Task(owner=users[person.better_auth_id], title=f"Task {n} of {person.name}", description="Benchmark task")
        for person in people
        for n in range(TASKS_PER_USER)
    ]
    rows += [Task(owner=users[heavy.better_auth_id], title=f"Heavy task {n}") for n in range(HEAVY_TASKS)]
    Task.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    ids: dict[str, list[int]] = {}
    for owner, task_id in Task.objects.values_list("owner__better_auth_id", "id"):
        ids.setdefault(owner, []).append(task_id)
    # The page of the heavy user's list that starts 9 000 tasks deep, by cursor.
    deep_row = sorted_tasks(Task.objects.filter(owner=users[heavy.better_auth_id]), DEFAULT_SORT)[DEEP_ROW]
    return {
        "users": [(p.better_auth_id, p.email, p.name, ids[p.better_auth_id]) for p in people],
        "heavy": (heavy.better_auth_id, heavy.email, heavy.name),
        "deep_cursor": make_cursor(deep_row, DEFAULT_SORT),
    }


def start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**env, "GUNICORN_ACCESS_LOG": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("gunicorn did not start")


def request_file(lines: list[tuple[str, str, str, str]], directory: Path, name: str) -> Path:
    path = directory / f"{name}.txt"
    path.write_text("".join(f"{m}\t{p}\t{h}\t{b}\n" for m, p, h, b in lines))
    return path


def build_scenarios(data: dict[str, Any], jwks: JWKS, directory: Path) -> dict[str, Path]:
    rng = random.Random(7)  # noqa: S311 (load pattern, not security)
    tokens = [
        (sub, f"Authorization: Bearer {jwks.token(sub, email, name)}", ids) for sub, email, name, ids in data["users"]
    ]
    lists = [("GET", "/api/tasks?limit=50", auth, "") for _, auth, _ in tokens]
    retrieves = [("GET", f"/api/tasks/{rng.choice(ids)}", auth, "") for _, auth, ids in tokens for _ in range(20)]
    creates = [
        ("POST", "/api/tasks", auth, json.dumps({"title": "Benchmark write", "priority": "low"}))
        for _, auth, _ in tokens
    ]
    completes = [
        ("PATCH", f"/api/tasks/{rng.choice(ids)}/complete", auth, "") for _, auth, ids in tokens for _ in range(20)
    ]
    mix: list[tuple[str, str, str, str]] = []
    for _ in range(2000):
        roll = rng.random()
        pool = lists if roll < 0.4 else retrieves if roll < 0.8 else creates if roll < 0.9 else completes
        mix.append(rng.choice(pool))
    heavy_sub, heavy_email, heavy_name = data["heavy"]
    heavy_auth = f"Authorization: Bearer {jwks.token(heavy_sub, heavy_email, heavy_name)}"
    heavy = [("GET", "/api/tasks?limit=50", heavy_auth, "")]
    deep = [("GET", f"/api/tasks?limit=50&cursor={urllib.parse.quote(data['deep_cursor'])}", heavy_auth, "")]
    idle = [("GET", IDLE_PLACEHOLDER + sub, auth, "") for sub, auth, _ in tokens]  # tokens come later
    stubbed = [("GET", "/bench/list-noauth?limit=50", f"X-Bench-User: {sub}", "") for sub, _, _ in tokens]
    scenarios = {
        "list": lists,
        "retrieve": retrieves,
        "create": creates,
        "complete": completes,
        "mix": mix,
        "list_user_with_10000_tasks": heavy,
        "list_page_9000_deep": deep,
        "sync_idle": idle,
        "list_auth_stubbed": stubbed,
        "plain_django_json": [("GET", "/bench/plain", "", "")],
    }
    return {name: request_file(lines, directory, name) for name, lines in scenarios.items()}


def up_to_date(requests: Path) -> None:
    """Put each user's current sync token into the idle-poll requests, right before they run: the writes of
    the scenarios before (and the warm-up) moved every user's counter, and an old token is not an idle poll.
    The tokens are signed with gunicorn's secret (this process has its environment)."""
    from authn.models import User
    from tasks.sync import current_seq, make_token

    users = {user.better_auth_id: user for user in User.objects.all()}
    template = requests.with_suffix(".template")  # the requests as built, run after run
    if not template.exists():
        template.write_text(requests.read_text())
    lines = []
    for line in template.read_text().splitlines():
        method, path, header, body = line.split("\t")
        user = users[path.removeprefix(IDLE_PLACEHOLDER)]
        token = urllib.parse.quote(make_token(user, current_seq(user)[0]))
        lines.append("\t".join([method, f"/api/sync?token={token}", header, body]))
    requests.write_text("\n".join(lines) + "\n")


def run_wrk(wrk: str, url: str, requests: Path, concurrency: int, duration: int) -> dict[str, Any]:
    threads = min(concurrency, 2)
    out = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(ROOT / "bench" / "wrk.lua"),
            url,
            "--",
            str(requests),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["p50_ms"] = round(result["p50_us"] / 1000, 2)
    result["p99_ms"] = round(result["p99_us"] / 1000, 2)
    return result


COMPARED = ("list", "list_auth_stubbed", "list_user_with_10000_tasks", "list_page_9000_deep")
DEEP_ROW = 9000
IDLE_PLACEHOLDER = "/api/sync?token=of:"
ROUNDS = 5


def authentication_microseconds(token: str) -> float:
    """In-process cost of authenticating a request whose token and user are already cached (the hot path),
    net of building the request: a steadier measure of the auth cost than two noisy throughputs."""
    from django.test import RequestFactory
    from rest_framework.request import Request

    from authn.authentication import BetterAuthJWTAuthentication

    factory, authentication, count = RequestFactory(), BetterAuthJWTAuthentication(), 20_000

    def timed(authenticate: bool) -> float:
        started = time.perf_counter()
        for _ in range(count):
            request = Request(factory.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {token}"))
            if authenticate:
                authentication.authenticate(request)
        return (time.perf_counter() - started) / count * 1e6

    authentication.authenticate(Request(factory.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {token}")))
    return round(min(timed(True) for _ in range(3)) - min(timed(False) for _ in range(3)), 1)


def measure(wrk: str, url: str, files: dict[str, Path], name: str, concurrency: int) -> dict[str, Any]:
    result = {"scenario": name, "concurrency": concurrency, **run_wrk(wrk, url, files[name], concurrency, DURATION)}
    log(f"{name} c={concurrency}: {result['rps']} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']}")
    return result


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0"
    )
    postgres = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": postgres,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def markdown(report: dict[str, Any]) -> str:
    """The results as the Markdown tables of bench/README.md."""
    lines = [
        "| scenario | concurrency | requests/s | p50 ms | p99 ms | p99/p50 | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in report["runs"]:
        ratio = run["p99_us"] / run["p50_us"] if run["p50_us"] else 0
        cells = [run["scenario"], run["concurrency"], run["rps"], run["p50_ms"], run["p99_ms"], f"{ratio:.1f}"]
        lines.append("| " + " | ".join(str(cell) for cell in [*cells, run["non_2xx"]]) + " |")
    t = report["targets"]

    def met(ok: bool) -> str:
        return "yes" if ok else "**no**"

    lines += [
        "",
        "| target, at concurrency 8 | measured | met |",
        "| --- | --- | --- |",
        f"| authentication costs at most 5 % of the list's throughput | {t['auth_cost_percent']} % | "
        f"{met(t['auth_cost_ok'])} |",
        f"| list p99 under 3x its p50 | {t['list_p99_over_p50']}x | {met(t['p99_ok'])} |",
        f"| list of a user with 10 000 tasks within 10 % of one with 200 | {t['heavy_vs_normal_percent']} % slower | "
        f"{met(t['heavy_ok'])} |",
        f"| the page 9 000 tasks deep (cursor) within 10 % of the first page | "
        f"{t.get('deep_vs_first_page_percent')} % slower | {met(t.get('deep_ok', False))} |",
        f"| authenticated list against the plain Django JSON floor | {t['list_vs_floor_percent']} % of it | - |",
        f"| authentication on the hot path, in process (token and user cached) | {t['auth_hot_path_us']} µs a request, "
        f"{t['auth_hot_path_percent_of_list']} % of a list request at concurrency 1 | - |",
        "",
    ]
    lines += [
        "The runs at concurrency 8 of "
        + ", ".join(
            f"`{run['scenario']}` ({' / '.join(str(rps) for rps in run['rounds_rps'])} req/s)"
            for run in report["runs"]
            if "rounds_rps" in run
        )
        + f" are the median of {ROUNDS}, taken in turn, so that the ratios compare runs made side by side.",
        "",
    ]
    m = report["machine"]
    lines.append(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; {m['postgresql']}; "
        f"gunicorn with {report['workers']} sync workers; wrk on the same machine; {report['duration_s']} s per run; "
        f"{m['date']}."
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    wrk = ensure_wrk()
    jwks = JWKS()
    recreate_database()
    workers = os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) * 2 + 1))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": DATABASE_URL,
        "BETTER_AUTH_URL": jwks.base_url,
        "API_THROTTLE_USER": "off",
        "API_THROTTLE_ANON": "off",
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": workers,
    }
    log(f"seeding {USERS} users x {TASKS_PER_USER} tasks and one user with {HEAVY_TASKS} tasks")
    data = seed(env)
    sub, email, name, _ = data["users"][0]
    auth_us = authentication_microseconds(jwks.token(sub, email, name))
    log(f"authentication on the hot path: {auth_us} us per request")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_gunicorn(env, port)
    runs = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            files = build_scenarios(data, jwks, Path(directory))
            log("warming up")
            for name in ("list", "list_auth_stubbed", "list_user_with_10000_tasks", "mix"):
                run_wrk(wrk, url, files[name], 8, 3)
            plan = [(name, c) for name in ("list", "retrieve", "create", "complete", "mix") for c in CONCURRENCY]
            plan += [("sync_idle", c) for c in CONCURRENCY] + [("plain_django_json", 8)]
            for name, concurrency in plan:
                if name == "sync_idle":
                    up_to_date(files[name])
                runs.append(measure(wrk, url, files, name, concurrency))
            # The ratios compare runs made minutes apart on a shared machine: measure their three scenarios
            # in turn, ROUNDS times, and keep each one's median run.
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in COMPARED}
            for _ in range(ROUNDS):
                for name in COMPARED:
                    rounds[name].append(measure(wrk, url, files, name, 8))
            for name, results in rounds.items():
                median = {
                    **sorted(results, key=lambda result: result["rps"])[1],
                    "rounds_rps": [r["rps"] for r in results],
                }
                same = [i for i, run in enumerate(runs) if (run["scenario"], run["concurrency"]) == (name, 8)]
                if same:
                    runs[same[0]] = median
                else:
                    runs.append(median)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    by = {(run["scenario"], run["concurrency"]): run for run in runs}
    listed, stubbed, floor, heavy = (
        by[("list", 8)],
        by[("list_auth_stubbed", 8)],
        by[("plain_django_json", 8)],
        by[("list_user_with_10000_tasks", 8)],
    )
    auth_cost = round(100 * (1 - listed["rps"] / stubbed["rps"]), 1)
    heavy_gap = round(100 * (1 - heavy["rps"] / listed["rps"]), 1)
    deep = by.get(("list_page_9000_deep", 8))
    deep_gap = round(100 * (1 - deep["rps"] / heavy["rps"]), 1) if deep else None
    p99_ratio = round(listed["p99_us"] / listed["p50_us"], 2)
    report = {
        "machine": machine(),
        "workers": int(workers),
        "duration_s": DURATION,
        "runs": runs,
        "targets": {
            "auth_cost_percent": auth_cost,
            "auth_cost_ok": auth_cost <= 5,
            "list_p99_over_p50": p99_ratio,
            "p99_ok": p99_ratio < 3,
            "heavy_vs_normal_percent": heavy_gap,
            "heavy_ok": heavy_gap <= 10,
            "deep_vs_first_page_percent": deep_gap,
            "deep_ok": deep_gap is not None and deep_gap <= 10,
            "list_vs_floor_percent": round(100 * listed["rps"] / floor["rps"], 1),
            "auth_hot_path_us": auth_us,
            "auth_hot_path_percent_of_list": round(100 * auth_us / (1e6 / by[("list", 1)]["rps"]), 1)
            if ("list", 1) in by
            else None,
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (RESULTS / "latest.md").write_text(table)
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    readme.write_text(text[: text.index(start) + len(start)] + "\n" + table + text[text.index(end) :])
    log(f"results in {RESULTS / 'latest.md'}")
    print(table)


if __name__ == "__main__":
    main()
