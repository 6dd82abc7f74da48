"""The TypeScript client (clients/typescript): its committed schema and types match the code, it type-checks
strictly, and it does what it promises against a real gunicorn (idempotent creates, If-Match, token refresh)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.conf import settings

from evotodo.tests.live import LIVE_SECRET, LiveServer, live_server_on

PACKAGE = Path(settings.BASE_DIR) / "clients" / "typescript"
HOW_TO_INSTALL = "install Node.js 20+ and run `npm ci --prefix clients/typescript` (or `make interop-deps`)"
HOW_TO_REGENERATE = "run `make client` (npm run schema && npm run generate in clients/typescript) and commit the result"
TSC_ERROR = re.compile(r"^(?P<file>[^\s(]+)\(\d+,\d+\): error ", re.MULTILINE)


def npm_command(name: str) -> str:
    """The path of `node`/`npm`, or a skip (a failure in CI, which must run these tests)."""
    found = shutil.which(name)
    if found and (PACKAGE / "node_modules" / "openapi-fetch").is_dir():
        return found
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the TypeScript client tests: {HOW_TO_INSTALL}")
    pytest.skip(f"the TypeScript client tests need Node.js and the package's modules: {HOW_TO_INSTALL}")


def run(*args: str, env: dict[str, str] | None = None, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=PACKAGE, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


def test_committed_schema_and_types_match_the_code(tmp_path: Path) -> None:
    npm = npm_command("npm")
    schema, types = tmp_path / "openapi.json", tmp_path / "api.d.ts"
    files = {"PYTHON": sys.executable, "SCHEMA_FILE": str(schema), "TYPES_FILE": str(types)}
    for script in ("schema", "generate"):
        done = run(npm, "run", "--silent", script, env=files)
        assert done.returncode == 0, f"npm run {script} failed:\n{done.stdout}\n{done.stderr}"
    stale = [
        name
        for generated, name in ((schema, "schema/openapi.json"), (types, "src/api.d.ts"))
        if generated.read_bytes() != (PACKAGE / name).read_bytes()
    ]
    differ = " and ".join(f"clients/typescript/{name}" for name in stale)
    verb = "differs" if len(stale) == 1 else "differ"
    assert not stale, f"{differ} {verb} from what the code generates: {HOW_TO_REGENERATE}"


@pytest.fixture(scope="module")
def tsc_errors() -> dict[str, list[str]]:
    """`tsc -p clients/typescript --noEmit` (strict): its error lines, by file."""
    npx = npm_command("npx")
    done = run(npx, "--no-install", "tsc", "-p", ".", "--noEmit")
    errors: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        if match := TSC_ERROR.match(line):
            errors.setdefault(match["file"], []).append(line)
    assert done.returncode == 0 or errors, f"tsc failed without an error line:\n{done.stdout}\n{done.stderr}"
    return errors


def test_client_and_its_tests_type_check_strictly(tsc_errors: dict[str, list[str]]) -> None:
    outside_example = {name: lines for name, lines in tsc_errors.items() if name != "src/example.ts"}
    assert not outside_example, "\n".join(line for lines in outside_example.values() for line in lines)


def test_example_type_checks_against_the_schema(tsc_errors: dict[str, list[str]]) -> None:
    assert not tsc_errors.get("src/example.ts"), "\n".join(tsc_errors.get("src/example.ts", []))


@pytest.fixture(scope="module")
def live_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """test/live.ts and the client compiled to JavaScript, beside the package's modules."""
    npx = npm_command("npx")
    out = tmp_path_factory.mktemp("client-js")
    done = run(npx, "--no-install", "tsc", "-p", "test", "--outDir", str(out))
    assert done.returncode == 0, f"tsc could not compile the live script:\n{done.stdout}\n{done.stderr}"
    (out / "package.json").write_text('{"type": "module"}\n')
    (out / "node_modules").symlink_to(PACKAGE / "node_modules")
    return out / "test" / "live.js"


@pytest.fixture(scope="module")
def server(static_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server_on("sqlite", tmp_path_factory.mktemp("client"), static_root) as live:
        yield live


def expired_token(sub: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "exp": now - 60, "iat": now - 960, "email": f"{sub}@example.com"}, LIVE_SECRET)


@pytest.fixture(scope="module")
def seen(live_script: Path, server: LiveServer) -> dict[str, Any]:
    """What the live script saw, as alice, against the server."""
    env = {
        "EVOTODO_URL": server.url,
        "EVOTODO_TOKEN": server.token("alice"),
        "EVOTODO_EXPIRED_TOKEN": expired_token("alice"),
    }
    done = run(npm_command("node"), str(live_script), env=env, timeout=120)
    assert done.returncode == 0, f"the live script failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def titled(server: LiveServer, title: str) -> list[tuple[Any, ...]]:
    return server.database.query("SELECT id, title FROM tasks_task WHERE title = %s", title)


def test_a_create_retried_after_a_lost_response_makes_one_task(seen: dict[str, Any], server: LiveServer) -> None:
    create = seen["idempotentCreate"]
    assert create["status"] == 201
    assert create["replayed"] == "true"
    assert len(create["keys"]) == 2
    assert create["keys"][0] == create["keys"][1]
    assert create["keys"][0]
    assert titled(server, "created once") == [(create["id"], "created once")]


def test_a_write_with_a_stale_etag_is_a_412_that_changes_nothing_until_read_again(
    seen: dict[str, Any], server: LiveServer
) -> None:
    stale = seen["staleIfMatch"]
    assert stale["createdEtag"]
    assert stale["otherStatus"] == 200
    assert stale["staleStatus"] == 412
    assert stale["staleCode"] == "precondition_failed"
    assert stale["sentIfMatch"] == stale["createdEtag"]
    assert (stale["retriedStatus"], stale["retriedTitle"]) == (200, "mine")
    assert server.database.query("SELECT title FROM tasks_task WHERE id = %s", stale["id"]) == [("mine",)]


def test_an_expired_token_is_refreshed_once_and_the_requests_retried(seen: dict[str, Any]) -> None:
    refresh = seen["refresh"]
    assert refresh["statuses"] == [200, 200]
    assert refresh["refreshes"] == 1
    assert refresh["withoutRefresh"] == {"status": 401, "code": "token_expired"}


def test_a_429_waits_retry_after_and_tries_again(seen: dict[str, Any], server: LiveServer) -> None:
    throttled = seen["throttled"]
    assert throttled["status"] == 201
    assert throttled["waits"] == [2000, 2000]
    assert throttled["tooLongStatus"] == 429
    assert len(titled(server, "after a 429")) == 1
