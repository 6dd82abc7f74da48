"""URLs of the events app, mounted under /api/; every path works with and without a trailing slash."""

from events.views import UserWebhookViewSet, WebhookViewSet
from tasks.urls import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register(r"(?P<user_id>[^/]+)/webhooks", UserWebhookViewSet, basename="user-webhook")

urlpatterns = router.urls
