"""Task JSON: `{id, user_id, title, description, completed, created_at, updated_at}`."""

from __future__ import annotations

from rest_framework import serializers

from tasks.models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, Task


class TaskSerializer(serializers.ModelSerializer):
    """A task; the owner and timestamps come from the server, whatever the body says."""

    user_id = serializers.CharField(
        source="owner.better_auth_id", read_only=True, help_text="The owner's Better Auth id."
    )
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH, help_text="1-200 characters, not blank.")
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True, allow_null=True, default=""
    )

    class Meta:
        model = Task
        fields = ["id", "user_id", "title", "description", "completed", "created_at", "updated_at"]
        read_only_fields = ["id", "user_id", "created_at", "updated_at"]

    def validate_description(self, value: str | None) -> str:
        return value or ""


class TaskCompleteSerializer(serializers.Serializer):
    """Body of PATCH .../complete: no `completed` toggles the task, a boolean sets it."""

    completed = serializers.BooleanField(required=False)
