"""drf-spectacular hooks for the published schema."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable, machine-readable reason, e.g. token_expired."},
        "errors": {"type": "object", "additionalProperties": True, "description": "Per field, for code=invalid."},
    },
}
ERRORS = {
    "400": "Invalid input or query parameter; `errors` names the field.",
    "401": 'No token, or a refused one (`WWW-Authenticate: Bearer error="invalid_token"`).',
    "403": "The path's user_id is not yours.",
    "404": "No such task of yours.",
    "406": "Only JSON is served.",
    "409": "The task changed while the request was being checked.",
    "413": "Request body too large.",
    "415": "Only application/json bodies are read.",
    "429": "Rate limit reached; see Retry-After.",
    "503": "Token keys could not be fetched yet.",
}
BODY_ONLY = {"409", "413", "415"}


def strip_trailing_slashes(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Publish `/api/tasks`, the contract's spelling; the server answers with and without the slash."""
    result["paths"] = {(path.rstrip("/") or "/"): item for path, item in result.get("paths", {}).items()}
    return result


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every API operation can answer with the JSON error shape; say so, with the statuses it uses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                if status in BODY_ONLY and method not in {"post", "put", "patch"}:
                    continue
                responses.setdefault(status, {"description": description, "content": reference})
    return result
