"""A whole Evo-TODO deployment on one machine, for trying it by hand and for the fault tests.

nginx (deploy/nginx) → 2-3 gunicorn nodes (separate masters on loopback ports) → PgBouncer (deploy/pgbouncer) →
a PostgreSQL 15 instance of its own, plus a redis-server of its own; all in one temporary directory, on ports
`base_port` … `base_port + 19`, and stopped together. `make cluster` runs `python -m deploy.cluster`; the tests
drive the `Cluster` class (kill and restart a node, stop or stall Redis, restart PostgreSQL).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from deploy.render import render_nginx, render_pgbouncer

PROJECT_DIR = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "evotodo"
MAX_NODES = 3
# Offsets from base_port: everything the cluster listens on stays within base_port … base_port + 19.
NGINX_OFFSET, POSTGRES_OFFSET, PGBOUNCER_OFFSET, REDIS_OFFSET, FIRST_NODE_OFFSET = 0, 1, 2, 3, 11


class ClusterError(RuntimeError):
    """A part of the cluster did not start, or did not stop, within its deadline."""


def wait_for(check: Any, what: str, timeout: float = 30.0, interval: float = 0.1) -> None:
    """Poll `check()` until it is true, at most `timeout` seconds (processes give no event to await)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise ClusterError(f"{what}: not within {timeout:.0f} s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


def as_postgres(command: Sequence[str]) -> list[str]:
    """PostgreSQL's tools refuse to run as root: as root, run them as the `postgres` OS user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


def give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


class Node:
    """One gunicorn master (its own process group) serving on 127.0.0.1:`port`."""

    def __init__(self, index: int, port: int, env: dict[str, str], prefix: Sequence[str], log_path: Path) -> None:
        self.index, self.port, self.env, self.prefix, self.log_path = index, port, env, list(prefix), log_path
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if port_open(self.port):
            raise ClusterError(f"port {self.port} is taken")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own gunicorn)
                [*self.prefix, sys.executable, "-m", "gunicorn", "evotodo.wsgi"],
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = self.process
        wait_for(lambda: process.poll() is not None or http_ok(self.url + "/healthz"), f"node {self.index}")
        if process.poll() is not None:
            raise ClusterError(f"node {self.index} exited: {self.log_path.read_text()[-2000:]}")

    def workers(self) -> list[int]:
        """The pids of this node's processes other than its master (its workers, orphaned or not)."""
        if self.process is None:
            return []
        pgid = self.process.pid
        result = subprocess.run(["ps", "-o", "pid=,pgid=", "-e"], capture_output=True, text=True, check=True)  # noqa: S607
        pids = [int(pid) for pid, group in (line.split() for line in result.stdout.splitlines()) if int(group) == pgid]
        return [pid for pid in pids if pid != pgid]

    def kill(self, *, workers: bool) -> None:
        """SIGKILL the master; with `workers`, its whole process group at once (a machine dying). Without,
        the orphaned workers finish what they hold and leave when they notice (gunicorn's parent check, about
        a second); any still there after 10 s are killed."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            if workers:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        if not workers:
            with contextlib.suppress(ClusterError):
                wait_for(lambda: not self.workers(), f"node {self.index}'s orphaned workers to exit", timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        wait_for(lambda: not self.workers(), f"node {self.index}'s processes to go", timeout=10)

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), SIGKILL for the whole group after 20 s."""
        if self.process is None or self.process.poll() is not None:
            if self.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill(workers=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


class Cluster:
    """nginx → gunicorn nodes → PgBouncer → PostgreSQL, and Redis, all local; `with Cluster(...) as c:`.

    `better_auth_url` points the nodes at a JWKS (a server the caller runs); HS256 tokens signed with
    `self.secret` (`token()`) work either way. `env` applies to every node, `node_env[i]` to node i only, and
    `node_prefix[i]` runs node i under a command prefix (`["faketime", "-f", "+7s"]`).
    """

    def __init__(
        self,
        *,
        nodes: int = 2,
        workers: int = 2,
        base_port: int = 18100,
        better_auth_url: str = "",
        env: Mapping[str, str] | None = None,
        node_env: Mapping[int, Mapping[str, str]] | None = None,
        node_prefix: Mapping[int, Sequence[str]] | None = None,
        workdir: Path | None = None,
    ) -> None:
        if not 1 <= nodes <= MAX_NODES:
            raise ValueError(f"1 to {MAX_NODES} nodes")
        self.base_port = base_port
        self.port = base_port + NGINX_OFFSET
        self.postgres_port = base_port + POSTGRES_OFFSET
        self.pgbouncer_port = base_port + PGBOUNCER_OFFSET
        self.redis_port = base_port + REDIS_OFFSET
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_urlsafe(48)
        self.own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="evotodo-cluster-"))
        self.workdir.chmod(0o755)  # the postgres user must reach its data directory inside
        self.pgdata = self.workdir / "pgdata"
        self.database_url = f"postgres://postgres@127.0.0.1:{self.pgbouncer_port}/{DATABASE}"
        self.direct_database_url = f"postgres://postgres@127.0.0.1:{self.postgres_port}/{DATABASE}"
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.env = {
            **{
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("DJANGO_", "BETTER_AUTH_", "API_", "LOG_", "REDIS_", "DATABASE_", "GUNICORN_"))
            },
            "EVOTODO_ENV_FILE": "",
            "DJANGO_SETTINGS_MODULE": "evotodo.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_STATIC_ROOT": str(self.workdir / "static"),
            "DATABASE_URL": self.database_url,
            "DATABASE_POOLER": "pgbouncer",
            "REDIS_URL": self.redis_url,
            "NUM_PROXIES": "1",
            "BETTER_AUTH_URL": better_auth_url,
            "BETTER_AUTH_SECRET": self.secret,
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_ACCESS_LOG": "",
            **(env or {}),
        }
        self.nodes = [
            Node(
                i,
                base_port + FIRST_NODE_OFFSET + i,
                {
                    **self.env,
                    # Its sessions show in pg_stat_activity as evotodo-nodeI (PgBouncer passes the name on).
                    "DATABASE_URL": f"{self.database_url}?application_name=evotodo-node{i}",
                    **(node_env or {}).get(i, {}),
                    "GUNICORN_BIND": f"127.0.0.1:{base_port + FIRST_NODE_OFFSET + i}",
                },
                (node_prefix or {}).get(i, ()),
                self.workdir / f"node{i}.log",
            )
            for i in range(nodes)
        ]
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    # --- the whole ---------------------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Everything, in dependency order; on any failure, what was started is stopped again."""
        for port in (self.port, self.postgres_port, self.pgbouncer_port, self.redis_port):
            if port_open(port):
                raise ClusterError(f"port {port} is taken: another cluster running? (choose another base port)")
        try:
            self._init_postgres()
            self.postgres_start()
            self._create_database()
            self._start_pgbouncer()
            self.redis_start()
            self.manage("migrate", "--noinput", "-v", "0", direct=True)
            self.manage("collectstatic", "--noinput", "-v", "0")
            for node in self.nodes:
                node.start()
            self._start_nginx()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop everything that runs (nginx, nodes, Redis, PgBouncer, PostgreSQL) and remove the directory."""
        self._stop_process("nginx")
        for node in self.nodes:
            node.stop()
        self.redis_resume()
        self._stop_process("redis")
        self._stop_process("pgbouncer")
        if (self.pgdata / "postmaster.pid").exists():
            self.postgres_stop(mode="immediate")
        if self.own_workdir and not os.environ.get("EVOTODO_CLUSTER_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_process(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def _spawn(self, name: str, command: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(  # noqa: S603 (fixed local tools)
                list(command), cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        return process

    # --- the application ------------------------------------------------------------------------------------

    def manage(self, *args: str, direct: bool = False, node: int = 0) -> str:
        """`manage.py ARGS` with node `node`'s settings (straight to PostgreSQL with `direct`); its output."""
        env = dict(self.nodes[node].env)
        if direct:
            env |= {"DATABASE_URL": self.direct_database_url, "DATABASE_POOLER": "none"}
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ClusterError(f"manage.py {' '.join(args)}: {result.stderr[-3000:]}")
        return result.stdout

    def token(self, sub: str, *, ttl: int = 3600, **claims: Any) -> str:
        """An HS256 token for `sub` signed with the cluster's BETTER_AUTH_SECRET (like `mint_token`)."""
        import jwt

        now = int(time.time())
        return jwt.encode(
            {"sub": sub, "iat": now, "exp": now + ttl, "email": f"{sub}@example.com", **claims}, self.secret
        )

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of `sql` run straight on the cluster's PostgreSQL (not through PgBouncer)."""
        import psycopg

        with psycopg.connect(self.direct_database_url, connect_timeout=5) as db:
            return db.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def node_log(self, i: int) -> str:
        return self.nodes[i].log_path.read_text(errors="replace")

    def nginx_log(self, which: str = "access") -> str:
        path = self.workdir / "nginx" / f"{which}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- gunicorn nodes ---------------------------------------------------------------------------------

    def kill_node(self, i: int, *, workers: bool = True) -> None:
        """SIGKILL node i (with `workers`, its whole process group; without, the master alone)."""
        self.nodes[i].kill(workers=workers)

    def restart_node(self, i: int) -> None:
        """Start node i again (stopping it first if it still runs)."""
        self.nodes[i].stop()
        self.nodes[i].start()

    # --- Redis ---------------------------------------------------------------------------------------------

    def redis_start(self) -> None:
        self._spawn(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            self.workdir / "redis.log",
        )
        wait_for(lambda: port_open(self.redis_port), "redis-server")

    def redis_stop(self) -> None:
        """SIGKILL redis-server: its data (rate-limit counters, cached keys) is gone."""
        process = self.processes.pop("redis", None)
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)
                process.kill()
            process.wait(timeout=10)

    def redis_pause(self) -> None:
        """SIGSTOP redis-server: connections open, nothing answers (a stalled server)."""
        self.processes["redis"].send_signal(signal.SIGSTOP)

    def redis_resume(self) -> None:
        if "redis" in self.processes and self.processes["redis"].poll() is None:
            self.processes["redis"].send_signal(signal.SIGCONT)

    # --- PostgreSQL and PgBouncer --------------------------------------------------------------------------

    def _init_postgres(self) -> None:
        self.pgdata.mkdir()
        give_to_postgres(self.pgdata)
        subprocess.run(  # noqa: S603
            as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
            ),
            capture_output=True,
            check=True,
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.postgres_port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.pgdata}'\ntimezone = 'UTC'\nmax_connections = 60\n"
                # Durable as in production (fsync and synchronous commit on, PostgreSQL's defaults): the fault
                # tests crash it and check that nothing acknowledged is lost.
                "shared_buffers = 32MB\n"
            )

    def postgres_start(self) -> None:
        subprocess.run(  # noqa: S603
            as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.pgdata / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            capture_output=True,
            check=True,
            start_new_session=True,  # a Ctrl-C meant for `make cluster` must not reach the postmaster
        )

    def postgres_stop(self, mode: str = "fast") -> None:
        """Stop PostgreSQL (`fast`: its sessions are ended; `immediate`: as if it crashed)."""
        subprocess.run(  # noqa: S603
            as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "-t", "60", "stop"]),
            capture_output=True,
            check=False,
        )

    def postgres_restart(self) -> None:
        self.postgres_stop()
        self.postgres_start()

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{self.postgres_port}/postgres", autocommit=True, connect_timeout=5
        ) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')

    def _start_pgbouncer(self) -> None:
        directory = self.workdir / "pgbouncer"
        directory.mkdir()
        (directory / "userlist.txt").write_text('"postgres" ""\n')
        (directory / "pgbouncer.ini").write_text(
            render_pgbouncer(
                postgres_port=self.postgres_port,
                database=DATABASE,
                listen_port=self.pgbouncer_port,
                auth_type="trust",
                auth_file=str(directory / "userlist.txt"),
                log_file=str(directory / "pgbouncer.log"),
                pid_file=str(directory / "pgbouncer.pid"),
            )
        )
        for path in (directory, *directory.iterdir()):
            give_to_postgres(path)
        self._spawn("pgbouncer", as_postgres(["pgbouncer", str(directory / "pgbouncer.ini")]), directory / "stdout.log")
        wait_for(lambda: port_open(self.pgbouncer_port), "pgbouncer")

    # --- nginx -----------------------------------------------------------------------------------------------

    def _start_nginx(self) -> None:
        prefix = self.workdir / "nginx"
        prefix.mkdir()
        for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / temp).mkdir()
            if os.geteuid() == 0:
                shutil.chown(prefix / temp, "www-data", "www-data")
        (prefix / "evotodo.conf").write_text(
            render_nginx(
                nodes=[f"127.0.0.1:{node.port}" for node in self.nodes],
                listen=[f"127.0.0.1:{self.port}"],
                access_log=str(prefix / "access.log"),
                error_log=str(prefix / "error.log"),
            )
        )
        # What Debian's /etc/nginx/nginx.conf provides in production, with every path inside the prefix.
        (prefix / "nginx.conf").write_text(
            ("user www-data;\n" if os.geteuid() == 0 else "")
            + f"""worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server_tokens off;
    include {prefix}/evotodo.conf;
}}
"""
        )
        command = ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)  # noqa: S603
        if checked.returncode != 0:
            raise ClusterError(f"nginx -t: {checked.stderr}")
        self._spawn("nginx", command, prefix / "stdout.log")
        wait_for(lambda: http_ok(self.url + "/healthz"), "nginx")


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[Cluster]:
    with Cluster(**kwargs) as cluster:
        yield cluster


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run Evo-TODO as a local cluster until Ctrl-C.")
    parser.add_argument("--nodes", type=int, default=2, help="gunicorn nodes, 1-3 (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="workers per node (default 2)")
    parser.add_argument("--base-port", type=int, default=18100, help="first of 20 ports (default 18100)")
    parser.add_argument("--better-auth-url", default="", help="a Better Auth server (default: HS256 tokens only)")
    args = parser.parse_args(argv)
    cluster = Cluster(
        nodes=args.nodes, workers=args.workers, base_port=args.base_port, better_auth_url=args.better_auth_url
    )
    # Ctrl-C and SIGTERM stop everything, even when started from a shell that ignores SIGINT in background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Starting {args.nodes} nodes in {cluster.workdir} …", flush=True)
    with cluster:
        cluster.manage("seed_demo")
        user = "demo0000000000000000000000000001"
        token = cluster.manage("mint_token", user, "--force", "--ttl", "3600").strip()
        print(
            f"""
Evo-TODO cluster: {cluster.url}  (nginx → {", ".join(node.url for node in cluster.nodes)} → PgBouncer
:{cluster.pgbouncer_port} → PostgreSQL :{cluster.postgres_port}; Redis :{cluster.redis_port}; logs in {cluster.workdir})

A token for the demo user {user}, valid one hour (HS256, the cluster's own BETTER_AUTH_SECRET):

TOKEN={token}
curl -H "Authorization: Bearer $TOKEN" {cluster.url}/api/tasks

Ctrl-C stops everything.""",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                signal.pause()


if __name__ == "__main__":
    main()
