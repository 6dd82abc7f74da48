"""Query parameters of the task list: status, search and sort; unknown values are a 400."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django_filters import rest_framework as filters

from tasks.models import Task

# Each sort ends with the id, so equal values still page in a stable order.
SORT_ORDERINGS = {
    "created": ["created_at", "id"],
    "-created": ["-created_at", "-id"],
    "title": [Lower("title").asc(), "title", "id"],
    "-title": [Lower("title").desc(), "-title", "-id"],
    "updated": ["updated_at", "id"],
    "-updated": ["-updated_at", "-id"],
}
STATUS_CHOICES = [("all", "all"), ("pending", "pending"), ("completed", "completed")]


class TaskFilter(filters.FilterSet):
    """Filters for GET /api/tasks."""

    status = filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", help_text="Default: all.")
    search = filters.CharFilter(
        method="filter_search", max_length=200, help_text="Case-insensitive match in title or description."
    )
    sort = filters.ChoiceFilter(
        choices=[(key, key) for key in SORT_ORDERINGS], method="filter_sort", help_text="Default: -created."
    )

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        if value == "all":
            return queryset
        return queryset.filter(completed=value == "completed")

    def filter_search(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))

    def filter_sort(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return queryset.order_by(*SORT_ORDERINGS[value])
