"""The tasks API: /api/tasks and its path-style twin /api/{user_id}/tasks, plus /api/tags."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Min, QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ErrorDetail, NotFound, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from evotodo.api import StrictQueryParamsMixin, path_style_schema, url_id
from evotodo.queries import CompiledQuery
from evotodo.transactions import commits_alone
from tasks.filters import INBOX, AwareDateTimeFormField, TaskFilter
from tasks.idempotency import HEADER as IDEMPOTENCY_HEADER
from tasks.idempotency import idempotent
from tasks.models import TAG_MAX_LENGTH, Task, TaskList, TaskTag
from tasks.order_keys import NotASibling
from tasks.ordering import DEFAULT_SORT, SORT_KEYS, sorted_rows
from tasks.pagination import LinkHeaderPagination
from tasks.serializers import (
    TASK_ROW,
    SyncPageSerializer,
    TagCountSerializer,
    TaskCompleteSerializer,
    TaskCompletionSerializer,
    TaskMoveSerializer,
    TaskSerializer,
    TombstoneSerializer,
    completion_json,
    output_zone,
    sync_change,
    task_json,
    task_row_json,
)
from tasks.services import (
    Preconditions,
    SubtaskRejected,
    TaskChanged,
    TaskConflict,
    task_complete,
    task_create,
    task_delete,
    task_move,
    task_update,
)
from tasks.sync import SyncTokenExpired, SyncTokenInvalid, changes_since, materialize, sync_page


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "The task is not as If-Match or If-None-Match expect: it changed since you read it (If-Match does not "
        "match its ETag), or If-None-Match names its ETag; read it again."
    )
    default_code = "precondition_failed"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The task changed while this request was being checked; read it again and retry."
    default_code = "conflict"


class SyncTokenInvalidError(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "This sync token is not one this server gave you; sync again without a token."
    default_code = "sync_token_invalid"


class SyncTokenExpiredError(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "Changes that old are no longer remembered: list everything instead (sync again without a token)."
    default_code = "sync_token_expired"


class SyncWindowExpired(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "Deletions that old are no longer remembered; list without updated_since for a full sync."
    default_code = "sync_window_expired"


def subtask_rejected(e: SubtaskRejected) -> ValidationError:
    return ValidationError({e.field: [ErrorDetail(e.message, code=e.code)]})


# What a task read for a write service holds until the service reads it under lock (`_task_reference`).
REFERENCE_FIELDS = ("id", "owner_id")


def owned_tasks(owner_id: int) -> QuerySet[Task]:
    """The tasks of the user with this id: every view's queryset. By the id: filtering by the user object
    costs the ORM a tenth of a list request in checks."""
    return Task.objects.filter(owner_id=owner_id)


# What `get_object` reads: the task the URL names among the caller's (`get_queryset`, which the detail actions
# do not filter further), compiled once per process (evotodo/queries.py).
OWN_TASK = CompiledQuery(lambda owner_id, pk: owned_tasks(owner_id).filter(pk=pk), "owner_id", "pk")


# What the list's compiled first page can be scoped to: all the caller's tasks, one of their lists, the inbox.
ALL, ONE_LIST, INBOX_ONLY = "all", "list", "inbox"
LIST_ID = re.compile(r"[0-9]{1,18}")


def scoped_tasks(owner_id: int, scope: str, list_id: int = 0) -> QuerySet[Task]:
    """The caller's tasks, or those of one list, or of none (the inbox): what `?list=` filters."""
    tasks = owned_tasks(owner_id)
    if scope == ONE_LIST:
        return tasks.filter(task_list_id=list_id)
    return tasks.filter(task_list__isnull=True) if scope == INBOX_ONLY else tasks


@lru_cache(maxsize=64)  # sorts x scopes x the page sizes clients use; another is compiled again when it comes back
def first_page_query(sort: str, count: int, scope: str = ALL) -> CompiledQuery[Task]:
    """The first `count` of a user's tasks (or of one list's, or the inbox's) under `sort`, as the list reads
    them without other filters (its usual calls): rows of `TASK_ROW` and sort keys, compiled once per process."""

    def rows(tasks: QuerySet[Task]) -> QuerySet[Task]:
        return sorted_rows(tasks.order_by(), sort, TASK_ROW)[:count]

    if scope == ONE_LIST:
        return CompiledQuery(
            lambda owner_id, list_id: rows(scoped_tasks(owner_id, scope, list_id)), "owner_id", "list_id"
        )
    return CompiledQuery(lambda owner_id: rows(scoped_tasks(owner_id, scope)), "owner_id")


