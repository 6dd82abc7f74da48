"""URLs of the tasks app, mounted under /api/; every path works with and without a trailing slash."""

from rest_framework.routers import SimpleRouter

from tasks.views import TaskViewSet, UserTaskViewSet


class OptionalSlashRouter(SimpleRouter):
    """A router whose routes match with or without the trailing slash, so no client is redirected."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")
router.register(r"(?P<user_id>[^/]+)/tasks", UserTaskViewSet, basename="user-task")

urlpatterns = router.urls
