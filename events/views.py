"""The webhooks API: /api/webhooks and its path-style twin /api/{user_id}/webhooks; another user's webhook is a 404."""

from __future__ import annotations

import re
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
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from events.models import Delivery, WebhookEndpoint
from events.serializers import (
    DeliverySerializer,
    EmptySerializer,
    RotateSecretSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)
from events.services import (
    MAX_WEBHOOKS,
    RotationInProgress,
    TooManyWebhooks,
    WebhookInactive,
    delivery_resend,
    owned_webhooks,
    webhook_create,
    webhook_ping,
    webhook_rotate_secret,
    webhook_update,
)
from evotodo.api import StrictQueryParamsMixin, path_style_schema, url_id
from tasks.idempotency import idempotent
from tasks.pagination import LinkHeaderPagination
from tasks.views import IDEMPOTENCY_KEY, KEY_REUSED, IsPathUser


class TooManyWebhooksError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = f"You have {MAX_WEBHOOKS} webhooks, the most there can be: delete one first."
    default_code = "too_many_webhooks"


class RotationInProgressError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "The previous secret still signs until its grace period ends (previous_secret_expires_at): rotate again "
        "then, or now with grace_seconds 0 to end every old secret at once."
    )
    default_code = "rotation_in_progress"


class WebhookInactiveError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The webhook is turned off: turn it on (active: true) first."
    default_code = "webhook_inactive"


CURSOR = re.compile(r"[0-9]{1,18}")


class DeliveryPagination(BasePagination):
    """Newest first, `?limit=` a page, and `Link: <...cursor=...>; rel="next"` while more remain, as the task
    list does: the cursor is the last delivery's id, so pages neither skip nor repeat while new ones are made."""

    query_params = frozenset({"limit", "cursor"})
    default_limit = LinkHeaderPagination.default_limit
    max_limit = LinkHeaderPagination.max_limit

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.limit = LinkHeaderPagination.int_param(request, "limit", self.default_limit, 1, self.max_limit)
        cursor = request.query_params.get("cursor")
        if cursor is not None:
            if not CURSOR.fullmatch(cursor):
                raise ValidationError({"cursor": ["Not a cursor: follow the Link header, or start over."]})
            queryset = queryset.filter(pk__lt=int(cursor))
        rows = list(queryset.order_by("-id")[: self.limit + 1])
        self.next_cursor = str(rows[self.limit - 1].pk) if len(rows) > self.limit else None
        return rows[: self.limit]

    def get_paginated_response(self, data: Any) -> Response:
        if self.next_cursor is None:
            return Response(data)
        url = replace_query_param(self.request.build_absolute_uri(), "cursor", self.next_cursor)
        return Response(data, headers={"Link": f'<{url}>; rel="next"'})


CREATE_WEBHOOK_EXAMPLES = [
    OpenApiExample(
        "Task events to your server",
        request_only=True,
        value={"url": "https://hooks.example.com/evotodo", "events": ["task.created", "task.completed"]},
    ),
    OpenApiExample(
        "The webhook created, with its secret",
        response_only=True,
        status_codes=["201"],
        value={
            "id": 3,
            "url": "https://hooks.example.com/evotodo",
            "events": ["task.created", "task.completed"],
            "description": "",
            "active": True,
            "disabled_reason": "",
            "created_at": "2026-03-01T09:00:00Z",
            "updated_at": "2026-03-01T09:00:00Z",
            "secret": "whsec_MfKQ9r3k8v0PsLq7ZbYx1nA2cD4eF6gH",
            "previous_secret_expires_at": None,
        },
    ),
]
WEBHOOK_SECRET_SHOWN = OpenApiResponse(WebhookWithSecretSerializer, description="The only time the secret is shown.")
TURNED_OFF = OpenApiResponse(description="`webhook_inactive`: the webhook is turned off.")