SYNC_SUMMARY = "Everything that changed since your last sync"
SYNC_DEFAULT_LIMIT = 100
SYNC_MAX_LIMIT = 500

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="The task's ETag: 412 if it changed since."
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="The task's ETag: 304 if unchanged."
)
WRITE_IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="ETags the task must not have: 412 if it has one of them (`*`: it exists, always 412).",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {"type": "string", "pattern": "^[!-+\\--~]{1,255}$"},  # visible ASCII, no comma (KEY_FORMAT)
    OpenApiParameter.HEADER,
    description="Retries with the same key and body return the first response (24 h, per user).",
)
CHANGED = OpenApiResponse(description="The task changed since the ETag in If-Match was read.")
KEY_REUSED = OpenApiResponse(description="The Idempotency-Key was used for a different request.")
LIST_RESPONSE = OpenApiResponse(
    response=TaskSerializer(many=True),
    description='Tasks, newest first (see `sort`); `Link: <...>; rel="next"` while more remain.',
)
# The deprecated `updated_since` turns the list into a different answer (changes oldest first, deletions as
# tombstones), which one operation cannot type beside the list's: it is described in words and in the
# `TaskOrTombstone` component (evotodo.openapi.describe_deprecated_list_variant), not as a typed parameter.
LIST_DESCRIPTION = (
    "The caller's tasks; anybody else's task is a 404, as if it did not exist.\n\n"
    "Deprecated, and left out of the typed parameters: `updated_since=<date-time>` (use GET /api/sync) answers "
    "with the changes since then, oldest first, deleted tasks among them as tombstones: an array of "
    "`TaskOrTombstone` (`#/components/schemas/TaskOrTombstone`; a tombstone has `deleted: true`). It is a 410 "
    "`sync_window_expired` past the tombstone window."
)


# One line per operation for the docs page; the path-style twins (UserTaskViewSet) say the same.
TASK_SUMMARIES = {
    "list": "Your tasks, filtered and sorted, a page at a time",
    "create": "Create a task",
    "retrieve": "One of your tasks",
    "update": "Replace a task's fields",
    "partial_update": "Change some of a task's fields",
    "destroy": "Delete a task",
    "complete": "Complete a task, or reopen it",
    "subtasks": "A task's direct subtasks",
    "move": "Move a task: to a list, under a task, or among its siblings",
}
EXAMPLE_TASK = {
    "id": 42,
    "user_id": "u_8GfQ2hT1",
    "title": "Water the plants",
    "description": "",
    "completed": False,
    "created_at": "2026-03-02T08:00:00Z",
    "updated_at": "2026-03-02T08:00:00Z",
    "priority": "medium",
    "tags": ["home"],
    "due_at": "2026-03-03T18:00:00Z",
    "remind_at": None,
    "recurrence": {"freq": "weekly", "interval": 1, "until": None, "byweekday": None, "count": None, "basis": "due"},
    "completed_at": None,
    "list_id": None,
    "parent_id": None,
    "position": "a0",
}
CREATE_EXAMPLES = [
    OpenApiExample(
        "A weekly task",
        request_only=True,
        value={
            "title": "Water the plants",
            "priority": "medium",
            "tags": ["home"],
            "due_at": "2026-03-03T18:00:00Z",
            "recurrence": {"freq": "weekly"},
        },
    ),
    OpenApiExample("The task created", response_only=True, status_codes=["201"], value=EXAMPLE_TASK),
]
# drf-spectacular lists the example itself, as the response is many tasks.
LIST_EXAMPLES = [OpenApiExample("A page of tasks", response_only=True, value=EXAMPLE_TASK)]
EXAMPLE_COMPLETED = {
    **EXAMPLE_TASK,
    "completed": True,
    "completed_at": "2026-03-03T17:40:00Z",
    "updated_at": "2026-03-03T17:40:00Z",
    "next": {**EXAMPLE_TASK, "id": 43, "due_at": "2026-03-10T18:00:00Z", "position": "a1"},
}
COMPLETE_EXAMPLES = [
    OpenApiExample("Set it done", request_only=True, value={"completed": True}),
    OpenApiExample("Toggle it", request_only=True, value={}),
    OpenApiExample("A recurring task done: its next occurrence", response_only=True, value=EXAMPLE_COMPLETED),
]
SYNC_EXAMPLES = [
    OpenApiExample(
        "One page of changes",
        response_only=True,
        value={
            "changes": [
                {
                    "type": "list",
                    "list": {
                        "id": 7,
                        "user_id": "u_8GfQ2hT1",
                        "name": "Home",
                        "color": "#4caf50",
                        "position": "a0",
                        "archived": False,
                        "created_at": "2026-03-01T09:00:00Z",
                        "updated_at": "2026-03-01T09:00:00Z",
                    },
                },
                {"type": "task", "task": {**EXAMPLE_TASK, "list_id": 7}},
                {"type": "task_deleted", "id": 40, "deleted_at": "2026-03-02T09:30:00Z"},
                {"type": "list_deleted", "id": 5, "deleted_at": "2026-03-02T09:31:00Z"},
            ],
            "next_token": "eyJ2IjoxLCJzIjoxMjN9:1tZk3Q:abc",
            "more": False,
        },
    )
]


