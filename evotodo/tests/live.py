"""A real gunicorn serving the project on a database of its own (a SQLite file, or a fresh PostgreSQL
database), for tests that must see what a client sees over HTTP and what the database holds afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
import psycopg
from django.conf import settings
from django.db import connection

LIVE_SECRET = "live-test-shared-secret-0123456789-abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveDatabase:
    """A database for one live server: created empty, migrated by `manage.py migrate`, dropped at the end."""

    def __init__(self, vendor: str, tmp: Path) -> None:
        self.vendor = vendor
        if vendor == "sqlite":
            self.path = tmp / "live.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            server = connection.settings_dict
            self.name = f"evotodo_live_{uuid.uuid4().hex[:12]}"
            self.server = {
                "host": server["HOST"] or "127.0.0.1",
                "port": server["PORT"] or 5432,
                "user": server["USER"],
                "password": server["PASSWORD"] or None,
            }
            credentials = server["USER"] + (f":{server['PASSWORD']}" if server["PASSWORD"] else "")
            self.url = f"postgres://{credentials}@{self.server['host']}:{self.server['port']}/{self.name}"
            with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            with sqlite3.connect(self.path) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        with psycopg.connect(dbname=self.name, **self.server) as db:
            return db.execute(sql, params).fetchall()

    def drop(self) -> None:
        if self.vendor != "sqlite":
            with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class LiveServer:
    """gunicorn with the project's gunicorn.conf.py and production settings (debug off, static collected)."""

    def __init__(
        self, database: LiveDatabase, static_root: Path, log_path: Path, prefix: tuple[str, ...] = (), **env: str
    ) -> None:
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "evotodo.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "live-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_STATIC_ROOT": str(static_root),
            "DATABASE_URL": database.url,
            "BETTER_AUTH_SECRET": LIVE_SECRET,
            "API_THROTTLE_USER": "off",
            "API_THROTTLE_ANON": "off",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_ACCESS_LOG": "",
            **env,
        }
        self.manage("migrate", "--noinput", "-v", "0")
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "gunicorn", "evotodo.wsgi"],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that stop() ends the workers too
        )
        for _ in range(200):  # bounded wait for the server to listen
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):  # noqa: S310 (loopback)
                    return
            except OSError:
                if self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-2000:]}") from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn did not answer /healthz")

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=self.env, check=True)

    def token(self, sub: str) -> str:
        now = int(time.time())
        return jwt.encode({"sub": sub, "exp": now + 900, "iat": now, "email": f"{sub}@example.com"}, LIVE_SECRET)

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None, *, with_headers: bool = False
    ) -> Any:
        """(status, JSON body), or (status, JSON body, headers) `with_headers`."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
                raw = response.read()
                result = (response.status, json.loads(raw) if raw else None, response.headers)
        except urllib.error.HTTPError as e:
            raw = e.read()
            result = (e.code, json.loads(raw) if raw else None, e.headers)
        return result if with_headers else result[:2]

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        """Stop the master and its workers (SIGTERM, then SIGKILL after 20 s), whatever state they are in."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # workers a dying master left behind
        self.log.close()


def collect_static(static_root: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "evotodo.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "collectstatic-only",
        "DJANGO_STATIC_ROOT": str(static_root),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
    )


@contextmanager
def live_server_on(vendor: str, tmp: Path, static_root: Path, **env: str) -> Iterator[LiveServer]:
    database = LiveDatabase(vendor, tmp)
    try:
        server = LiveServer(database, static_root, tmp / f"gunicorn-{vendor}.log", **env)
        try:
            yield server
        finally:
            server.stop()
    finally:
        database.drop()
