"""Admin for events: webhook endpoints with their latest deliveries (never a secret), deliveries, the outbox."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from events.models import Delivery, Event, WebhookEndpoint
from events.services import webhook_update

DELIVERY_FIELDS = [
    "event",
    "status",
    "attempts",
    "response_status",
    "duration_ms",
    "error",
    "next_attempt_at",
    "last_attempt_at",
    "delivered_at",
    "created_at",
]


class ReadOnlyAdmin(admin.ModelAdmin):
    """What the worker writes is read here, not edited: an edit would bypass its leases and ordering."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS
    ordering = ["-id"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner_email", "active", "disabled_reason", "failed_in_a_row", "created_at"]
    list_filter = ["active", "disabled_reason"]
    search_fields = ["url", "owner__email", "description"]
    list_select_related = ["owner"]
    # The secrets are never shown, nor editable: the owner rotates them through the API.
    fields = [
        "owner",
        "url",
        "events",
        "description",
        "active",
        "disabled_reason",
        "failed_in_a_row",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "owner",
        "events",
        "disabled_reason",
        "failed_in_a_row",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    inlines = [DeliveryInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default, said now

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an endpoint needs a secret its owner sees once: they add it through the API

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        # Through the service: turned off here, its pending deliveries are closed as through the API.
        webhook_update(endpoint=obj, data={name: form.cleaned_data[name] for name in form.changed_data})

    @admin.display(description="owner", ordering="owner__email")
    def owner_email(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.owner.email


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "endpoint", "event", "status", "attempts", "response_status", "next_attempt_at"]
    list_filter = ["status"]
    search_fields = ["endpoint__url", "subject"]
    list_select_related = ["endpoint", "event"]
    fields = ["endpoint", "subject", "leased_until", *DELIVERY_FIELDS]
    readonly_fields = fields


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "subject", "owner_id", "time", "dispatched_at", "published_at"]
    list_filter = ["type"]
    search_fields = ["subject", "event_id"]
    fields = ["event_id", "owner_id", "type", "subject", "time", "data", "dispatched_at", "published_at"]
    readonly_fields = fields
