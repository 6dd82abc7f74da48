"""GET /api/export and POST /api/import: all of the caller's lists and tasks as one document, and back."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from evotodo.api import StrictQueryParamsMixin
from tasks.idempotency import idempotent
from tasks.list_services import TooManyLists
from tasks.list_views import TooManyListsError
from tasks.transfer import ImportDocument, export_document, import_document
from tasks.views import IDEMPOTENCY_KEY, KEY_REUSED


class ExportView(StrictQueryParamsMixin, generics.GenericAPIView):
    """All of your lists and tasks (subtasks, order, tags, rules included) as one JSON document: what
    POST /api/import takes."""

    serializer_class = ImportDocument
    pagination_class = None

    @extend_schema(
        summary="All your lists and tasks as one document", responses={200: ImportDocument}, operation_id="export"
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = Response(export_document(request.user))
        response["Content-Disposition"] = 'attachment; filename="evotodo-export.json"'
        return response


class ImportView(StrictQueryParamsMixin, generics.GenericAPIView):
    """Create the lists and tasks of an export document (from any user) as yours, in one transaction: all or
    nothing. A list whose name you have already is that list. `dry_run=true` says what it would create."""

    serializer_class = ImportDocument
    pagination_class = None

    def query_params_for(self, action: str | None) -> frozenset[str]:
        return frozenset({"dry_run"})

    @extend_schema(
        summary="Create the lists and tasks of an export document as yours",
        request=ImportDocument,
        parameters=[
            OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Check and count; write nothing."),
            IDEMPOTENCY_KEY,
        ],
        responses={
            201: OpenApiResponse(description="`{lists_created, lists_merged, tasks_created, dry_run}`"),
            200: OpenApiResponse(description="The same counts, for a dry run."),
            409: OpenApiResponse(description="`too_many_lists`: you would have more lists than allowed."),
            422: KEY_REUSED,
        },
        operation_id="import",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        dry_run = request.query_params.get("dry_run", "false")
        if dry_run not in ("true", "false"):
            raise ValidationError({"dry_run": [ErrorDetail("Must be true or false.", code="invalid")]})
        document = ImportDocument(data=request.data)
        document.is_valid(raise_exception=True)

        def run() -> Response:
            try:
                result = import_document(
                    owner=request.user, document=document.validated_data, dry_run=dry_run == "true"
                )
            except TooManyLists:
                raise TooManyListsError() from None
            body = {
                "lists_created": result.lists_created,
                "lists_merged": result.lists_merged,
                "tasks_created": result.tasks_created,
                "dry_run": dry_run == "true",
            }
            return Response(body, status=status.HTTP_200_OK if dry_run == "true" else status.HTTP_201_CREATED)

        return idempotent(request, f"import:{dry_run}", run)
