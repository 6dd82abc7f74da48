"""Admin for users: Better Auth users with their task counts, and staff accounts."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from authn.models import User


class UserChangeForm(DjangoUserChangeForm):
    """Django's form, with a username that may stay empty: Better Auth users have none (NULL), which Django's
    UsernameField cannot take (saving such a user, e.g. to disable them, was a 500)."""

    username = forms.CharField(max_length=150, required=False, empty_value=None, help_text="Staff only.")

    class Meta(DjangoUserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    list_display = ["__str__", "better_auth_id", "email", "name", "task_count", "last_seen_at", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "better_auth_id", "name", "username"]
    ordering = ["-date_joined"]
    readonly_fields = ["better_auth_id", "tasks_link", "date_joined", "last_seen_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["better_auth_id", "email", "name", "tasks_link"]}),
        ("Staff sign-in", {"fields": ["username", "password"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["date_joined", "last_seen_at", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["username", "email", "password1", "password2"]})]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).annotate(task_count=Count("tasks"))

    @admin.display(description="tasks", ordering="task_count")
    def task_count(self, user: User) -> str:
        url = reverse("admin:tasks_task_changelist") + f"?owner__id__exact={user.pk}"
        return format_html('<a href="{}">{}</a>', url, user.task_count)  # type: ignore[attr-defined]

    @admin.display(description="tasks")
    def tasks_link(self, user: User) -> str:
        if user.pk is None:
            return "-"
        url = reverse("admin:tasks_task_changelist") + f"?owner__id__exact={user.pk}"
        return format_html('<a href="{}">{} task(s)</a>', url, user.tasks.count())
