"""Evo-TODO benchmark: gunicorn (the project's config) on PostgreSQL, real EdDSA tokens, wrk as the load.

Run from the project root: `make bench` (or `.venv/bin/python -m bench.run`). It needs PostgreSQL (DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/evotodo_bench, dropped and created afresh) and `wrk` (Debian's
package; installed with apt-get when missing and running as root). Results go to bench/results/latest.json and
latest.md, and the table in bench/README.md is replaced.

Before and after in one run: the same scenarios are also run against a baseline revision (BENCH_BASELINE, a git
revision, default BASELINE_DEFAULT; "none" skips it), checked out with `git worktree add` into a temporary
directory and served by a second gunicorn from the same virtualenv and database, the two taking turns run by run.
Each run reports the server CPU per request (bench/measure.py says how it is counted) beside requests/s.
BENCH_PROFILE=1 also samples each server with py-spy under load and writes the top frames to
bench/results/profile.md.
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

from bench.measure import combined, measure, postgres_backends, process_group, run_wrk

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
USERS = int(os.environ.get("BENCH_USERS", "50"))
TASKS_PER_USER = int(os.environ.get("BENCH_TASKS_PER_USER", "200"))
HEAVY_TASKS = int(os.environ.get("BENCH_HEAVY_TASKS", "10000"))
HEAVY_LISTS = 50
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,8,32").split(",")]
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/evotodo_bench")
# The production deployment's shared Redis (README, Production): the user cache's invalidations ride on it, so a
# user seen recently costs no query. "none" measures a node without it (users cached one second).
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15").strip()
# main before the CPU-per-request work (the "before"): what the current code is compared with.
BASELINE_DEFAULT = "a1d8df5"
BASELINE = os.environ.get("BENCH_BASELINE", BASELINE_DEFAULT).strip()
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0", "false")
COMPARED_BEFORE_AFTER = ("list", "retrieve", "create", "complete", "mix")
PROFILED = ("list", "retrieve", "create", "complete")


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
    from tasks.models import Task, TaskList
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
    # The heavy user organises them: 50 lists, every task in one of them (200 a list).
    heavy_lists = TaskList.objects.bulk_create(
        TaskList(owner=users[heavy.better_auth_id], name=f"List {n}", name_key=f"list {n}", position=f"a{n:02d}")
        for n in range(HEAVY_LISTS)
    )
    rows += [
        Task(owner=users[heavy.better_auth_id], title=f"Heavy task {n}", task_list=heavy_lists[n % HEAVY_LISTS])
        for n in range(HEAVY_TASKS)
    ]
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
        "heavy_list": heavy_lists[HEAVY_LISTS // 2].pk,
        "deep_cursor": make_cursor(deep_row, DEFAULT_SORT),
    }


def with_application_name(url: str, name: str) -> str:
    """The database URL with `application_name` set, so each server's backends can be told apart."""
    parts = urlsplit(url)
    query = urllib.parse.urlencode([*urllib.parse.parse_qsl(parts.query), ("application_name", name)])
    return parts._replace(query=query).geturl()


