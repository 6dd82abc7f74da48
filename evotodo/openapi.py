"""drf-spectacular hooks for the published schema."""

from __future__ import annotations

import json
from typing import Any

from evotodo.problems import PROBLEM_JSON

# Codes of errors made outside an exception class (the handlers, the middleware, DRF permission `code`s) or
# raised with a code of their own; the exception classes' `default_code`s are found by `error_codes()`.
OTHER_ERROR_CODES = frozenset(
    {
        "authorization_header_invalid",
        "bad_request",
        "body_malformed",
        "csrf_failed",
        "length_required",
        "server_error",
        "token_malformed",
        "user_inactive",
        "user_mismatch",
        # What gunicorn (evotodo/gunicorn_errors.py) and nginx (deploy/nginx) answer themselves.
        "expectation_failed",
        "forbidden",
        "method_not_allowed",
        "not_implemented",
        "request_headers_too_large",
        "request_line_too_long",
        "request_too_large",
        "upstream_timeout",
        "upstream_unavailable",
    }
)
CODE_MODULES = ("rest_framework.", "rest_framework_simplejwt.", "authn.", "tasks.", "events.", "evotodo.")


def error_codes() -> list[str]:
    """Every top-level `code` the API can answer with: the `default_code` of each APIException class of DRF,
    simplejwt and the project, each refused token's code, the input shape codes, and the rest (above)."""
    from rest_framework.exceptions import APIException

    from authn.tokens import TokenError
    from evotodo.exceptions import SHAPE_CODES

    def subclasses(cls: type) -> list[type]:
        return [cls, *(sub for direct in cls.__subclasses__() for sub in subclasses(direct))]

    codes = {
        cls.__dict__["default_code"]
        for cls in subclasses(APIException)[1:]
        if "default_code" in cls.__dict__ and cls.__module__.startswith(CODE_MODULES)
    }
    codes |= {cls.code for cls in subclasses(TokenError)}
    return sorted(codes | SHAPE_CODES | OTHER_ERROR_CODES)


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error of the API, unless the request asks for `application/problem+json`.",
    "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, for people."},
        "code": {"$ref": "#/components/schemas/ErrorCode"},
        "errors": {"type": "object", "additionalProperties": True, "description": "Per field, for code=invalid."},
        "index": {"type": "integer", "description": "POST /api/batch: the operation that failed."},
    },
}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details: every error, when the request's Accept lists "
    "`application/problem+json` (then `Content-Type: application/problem+json`). The members of `Error`, "
    "plus `type` and `title`, which are the same for every error of one `code`, and `status`.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "description": "`/problems/<code>`, relative to the API's URL: the problem type.",
        },
        "title": {"type": "string", "description": "The problem type in words, e.g. Token expired."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status."},
        "detail": {"type": "string", "description": "What went wrong this time, for people."},
        "code": {"$ref": "#/components/schemas/ErrorCode"},
        "errors": {"type": "object", "additionalProperties": True, "description": "Per field, for code=invalid."},
        "index": {"type": "integer", "description": "POST /api/batch: the operation that failed."},
    },
}
ERRORS = {
    "400": "Invalid input or query parameter (`invalid`), or an unknown body member or query parameter "
    "(`unknown_field`, `unknown_parameter`, `repeated_parameter`); `errors` names each.",
    "401": 'No token, or a refused one (`WWW-Authenticate: Bearer error="invalid_token"`).',
    "403": "The path's user_id is not yours.",
    "404": "No such task of yours.",
    "406": "Only JSON is served.",
    "409": "The task changed while the request was being checked.",
    "413": "Request body too large.",
    "415": "Only application/json bodies are read.",
    "429": "Rate limit reached; see Retry-After.",
    "503": "The database, or the token keys, could not be reached: see Retry-After when given.",
}
BODY_ONLY = {"409", "413", "415"}
ERROR_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}},
}
NOT_MODIFIED_HEADERS = {"ETag": {"schema": {"type": "string"}, "description": "The current ETag, unchanged."}}


