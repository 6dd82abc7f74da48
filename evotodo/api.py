"""What every API view shares: query parameters are strict, like bodies."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request

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
