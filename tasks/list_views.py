"""The lists API: /api/lists and its path-style twin /api/{user_id}/lists; another user's list is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ErrorDetail, NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from evotodo.api import StrictQueryParamsMixin, path_style_schema, url_id
from tasks.idempotency import idempotent
from tasks.list_services import (
    TASKS_DELETE,
    TASKS_MOVE_TO_INBOX,
    ListChanged,
    ListNameTaken,
    ListNotEmpty,
    TooManyLists,
    list_create,
    list_delete,
    list_move,
    list_update,
    owned_lists,
    with_counts,
)
from tasks.models import MAX_LISTS, TaskList
from tasks.order_keys import NotASibling
from tasks.serializers import ListMoveSerializer, TaskListSerializer
from tasks.services import Preconditions
from tasks.views import IDEMPOTENCY_KEY, KEY_REUSED, IsPathUser


class ListPreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "The list is not as If-Match or If-None-Match expect: it changed since you read it (If-Match does not "
        "match its ETag), or If-None-Match names its ETag; read it again."
    )
    default_code = "precondition_failed"


class ListNotEmptyError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The list has tasks: say what becomes of them with ?tasks=move_to_inbox or ?tasks=delete."
    default_code = "list_not_empty"


class TooManyListsError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = f"You have {MAX_LISTS} lists, the most there can be: delete one first."
    default_code = "too_many_lists"


def name_taken() -> ValidationError:
    return ValidationError({"name": [ErrorDetail("You have a list with this name already.", code="unique")]})


LIST_IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="The list's ETag: 412 if it changed since."
)
LIST_IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="ETags the list must not have: 412 if it has one of them (`*`: it exists, always 412).",
)
LIST_CHANGED = OpenApiResponse(description="The list changed since the ETag in If-Match was read.")
ARCHIVED = OpenApiParameter(
    "archived", {"type": "boolean"}, description="Only archived lists (true) or only the others (false); all without."
)
TASKS_MODE = OpenApiParameter(
    "tasks",
    {"type": "string", "enum": [TASKS_MOVE_TO_INBOX, TASKS_DELETE]},
    description="What becomes of the list's tasks: moved to the inbox, or deleted. Without it, a list that has "
    "tasks is not deleted (409 `list_not_empty`).",
)


# One line per operation for the docs page; the path-style twins (UserTaskListViewSet) say the same.
LIST_SUMMARIES = {
    "list": "Your lists, in your order",
    "create": "Create a list",
    "retrieve": "One of your lists, with its task counts",
    "update": "Replace a list's fields",
    "partial_update": "Change some of a list's fields",
    "destroy": "Delete a list (say what becomes of its tasks)",
    "move": "Reorder a list among yours",
}
CREATE_LIST_EXAMPLES = [
    OpenApiExample("A list", request_only=True, value={"name": "Home", "color": "#4caf50"}),
    OpenApiExample(
        "The list created",
        response_only=True,
        status_codes=["201"],
        value={
            "id": 7,
            "user_id": "u_8GfQ2hT1",
            "name": "Home",
            "color": "#4caf50",
            "position": "a0",
            "archived": False,
            "task_count": 0,
            "open_count": 0,
            "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-01T09:00:00Z",
        },
    ),
]


@extend_schema_view(
    list=extend_schema(parameters=[ARCHIVED], summary=LIST_SUMMARIES["list"]),
    create=extend_schema(
        summary=LIST_SUMMARIES["create"],
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: TaskListSerializer,
            409: OpenApiResponse(description="`too_many_lists`."),
            422: KEY_REUSED,
        },
        examples=CREATE_LIST_EXAMPLES,
    ),
    retrieve=extend_schema(
        summary=LIST_SUMMARIES["retrieve"],
        parameters=[LIST_IF_MATCH],
        responses={
            200: TaskListSerializer,
            304: OpenApiResponse(description="Unchanged."),
            412: LIST_CHANGED,
        },
    ),
    update=extend_schema(
        summary=LIST_SUMMARIES["update"],
        parameters=[LIST_IF_MATCH, LIST_IF_NONE_MATCH, IDEMPOTENCY_KEY],
        responses={200: TaskListSerializer, 412: LIST_CHANGED, 422: KEY_REUSED},
    ),
    partial_update=extend_schema(
        summary=LIST_SUMMARIES["partial_update"],
        parameters=[LIST_IF_MATCH, LIST_IF_NONE_MATCH, IDEMPOTENCY_KEY],
        responses={200: TaskListSerializer, 412: LIST_CHANGED, 422: KEY_REUSED},
    ),
    destroy=extend_schema(
        summary=LIST_SUMMARIES["destroy"],
        parameters=[LIST_IF_MATCH, LIST_IF_NONE_MATCH, TASKS_MODE, IDEMPOTENCY_KEY],
        responses={
            204: None,
            409: OpenApiResponse(description="`list_not_empty`."),
            412: LIST_CHANGED,
            422: KEY_REUSED,
        },
    ),
)
class TaskListViewSet(StrictQueryParamsMixin, viewsets.ModelViewSet):
    """The caller's lists, each with its task counts; anybody else's list is a 404, as if it did not exist."""

    serializer_class = TaskListSerializer
    queryset = TaskList.objects.none()
    pagination_class = None
    lookup_value_regex = "[0-9]{1,18}"

    def query_params_for(self, action: str | None) -> frozenset[str]:
        return {"list": frozenset({"archived"}), "destroy": frozenset({"tasks"})}.get(action or "", frozenset())

    def get_queryset(self) -> QuerySet[TaskList]:
        if getattr(self, "swagger_fake_view", False):
            return TaskList.objects.none()
        return with_counts(owned_lists(self.request.user.pk))

    def _owned(self, task_list: TaskList) -> TaskList:
        TaskList.owner.field.set_cached_value(task_list, self.request.user)
        return task_list

    def _response(self, task_list: TaskList, status_code: int = 200) -> Response:
        data = TaskListSerializer(self._owned(task_list)).data
        return Response(data, status=status_code, headers={"ETag": task_list.etag})

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lists = self.get_queryset()
        archived = request.query_params.get("archived")
        if archived is not None:
            if archived not in ("true", "false"):
                raise ValidationError({"archived": [ErrorDetail("Must be true or false.", code="invalid")]})
            lists = lists.filter(archived=archived == "true")
        return Response(TaskListSerializer([self._owned(task_list) for task_list in lists], many=True).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def run() -> Response:
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            try:
                task_list = list_create(owner=request.user, data=serializer.validated_data)
            except ListNameTaken:
                raise name_taken() from None
            except TooManyLists:
                raise TooManyListsError() from None
            return self._response(task_list, status.HTTP_201_CREATED)

        return idempotent(request, "list-create", run)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        task_list = self.get_object()
        preconditions = Preconditions.of(request.headers)
        if not preconditions.matched(task_list.etag):  # RFC 9110: If-Match first, on a read as on a write
            raise ListPreconditionFailed()
        if preconditions.unchanged(task_list.etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": task_list.etag})
        return self._response(task_list)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.get("partial", False)

        def run() -> Response:
            task_list = self.get_object()
            serializer = self.get_serializer(task_list, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            try:
                updated = list_update(
                    owner=request.user,
                    pk=task_list.pk,
                    data=serializer.validated_data,
                    preconditions=Preconditions.of(request.headers),
                )
            except ListChanged:
                raise ListPreconditionFailed() from None
            except ListNameTaken:
                raise name_taken() from None
            except TaskList.DoesNotExist:
                raise NotFound() from None  # deleted by a concurrent request
            return self._response(updated)

        return idempotent(request, f"list-{'patch' if partial else 'put'}:{url_id(self)}", run)

    @extend_schema(
        summary=LIST_SUMMARIES["move"],
        request=ListMoveSerializer,
        parameters=[LIST_IF_MATCH, LIST_IF_NONE_MATCH, IDEMPOTENCY_KEY],
        responses={200: TaskListSerializer, 412: LIST_CHANGED, 422: KEY_REUSED},
        operation_id="lists_move",
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Reorder: right `after` a list (null: first) or right `before` one; neither: last. One write."""

        def run() -> Response:  # the body checked within: a key reused with another body is a 422 however it reads
            body = ListMoveSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            try:
                moved = list_move(
                    owner=request.user,
                    pk=url_id(self),
                    data=body.validated_data,
                    preconditions=Preconditions.of(request.headers),
                )
            except TaskList.DoesNotExist:
                raise NotFound() from None
            except ListChanged:
                raise ListPreconditionFailed() from None
            except NotASibling as e:
                raise ValidationError({e.field: [ErrorDetail(e.message, code="invalid")]}) from None
            return self._response(moved)

        return idempotent(request, f"list-move:{url_id(self)}", run)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        tasks = request.query_params.get("tasks")
        if tasks is not None and tasks not in (TASKS_MOVE_TO_INBOX, TASKS_DELETE):
            raise ValidationError(
                {"tasks": [ErrorDetail(f"Must be {TASKS_MOVE_TO_INBOX} or {TASKS_DELETE}.", code="invalid_choice")]}
            )

        def run() -> Response:
            try:
                list_delete(
                    owner=request.user, pk=url_id(self), tasks=tasks, preconditions=Preconditions.of(request.headers)
                )
            except TaskList.DoesNotExist:
                raise NotFound() from None
            except ListChanged:
                raise ListPreconditionFailed() from None
            except ListNotEmpty as e:
                raise ListNotEmptyError(
                    f"The list has {e.count} task(s): say what becomes of them with ?tasks={TASKS_MOVE_TO_INBOX} "
                    f"or ?tasks={TASKS_DELETE}."
                ) from None
            return Response(status=status.HTTP_204_NO_CONTENT)

        return idempotent(request, f"list-delete:{url_id(self)}:{tasks}", run)


@path_style_schema("lists (path-style)", LIST_SUMMARIES, "user_lists")
class UserTaskListViewSet(TaskListViewSet):
    """The same API under /api/{user_id}/lists (the "Evolution of Todo" path shape); 403 if not yours."""

    permission_classes = [IsAuthenticated, IsPathUser]
