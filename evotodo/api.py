"""What every API view shares: query parameters are strict, like bodies."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request


def url_id(view: Any) -> int:
    """The id the URL names (the view's lookup), as a number: `/0721` and `/721` name one object, for the
    object's lookup and for a write's idempotency scope alike (the routes take digits only)."""
    return int(view.kwargs[view.lookup_url_kwarg or view.lookup_field])


# Appended by some HTTP clients to defeat caches (jQuery's `cache: false`, `?_=1733068800000`): harmless.
CACHE_BUSTER = "_"


class StrictQueryParamsMixin:
    """A query parameter the action does not read is a 400 naming it (`unknown_parameter`), and so is one
    given twice that is not repeatable, so a typo (`?completed=true`, `?page=2`) never passes for a request
    that was understood. Views say what each action reads in `query_params_for(action)`."""

    repeatable_query_params: frozenset[str] = frozenset()

    def query_params_for(self, action: str | None) -> frozenset[str]:
        return frozenset()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        method = request.method.lower() if request.method else ""
        if method not in self.http_method_names or not hasattr(self, method):  # type: ignore[attr-defined]
            return  # a 405 follows: the parameters do not matter
        allowed = self.query_params_for(getattr(self, "action", None)) | {CACHE_BUSTER}
        errors: dict[str, list[ErrorDetail]] = {}
        for name in request.query_params:
            if name not in allowed:
                errors[name] = [ErrorDetail("Unknown query parameter.", code="unknown_parameter")]
            elif len(request.query_params.getlist(name)) > 1 and name not in self.repeatable_query_params:
                errors[name] = [ErrorDetail("Give this parameter once.", code="repeated_parameter")]
        if errors:
            raise ValidationError(dict(sorted(errors.items())))


def path_style_schema(tag: str, summaries: dict[str, str], prefix: str, ids: dict[str, str] | None = None) -> Any:
    """The OpenAPI decoration of a viewset's path-style copy (/api/{user_id}/…, the "Evolution of Todo" shape):
    its own tag (listed after the main routes), each operation's summary, the `user_id` parameter, and operation
    ids of its own (`prefix`, then the action's name or its entry in `ids`)."""
    return extend_schema_view(
        **{
            name: extend_schema(
                tags=[tag],
                summary=summary,
                parameters=[OpenApiParameter("user_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
                operation_id=f"{prefix}_{(ids or {}).get(name, name)}",
            )
            for name, summary in summaries.items()
        }
    )
