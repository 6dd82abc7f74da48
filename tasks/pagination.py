"""Bounded pages of a plain JSON array, with an RFC 8288 `Link` header while more remain."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from tasks.ordering import CursorInvalid, after, row_cursor, sorted_rows


class LinkHeaderPagination(BasePagination):
    """`?limit=` pages; the body stays a JSON array, so clients of the plain list keep working.

    The task list pages by cursor (`paginate_tasks`): `Link: <...cursor=...>; rel="next"` resumes strictly
    after the last row sent, so pages never skip or repeat a task while others write, and a deep page costs
    what the first does. `offset` still works, for older clients, but shifts when tasks are created or
    deleted meanwhile. One query per page: it reads one row beyond the page to know whether more remain.
    """

    query_params = frozenset({"limit", "offset", "cursor"})
    default_limit = 100
    max_limit = 500
    max_offset = 10_000_000

    def paginate_tasks(
        self,
        tasks: Callable[[], QuerySet],
        request: Request,
        sort: str,
        columns: Sequence[str],
        first_page: Callable[[str, int], list[tuple[Any, ...]]] | None = None,
    ) -> list[tuple[Any, ...]]:
        """A page of the task list under `sort`, from `cursor`, `offset` or the start: each task a tuple of its
        `columns` and its sort keys (`sorted_rows`). `first_page(sort, count)`, when given, reads the first
        `count` of those rows some faster way; the page from the start is read through it, and then `tasks()` is
        not called: building a queryset the page does not read was a tenth of the list's Python."""
        self.request = request
        self.limit = self.int_param(request, "limit", self.default_limit, 1, self.max_limit)
        cursor = request.query_params.get("cursor")
        if cursor is not None and "offset" in request.query_params:
            raise ValidationError({"cursor": ["Give either cursor or offset, not both."]})
        self.offset = 0 if cursor is not None else self.int_param(request, "offset", 0, 0, self.max_offset)
        if first_page is not None and cursor is None and self.offset == 0:
            page = first_page(sort, self.limit + 1)
        else:
            rows = sorted_rows(tasks().order_by(), sort, columns)
            if cursor is not None:
                try:
                    rows = after(rows, sort, cursor)
                except CursorInvalid:
                    raise ValidationError(
                        {"cursor": ["Not a cursor of this list and sort: follow the Link header, or start over."]},
                        code="cursor_invalid",
                    ) from None
            page = list(rows[self.offset : self.offset + self.limit + 1])
        self.has_next = len(page) > self.limit
        page = page[: self.limit]
        self.next_cursor = row_cursor(page[-1], sort) if self.has_next else None
        return page

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        """A page by offset (the deprecated `updated_since` list)."""
        self.request = request
        self.limit = self.int_param(request, "limit", self.default_limit, 1, self.max_limit)
        self.offset = self.int_param(request, "offset", 0, 0, self.max_offset)
        if "cursor" in request.query_params:
            raise ValidationError({"cursor": ["With updated_since, pages go by offset: use GET /api/sync."]})
        rows = list(queryset[self.offset : self.offset + self.limit + 1])
        self.has_next = len(rows) > self.limit
        self.next_cursor = None
        return rows[: self.limit]

    def get_paginated_response(self, data: Any) -> Response:
        url = self.request.build_absolute_uri()
        links = []
        if self.has_next and self.next_cursor is not None:
            links.append(
                f'<{replace_query_param(remove_query_param(url, "offset"), "cursor", self.next_cursor)}>; rel="next"'
            )
        elif self.has_next:
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
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": 'Where the next page starts: take it from the `Link: <...>; rel="next"` header.',
                "schema": {"type": "string"},
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "description": "Rows to skip (default 0); deprecated: pages by offset shift when tasks are created "
                'or deleted meanwhile. Follow the `Link: <...>; rel="next"` header (a cursor) instead.',
                "schema": {"type": "integer", "minimum": 0, "maximum": self.max_offset},
                "deprecated": True,
            },
        ]

    @staticmethod
    def int_param(request: Request, name: str, default: int, minimum: int, maximum: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not re.fullmatch(r"-?[0-9]{1,12}", raw) or not minimum <= int(raw) <= maximum:
            raise ValidationError({name: [f"Must be an integer between {minimum} and {maximum}."]})
        return int(raw)
