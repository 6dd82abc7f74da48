"""Admin for tasks: search by title and owner email, filter by completion and date, bulk (un)complete."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from tasks.list_services import TASKS_MOVE_TO_INBOX, list_delete, with_counts
from tasks.models import Task, TaskList
from tasks.services import task_delete, task_save_from_admin, tasks_set_completed


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "owner_email", "completed", "priority", "tag_list", "due_at", "created_at"]
    list_filter = [
        "completed",
        "priority",
        ("task_list", admin.EmptyFieldListFilter),
        ("due_at", admin.EmptyFieldListFilter),
        "due_at",
        "created_at",
    ]
    search_fields = ["title", "owner__email", "tag_keys__key", "task_list__name"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = [
        "owner_better_auth_id",
        "task_list",
        "parent",
        "subtask_links",
        "tags",
        "recurrence",
        "completed_at",
        "next_occurrence",
        "created_at",
        "updated_at",
    ]
    fields = [
        "owner",
        "owner_better_auth_id",
        "task_list",
        "parent",
        "subtask_links",
        "title",
        "description",
        "completed",
        "completed_at",
        "priority",
        "tags",
        "due_at",
        "remind_at",
        "recurrence",
        "next_occurrence",
        "created_at",
        "updated_at",
    ]
    date_hierarchy = "created_at"
    actions = ["mark_completed", "mark_not_completed"]

    @admin.display(description="owner", ordering="owner__email")
    def owner_email(self, task: Task) -> str:
        return task.owner.email

    def save_model(self, request: HttpRequest, obj: Task, form: Any, change: bool) -> None:
        # A new ETag (API clients holding the old one get a 412) and a change in the sync feed of its owner,
        # and of its previous owner when an admin gave it to someone else.
        if change and "remind_at" in form.changed_data:
            obj.reminder_fired_at = None  # set to another time: it fires then
        task_save_from_admin(
            task=obj,
            previous_owner_id=form.initial.get("owner") if change else None,
            was_completed=form.initial.get("completed", False) if change else False,
        )

    def delete_model(self, request: HttpRequest, obj: Task) -> None:
        task_delete(task=obj)  # with a tombstone, so the owner's devices learn of it when they sync

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        for task in queryset.order_by("owner_id", "id"):
            task_delete(task=task)

    @admin.display(description="subtasks")
    def subtask_links(self, task: Task) -> str:
        """Its subtasks, in their order, each linked to its own page (where it is edited)."""
        children = task.subtasks.order_by("position", "id") if task.pk else []
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a>{}</li>',
            (
                (reverse("admin:tasks_task_change", args=[child.pk]), child.title, " (done)" if child.completed else "")
                for child in children
            ),
        )
        return format_html("<ul>{}</ul>", items) if items else "-"

    @admin.display(description="tags")
    def tag_list(self, task: Task) -> str:
        return ", ".join(task.tags)

    @admin.display(description="user_id (Better Auth id)")
    def owner_better_auth_id(self, task: Task) -> str:
        return task.owner.better_auth_id or "-"

    @admin.action(description="Mark selected tasks as completed")
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        changed = tasks_set_completed(tasks=queryset, completed=True)
        self.message_user(request, f"{changed} task(s) marked as completed.", messages.SUCCESS)

    @admin.action(description="Mark selected tasks as not completed")
    def mark_not_completed(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        changed = tasks_set_completed(tasks=queryset, completed=False)
        self.message_user(request, f"{changed} task(s) marked as not completed.", messages.SUCCESS)


@admin.register(TaskList)
class TaskListAdmin(admin.ModelAdmin):
    """Users' lists, to look at (their owners edit them through the API); deleting one moves its tasks to the
    owner's inbox."""

    list_display = ["name", "owner_email", "task_count", "open_count", "archived", "tasks_link", "created_at"]
    list_filter = ["archived", "created_at"]
    search_fields = ["name", "owner__email"]
    list_select_related = ["owner"]
    fields = ["owner", "name", "color", "position", "archived", "version", "created_at", "updated_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[TaskList]:
        return with_counts(super().get_queryset(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TaskList | None = None) -> bool:
        return False

    @admin.display(description="owner", ordering="owner__email")
    def owner_email(self, task_list: TaskList) -> str:
        return task_list.owner.email

    @admin.display(description="tasks", ordering="task_count")
    def task_count(self, task_list: TaskList) -> int:
        return task_list.task_count  # type: ignore[attr-defined]

    @admin.display(description="open", ordering="open_count")
    def open_count(self, task_list: TaskList) -> int:
        return task_list.open_count  # type: ignore[attr-defined]

    @admin.display(description="")
    def tasks_link(self, task_list: TaskList) -> str:
        url = reverse("admin:tasks_task_changelist") + f"?task_list__id__exact={task_list.pk}"
        return format_html('<a href="{}">its tasks</a>', url)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, list[Any]]:
        deleted, counts, perms_needed, _ = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed, []  # its tasks are not in the way: they move to the inbox

    def delete_model(self, request: HttpRequest, obj: TaskList) -> None:
        list_delete(owner=obj.owner, pk=obj.pk, tasks=TASKS_MOVE_TO_INBOX)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TaskList]) -> None:
        for task_list in queryset.select_related("owner").order_by("owner_id", "id"):
            list_delete(owner=task_list.owner, pk=task_list.pk, tasks=TASKS_MOVE_TO_INBOX)
