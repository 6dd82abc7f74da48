"""Fixtures of the cluster tests: a cluster per test (or per module), a JWKS server the test controls, and an
HTTP client that records what it saw."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from deploy.cluster import Cluster

# The tests' cluster lives on 18000-18019 (`make cluster` uses 18100-18119), its JWKS on 18020.
BASE_PORT = 18000
JWKS_PORT = 18020
JWKS_PATH = "/api/auth/jwks"
REQUIRED_TOOLS = ("nginx", "pgbouncer", "redis-server", "faketime", "runuser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session", autouse=True)
def cluster_tools() -> None:
    """The cluster tests fail, never skip, without their tools (`make cluster-test` installs them)."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if not os.path.exists("/usr/lib/postgresql/15/bin/initdb"):
        missing.append("postgresql-15")
    if missing:
        pytest.fail(f"the cluster tests need {missing}: `make cluster-test` installs them (apt-get)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


CALL_FAILED = pytest.StashKey[bool]()


def server_errors(log: str, most: int = 3) -> list[str]:
    """The last tracebacks a node logged (a JSON log line's `exc_info`, or plain text), for a failed test."""
    lines = [line for line in log.splitlines() if "Traceback" in line or '"exc_info"' in line]
    return [line[-4000:] for line in lines[-most:]]


@pytest.fixture
def make_cluster(request: pytest.FixtureRequest) -> Iterator[Callable[..., Cluster]]:
    """Start a cluster (Cluster's keyword arguments) on the tests' ports; it is stopped after the test. When the
    test failed, the tracebacks its nodes logged are printed (pytest shows them with the failure)."""
    started: list[Cluster] = []

    def start(**kwargs: Any) -> Cluster:
        cluster = Cluster(base_port=BASE_PORT, **kwargs)
        cluster.start()
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        if request.node.stash.get(CALL_FAILED, False):
            for node in cluster.nodes:
                for error in server_errors(node.log_path.read_text(errors="replace")):
                    print(f"node {node.index} logged: {error}")
        cluster.stop()


@dataclass
class Answer:
    """One request as the client saw it: when it started and ended (monotonic), status 0 for no answer."""

    method: str
    path: str
    status: int
    body: Any
    headers: dict[str, str]
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


def call(
    base_url: str,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Answer:
    """One HTTP request; a connection error or timeout is status 0, never an exception."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=sent)  # noqa: S310
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as e:
        status, raw, got = e.code, e.read(), dict(e.headers)
    except (OSError, urllib.error.URLError) as e:
        return Answer(method, path, 0, repr(e), {}, started, time.monotonic())
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(method, path, status, parsed, got, started, time.monotonic())


class Proxy:
    """The cluster seen through nginx, shaped like evotodo.tests.live.LiveServer for the sync helpers."""

    def __init__(self, cluster: Cluster, base_url: str | None = None) -> None:
        self.cluster = cluster
        self.url = base_url or cluster.url

    def token(self, sub: str) -> str:
        return self.cluster.token(sub)

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None, *, with_headers: bool = False
    ) -> Any:
        answer = call(self.url, method, path, token, body)
        result = (answer.status, answer.body, answer.headers)
        return result if with_headers else result[:2]


def p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@dataclass
class JWKSControl:
    """What the tests' JWKS server does: serve `keys`, or `hang` (accept, never answer), counting requests."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    hang: bool = False
    hits: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class ControlledJWKS:
    """A JWKS server on 127.0.0.1:JWKS_PORT that a test can make stop answering."""

    def __init__(self) -> None:
        self.control = JWKSControl()
        control = self.control

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with control.lock:
                    control.hits += 1
                if control.hang:
                    control.released.wait(timeout=15)  # an outage: the connection stays open, nothing comes
                    return
                body = json.dumps({"keys": control.keys}).encode()
                self.send_response(200 if self.path == JWKS_PATH else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", JWKS_PORT), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{JWKS_PORT}"

    def stop_answering(self) -> None:
        self.control.released.clear()
        self.control.hang = True

    def answer_again(self) -> None:
        self.control.hang = False
        self.control.released.set()

    def close(self) -> None:
        self.answer_again()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def controlled_jwks() -> Iterator[ControlledJWKS]:
    server = ControlledJWKS()
    yield server
    server.close()