def strip_trailing_slashes(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Publish `/api/tasks`, the contract's spelling; the server answers with and without the slash."""
    result["paths"] = {(path.rstrip("/") or "/"): item for path, item in result.get("paths", {}).items()}
    return result


def order_paths_by_tag(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Paths in the order of their tags in the TAGS setting (the API's own routes first, the path-style
    compatibility twins `/api/{user_id}/...` last), each tag's paths in drf-spectacular's order: the order the
    docs page shows its tags in, and generated clients their operations."""
    order = {tag["name"]: index for index, tag in enumerate(result.get("tags", []))}

    def position(item: tuple[str, dict[str, Any]]) -> int:
        tags = [
            tag for operation in item[1].values() if isinstance(operation, dict) for tag in operation.get("tags", [])
        ]
        return min((order.get(tag, len(order)) for tag in tags), default=len(order))

    result["paths"] = dict(sorted(result.get("paths", {}).items(), key=position))
    return result


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every API operation can answer with the JSON error shape; say so, with the statuses it uses. Every error
    status documented, the common ones and each operation's own (410, 412, 422, ...), has the error body in
    both shapes, so generated clients type `error`; a 304 has no body, only its ETag."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ErrorCode"] = {
        "type": "string",
        "enum": error_codes(),
        "description": "Stable, machine-readable reason, e.g. token_expired. New codes may be added: keep a "
        "default branch.",
    }
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                if status in BODY_ONLY and method not in {"post", "put", "patch"}:
                    continue
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if str(status).isdigit() and int(status) >= 400:
                    response["content"] = {media_type: dict(body) for media_type, body in ERROR_CONTENT.items()}
                elif str(status) == "304":
                    response.pop("content", None)
                    response["headers"] = dict(NOT_MODIFIED_HEADERS)
    return result


# A path id as the URL matches it (`[0-9]{1,18}`, tasks.views.TaskViewSet.lookup_value_regex): an integer, as the
# `id` of what it names. `user_id` (the Better Auth id of the path-style routes) stays a string.
PATH_ID_PATTERN = "^[0-9]{1,18}$"
PATH_ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": 10**18 - 1}


def type_path_ids(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Path ids are integers, like the ids in bodies: `GET /api/tasks/{id}` takes `Task.id` as it is."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "path" and (
                    schema.get("pattern") == PATH_ID_PATTERN or schema.get("type") == "integer"
                ):
                    parameter["schema"] = dict(PATH_ID_SCHEMA)
    return result


# Members of response components that the server leaves out at times: everything else it always sends.
SOMETIMES_SENT = {"Error": {"errors", "index"}, "Problem": {"errors", "index"}}
# Members that a request may set to null but that a response never holds as null.
NEVER_NULL_IN_RESPONSES = {"Task": {"description"}, "TaskCompletion": {"description"}}


def describe_responses_as_sent(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Response components list every member the server always sends as `required` (nullable where it can be
    null), so generated clients need no `?.` or `!` for what is always there; the serializers' `required` speaks
    of requests."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") or schema.get("type") != "object" or "properties" not in schema:
            continue
        properties = schema["properties"]
        schema["required"] = sorted(set(properties) - SOMETIMES_SENT.get(name, set()))
        for field in NEVER_NULL_IN_RESPONSES.get(name, ()):
            properties[field].pop("nullable", None)
    return result


def describe_request_defaults(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """A request member with a server default is optional: say the default in words rather than as `default`,
    which generated clients (openapi-typescript) read as "always present" and so make the member required."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Request"):
            continue
        for field, member in schema.get("properties", {}).items():
            if "default" not in member:
                continue
            said = f"Default: `{json.dumps(member.pop('default'))}`."
            text = member.get("description", "")
            member["description"] = f"{text}\n\n{said}" if text else said
            if field in schema.get("required", []):
                schema["required"].remove(field)
    return result


TOMBSTONE_SCHEMA = {
    "type": "object",
    "description": "A deleted task, in the deprecated `updated_since` list (tasks.serializers.TombstoneSerializer).",
    "properties": {
        "id": {"type": "integer"},
        "deleted": {"type": "boolean", "enum": [True], "description": "Always true: tells a tombstone from a task."},
        "updated_at": {"type": "string", "format": "date-time", "description": "When it was deleted."},
    },
    "required": ["deleted", "id", "updated_at"],
}


def describe_deprecated_list_variant(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Publish what the deprecated `GET /api/tasks?updated_since=` answers, an array of `TaskOrTombstone`, as
    components that operation's description names: the typed 200 is the list without it (tasks only), so that
    `data.map(task => task.title)` holds for every call the schema types."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Tombstone"] = TOMBSTONE_SCHEMA
    schemas["TaskOrTombstone"] = {
        "description": "An item of the deprecated `updated_since` list: a task, or a tombstone (`deleted: true`).",
        "oneOf": [{"$ref": "#/components/schemas/Task"}, {"$ref": "#/components/schemas/Tombstone"}],
    }
    return result


# What a client can do with the task a create returned, by operationId; the path-style twin is `user_` + it.
TASK_LINKS = {
    "RetrieveTask": "tasks_retrieve",
    "UpdateTask": "tasks_update",
    "PartialUpdateTask": "tasks_partial_update",
    "CompleteTask": "tasks_complete",
    "DestroyTask": "tasks_destroy",
}
TASK_CREATES = ("tasks_create", "user_tasks_create")
# The path-style routes take the caller's own Better Auth id, which /api/me returns as `id`.
MY_TASKS_LINKS = {"CreateMyTask": "user_tasks_create"}


def link_task_operations(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Publish OpenAPI links, so that clients (and Schemathesis's stateful phase) can follow the data: the 201 of
    each task create leads to the operations on the new task in both route families (its `id`, and its owner's
    `user_id` for the path-style ones), and /api/me to the path-style create. A link is added
    only when its target operation is published."""
    operations = {
        operation.get("operationId"): operation
        for item in result.get("paths", {}).values()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }

    def add_links(source: str, status: str, links: dict[str, tuple[str, dict[str, str]]]) -> None:
        response = operations.get(source, {}).get("responses", {}).get(status)
        if response is None:
            return
        for name, (target, parameters) in links.items():
            if target in operations:
                response.setdefault("links", {})[name] = {"operationId": target, "parameters": dict(parameters)}

    on_the_task = {
        **{name: (target, {"id": "$response.body#/id"}) for name, target in TASK_LINKS.items()},
        **{
            f"PathStyle{name}": (f"user_{target}", {"user_id": "$response.body#/user_id", "id": "$response.body#/id"})
            for name, target in TASK_LINKS.items()
        },
    }
    for create in TASK_CREATES:
        add_links(create, "201", on_the_task)
    add_links(
        "me_retrieve",
        "200",
        {name: (target, {"user_id": "$response.body#/id"}) for name, target in MY_TASKS_LINKS.items()},
    )
    return result


# Text the API refuses although JSON allows it: blank after trimming, or holding a NUL character.
VISIBLE_TEXT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
DATETIME_RULE = "An offset is required, at most ±15:59; the instant must fall in years 1-9999 in UTC."


def describe_request_rules(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Request bodies as strict as the server: unknown members are refused (`additionalProperties: false`),
    titles and tags must hold visible text, date-times say their limits, and a PATCH's `recurrence` may carry
    any one member (it is merged into the stored rule), so it has a schema of its own without `required`."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
            properties = schema.get("properties", {})
            if "title" in properties:
                properties["title"]["pattern"] = VISIBLE_TEXT
            if "tags" in properties:
                properties["tags"]["items"]["pattern"] = VISIBLE_TEXT
            for field in ("due_at", "remind_at"):
                if field in properties:
                    properties[field]["description"] = DATETIME_RULE
    if "RecurrenceRequest" in schemas and "PatchedTaskRequest" in schemas:
        patched = {key: value for key, value in schemas["RecurrenceRequest"].items() if key != "required"}
        schemas["PatchedRecurrenceRequest"] = patched
        schemas["PatchedTaskRequest"]["properties"]["recurrence"]["allOf"] = [
            {"$ref": "#/components/schemas/PatchedRecurrenceRequest"}
        ]
    return result
