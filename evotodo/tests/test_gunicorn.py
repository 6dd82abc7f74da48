"""Production shape: gunicorn with debug off serves the API docs and the admin's static files via WhiteNoise."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from gunicorn.config import Config
from gunicorn.http import message

from evotodo.tests.live import collect_static, free_port


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback test server)
        return response.status, response.read()


@pytest.fixture(scope="module")
def gunicorn_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    static_root = tmp_path_factory.mktemp("static")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "evotodo.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "gunicorn-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_STATIC_ROOT": str(static_root),
    }
    collect_static(static_root)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "evotodo.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # bounded wait for the server to listen
            try:
                get(url + "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_gunicorn_serves_the_health_probe(gunicorn_url: str) -> None:
    assert get(gunicorn_url + "/healthz") == (200, b'{"status": "ok"}')


def test_gunicorn_serves_admin_static_files_with_debug_off(gunicorn_url: str) -> None:
    status, body = get(gunicorn_url + "/static/admin/css/base.css")
    assert status == 200
    assert b"body" in body


def test_gunicorn_serves_the_docs_and_every_asset_they_load(gunicorn_url: str) -> None:
    status, html = get(gunicorn_url + "/api/docs")
    assert status == 200
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.decode())
    assert assets, "the docs page should load its assets from /static/"
    for asset in assets:
        assert get(gunicorn_url + asset)[0] == 200


def test_docs_assets_have_content_hashed_names_for_caching(gunicorn_url: str) -> None:
    html = get(gunicorn_url + "/api/docs")[1].decode()
    assert re.search(r"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui\.[0-9a-f]{12}\.css", html)


def test_an_oversized_authorization_header_is_refused_by_the_server_not_a_500(gunicorn_url: str) -> None:
    import urllib.error

    request = urllib.request.Request(  # noqa: S310 (loopback test server)
        gunicorn_url + "/api/tasks", headers={"Authorization": "Bearer " + "a" * 1_000_000}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    assert caught.value.code in (400, 431)


def test_gunicorn_answers_api_errors_in_json_with_a_request_id(gunicorn_url: str) -> None:
    import json
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(gunicorn_url + "/api/tasks", timeout=5)  # noqa: S310
    assert caught.value.code == 401
    assert json.loads(caught.value.read())["code"] == "not_authenticated"
    assert caught.value.headers["X-Request-ID"]


def project_gunicorn_settings() -> dict[str, Any]:
    """gunicorn.conf.py's names, as gunicorn reads the file (it runs it)."""
    return runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))


def test_the_project_config_parses_requests_with_gunicorns_python_parser() -> None:
    cfg = Config()  # each setting the file names, set as gunicorn sets it
    for name, value in project_gunicorn_settings().items():
        if name in cfg.settings:
            cfg.set(name, value)
    assert cfg.http_parser == "python"
    assert message._check_fast_parser(cfg) is False  # gunicorn looks no further, installed or not


@pytest.mark.parametrize("given", [None, ""])
def test_a_node_runs_one_sync_worker_per_core_it_may_use_by_default(
    monkeypatch: pytest.MonkeyPatch, given: str | None
) -> None:
    if given is None:
        monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    else:
        monkeypatch.setenv("WEB_CONCURRENCY", given)  # as .env.example leaves it
    config = project_gunicorn_settings()
    assert config["worker_class"] == "sync"
    assert config["workers"] == len(os.sched_getaffinity(0))


def test_web_concurrency_sets_a_nodes_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert project_gunicorn_settings()["workers"] == 7


def test_a_nodes_workers_started_together_do_not_restart_together() -> None:
    """gunicorn recycles a worker after max_requests plus a number drawn from 0..max_requests_jitter. Workers start
    together and share the load evenly, so only the jitter spreads their restarts: at 1 000 requests a second on a
    node of five workers (five cores, or WEB_CONCURRENCY=5), the chance that all five restart within the same ten
    seconds is under one in a thousand."""
    config = project_gunicorn_settings()
    workers, per_worker_per_second, window_seconds = 5, 1000 / 5, 10
    spread = window_seconds * per_worker_per_second / config["max_requests_jitter"]
    assert spread < 1
    # The range of n independent uniform draws is within a fraction x of their interval with this probability.
    all_together = workers * spread ** (workers - 1) - (workers - 1) * spread**workers
    assert all_together < 1 / 1000
    assert config["max_requests"] >= 10_000  # and not often: a restart costs its caches
