"""The outbox of events, the users' webhook endpoints and their deliveries."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Event(models.Model):
    """One event (a CloudEvent, events.cloudevents), written in the transaction of what it tells: there is no
    change without its event and no event without its change. The relay publishes it to the broker and fans it
    out to webhooks, each at least once, in the order of `id` (which one user's writes take in the order they
    commit: they queue on the user's change counter, tasks.sync)."""

    # The CloudEvent's id, and the webhooks' `webhook-id`: what consumers deduplicate by.
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Whose (the local user's id): no foreign key, so that events of a user deleted since are still relayed.
    owner_id = models.BigIntegerField()
    type = models.CharField(max_length=64)  # "task.completed": the CloudEvent type without its prefix
    subject = models.CharField(max_length=64)  # "tasks/42"
    time = models.DateTimeField(default=timezone.now)
    data = models.JSONField()
    # Sent to the broker (events.relay); stays empty where no broker is configured.
    published_at = models.DateTimeField(null=True, blank=True)
    # Turned into deliveries for the owner's webhooks that take it.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["id"], name="event_unpublished_idx", condition=Q(published_at__isnull=True)),
            models.Index(fields=["id"], name="event_undispatched_idx", condition=Q(dispatched_at__isnull=True)),
            models.Index(fields=["time"], name="event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject}"


class WebhookEndpoint(models.Model):
    """A URL of a user's that is sent the events it subscribed to, signed (Standard Webhooks)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    # Event types ("task.created"), or ["*"] for all.
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    active = models.BooleanField(default=True)
    # "whsec_" and base64: shown once, when made or rotated. The previous one signs too until it expires.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Deliveries that failed in a row, every retry spent; a success sets it back to 0.
    failed_in_a_row = models.PositiveIntegerField(default=0)
    # Why it was turned off by the server ("gone": the receiver answered 410; "failing"), or "".
    disabled_reason = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["owner", "active"], name="webhook_owner_active_idx")]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One event sent to one endpoint: its attempts, the last one's outcome, and when the next is due."""

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATUSES = [(PENDING, "pending"), (DELIVERED, "delivered"), (FAILED, "failed")]

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # The event's subject: one endpoint gets one task's events in order (events.webhooks).
    subject = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # A worker sending it holds it until then (a lease, not a lock: the request is not made in a transaction).
    leased_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="delivery_due_idx", condition=Q(status="pending")),
            models.Index(fields=["endpoint", "subject", "id"], name="delivery_endpoint_subject_idx"),
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.endpoint_id}: {self.status}"


class WorkerBeat(models.Model):
    """When a worker last ran each of its jobs (one row per job): what its health check and /readyz read."""

    job = models.CharField(max_length=32, primary_key=True)
    at = models.DateTimeField()
    worker = models.CharField(max_length=200, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.job} at {self.at:%Y-%m-%d %H:%M:%S}"