@extend_schema_view(
    list=extend_schema(
        summary=TASK_SUMMARIES["list"],
        description=LIST_DESCRIPTION,
        examples=LIST_EXAMPLES,
        parameters=[
            OpenApiParameter("updated_since", exclude=True),
            OpenApiParameter(
                "tag",
                {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": TAG_MAX_LENGTH}},
                style="form",
                explode=True,
                description="Repeatable (`tag=a&tag=b`): tasks with any of these tags, or all (`tag_mode`).",
            ),
        ],
        responses={
            200: LIST_RESPONSE,
            410: OpenApiResponse(description="`sync_window_expired`: only with the deprecated `updated_since`."),
        },
    ),
    create=extend_schema(
        summary=TASK_SUMMARIES["create"],
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TaskSerializer, 422: KEY_REUSED},
        examples=CREATE_EXAMPLES,
    ),
    retrieve=extend_schema(
        summary=TASK_SUMMARIES["retrieve"],
        parameters=[IF_MATCH, IF_NONE_MATCH],
        responses={200: TaskSerializer, 304: OpenApiResponse(description="Unchanged."), 412: CHANGED},
    ),
    update=extend_schema(
        summary=TASK_SUMMARIES["update"],
        parameters=[IF_MATCH, WRITE_IF_NONE_MATCH, IDEMPOTENCY_KEY],
        responses={200: TaskSerializer, 412: CHANGED, 422: KEY_REUSED},
    ),
    partial_update=extend_schema(
        summary=TASK_SUMMARIES["partial_update"],
        parameters=[IF_MATCH, WRITE_IF_NONE_MATCH, IDEMPOTENCY_KEY],
        responses={200: TaskSerializer, 412: CHANGED, 422: KEY_REUSED},
    ),
    destroy=extend_schema(
        summary=TASK_SUMMARIES["destroy"],
        parameters=[IF_MATCH, WRITE_IF_NONE_MATCH, IDEMPOTENCY_KEY],
        responses={204: None, 412: CHANGED, 422: KEY_REUSED},
    ),
)
class TaskViewSet(StrictQueryParamsMixin, viewsets.ModelViewSet):
    """The caller's tasks; anybody else's task is a 404, as if it did not exist."""

    serializer_class = TaskSerializer
    queryset = Task.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = TaskFilter
    pagination_class = LinkHeaderPagination
    # Ids are 64-bit: a longer number cannot be a task (and would overflow the database's integer), so
    # the URL does not match and the answer is the same 404 as for any id that is not yours.
    lookup_value_regex = "[0-9]{1,18}"
    repeatable_query_params = frozenset({"tag"})

    def query_params_for(self, action: str | None) -> frozenset[str]:
        if action == "list":
            return frozenset(TaskFilter.base_filters) | LinkHeaderPagination.query_params
        return frozenset()

    def get_queryset(self) -> QuerySet[Task]:
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        return owned_tasks(self.request.user.pk)

    def filter_queryset(self, queryset: QuerySet[Task]) -> QuerySet[Task]:
        # Query parameters filter the list only; they never hide or reject a single task. A list without
        # any (the SPA's usual call) skips building the filter form, a measurable part of its cost.
        if self.action != "list" or self.request.query_params.keys().isdisjoint(TaskFilter.base_filters):
            return queryset
        return super().filter_queryset(queryset)

    def get_object(self) -> Task:
        """DRF's `get_object` over `get_queryset()` (the caller's tasks), with the query compiled once: a task
        that is not the caller's is a 404, and object permissions are checked."""
        pk = url_id(self)
        found = OWN_TASK.fetch(owner_id=self.request.user.pk, pk=pk)
        if not found:
            raise NotFound()
        task = self._owned(found[0])
        self.check_object_permissions(self.request, task)
        return task

    def paginate_queryset(self, queryset: QuerySet[Task]) -> list[Any] | None:
        page = super().paginate_queryset(queryset)
        return [self._owned(row) for row in page] if page is not None else None

    def _scope(self) -> tuple[str, int] | None:
        """The list's scope when its only filters are `list` and `sort`, each valid (the SPA's usual calls): then
        neither the filter form nor the ORM is needed for the first page. None: the general path."""
        params = self.request.query_params
        given = params.keys() & TaskFilter.base_filters.keys()
        if not given <= {"list", "sort"} or params.get("sort", DEFAULT_SORT) not in SORT_KEYS:
            return None
        if "list" not in given:
            return ALL, 0
        value = params["list"]
        if value == INBOX:
            return INBOX_ONLY, 0
        return (ONE_LIST, int(value)) if LIST_ID.fullmatch(value) else None

    def _owned(self, task: Any) -> Any:
        """Every task here is the caller's: give it its owner without a join or a query. Cached straight on the
        task, as select_related does, rather than through the descriptor, whose checks cost a list of 500 a
        measurable share: they are for foreign objects, and this one is what the query filtered on."""
        if isinstance(task, Task):
            if task.owner_id != self.request.user.pk:  # a read task has it already: the query filtered on it
                task.owner_id = self.request.user.pk  # first: a changed owner_id drops the cached owner
            Task.owner.field.set_cached_value(task, self.request.user)
        return task

    def _task_response(self, task: Task, status_code: int = 200, render: Callable[..., Any] = task_json) -> Response:
        """The task as TaskSerializer (or TaskCompletionSerializer, `render=completion_json`) writes it, without
        making a serializer: these functions are the serializers' `to_representation`."""
        return Response(render(task, output_zone()), status=status_code, headers={"ETag": task.etag})

    def _task_reference(self) -> Task:
        """The task the URL names, unread, for a write service that locks and reads it itself (one query fewer
        than `get_object`): the service reads it only among the caller's tasks, so another user's is a 404 all
        the same."""
        pk = url_id(self)
        # As read with only its id and owner: no defaults made for the fields it does not hold (a new position).
        return self._owned(Task.from_db(DEFAULT_DB_ALIAS, REFERENCE_FIELDS, (pk, self.request.user.pk)))

    def _changed(self, write: Any, task: Task | None = None, **kwargs: Any) -> Task:
        """Run a write service on the task given, or else the one the URL names (the service reads it among the
        caller's, under lock), honouring If-Match and If-None-Match."""
        try:
            preconditions = Preconditions.of(self.request.headers)
            return write(task=task or self._task_reference(), preconditions=preconditions, **kwargs)
        except TaskChanged:
            raise PreconditionFailed() from None
        except TaskConflict:
            raise Conflict() from None
        except SubtaskRejected as e:
            raise subtask_rejected(e) from None
        except Task.DoesNotExist:
            raise NotFound() from None  # deleted by a concurrent request

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if "updated_since" not in request.query_params:
            sort = request.query_params.get("sort", DEFAULT_SORT)
            scope = self._scope()
            if scope is None:
                filtered = self.filter_queryset(self.get_queryset())  # here, so that a bad filter is a 400 first
                tasks, first_page = (lambda: filtered), None
            else:
                kind, list_id = scope
                values = {"list_id": list_id} if kind == ONE_LIST else {}

                def tasks() -> QuerySet[Task]:
                    return scoped_tasks(request.user.pk, kind, list_id)

                def first_page(sort: str, count: int) -> list[tuple[Any, ...]]:
                    return first_page_query(sort, count, kind).fetch(owner_id=request.user.pk, **values)

            rows = self.paginator.paginate_tasks(tasks, request, sort, TASK_ROW, first_page)
            # Every row is the caller's task (the queryset and the compiled query are scoped to them).
            user_id, zone = request.user.better_auth_id, output_zone()
            return self.get_paginated_response([task_row_json(row, user_id, zone) for row in rows])
        if request.query_params.get("sort", "updated") != "updated":
            raise ValidationError({"sort": ["With updated_since, changes come oldest first; leave sort out."]})
        tasks = self.filter_queryset(self.get_queryset())
        since = AwareDateTimeFormField().clean(request.query_params["updated_since"])
        if since < timezone.now() - timedelta(days=settings.TASK_TOMBSTONE_RETENTION_DAYS):
            raise SyncWindowExpired()
        rows = self.paginate_queryset(changes_since(owner=request.user, tasks=tasks, since=since))
        items = [self._owned(item) for item in materialize(rows, self.get_queryset())]
        data = [
            TombstoneSerializer(item).data if isinstance(item, dict) else TaskSerializer(item).data for item in items
        ]
        return self.get_paginated_response(data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def run() -> Response:
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            try:
                # Its request's one write, unless a batch runs this view for one of its operations.
                alone = commits_alone(request._request)
                task = task_create(owner=request.user, data=serializer.validated_data, alone=alone)
            except SubtaskRejected as e:
                raise subtask_rejected(e) from None
            return self._task_response(task, status.HTTP_201_CREATED)

        return idempotent(request, "create", run)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        task = self.get_object()
        preconditions = Preconditions.of(request.headers)
        if not preconditions.matched(task.etag):  # RFC 9110: If-Match first, on a read as on a write
            raise PreconditionFailed()
        if preconditions.unchanged(task.etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": task.etag})
        return self._task_response(task)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.get("partial", False)

        def run() -> Response:
            task = self.get_object()
            serializer = self.get_serializer(task, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            return self._task_response(self._changed(task_update, task=task, data=serializer.validated_data))

        return idempotent(request, f"{'patch' if partial else 'put'}:{url_id(self)}", run)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def run() -> Response:
            self._changed(task_delete)
            return Response(status=status.HTTP_204_NO_CONTENT)

        return idempotent(request, f"delete:{url_id(self)}", run)

    @extend_schema(
        summary=TASK_SUMMARIES["move"],
        request=TaskMoveSerializer,
        parameters=[IF_MATCH, WRITE_IF_NONE_MATCH, IDEMPOTENCY_KEY],
        responses={200: TaskSerializer, 412: CHANGED, 422: KEY_REUSED},
        operation_id="tasks_move",
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move the task: to another list (`list_id`, null: the inbox), under another task (`parent_id`, null: top
        level), and right `after` a task there (null: first) or right `before` one; neither: last. One write."""

        def run() -> Response:  # the body checked within: a key reused with another body is a 422 however it reads
            body = TaskMoveSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            try:
                task = self._changed(task_move, data=body.validated_data)
            except NotASibling as e:
                raise ValidationError({e.field: [ErrorDetail(e.message, code="invalid")]}) from None
            return self._task_response(task)

        return idempotent(request, f"move:{url_id(self)}", run)

    @extend_schema(
        summary=TASK_SUMMARIES["subtasks"], responses={200: TaskSerializer(many=True)}, operation_id="tasks_subtasks"
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)  # reads no parameters
    def subtasks(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The task's direct subtasks, oldest first (theirs: ask each, or list with `parent=<id>`)."""
        task = self.get_object()
        children = owned_tasks(request.user.pk).filter(parent_id=task.pk).order_by("created_at", "id")
        zone = output_zone()
        return Response([task_json(self._owned(child), zone) for child in children])

    @extend_schema(
        summary=TASK_SUMMARIES["complete"],
        examples=COMPLETE_EXAMPLES,
        request=TaskCompleteSerializer,
        parameters=[IF_MATCH, WRITE_IF_NONE_MATCH, IDEMPOTENCY_KEY],
        responses={200: TaskCompletionSerializer, 412: CHANGED, 422: KEY_REUSED},
        operation_id="tasks_complete",
    )
    @action(detail=True, methods=["patch"])
    def complete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Toggle completion, or set it with `{"completed": true|false}`; completing a recurring task
        schedules its next occurrence, returned under `next`."""

        def run() -> Response:  # the body checked within: a key reused with another body is a 422 however it reads
            completed = None  # no body, or `{}`: toggle (the usual call, which needs no serializer)
            if not isinstance(request.data, dict) or request.data:
                body = TaskCompleteSerializer(data=request.data)
                body.is_valid(raise_exception=True)
                completed = body.validated_data.get("completed")
            task = self._changed(task_complete, completed=completed)
            return self._task_response(task, render=completion_json)

        return idempotent(request, f"complete:{url_id(self)}", run)


@extend_schema_view(
    get=extend_schema(
        summary=SYNC_SUMMARY,
        examples=SYNC_EXAMPLES,
        parameters=[
            OpenApiParameter(
                "token",
                OpenApiTypes.STR,
                description="The `next_token` of the last sync; leave it out the first time (everything is sent).",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": SYNC_MAX_LIMIT},
                description=(f"At most this many changes a page (default {SYNC_DEFAULT_LIMIT})."),
            ),
        ],
        responses={
            200: SyncPageSerializer,
            400: OpenApiResponse(description="`sync_token_invalid`: not a token this server gave you."),
            410: OpenApiResponse(description="`sync_token_expired`: list everything instead."),
        },
        operation_id="sync",
    )
)
class SyncView(StrictQueryParamsMixin, generics.GenericAPIView):
    """Everything that changed since the last sync, in the order it committed, deletions included: mirror the
    caller's tasks exactly. Ask with the `next_token` you got; none the first time."""

    serializer_class = SyncPageSerializer
    pagination_class = None

    def query_params_for(self, action: str | None) -> frozenset[str]:
        return frozenset({"token", "limit"})

    def get_queryset(self) -> QuerySet[Task]:
        return owned_tasks(self.request.user.pk)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        limit = LinkHeaderPagination.int_param(request, "limit", SYNC_DEFAULT_LIMIT, 1, SYNC_MAX_LIMIT)
        token = request.query_params.get("token")
        try:
            page = sync_page(owner=request.user, tasks=self.get_queryset(), token=token, limit=limit)
        except SyncTokenInvalid:
            raise SyncTokenInvalidError() from None
        except SyncTokenExpired:
            raise SyncTokenExpiredError() from None
        for change in page.changes:
            if isinstance(change, Task | TaskList):
                change.owner = request.user  # the caller's, as everything here: no join, no query
        return Response(
            {
                "changes": [sync_change(change) for change in page.changes],
                "next_token": page.next_token,
                "more": page.more,
            }
        )


class IsPathUser(BasePermission):
    """The `{user_id}` in the path must be the caller's own Better Auth id."""

    message = "The user id in the path is not yours."
    code = "user_mismatch"

    def has_permission(self, request: Request, view: Any) -> bool:
        return view.kwargs.get("user_id") == request.user.better_auth_id


@path_style_schema("tasks (path-style)", TASK_SUMMARIES, "user_tasks")
class UserTaskViewSet(TaskViewSet):
    """The same API under /api/{user_id}/tasks (the "Evolution of Todo" path shape); 403 if not yours."""

    permission_classes = [IsAuthenticated, IsPathUser]


@extend_schema_view(
    get=extend_schema(
        tags=["tasks (path-style)"],
        summary=SYNC_SUMMARY,
        parameters=[OpenApiParameter("user_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        operation_id="user_sync",
    )
)
class UserSyncView(SyncView):
    """GET /api/{user_id}/sync: the same feed in the path shape; 403 if not yours."""

    permission_classes = [IsAuthenticated, IsPathUser]


@extend_schema_view(get=extend_schema(summary="Your tags, most used first"))
class TagListView(StrictQueryParamsMixin, generics.ListAPIView):
    """The caller's tags with how many of their tasks carry each, most used first."""

    serializer_class = TagCountSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return TaskTag.objects.none()
        return (
            TaskTag.objects.filter(owner=self.request.user)
            .values("key")
            .annotate(name=Min("name"), count=Count("id"))
            .order_by("-count", "key")
        )
