"""A task belongs to exactly one user; every query is scoped to its owner."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000


class Task(models.Model):
    """One todo item of one user."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    completed = models.BooleanField(default=False)
    # A default rather than auto_now_add, so imports and demo data can keep their original dates.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list: one owner's tasks, newest first, optionally by status.
            models.Index(fields=["owner", "-created_at", "-id"], name="task_owner_created_idx"),
            models.Index(fields=["owner", "completed", "-created_at"], name="task_owner_status_idx"),
            models.Index(fields=["owner", "-updated_at"], name="task_owner_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.title
