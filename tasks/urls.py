"""URLs of the tasks app, mounted under /api/; every path works with and without a trailing slash."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from tasks.views import TagListView, TaskViewSet, UserTaskViewSet


class OptionalSlashRouter(SimpleRouter):
    """A router whose routes match with or without the trailing slash, so no client is redirected."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")
router.register(r"(?P<user_id>[^/]+)/tasks", UserTaskViewSet, basename="user-task")

urlpatterns = [
    re_path(r"^tags/?$", TagListView.as_view(), name="tags"),
    *router.urls,
]
