"""The tasks API: /api/tasks and its path-style twin /api/{user_id}/tasks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from tasks.filters import TaskFilter
from tasks.models import Task
from tasks.pagination import LinkHeaderPagination
from tasks.serializers import TaskCompleteSerializer, TaskSerializer
from tasks.services import task_complete

LINK_HEADER = OpenApiResponse(
    response=TaskSerializer(many=True),
    description='The page, newest first. `Link: <...>; rel="next"` is set while more tasks remain.',
)


@extend_schema_view(list=extend_schema(responses={200: LINK_HEADER}))
class TaskViewSet(viewsets.ModelViewSet):
    """The caller's tasks; anybody else's task is a 404, as if it did not exist."""

    serializer_class = TaskSerializer
    queryset = Task.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = TaskFilter
    pagination_class = LinkHeaderPagination
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Task]:
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        return Task.objects.filter(owner=self.request.user).select_related("owner")

    def filter_queryset(self, queryset: QuerySet[Task]) -> QuerySet[Task]:
        # Query parameters filter the list only; they never hide or reject a single task.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.save(owner=self.request.user)

    @extend_schema(request=TaskCompleteSerializer, responses=TaskSerializer, operation_id="tasks_complete")
    @action(detail=True, methods=["patch"])
    def complete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Toggle the task's completion, or set it with `{"completed": true|false}`."""
        task = self.get_object()
        body = TaskCompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            task = task_complete(task=task, completed=body.validated_data.get("completed"))
        except Task.DoesNotExist:
            raise NotFound() from None  # deleted by a concurrent request
        return Response(TaskSerializer(task).data)


class IsPathUser(BasePermission):
    """The `{user_id}` in the path must be the caller's own Better Auth id."""

    message = "The user id in the path is not yours."
    code = "user_mismatch"

    def has_permission(self, request: Request, view: Any) -> bool:
        return view.kwargs.get("user_id") == request.user.better_auth_id


@extend_schema_view(
    **{
        name: extend_schema(
            tags=["tasks (path-style)"],
            parameters=[OpenApiParameter("user_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
            operation_id=f"user_tasks_{name}",
        )
        for name in ["list", "create", "retrieve", "update", "partial_update", "destroy", "complete"]
    }
)
class UserTaskViewSet(TaskViewSet):
    """The same API under /api/{user_id}/tasks (the "Evolution of Todo" path shape); 403 if not yours."""

    permission_classes = [IsAuthenticated, IsPathUser]
