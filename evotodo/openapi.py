"""drf-spectacular hooks for the published schema."""

from __future__ import annotations

from typing import Any


def strip_trailing_slashes(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Publish `/api/tasks`, the contract's spelling; the server answers with and without the slash."""
    result["paths"] = {(path.rstrip("/") or "/"): item for path, item in result.get("paths", {}).items()}
    return result
