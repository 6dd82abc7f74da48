"""The OpenAPI schema and the docs page: valid, public, and self-hosted."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient


def test_schema_validates_without_warnings(tmp_path: Any) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stdout=StringIO())
    assert "/api/tasks:" in out.read_text()


def test_schema_is_public_even_with_a_bad_token(db: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["BetterAuthJWT"]["scheme"] == "bearer"
    assert schema["components"]["securitySchemes"]["BetterAuthJWT"]["bearerFormat"] == "JWT"


def test_schema_format_parameter_picks_json_or_yaml_and_refuses_others(db: Any) -> None:
    as_json = APIClient().get("/api/schema?format=json")
    assert (as_json.status_code, as_json["Content-Type"]) == (200, "application/vnd.oai.openapi+json")
    assert json.loads(as_json.content)["openapi"].startswith("3.")
    as_yaml = APIClient().get("/api/schema?format=yaml", HTTP_ACCEPT="application/json")
    assert (as_yaml.status_code, as_yaml["Content-Type"]) == (200, "application/vnd.oai.openapi; charset=utf-8")
    assert as_yaml.content.startswith(b"openapi: 3.")
    other = APIClient().get("/api/schema?format=xml")
    assert (other.status_code, other["Content-Type"]) == (400, "application/json")
    assert other.json()["errors"]["format"] == ["Either json or yaml."]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("version=%0A", "unknown_parameter"),
        ("version=x%22;%20filename=%22evil.html", "unknown_parameter"),
        ("lang=en", "unknown_parameter"),
        ("format=json&format=yaml", "repeated_parameter"),
    ],
)
def test_schema_refuses_parameters_it_does_not_read(db: Any, query: str, code: str) -> None:
    response = APIClient().get(f"/api/schema?{query}")
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json()["code"] == code
    assert "Content-Disposition" not in response


def test_schema_documents_the_contract_paths(db: Any) -> None:
    paths = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert {
        "/api/tasks",
        "/api/tasks/{id}",
        "/api/tasks/{id}/complete",
        "/api/{user_id}/tasks",
        "/api/{user_id}/tasks/{id}",
        "/api/{user_id}/tasks/{id}/complete",
        "/api/me",
    } <= set(paths)
    list_params = {param["name"] for param in paths["/api/tasks"]["get"]["parameters"]}
    assert {"status", "search", "sort", "limit", "offset"} <= list_params


def test_docs_page_is_public_and_loads_nothing_from_a_cdn(db: Any) -> None:
    response = APIClient().get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower()


def test_schema_documents_planning_fields_filters_and_headers(db: Any) -> None:
    schema = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    task = schema["components"]["schemas"]["Task"]["properties"]
    assert task["priority"]["allOf"] == [{"$ref": "#/components/schemas/PriorityEnum"}]
    assert schema["components"]["schemas"]["PriorityEnum"]["enum"] == ["none", "low", "medium", "high"]
    assert {"tags", "due_at", "remind_at", "recurrence", "completed_at"} <= set(task)
    paths = schema["paths"]
    list_params = {param["name"] for param in paths["/api/tasks"]["get"]["parameters"]}
    assert {
        "priority",
        "tag",
        "tag_mode",
        "due_before",
        "due_after",
        "overdue",
        "has_due",
    } <= list_params
    complete = paths["/api/tasks/{id}/complete"]["patch"]
    assert {"If-Match", "Idempotency-Key"} <= {param["name"] for param in complete["parameters"]}
    assert "next" in schema["components"]["schemas"]["TaskCompletion"]["properties"]
    assert {"304"} <= set(paths["/api/tasks/{id}"]["get"]["responses"])
    assert "/api/tags" in paths
