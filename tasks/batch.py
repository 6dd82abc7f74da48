"""POST /api/batch: up to 100 writes on tasks and lists in one transaction, all or nothing.

Each operation runs through the very view its own endpoint uses (the same validation, the same services, the
same answers), as the caller, inside the batch's transaction; the first that fails ends the batch, which is then
rolled back whole. A `temp_id` names what an operation creates, so later operations of the batch can refer to it
(as `id`, `list_id`, `parent_id`, `after` or `before`), as Todoist's sync API lets offline clients do."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from evotodo.api import StrictQueryParamsMixin
from evotodo.exceptions import api_exception_handler
from tasks.idempotency import idempotent
from tasks.list_views import TaskListViewSet
from tasks.serializers import StrictCharField, StrictFieldsMixin
from tasks.views import IDEMPOTENCY_KEY, KEY_REUSED, TaskViewSet

MAX_OPERATIONS = 100
TEMP_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
# The members of an operation's data that may name an earlier create by its temp_id, and what each names (None:
# the operation's own type: a task moves after a task, a list after a list).
REFERENCES: dict[str, str | None] = {"list_id": "list", "parent_id": "task", "after": None, "before": None}

# (type, op) -> the method, the path after /api/, and the viewset action that serves it.
ROUTES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("task", "create"): ("POST", "tasks", "create"),
    ("task", "update"): ("PATCH", "tasks/{id}", "partial_update"),
    ("task", "complete"): ("PATCH", "tasks/{id}/complete", "complete"),
    ("task", "move"): ("POST", "tasks/{id}/move", "move"),
    ("task", "delete"): ("DELETE", "tasks/{id}", "destroy"),
    ("list", "create"): ("POST", "lists", "create"),
    ("list", "update"): ("PATCH", "lists/{id}", "partial_update"),
    ("list", "move"): ("POST", "lists/{id}/move", "move"),
    ("list", "delete"): ("DELETE", "lists/{id}", "destroy"),
}
VIEWSETS = {"task": TaskViewSet, "list": TaskListViewSet}


class BatchFailed(APIException):
    """The batch stopped at an operation: its answer, and where it was."""

    def __init__(self, index: int, answer: Response) -> None:
        body = answer.data if isinstance(answer.data, dict) else {"detail": str(answer.data)}
        super().__init__(detail=f"operations[{index}]: {body.get('detail', 'failed')}", code=body.get("code"))
        self.status_code = answer.status_code
        self.index, self.body = index, body


class StrictRegexField(StrictCharField, serializers.RegexField):
    """A JSON string matching the pattern, and only a string (StrictCharField's check): DRF would quietly turn 5
    into "5"."""


class Operation(StrictFieldsMixin, serializers.Serializer):
    op = serializers.ChoiceField(choices=["create", "update", "complete", "move", "delete"])
    type = serializers.ChoiceField(choices=["task", "list"])
    id = serializers.JSONField(required=False, help_text="The item's id, or the temp_id of an earlier create.")
    temp_id = StrictRegexField(TEMP_ID, required=False, help_text="Names what a create makes, for later.")
    if_match = StrictCharField(required=False, max_length=200, help_text="As the If-Match header.")
    tasks = serializers.ChoiceField(choices=["move_to_inbox", "delete"], required=False, help_text="List deletes.")
    data = serializers.DictField(required=False, help_text="The body the single endpoint takes.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs["type"], attrs["op"]) not in ROUTES:
            raise serializers.ValidationError({"op": [f"A {attrs['type']} cannot be {attrs['op']}d."]})
        if attrs["op"] == "create" and "id" in attrs:
            raise serializers.ValidationError({"id": ["A create has no id: give it a temp_id."]})
        if attrs["op"] != "create" and "id" not in attrs:
            raise serializers.ValidationError({"id": ["Which one: give its id."]})
        if attrs["op"] != "create" and "temp_id" in attrs:
            raise serializers.ValidationError({"temp_id": ["Only a create names what it makes."]})
        if "tasks" in attrs and (attrs["type"], attrs["op"]) != ("list", "delete"):
            raise serializers.ValidationError({"tasks": ["Only a list's delete takes it."]})
        if "data" in attrs and attrs["op"] == "delete":
            raise serializers.ValidationError({"data": ["A delete takes no data."]})
        return attrs


class BatchSerializer(StrictFieldsMixin, serializers.Serializer):
    operations = Operation(many=True, allow_empty=False, max_length=MAX_OPERATIONS)

    def validate_operations(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        named: set[str] = set()
        for index, operation in enumerate(value):
            if "temp_id" in operation:
                if operation["temp_id"] in named:  # the operation that names it again is the one at fault
                    raise serializers.ValidationError({index: {"temp_id": ["A temp_id names one create."]}})
                named.add(operation["temp_id"])
        return value


class BatchResultSerializer(serializers.Serializer):
    results = serializers.ListField(
        child=serializers.DictField(), help_text="Per operation: `{index, status, temp_id?, body}`."
    )


def operation_error(errors: dict[str, Any]) -> BatchFailed | None:
    """An operation's own members wrong (its `op`, `id`, `temp_id`…): the batch's answer for a failed operation,
    `{"detail": "operations[i]: …", "code", "index": i, "errors"}`, as when its endpoint refuses it. None for
    errors of the batch as a whole (no operations, too many, a temp_id named twice)."""
    per_operation = errors.get("operations")
    if set(errors) != {"operations"} or not isinstance(per_operation, dict):  # DRF: {index: that one's errors}
        return None
    failed = sorted(index for index, found in per_operation.items() if isinstance(index, int) and found)
    if not failed:
        return None
    answer = api_exception_handler(serializers.ValidationError(per_operation[failed[0]]), {})
    return BatchFailed(failed[0], answer) if answer is not None else None


class BatchView(StrictQueryParamsMixin, generics.GenericAPIView):
    """Several writes in one transaction: all of them, or none. What an offline client sends when it comes back
    online; with an `Idempotency-Key`, a batch resent after a network cut does nothing twice."""

    serializer_class = BatchSerializer
    pagination_class = None

    @extend_schema(
        summary="Several writes in one transaction, all or nothing",
        request=BatchSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: BatchResultSerializer,
            400: OpenApiResponse(description="An operation failed: `index` says which; nothing was written."),
            422: KEY_REUSED,
        },
        operation_id="batch",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:

        def run() -> Response:  # the body checked within: a key reused with another body is a 422 however it reads
            batch = BatchSerializer(data=request.data)
            if not batch.is_valid():
                raise operation_error(batch.errors) or serializers.ValidationError(batch.errors)
            ids: dict[str, tuple[str, int]] = {}  # temp_id -> the type and id of what its create made
            results = []
            for index, operation in enumerate(batch.validated_data["operations"]):
                answer = self._dispatch(request, operation, ids, index)
                result: dict[str, Any] = {"index": index, "status": answer.status_code, "body": answer.data}
                if "temp_id" in operation:
                    ids[operation["temp_id"]] = (operation["type"], answer.data["id"])
                    result["temp_id"] = operation["temp_id"]
                results.append(result)
            return Response({"results": results})

        try:
            return idempotent(request, "batch", run)
        except BatchFailed as e:  # rolled back whole: the response is not a success (AtomicWritesMiddleware)
            body = {"detail": str(e.detail), "code": e.body.get("code", "invalid"), "index": e.index}
            if "errors" in e.body:
                body["errors"] = e.body["errors"]
            return Response(body, status=e.status_code)

    def _dispatch(
        self, request: Request, operation: dict[str, Any], ids: dict[str, tuple[str, int]], index: int
    ) -> Response:
        """Run one operation through its endpoint's view, as the caller, inside the batch's transaction."""
        kind, op = operation["type"], operation["op"]

        def resolve(value: Any, where: str, names: str) -> Any:
            """The id a temp_id stands for, when it names what `where` takes (a list or a task)."""
            if not isinstance(value, str):
                return value
            if value not in ids:
                raise BatchFailed(index, _refused(where, f"{value!r} is no temp_id of an earlier create."))
            made, pk = ids[value]
            if made != names:
                raise BatchFailed(index, _refused(where, f"{value!r} names a {made}, not a {names}."))
            return pk

        method, path, action = ROUTES[(kind, op)]
        if "id" in operation:
            pk = resolve(operation["id"], "id", kind)
            if type(pk) is not int or not 1 <= pk < 2**63:
                raise BatchFailed(index, _refused("id", "Must be an id or a temp_id."))
            path = path.format(id=pk)
        data = dict(operation.get("data") or {})
        for name, names in REFERENCES.items():
            if name in data:
                data[name] = resolve(data[name], f"data.{name}", names or kind)
        query = f"tasks={operation['tasks']}" if "tasks" in operation else ""
        inner = _request(request, method, f"/api/{path}", data, query, operation.get("if_match"))
        view = VIEWSETS[kind].as_view({method.lower(): action}, throttle_classes=())
        kwargs = {"pk": path.split("/")[1]} if "id" in operation else {}
        answer = view(inner, **kwargs)
        if not status.is_success(answer.status_code):
            raise BatchFailed(index, answer)
        return answer


def _refused(field: str, message: str) -> Response:
    return Response({"detail": f"{field}: {message}", "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST)


def _request(outer: Request, method: str, path: str, data: dict[str, Any], query: str, if_match: str | None) -> Any:
    """A request for one operation: the batch's caller, the operation's body and If-Match."""
    body = json.dumps(data).encode() if method in ("POST", "PATCH") else b""
    environ = {
        **{key: value for key, value in outer._request.META.items() if key.startswith(("SERVER_", "REMOTE_", "wsgi."))},
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": outer._request.get_host(),
        "wsgi.input": io.BytesIO(body),
    }
    if if_match is not None:
        environ["HTTP_IF_MATCH"] = if_match
    inner = WSGIRequest(environ)
    inner._force_auth_user = outer.user  # type: ignore[attr-defined]  # DRF's way to run a view as a known user
    return inner
