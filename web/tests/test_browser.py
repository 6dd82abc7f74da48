"""The SPA in a real headless Chromium: Better Auth, gunicorn (PostgreSQL when the suite runs on it, else SQLite)
and the built SPA, each on its own origin; web/tests/browser.test.mjs drives the browser, one scenario a test."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from evotodo.tests.live import live_server_on
from interop.tests.better_auth_fixture import FIXTURE_DIR, BetterAuthServer

WEB = Path(settings.BASE_DIR) / "web"
CHROMIUM = "/usr/bin/chromium"
HOW_TO_RUN = (
    "install Node.js 20+ and Debian's chromium (`apt-get install chromium`), then `make test` "
    "(it runs npm ci in web/, clients/typescript and interop/better-auth)"
)
# Short, so that tokens expire during a scenario; the API is given no leeway.
JWT_SECONDS = 3


def require_tools() -> str:
    """The path of `node`, or a skip saying what is missing (a failure in CI, which must run these tests)."""
    node = shutil.which("node")
    missing = [
        name
        for name, present in (
            ("node", node is not None),
            (CHROMIUM, os.access(CHROMIUM, os.X_OK)),
            ("web/node_modules", (WEB / "node_modules" / "playwright-core").is_dir()),
            ("interop/better-auth/node_modules", (FIXTURE_DIR / "node_modules" / "better-auth").is_dir()),
        )
        if not present
    ]
    if not missing:
        return str(node)
    message = f"the browser tests need {', '.join(missing)}: {HOW_TO_RUN}"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {message}")
    pytest.skip(message)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Stack:
    node: str
    web_url: str
    screenshots: Path


@pytest.fixture(scope="module")
def built_spa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`npm run build` (tsc --strict, then vite build) of the SPA as it is now, into a directory of its own."""
    require_tools()
    out = tmp_path_factory.mktemp("spa") / "dist"
    npx = shutil.which("npx") or "npx"
    for command in (
        [npx, "--no-install", "tsc", "-p", "."],
        [npx, "--no-install", "vite", "build", "--outDir", str(out), "--logLevel", "warn"],
    ):
        done = subprocess.run(command, cwd=WEB, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{' '.join(command[2:4])} failed:\n{done.stdout}\n{done.stderr}"
    return out


@pytest.fixture(scope="module")
def stack(built_spa: Path, static_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The built SPA on one origin, Better Auth on another, the API on a third, as a deployment has them."""
    node = require_tools()
    tmp = tmp_path_factory.mktemp("browser")
    spa = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=built_spa))
    threading.Thread(target=spa.serve_forever, daemon=True).start()
    web_url = f"http://127.0.0.1:{spa.server_address[1]}"
    auth = BetterAuthServer(tmp, JWT_EXPIRATION=f"{JWT_SECONDS}s", TRUSTED_ORIGINS=web_url)
    auth.start()
    vendor = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    try:
        with live_server_on(
            vendor,
            tmp,
            static_root,
            BETTER_AUTH_URL=auth.base_url,
            BETTER_AUTH_LEEWAY_SECONDS="0",
            CORS_ALLOWED_ORIGINS=web_url,
        ) as api:
            (built_spa / "config.js").write_text(
                f'window.EVOTODO_CONFIG = {{ apiUrl: "{api.url}", authUrl: "{auth.base_url}" }};\n'
            )
            yield Stack(node=node, web_url=web_url, screenshots=tmp / "screenshots")
    finally:
        auth.stop()
        spa.shutdown()


SCENARIOS = [
    "two users each see only their own tasks and lists",
    "lists: create, select, rename, and delete moving their tasks to the inbox",
    "a recurring task: create, edit, complete, and the next one appears",
    "reorder with move up and down, and filter by status and tag",
    "a token that expires during the session is refreshed without the user noticing",
    "an edit in another tab shows the conflict, and the user re-applies theirs",
    "re-applying after a conflict keeps what the other tab changed in the fields the user left alone",
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_in_chromium(stack: Stack, scenario: str, capsys: pytest.CaptureFixture[str]) -> None:
    pattern = "^" + "".join(f"\\{c}" if c in r"\^$.|?*+()[]{}" else c for c in scenario) + "$"
    env = {
        **os.environ,
        "EVOTODO_WEB_URL": stack.web_url,
        "EVOTODO_SCREENSHOTS": str(stack.screenshots),
        "JWT_SECONDS": str(JWT_SECONDS),
        "CHROMIUM": CHROMIUM,
    }
    done = subprocess.run(
        [stack.node, "--test", "--test-reporter=tap", f"--test-name-pattern={pattern}", "tests/browser.test.mjs"],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    with capsys.disabled():
        print(f"\n  screenshots: {stack.screenshots}")
    assert done.returncode == 0, f"{scenario}:\n{done.stdout}\n{done.stderr}"
    assert "# pass 1" in done.stdout, f"the scenario did not run:\n{done.stdout}"


def test_every_browser_scenario_is_run() -> None:
    """A scenario written in browser.test.mjs but missing here would never run."""
    written = re.findall(r'^test\("(.+?)", async', (Path(__file__).parent / "browser.test.mjs").read_text(), re.M)
    assert written == SCENARIOS
