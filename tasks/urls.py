"""URLs of the tasks app, mounted under /api/; every path works with and without a trailing slash."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from tasks.batch import BatchView
from tasks.list_views import TaskListViewSet, UserTaskListViewSet
from tasks.transfer_views import ExportView, ImportView
from tasks.views import SyncView, TagListView, TaskViewSet, UserSyncView, UserTaskViewSet


class OptionalSlashRouter(SimpleRouter):
    """A router whose routes match with or without the trailing slash, so no client is redirected."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")
router.register("lists", TaskListViewSet, basename="list")
router.register(r"(?P<user_id>[^/]+)/tasks", UserTaskViewSet, basename="user-task")
router.register(r"(?P<user_id>[^/]+)/lists", UserTaskListViewSet, basename="user-list")

urlpatterns = [
    *router.urls,  # first: the routes nearly every request asks for
    re_path(r"^tags/?$", TagListView.as_view(), name="tags"),
    re_path(r"^sync/?$", SyncView.as_view(), name="sync"),
    re_path(r"^export/?$", ExportView.as_view(), name="export"),
    re_path(r"^batch/?$", BatchView.as_view(), name="batch"),
    re_path(r"^import/?$", ImportView.as_view(), name="import"),
    re_path(r"^(?P<user_id>[^/]+)/sync/?$", UserSyncView.as_view(), name="user-sync"),
]
