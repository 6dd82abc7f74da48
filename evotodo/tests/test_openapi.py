"""The published schema types what the API sends and takes, as a generated TypeScript client reads it: request
members with a default are optional, response members always sent are required, ids are integers, and every
error status has the error body."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

OPERATION_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in OPERATION_METHODS
    ]


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A `$ref`, or an `allOf` of one (drf-spectacular's way to add a description or `nullable` to a ref)."""
    if "$ref" in node:
        return resolve(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    if len(node.get("allOf", [])) == 1:
        return {**resolve(schema, node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def assert_sent_as_typed(schema: dict[str, Any], body: Any, node: dict[str, Any], where: str = "body") -> None:
    """`body`, as the server sent it, has every member its component requires, none it does not declare, and null
    only where the schema says nullable; the same for every nested object and array item."""
    node = resolve(schema, node)
    if body is None:
        assert node.get("nullable"), f"{where} is null, but not nullable in the schema"
        return
    if "oneOf" in node:
        mapping = node.get("discriminator", {}).get("mapping", {})
        tag = node.get("discriminator", {}).get("propertyName")
        assert tag, f"{where}: a oneOf without a discriminator"
        assert body[tag] in mapping, f"{where}: no discriminator mapping for {body!r:.80}"
        assert_sent_as_typed(schema, body, {"$ref": mapping[body[tag]]}, where)
        return
    if node.get("type") == "object" and "properties" in node:
        assert set(node.get("required", [])) <= set(body), f"{where} lacks {set(node['required']) - set(body)}"
        assert set(body) <= set(node["properties"]), f"{where} has undeclared {set(body) - set(node['properties'])}"
        for name, value in body.items():
            assert_sent_as_typed(schema, value, node["properties"][name], f"{where}.{name}")
    elif node.get("type") == "array":
        for index, item in enumerate(body):
            assert_sent_as_typed(schema, item, node["items"], f"{where}[{index}]")
    if "enum" in node:
        assert body in node["enum"], f"{where} = {body!r} is not one of {node['enum']}"


def response_schema(schema: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    return schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


# 1. Request bodies


def test_request_members_with_a_server_default_carry_no_default_and_are_optional(schema: dict[str, Any]) -> None:
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            for field, member in component.get("properties", {}).items():
                assert "default" not in member, f"{name}.{field}"
    components = schema["components"]["schemas"]
    assert components["TaskRequest"]["required"] == ["title"]
    assert components["RecurrenceRequest"]["required"] == ["freq"]
    assert "required" not in components["RotateSecretRequest"]
    assert "Default: `1`." in components["RecurrenceRequest"]["properties"]["interval"]["description"]
    assert 'Default: `""`.' in components["TaskRequest"]["properties"]["description"]["description"]


def test_a_task_created_with_only_a_title_gets_the_documented_defaults(alice_client: APIClient) -> None:
    created = alice_client.post("/api/tasks", {"title": "Only this"}, format="json")
    assert created.status_code == 201
    assert created.json()["description"] == ""


# 2. Path parameters


def test_path_ids_are_integers_and_path_user_ids_strings(schema: dict[str, Any]) -> None:
    seen = set()
    for path, method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "path":
                continue
            seen.add(parameter["name"])
            expected = "string" if parameter["name"] == "user_id" else "integer"
            assert parameter["schema"]["type"] == expected, f"{method} {path} {parameter['name']}"
    assert seen == {"id", "user_id", "delivery_id"}


# 3. Responses


def test_response_components_require_every_member_the_server_always_sends(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name in ("Task", "TaskCompletion", "TaskList", "SyncList", "Webhook", "WebhookWithSecret", "Delivery"):
        assert set(components[name]["required"]) == set(components[name]["properties"]), name
    assert {"tags", "priority", "due_at", "recurrence", "description"} <= set(components["Task"]["required"])
    assert components["Task"]["properties"]["due_at"]["nullable"] is True
    assert "nullable" not in components["Task"]["properties"]["description"]
    assert components["Error"]["required"] == ["code", "detail"]


def test_tasks_lists_and_webhooks_are_sent_as_typed(schema: dict[str, Any], alice_client: APIClient) -> None:
    task_list = alice_client.post("/api/lists", {"name": "Home"}, format="json")
    assert_sent_as_typed(schema, task_list.json(), response_schema(schema, "/api/lists", "post", "201"))
    due = (timezone.now() + timedelta(days=1)).isoformat()
    body = {"title": "Water", "due_at": due, "recurrence": {"freq": "daily"}, "list_id": task_list.json()["id"]}
    task = alice_client.post("/api/tasks", body, format="json").json()
    assert_sent_as_typed(schema, task, response_schema(schema, "/api/tasks", "post", "201"))
    bare = alice_client.post("/api/tasks", {"title": "Bare"}, format="json").json()
    assert_sent_as_typed(schema, bare, response_schema(schema, "/api/tasks/{id}", "get", "200"))
    listed = alice_client.get("/api/tasks").json()
    assert_sent_as_typed(schema, listed, response_schema(schema, "/api/tasks", "get", "200"))
    completed = alice_client.patch(f"/api/tasks/{task['id']}/complete", {}, format="json").json()
    assert completed["next"] is not None
    assert_sent_as_typed(schema, completed, response_schema(schema, "/api/tasks/{id}/complete", "patch", "200"))
    webhook = alice_client.post("/api/webhooks", {"url": "https://hooks.example.com/x", "events": ["*"]}, format="json")
    assert_sent_as_typed(schema, webhook.json(), response_schema(schema, "/api/webhooks", "post", "201"))
    for path in ("/api/me", "/api/tags", "/api/export", "/api/lists"):
        assert_sent_as_typed(schema, alice_client.get(path).json(), response_schema(schema, path, "get", "200"))


# 4. The task list


def test_the_task_list_is_typed_as_tasks_only(schema: dict[str, Any]) -> None:
    for path in ("/api/tasks", "/api/{user_id}/tasks"):
        listed = resolve(schema, response_schema(schema, path, "get", "200"))
        assert listed["type"] == "array"
        assert listed["items"] == {"$ref": "#/components/schemas/Task"}
        names = {parameter["name"] for parameter in schema["paths"][path]["get"]["parameters"]}
        assert "updated_since" not in names
        assert "TaskOrTombstone" in schema["paths"][path]["get"]["description"]


def test_the_deprecated_list_variant_is_published_with_a_literal_deleted_flag(
    schema: dict[str, Any], alice_client: APIClient
) -> None:
    components = schema["components"]["schemas"]
    assert components["Tombstone"]["properties"]["deleted"]["enum"] == [True]
    assert components["TaskOrTombstone"]["oneOf"] == [
        {"$ref": "#/components/schemas/Task"},
        {"$ref": "#/components/schemas/Tombstone"},
    ]
    since = (timezone.now() - timedelta(minutes=1)).isoformat()
    task = alice_client.post("/api/tasks", {"title": "Gone soon"}, format="json").json()
    alice_client.delete(f"/api/tasks/{task['id']}")
    changes = alice_client.get("/api/tasks", {"updated_since": since}).json()
    assert changes == [{"id": task["id"], "deleted": True, "updated_at": changes[0]["updated_at"]}]
    assert_sent_as_typed(schema, changes[0], {"$ref": "#/components/schemas/Tombstone"})


# 5. Query parameters


def test_tag_is_a_repeatable_array_and_yes_no_filters_are_booleans(schema: dict[str, Any]) -> None:
    for path in ("/api/tasks", "/api/{user_id}/tasks"):
        parameters = {parameter["name"]: parameter for parameter in schema["paths"][path]["get"]["parameters"]}
        tag = parameters["tag"]
        assert tag["schema"]["type"] == "array"
        assert (tag["style"], tag["explode"]) == ("form", True)
        for name in ("overdue", "has_due"):
            assert parameters[name]["schema"] == {"type": "boolean"}, name
    for _path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                assert parameter["schema"].get("enum") not in (["false", "true"], ["true", "false"]), parameter


def test_boolean_filters_take_what_a_url_encoder_writes_for_a_boolean(alice_client: APIClient) -> None:
    past = (timezone.now() - timedelta(days=1)).isoformat()
    late = alice_client.post("/api/tasks", {"title": "Late", "due_at": past}, format="json").json()
    alice_client.post("/api/tasks", {"title": "Someday"}, format="json")
    assert [task["id"] for task in alice_client.get("/api/tasks", {"overdue": "true"}).json()] == [late["id"]]
    assert [task["title"] for task in alice_client.get("/api/tasks", {"has_due": "false"}).json()] == ["Someday"]
    both = alice_client.get("/api/tasks?tag=a&tag=b")
    assert both.status_code == 200


# 6. and 9. Errors


def test_every_documented_error_status_has_the_error_body_in_both_shapes(schema: dict[str, Any]) -> None:
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
                }, f"{method} {path} {status}"
    retrieve = schema["paths"]["/api/tasks/{id}"]["get"]["responses"]
    assert "content" not in retrieve["304"]
    assert "ETag" in retrieve["304"]["headers"]
    for status in ("410", "412", "422"):
        assert status in {
            **schema["paths"]["/api/tasks"]["get"]["responses"],
            **schema["paths"]["/api/tasks/{id}"]["put"]["responses"],
            **schema["paths"]["/api/tasks"]["post"]["responses"],
        }


def test_error_codes_are_one_enum_that_holds_every_code_the_source_sends(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    codes = set(components["ErrorCode"]["enum"])
    assert components["Error"]["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
    assert components["Problem"]["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
    assert set(components["Problem"]["required"]) == {"type", "title", "status", "detail", "code"}
    root = Path(__file__).resolve().parents[2]
    sent = set()
    for app in ("authn", "tasks", "events", "evotodo"):
        for source in (root / app).rglob("*.py"):
            if "tests" not in source.parts:
                sent |= set(
                    re.findall(r'(?:default_code = |"code": |^    code = )"([a-z_]+)"', source.read_text(), re.M)
                )
    assert {"length_required", "token_expired", "precondition_failed"} <= sent  # the search finds each kind
    assert sent <= codes, sent - codes
    assert {"token_expired", "not_authenticated", "throttled", "unknown_field", "user_mismatch"} <= codes


# 7. The sync feed


def test_sync_changes_are_a_union_discriminated_by_the_type_the_server_sends(schema: dict[str, Any]) -> None:
    change = schema["components"]["schemas"]["Change"]
    assert change["discriminator"]["propertyName"] == "type"
    mapping = change["discriminator"]["mapping"]
    assert set(mapping) == {"task", "task_deleted", "list", "list_deleted"}
    assert change["oneOf"] == [{"$ref": ref} for ref in mapping.values()]
    for kind, ref in mapping.items():
        member = resolve(schema, {"$ref": ref})
        assert "type" in member["required"]
        assert resolve(schema, member["properties"]["type"])["enum"] == [kind]


def test_every_kind_of_sync_change_is_sent_as_typed(schema: dict[str, Any], alice_client: APIClient) -> None:
    first = alice_client.get("/api/sync").json()
    task_list = alice_client.post("/api/lists", {"name": "Errands"}, format="json").json()
    kept = alice_client.post("/api/tasks", {"title": "Bread", "list_id": task_list["id"]}, format="json").json()
    gone = alice_client.post("/api/tasks", {"title": "Milk"}, format="json").json()
    alice_client.delete(f"/api/tasks/{gone['id']}")
    alice_client.delete(f"/api/lists/{task_list['id']}?tasks=move_to_inbox")
    page = alice_client.get("/api/sync", {"token": first["next_token"]}).json()
    assert {change["type"] for change in page["changes"]} == {"task", "task_deleted", "list_deleted"}
    assert any(change.get("task", {}).get("id") == kept["id"] for change in page["changes"])
    assert_sent_as_typed(schema, page, response_schema(schema, "/api/sync", "get", "200"))
    listed = alice_client.post("/api/lists", {"name": "Home"}, format="json").json()
    page = alice_client.get("/api/sync", {"token": page["next_token"]}).json()
    assert [change["list"]["id"] for change in page["changes"]] == [listed["id"]]
    assert_sent_as_typed(schema, page, response_schema(schema, "/api/sync", "get", "200"))


# 8. The docs page


def test_the_apis_own_routes_come_before_the_path_style_ones(schema: dict[str, Any]) -> None:
    paths = list(schema["paths"])
    assert paths[0] == "/api/tasks"
    first_path_style = min(index for index, path in enumerate(paths) if path.startswith("/api/{user_id}/"))
    assert all(path.startswith("/api/{user_id}/") for path in paths[first_path_style:])
    tags = [tag["name"] for tag in schema["tags"]]
    assert tags[0] == "tasks"
    assert all(name.endswith("(path-style)") for name in tags[-3:])
    used = {tag for _path, _method, operation in operations(schema) for tag in operation["tags"]}
    assert used <= set(tags)


def test_every_operation_has_a_one_line_summary(schema: dict[str, Any]) -> None:
    for path, method, operation in operations(schema):
        summary = operation.get("summary", "")
        assert summary, f"{method} {path}"
        assert "\n" not in summary
        assert len(summary) <= 80, summary
    twins = {operation["operationId"]: operation["summary"] for _path, _method, operation in operations(schema)}
    for name, summary in twins.items():
        if name.startswith("user_"):
            assert summary == twins[name.removeprefix("user_")], name


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/tasks", "post", "201"),
        ("/api/tasks", "get", "200"),
        ("/api/tasks/{id}/complete", "patch", "200"),
        ("/api/sync", "get", "200"),
        ("/api/lists", "post", "201"),
        ("/api/webhooks", "post", "201"),
    ],
)
def test_the_main_operations_have_examples_that_match_their_schema(
    schema: dict[str, Any], path: str, method: str, status: str
) -> None:
    operation = schema["paths"][path][method]
    response = operation["responses"][status]["content"]["application/json"]
    assert response["examples"]
    for example in response["examples"].values():
        assert_sent_as_typed(schema, example["value"], response["schema"])
    if "requestBody" in operation:
        assert operation["requestBody"]["content"]["application/json"]["examples"]


def test_every_query_parameter_the_schema_lists_is_one_the_operation_reads(
    schema: dict[str, Any], alice: Any, alice_client: APIClient
) -> None:
    """A client generated from the schema sends what it lists: none of it may be an `unknown_parameter`."""
    listed = [
        (path, method, parameter["name"])
        for path, method, operation in operations(schema)
        if method == "get"
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]
    assert any(path == "/api/tasks" for path, _, _ in listed)  # the check reaches the lists it is for
    refused = []
    for path, _method, name in listed:
        url = re.sub(r"\{user_id\}", alice.better_auth_id, path)
        url = re.sub(r"\{[a-z_]+\}", "1", url)
        body = alice_client.get(url, {name: "1"}).json()
        if isinstance(body, dict) and body.get("code") == "unknown_parameter":
            refused.append(f"{path} ?{name}")
    assert refused == []
