"""Fixtures that run a real Better Auth server and point Evo-TODO's live server at it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authn.tokens import configured_jwks_client
from conftest import FakeTimer
from interop.tests.better_auth_fixture import FIXTURE_DIR, HOW_TO_RUN, BetterAuthServer, EvoTodoAPI


def _require_node() -> None:
    if shutil.which("node") and (FIXTURE_DIR / "node_modules" / "better-auth").is_dir():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the Better Auth interop tests: {HOW_TO_RUN}")
    pytest.skip(f"the Better Auth interop tests need Node.js and the fixture's packages: {HOW_TO_RUN}")


@pytest.fixture(scope="session")
def better_auth_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., BetterAuthServer]]:
    """Start (once per configuration) a Better Auth server; all are stopped at the end of the session."""
    _require_node()
    workdir = tmp_path_factory.mktemp("better-auth")
    servers: dict[tuple[tuple[str, str], ...], BetterAuthServer] = {}

    def server_for(**config: str) -> BetterAuthServer:
        key = tuple(sorted(config.items()))
        if key not in servers:
            server = BetterAuthServer(workdir, **config)
            server.start()
            servers[key] = server
        return servers[key]

    yield server_for
    for server in servers.values():
        server.stop()


@pytest.fixture
def fresh_better_auth(tmp_path: Path) -> Iterator[Callable[..., BetterAuthServer]]:
    """A Better Auth server of this test's own, for tests that stop it or wait for its keys to rotate."""
    _require_node()
    started: list[BetterAuthServer] = []

    def start(**config: str) -> BetterAuthServer:
        server = BetterAuthServer(tmp_path, **config)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def api(live_server: Any) -> EvoTodoAPI:
    return EvoTodoAPI(live_server.url)


@pytest.fixture
def use_better_auth(settings: Any) -> Callable[..., FakeTimer]:
    """Point Evo-TODO at a fixture server; returns the fake clock of its JWKS cache."""

    def configure(server: BetterAuthServer, **overrides: Any) -> FakeTimer:
        settings.BETTER_AUTH = {
            "URL": server.base_url,
            "LEEWAY_SECONDS": 0,
            "JWKS_CACHE_SECONDS": 300,
            "JWKS_REFETCH_COOLDOWN_SECONDS": 10,
            "JWKS_TIMEOUT_SECONDS": 2,
            **overrides,
        }
        timer = FakeTimer()
        configured_jwks_client().timer = timer
        return timer

    return configure