class Server:
    """One gunicorn (the project's config, from `root`) in its own session, and the pids to account for it:
    its process group and the database backends that carry its application name. `command`, given, serves the
    same application with another server instead; `{port}` in it is replaced by the port it must bind."""

    def __init__(self, label: str, root: Path, env: dict[str, str], command: list[str] | None = None) -> None:
        self.label = label
        self.root = root
        self.application_name = f"evotodo-bench-{label}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **env,
            "GUNICORN_ACCESS_LOG": "",
            "DATABASE_URL": with_application_name(DATABASE_URL, self.application_name),
        }
        command = command or [sys.executable, "-m", "gunicorn", "bench.wsgi", "--bind", "127.0.0.1:{port}"]
        self.process = subprocess.Popen(
            [part.replace("{port}", str(self.port)) for part in command],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            self.stop()
            sys.exit(f"the server ({label}) did not start")
        self.pids = combined(process_group(self.process.pid), postgres_backends(plain_dsn(), self.application_name))

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def plain_dsn() -> str:
    """DATABASE_URL as psycopg takes it."""
    return DATABASE_URL.replace("postgres://", "postgresql://", 1)


def checkout_baseline(revision: str, directory: Path, name: str = "baseline") -> Path:
    """A revision's tree, as a detached worktree of this repository (removed by `remove_baseline`)."""
    path = directory / name
    subprocess.run(["git", "worktree", "add", "--quiet", "--detach", str(path), revision], cwd=ROOT, check=True)
    return path


def remove_baseline(path: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


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
    one_list = [("GET", f"/api/tasks?limit=50&list={data['heavy_list']}", heavy_auth, "")]
    idle = [("GET", IDLE_PLACEHOLDER + sub, auth, "") for sub, auth, _ in tokens]  # tokens come later
    stubbed = [("GET", "/bench/list-noauth?limit=50", f"X-Bench-User: {sub}", "") for sub, _, _ in tokens]
    scenarios = {
        "list": lists,
        "retrieve": retrieves,
        "create": creates,
        "complete": completes,
        "mix": mix,
        "list_user_with_10000_tasks": heavy,
        "list_one_of_50_lists": one_list,
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


COMPARED = (
    "list",
    "list_auth_stubbed",
    "list_user_with_10000_tasks",
    "list_page_9000_deep",
    "list_one_of_50_lists",
)
DEEP_ROW = 9000
IDLE_PLACEHOLDER = "/api/sync?token=of:"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PROFILE_SECONDS = int(os.environ.get("BENCH_PROFILE_SECONDS", "10"))
# The targets: server CPU per request at concurrency 8, in ms (the aim is two thirds of each).
CPU_TARGETS_MS = {"list": 1.8, "retrieve": 1.2, "create": 2.0, "complete": 2.3}
TAIL_TARGET = 2.0  # p99/p50 at concurrency 32


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


def scenario_run(server: Server, files: dict[str, Path], name: str, concurrency: int) -> dict[str, Any]:
    """One measured run of a scenario against one server."""
    result = measure(server.url, files[name], concurrency, DURATION, server.pids)
    result = {"scenario": name, "concurrency": concurrency, "server": server.label, **result}
    log(
        f"{server.label} {name} c={concurrency}: {result['rps']} req/s, {result['cpu_ms_per_request']} ms CPU/req, "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']}"
    )
    return result


def taken_in_turn(
    servers: dict[str, Server],
    files: dict[str, Path],
    scenarios: list[str],
    concurrencies: tuple[int, ...],
    rounds: int,
) -> dict[tuple[str, str, int], list[dict[str, Any]]]:
    """Each scenario at each concurrency against every server in turn, `rounds` times, after a warm-up; which
    server goes first rotates, so that none always follows another. The runs, by (server, scenario, concurrency)."""
    for server in servers.values():
        run_wrk(server.url, files["list"], 8, 2)
        run_wrk(server.url, files["mix"], 8, 2)
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    labels, turn = list(servers), 0
    for _ in range(rounds):
        for concurrency in concurrencies:
            for name in scenarios:
                order = labels[turn % len(labels) :] + labels[: turn % len(labels)]
                turn += 1
                for label in order:
                    run = scenario_run(servers[label], files, name, concurrency)
                    results.setdefault((label, name, concurrency), []).append(run)
    return results


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


def profile(server: Server, files: dict[str, Path], name: str, directory: Path) -> dict[str, list[tuple[str, float]]]:
    """Sample every process of `server` with py-spy while wrk loads it at concurrency 8; the top frames."""
    output = directory / f"{server.label}-{name}.txt"
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(server.process.pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            "200",
            "--duration",
            str(PROFILE_SECONDS),
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run_wrk(server.url, files[name], 8, PROFILE_SECONDS)
    spy.wait(timeout=PROFILE_SECONDS + 60)
    return top_frames(output.read_text() if output.exists() else "")


def frame_name(frame: str) -> str:
    """`function (path/to/module.py:12)` as `function (module path)`, without the line and the venv's prefix."""
    function, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", str(ROOT) + "/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    if "/baseline/" in where:  # the baseline's worktree: the same modules
        where = where.split("/baseline/", 1)[1]
    return f"{function} ({where})"


def top_frames(collapsed: str, count: int = 12) -> dict[str, list[tuple[str, float]]]:
    """From py-spy's collapsed stacks: the functions with the most samples on top of the stack (`self`) and
    anywhere in it (`total`), in % of all samples."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in collapsed.splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        frames = [frame_name(frame) for frame in stack.split(";")]
        # py-spy's first frame is the process ("process 123:\"...\""): not a function.
        frames = [frame for frame in frames if not frame.startswith("process ")]
        if not frames:
            continue
        n = int(number)
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n

    def top(counts: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:count]
        return [(name, round(100 * n / samples, 1)) for name, n in ranked] if samples else []

    # Frames on (nearly) every stack (the WSGI handler, the middleware chain) say nothing: left out.
    return {"self": top(own), "total": top({k: v for k, v in total.items() if v < 0.7 * samples})}


def profile_markdown(profiles: dict[str, dict[str, dict[str, list[tuple[str, float]]]]]) -> str:
    """The profiles as Markdown: per scenario, baseline and current, the top frames by self time."""
    lines = []
    for name, by_server in profiles.items():
        lines += [f"#### {name} (concurrency 8)", ""]
        for label, frames in by_server.items():
            lines += [f"{label}, self time (% of samples):", ""]
            lines += [f"- {share} % `{frame}`" for frame, share in frames["self"]]
            lines += ["", f"{label}, inclusive (% of samples):", ""]
            lines += [f"- {share} % `{frame}`" for frame, share in frames["total"]]
            lines.append("")
    return "\n".join(lines) + "\n"


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def before_after_markdown(report: dict[str, Any]) -> list[str]:
    """Baseline against current, run by run, and the CPU targets."""
    pairs = report.get("before_after", [])
    if not pairs:
        return []
    lines = [
        f"Before (`{report['baseline']}`) and after (`{report['current']}`), taken in turn in this run:",
        "",
        "| scenario | concurrency | CPU ms/req before | CPU ms/req after | CPU change | req/s before | req/s after "
        "| p99/p50 after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for pair in pairs:
        before, after = pair["baseline"], pair["current"]
        change = 100 * (after["cpu_ms_per_request"] / before["cpu_ms_per_request"] - 1)
        ratio = after["p99_us"] / after["p50_us"] if after["p50_us"] else 0
        lines.append(
            f"| {pair['scenario']} | {pair['concurrency']} | {before['cpu_ms_per_request']} | "
            f"{after['cpu_ms_per_request']} | {change:+.0f} % | {before['rps']} | {after['rps']} | {ratio:.1f} |"
        )
    lines += [
        "",
        "| target | measured (after) | met | two thirds |",
        "| --- | --- | --- | --- |",
    ]
    for target in report["cpu_targets"]:
        lines.append(
            f"| {target['scenario']}: at most {target['target_ms']} ms CPU a request at concurrency 8 | "
            f"{target['measured_ms']} ms | {met(target['ok'])} | {met(target['measured_ms'] <= target['aim_ms'])} "
            f"({target['aim_ms']} ms) |"
        )
    for tail in report["tail_targets"]:
        lines.append(
            f"| {tail['scenario']}: p99/p50 under {TAIL_TARGET} at concurrency 32 | {tail['ratio']} | "
            f"{met(tail['ok'])} | - |"
        )
    return [*lines, ""]


def markdown(report: dict[str, Any]) -> str:
    """The results as the Markdown tables of bench/README.md."""
    lines = before_after_markdown(report)
    lines += [
        "The current code, every scenario:",
        "",
        "| scenario | concurrency | requests/s | CPU ms/req | p50 ms | p99 ms | p99/p50 | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in report["runs"]:
        ratio = run["p99_us"] / run["p50_us"] if run["p50_us"] else 0
        cells = [
            run["scenario"],
            run["concurrency"],
            run["rps"],
            run.get("cpu_ms_per_request", "-"),
            run["p50_ms"],
            run["p99_ms"],
            f"{ratio:.1f}",
        ]
        lines.append("| " + " | ".join(str(cell) for cell in [*cells, run["non_2xx"]]) + " |")
    t = report["targets"]
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
        f"| one list's first page (a user with 50 lists and 10 000 tasks) within 10 % of all their tasks' | "
        f"{t.get('one_list_vs_all_percent')} % slower | {met(t.get('one_list_ok', False))} |",
        f"| authenticated list against the plain Django JSON floor | {t['list_vs_floor_percent']} % of it | - |",
        f"| authentication on the hot path, in process (token and user cached) | {t['auth_hot_path_us']} µs a request, "
        f"{t['auth_hot_path_percent_of_list']} % of a list request at concurrency 1 | - |",
        "",
    ]
    rounds = report.get("rounds", ROUNDS)
    lines += [
        "The runs at concurrency 8 of "
        + ", ".join(
            f"`{run['scenario']}` ({' / '.join(str(rps) for rps in run['rounds_rps'])} req/s)"
            for run in report["runs"]
            if "rounds_rps" in run
        )
        + f" are the median of {rounds}, taken in turn, so that the ratios compare runs made side by side.",
        "",
    ]
    m = report["machine"]
    lines.append(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; {m['postgresql']}; "
        f"gunicorn with {report['workers']} sync workers; Redis: {report.get('redis') or 'none'}; wrk on the same "
        f"machine; {report['duration_s']} s per run; "
        f"{m['date']}."
    )
    return "\n".join(lines) + "\n"


def revision(ref: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput, with every round's throughput beside it."""
    ranked = sorted(results, key=lambda result: result["rps"])
    return {**ranked[len(ranked) // 2], "rounds_rps": [r["rps"] for r in results]}


def redis_url() -> str:
    """BENCH_REDIS_URL when it answers, else "" (and why, in the log): the servers then run without Redis."""
    if BENCH_REDIS_URL.lower() in ("", "none"):
        return ""
    import redis

    try:
        redis.Redis.from_url(BENCH_REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as e:
        log(f"Redis at {BENCH_REDIS_URL} does not answer ({e.__class__.__name__}): measuring without Redis")
        return ""
    return BENCH_REDIS_URL


def server_env(jwks: JWKS, workers: str) -> dict[str, str]:
    """The environment of the servers under test (and of the seeding, in this process); `workers` empty leaves
    their number to each revision's gunicorn.conf.py."""
    environ = {name: value for name, value in os.environ.items() if name != "WEB_CONCURRENCY"}
    return {
        **environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": DATABASE_URL,
        "BETTER_AUTH_URL": jwks.base_url,
        "API_THROTTLE_USER": "off",
        "API_THROTTLE_ANON": "off",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url(),
        **({"WEB_CONCURRENCY": workers} if workers else {}),
    }


def main() -> None:
    ensure_wrk()
    jwks = JWKS()
    recreate_database()
    env = server_env(jwks, os.environ.get("WEB_CONCURRENCY", ""))
    log(f"seeding {USERS} users x {TASKS_PER_USER} tasks and one user with {HEAVY_TASKS} tasks")
    data = seed(env)
    sub, email, name, _ = data["users"][0]
    auth_us = authentication_microseconds(jwks.token(sub, email, name))
    log(f"authentication on the hot path: {auth_us} us per request")
    runs: list[dict[str, Any]] = []
    before_after: list[dict[str, Any]] = []
    profiles: dict[str, dict[str, Any]] = {}
    baseline = None if BASELINE.lower() == "none" else revision(BASELINE)
    with tempfile.TemporaryDirectory() as directory:
        baseline_root = checkout_baseline(baseline, Path(directory)) if baseline else None
        servers: dict[str, Server] = {}
        try:
            servers["current"] = Server("current", ROOT, env)
            if baseline_root is not None:
                servers["baseline"] = Server("baseline", baseline_root, env)
            current = servers["current"]
            workers = len(process_group(current.process.pid)()) - 1  # what gunicorn.conf.py started, master aside
            files = build_scenarios(data, jwks, Path(directory))
            log("warming up")
            for server in servers.values():
                for name in ("list", "list_auth_stubbed", "list_user_with_10000_tasks", "mix"):
                    run_wrk(server.url, files[name], 8, 2)
            # Before and after, taken in turn; which goes first alternates, so neither always follows the other.
            for index, (name, concurrency) in enumerate(
                (name, c) for name in COMPARED_BEFORE_AFTER for c in CONCURRENCY
            ):
                order = sorted(servers, reverse=index % 2 == 1)
                pair = {label: scenario_run(servers[label], files, name, concurrency) for label in order}
                runs.append(pair["current"])
                if "baseline" in pair:
                    before_after.append({"scenario": name, "concurrency": concurrency, **pair})
            for name, concurrency in [("sync_idle", c) for c in CONCURRENCY] + [("plain_django_json", 8)]:
                if name == "sync_idle":
                    up_to_date(files[name])
                runs.append(scenario_run(current, files, name, concurrency))
            # The ratios compare runs made minutes apart on a shared machine: measure their scenarios in turn,
            # ROUNDS times, and keep each one's median run.
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in COMPARED}
            for _ in range(ROUNDS):
                for name in COMPARED:
                    rounds[name].append(scenario_run(current, files, name, 8))
            for name, results in rounds.items():
                median = median_run(results)
                same = [i for i, run in enumerate(runs) if (run["scenario"], run["concurrency"]) == (name, 8)]
                if same:
                    runs[same[0]] = median
                else:
                    runs.append(median)
            if PROFILE:
                for name in PROFILED:
                    profiles[name] = {}
                    for label in sorted(servers):
                        log(f"profiling {label} {name}")
                        profiles[name][label] = profile(servers[label], files, name, Path(directory))
        finally:
            for server in servers.values():
                server.stop()
            if baseline_root is not None:
                remove_baseline(baseline_root)
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
    one_list = by.get(("list_one_of_50_lists", 8))
    one_list_gap = round(100 * (1 - one_list["rps"] / heavy["rps"]), 1) if one_list else None
    p99_ratio = round(listed["p99_us"] / listed["p50_us"], 2)
    # The CPU targets are judged on the before/after pass (not the ratios' rounds), where baseline ran beside it.
    paired = {(pair["scenario"], pair["concurrency"]): pair["current"] for pair in before_after}
    judged = paired or by
    report = {
        "machine": machine(),
        "workers": workers,
        "redis": env["REDIS_URL"],
        "duration_s": DURATION,
        "rounds": ROUNDS,
        "baseline": baseline,
        "current": revision("HEAD") + (" + uncommitted changes" if dirty() else ""),
        "before_after": before_after,
        "cpu_targets": [
            {
                "scenario": name,
                "target_ms": target,
                "aim_ms": round(target * 2 / 3, 2),
                "measured_ms": judged[(name, 8)]["cpu_ms_per_request"],
                "ok": judged[(name, 8)]["cpu_ms_per_request"] <= target,
            }
            for name, target in CPU_TARGETS_MS.items()
            if (name, 8) in judged
        ],
        "tail_targets": [
            {
                "scenario": name,
                "ratio": round(judged[(name, 32)]["p99_us"] / judged[(name, 32)]["p50_us"], 2),
                "ok": judged[(name, 32)]["p99_us"] / judged[(name, 32)]["p50_us"] < TAIL_TARGET,
            }
            for name in CPU_TARGETS_MS
            if (name, 32) in judged
        ],
        "runs": runs,
        "profiles": profiles,
        "targets": {
            "auth_cost_percent": auth_cost,
            "auth_cost_ok": auth_cost <= 5,
            "list_p99_over_p50": p99_ratio,
            "p99_ok": p99_ratio < 3,
            "heavy_vs_normal_percent": heavy_gap,
            "heavy_ok": heavy_gap <= 10,
            "deep_vs_first_page_percent": deep_gap,
            "deep_ok": deep_gap is not None and deep_gap <= 10,
            "one_list_vs_all_percent": one_list_gap,
            "one_list_ok": one_list_gap is not None and one_list_gap <= 10,
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
    if profiles:
        (RESULTS / "profile.md").write_text(profile_markdown(profiles))
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    readme.write_text(text[: text.index(start) + len(start)] + "\n" + table + text[text.index(end) :])
    log(f"results in {RESULTS / 'latest.md'}")
    print(table)


def dirty() -> bool:
    """Whether the work tree has uncommitted changes to tracked files (the results then describe those)."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return bool(status.stdout.strip())


if __name__ == "__main__":
    main()
