"""Bounded pages of a plain JSON array, with an RFC 8288 `Link` header while more remain."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class LinkHeaderPagination(BasePagination):
    """`?limit=&offset=` pages; the body stays a JSON array, so clients of the plain list keep working.

    One query per page: it reads one row beyond the page to know whether a next page exists.
    """

    query_params = frozenset({"limit", "offset"})
    default_limit = 100
    max_limit = 500
    max_offset = 10_000_000

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.limit = self._int_param(request, "limit", self.default_limit, 1, self.max_limit)
        self.offset = self._int_param(request, "offset", 0, 0, self.max_offset)
        rows = list(queryset[self.offset : self.offset + self.limit + 1])
        self.has_next = len(rows) > self.limit
        return rows[: self.limit]

    def get_paginated_response(self, data: Any) -> Response:
        url = self.request.build_absolute_uri()
        links = []
        if self.has_next:
            links.append(f'<{replace_query_param(url, "offset", self.offset + self.limit)}>; rel="next"')
        if self.offset:
            links.append(f'<{replace_query_param(url, "offset", max(self.offset - self.limit, 0))}>; rel="prev"')
        return Response(data, headers={"Link": ", ".join(links)} if links else None)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return schema

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size, 1-{self.max_limit} (default {self.default_limit}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit},
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "description": 'Rows to skip (default 0). Follow the `Link: <...>; rel="next"` header instead.',
                "schema": {"type": "integer", "minimum": 0, "maximum": self.max_offset},
            },
        ]

    @staticmethod
    def _int_param(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not re.fullmatch(r"-?[0-9]{1,12}", raw) or not minimum <= int(raw) <= maximum:
            raise ValidationError({name: [f"Must be an integer between {minimum} and {maximum}."]})
        return int(raw)
