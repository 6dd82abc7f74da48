"""A real Better Auth server (interop/better-auth) driven over HTTP, and Evo-TODO's API over HTTP."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

FIXTURE_DIR = Path(settings.BASE_DIR) / "interop" / "better-auth"
HOW_TO_RUN = "install Node.js 20+ and run `npm ci --prefix interop/better-auth`, then `make test`"
PASSWORD = "correct-horse-battery-staple"
INTEROP_SECRET = "interop-shared-secret-0123456789-abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HTTPResult:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, *, headers: dict[str, str] | None = None, body: Any = None) -> HTTPResult:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
            return HTTPResult(response.status, response.headers, response.read())
    except urllib.error.HTTPError as e:
        return HTTPResult(e.code, e.headers, e.read())


@dataclass
class BetterAuthUser:
    """A user signed up on the fixture server, with the session cookie Better Auth set."""

    id: str
    email: str
    name: str
    cookie: str


class BetterAuthServer:
    """One `node server.mjs` process, started and stopped by its own PID."""

    def __init__(self, workdir: Path, **config: str) -> None:
        self.port = free_port()
        self.config = config
        self.database_file = workdir / f"better-auth-{self.port}.sqlite"
        self.log_file = workdir / f"better-auth-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PORT": str(self.port),
            "DATABASE_FILE": str(self.database_file),
            "BETTER_AUTH_SECRET": self.config.get("BETTER_AUTH_SECRET", INTEROP_SECRET),
            **self.config,
        }
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [shutil.which("node") or "node", "server.mjs"],
                cwd=FIXTURE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Better Auth fixture exited: {self.log_file.read_text()[-2000:]}")
            try:
                if http("GET", self.base_url + "/api/fixture/health").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"Better Auth fixture did not start: {self.log_file.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def health(self) -> dict[str, Any]:
        return http("GET", self.base_url + "/api/fixture/health").json()

    def jwks(self) -> dict[str, Any]:
        return http("GET", self.base_url + "/api/auth/jwks").json()

    def sign_up(self, name: str) -> BetterAuthUser:
        """Sign up through Better Auth's HTTP API, as a non-browser client (it needs a trusted Origin)."""
        email = f"{name.lower()}-{secrets.token_hex(4)}@example.com"
        result = http(
            "POST",
            self.base_url + "/api/auth/sign-up/email",
            headers={"Origin": self.base_url},
            body={"email": email, "password": PASSWORD, "name": name},
        )
        assert result.status == 200, result.body
        cookies = [header.split(";", 1)[0] for header in result.headers.get_all("Set-Cookie")]
        return BetterAuthUser(id=result.json()["user"]["id"], email=email, name=name, cookie="; ".join(cookies))

    def token(self, user: BetterAuthUser) -> str:
        """The JWT from GET /api/auth/token."""
        result = http("GET", self.base_url + "/api/auth/token", headers={"Cookie": user.cookie})
        assert result.status == 200, result.body
        return result.json()["token"]

    def session_header_token(self, user: BetterAuthUser) -> str:
        """The JWT from the `set-auth-jwt` header of GET /api/auth/get-session."""
        result = http("GET", self.base_url + "/api/auth/get-session", headers={"Cookie": user.cookie})
        assert result.status == 200, result.body
        return result.headers["set-auth-jwt"]

    def shared_secret_token(self, user: BetterAuthUser) -> str:
        """An HS256 token from the fixture's own route (not Better Auth's), signed with BETTER_AUTH_SECRET."""
        result = http("GET", self.base_url + "/api/fixture/hs256-token", headers={"Cookie": user.cookie})
        assert result.status == 200, result.body
        return result.json()["token"]


class EvoTodoAPI:
    """Evo-TODO's API over real HTTP (pytest-django's live server)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, token: str, body: Any = None) -> HTTPResult:
        return http(method, self.base_url + path, headers={"Authorization": f"Bearer {token}"}, body=body)
