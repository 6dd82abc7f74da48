"""/healthz and /readyz: public probes for process managers and load balancers."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client


def test_healthz_is_ok_without_touching_the_database(django_assert_num_queries: Any, db: Any) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_the_database_answers(db: Any) -> None:
    response = Client().get("/readyz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_when_the_database_does_not_answer(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db.backends.base.base import BaseDatabaseWrapper

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    # A real outage cannot be staged inside the test database's own transaction.
    with monkeypatch.context() as patched:
        patched.setattr(BaseDatabaseWrapper, "cursor", refuse)
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "code": "database_unavailable"}


def test_probes_ignore_a_bad_token(db: Any) -> None:
    response = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 200
