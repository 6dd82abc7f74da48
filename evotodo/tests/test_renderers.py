"""The orjson renderer writes exactly what DRF's JSONRenderer writes, for the API's data and its errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from authn.models import User
from evotodo.renderers import ORJSONRenderer
from tasks.models import Task

AWKWARD_TEXT = 'Ünïcode ✓ 日本語 😀 \u2028 \u2029 "quoted" back\\slash / \x00\x01\x08\x09\x0a\x0c\x0d\x1f\x7f \ufeff'

PAYLOADS = [
    {"title": AWKWARD_TEXT, "tags": [AWKWARD_TEXT, "b"], "description": None},
    [{"id": 1, "completed": True, "due_at": None}, {"id": 2, "completed": False, "recurrence": {"interval": 2}}],
    {"detail": ErrorDetail("Unknown field.", code="unknown_field"), "errors": {"x": [ErrorDetail("é", "a")]}},
    {1: "int key", None: "null key", False: "bool key"},
    {"big": 2**63 - 1, "small": -(2**63), "huge": 2**70},
    {
        "aware": datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "first": datetime(1, 1, 1, tzinfo=UTC),
        "offset": datetime(2027, 1, 31, 23, 0, 0, 500, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        "naive": datetime(2027, 1, 1, 12, 0),
        "date": date(2027, 2, 28),
    },
    {"decimal": Decimal("1.10"), "set": {3}, "tuple": (1, "a"), "empty": {}, "list": []},
    [],
    {},
    "plain string",
]


@pytest.mark.parametrize("data", PAYLOADS)
def test_renders_byte_for_byte_what_drfs_renderer_renders(data: Any) -> None:
    assert ORJSONRenderer().render(data) == JSONRenderer().render(data)


def test_line_and_paragraph_separators_are_escaped_as_drf_does() -> None:
    assert ORJSONRenderer().render({"t": "a\u2028b\u2029c"}) == b'{"t":"a\\u2028b\\u2029c"}'


def test_an_indented_response_asked_for_in_accept_is_drfs_own() -> None:
    data = {"a": [1, {"b": "é"}]}
    rendered = ORJSONRenderer().render(data, "application/json; indent=4", {})
    assert rendered == JSONRenderer().render(data, "application/json; indent=4", {})
    assert b"\n    " in rendered


def test_nothing_renders_as_an_empty_body() -> None:
    assert ORJSONRenderer().render(None) == b""


def test_a_task_list_renders_as_drfs_renderer_would(alice: User, alice_client: APIClient) -> None:
    title = AWKWARD_TEXT.replace("\x00", "")  # a NUL is refused: PostgreSQL cannot store it
    for body in [
        {"title": title, "tags": ["Ünïcode"], "due_at": "9999-12-31T23:59:59.999998Z", "remind_at": None},
        {"title": "first", "due_at": "0001-01-01T00:00:00.000001Z"},
    ]:
        assert alice_client.post("/api/tasks", body, format="json").status_code == 201
    response = alice_client.get("/api/tasks")
    assert response.status_code == 200
    assert response.content == JSONRenderer().render(response.data)
    extremes = ["0001-01-01T00:00:00.000001Z", "9999-12-31T23:59:59.999998Z"]
    assert [task["due_at"] for task in response.json()] == extremes
    assert Task.objects.filter(owner=alice).count() == 2


def test_an_error_response_renders_as_drfs_renderer_would(alice_client: APIClient) -> None:
    response = alice_client.post("/api/tasks", {"title": "x", "dönë": True, "completed": "yes"}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(response.data)
    assert response.json()["errors"]["dönë"] == ["Unknown field."]


def test_the_schema_keeps_its_own_renderers(db: Any) -> None:
    from drf_spectacular.renderers import OpenApiJsonRenderer

    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.content == OpenApiJsonRenderer().render(response.data, renderer_context={"response": response})
