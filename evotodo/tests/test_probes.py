"""/healthz and /readyz: public probes for process managers and load balancers."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from evotodo.tests.live import free_port


def test_healthz_is_ok_without_touching_the_database(django_assert_num_queries: Any, db: Any) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_the_database_answers(db: Any) -> None:
    response = Client().get("/readyz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "off"}}


def test_readyz_is_503_when_the_database_does_not_answer(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    # A real outage cannot be staged inside the test database's own transaction.
    with monkeypatch.context() as patched:
        patched.setattr(BaseDatabaseWrapper, "cursor", refuse)
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "code": "database_unavailable",
        "checks": {"database": "unavailable", "redis": "off"},
    }
    assert response["Retry-After"] == "2"


def test_readyz_reports_redis_degraded_without_failing(db: Any, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "degraded"}


def test_readyz_reports_redis_ok_when_it_answers(db: Any, settings: Any, redis_url: str) -> None:
    settings.REDIS_URL = redis_url
    assert Client().get("/readyz").json()["checks"]["redis"] == "ok"


def test_probes_ignore_a_bad_token(db: Any) -> None:
    response = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 200