@extend_schema_view(
    list=extend_schema(summary="Your webhooks"),
    create=extend_schema(
        summary="Add a webhook (its secret is in this response only)",
        examples=CREATE_WEBHOOK_EXAMPLES,
        request=WebhookSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: WEBHOOK_SECRET_SHOWN,
            409: OpenApiResponse(description="`too_many_webhooks`."),
            422: KEY_REUSED,
        },
    ),
    retrieve=extend_schema(summary="One of your webhooks"),
    update=extend_schema(
        summary="Replace a webhook's settings",
        parameters=[IDEMPOTENCY_KEY],
        responses={200: WebhookSerializer, 422: KEY_REUSED},
    ),
    partial_update=extend_schema(
        summary="Change some of a webhook's settings",
        parameters=[IDEMPOTENCY_KEY],
        responses={200: WebhookSerializer, 422: KEY_REUSED},
    ),
    destroy=extend_schema(
        summary="Delete a webhook and its delivery log",
        parameters=[IDEMPOTENCY_KEY],
        responses={204: None, 422: KEY_REUSED},
    ),
)
class WebhookViewSet(StrictQueryParamsMixin, viewsets.ModelViewSet):
    """The caller's webhook endpoints; anybody else's is a 404, as if it did not exist."""

    serializer_class = WebhookSerializer
    queryset = WebhookEndpoint.objects.none()
    pagination_class = None
    lookup_value_regex = "[0-9]{1,18}"

    def query_params_for(self, action: str | None) -> frozenset[str]:
        return DeliveryPagination.query_params if action == "deliveries" else frozenset()

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return owned_webhooks(self.request.user.pk).select_related("owner")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def run() -> Response:
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            try:
                endpoint = webhook_create(owner=request.user, data=serializer.validated_data)
            except TooManyWebhooks:
                raise TooManyWebhooksError() from None
            return Response(WebhookWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

        # A create retried after a lost answer makes one webhook, and answers with the same secret.
        return idempotent(request, "webhook_create", run)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.get("partial", False)

        def run() -> Response:
            endpoint = self.get_object()
            serializer = self.get_serializer(endpoint, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            try:
                endpoint = webhook_update(endpoint=endpoint, data=serializer.validated_data)
            except WebhookEndpoint.DoesNotExist:
                raise NotFound() from None  # deleted by a concurrent request
            return Response(WebhookSerializer(endpoint).data)

        return idempotent(request, f"webhook-{'patch' if partial else 'put'}:{url_id(self)}", run)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        destroy = super().destroy
        return idempotent(request, f"webhook-delete:{url_id(self)}", lambda: destroy(request, *args, **kwargs))

    @extend_schema(
        summary="Replace the signing secret (the new one is in this response only)",
        request=RotateSecretSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: WEBHOOK_SECRET_SHOWN,
            409: OpenApiResponse(description="`rotation_in_progress`."),
            422: KEY_REUSED,
        },
        operation_id="webhooks_rotate_secret",
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A new secret; the old one keeps signing beside it for `grace_seconds` (default a day)."""

        def run() -> Response:  # a retry with the same key answers the same secret, not a second rotation
            endpoint = self.get_object()
            body = RotateSecretSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            try:
                rotated = webhook_rotate_secret(endpoint=endpoint, grace_seconds=body.validated_data["grace_seconds"])
            except WebhookEndpoint.DoesNotExist:
                raise NotFound() from None
            except RotationInProgress:
                raise RotationInProgressError() from None
            return Response(WebhookWithSecretSerializer(rotated).data)

        return idempotent(request, f"webhook-rotate:{url_id(self)}", run)

    @extend_schema(
        summary="The webhook's deliveries, newest first",
        responses={200: DeliverySerializer(many=True)},
        parameters=[
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": DeliveryPagination.max_limit},
                description=f"Page size, 1-{DeliveryPagination.max_limit} "
                f"(default {DeliveryPagination.default_limit}).",
            ),
            OpenApiParameter(
                "cursor",
                OpenApiTypes.STR,
                description='Where the next page starts: take it from the `Link: <...>; rel="next"` header.',
            ),
        ],
        operation_id="webhooks_deliveries",
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The deliveries of events to this webhook, newest first; `Link: <...>; rel="next"` while more remain."""
        endpoint = self.get_object()
        paginator = DeliveryPagination()
        page = paginator.paginate_queryset(
            Delivery.objects.filter(endpoint=endpoint).select_related("event"), request, self
        )
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Send a delivery's event again",
        request=EmptySerializer,
        parameters=[OpenApiParameter("delivery_id", OpenApiTypes.INT, OpenApiParameter.PATH), IDEMPOTENCY_KEY],
        responses={202: DeliverySerializer, 409: TURNED_OFF, 422: KEY_REUSED},
        operation_id="webhooks_deliveries_retry",
    )
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/retry")
    def retry(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A new pending delivery of the same event to this webhook, due now."""

        def run() -> Response:
            endpoint = self.get_object()
            EmptySerializer(data=request.data).is_valid(raise_exception=True)
            delivery = Delivery.objects.filter(endpoint=endpoint, pk=int(kwargs["delivery_id"]))
            found = delivery.select_related("event").first()
            if found is None:
                raise NotFound()
            found.endpoint = endpoint
            try:
                resent = delivery_resend(delivery=found)
            except WebhookInactive:
                raise WebhookInactiveError() from None
            return Response(DeliverySerializer(resent).data, status=status.HTTP_202_ACCEPTED)

        return idempotent(request, f"webhook-retry:{url_id(self)}:{int(kwargs['delivery_id'])}", run)

    @extend_schema(
        summary="Send this webhook a test event (webhook.ping)",
        request=EmptySerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: DeliverySerializer, 409: TURNED_OFF, 422: KEY_REUSED},
        operation_id="webhooks_ping",
    )
    @action(detail=True, methods=["post"])
    def ping(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A `webhook.ping` event delivered to this webhook alone, soon (202: queued, not sent yet)."""

        def run() -> Response:
            endpoint = self.get_object()
            EmptySerializer(data=request.data).is_valid(raise_exception=True)
            try:
                delivery = webhook_ping(endpoint=endpoint)
            except WebhookInactive:
                raise WebhookInactiveError() from None
            return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

        return idempotent(request, f"webhook-ping:{url_id(self)}", run)


PATH_STYLE_SUMMARIES = {
    "list": "Your webhooks",
    "create": "Add a webhook (its secret is in this response only)",
    "retrieve": "One of your webhooks",
    "update": "Replace a webhook's settings",
    "partial_update": "Change some of a webhook's settings",
    "destroy": "Delete a webhook and its delivery log",
    "rotate_secret": "Replace the signing secret (the new one is in this response only)",
    "deliveries": "The webhook's deliveries, newest first",
    "retry": "Send a delivery's event again",
    "ping": "Send this webhook a test event (webhook.ping)",
}


@path_style_schema("webhooks (path-style)", PATH_STYLE_SUMMARIES, "user_webhooks", {"retry": "deliveries_retry"})
class UserWebhookViewSet(WebhookViewSet):
    """The same API under /api/{user_id}/webhooks (the "Evolution of Todo" path shape); 403 if not yours."""

    permission_classes = [IsAuthenticated, IsPathUser]
