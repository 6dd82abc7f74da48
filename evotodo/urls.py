"""Evo-TODO URLs: the API under /api/, its schema and docs, probes and the admin."""

from django.contrib import admin
from django.urls import include, path, re_path

from evotodo.views import DocsView, SchemaView, healthz, readyz

# Django tries the patterns in order, so the API's, which nearly every request asks for, come first, the tasks'
# routes first of all. No two patterns match the same path, so the order changes nothing else.
urlpatterns = [
    path("api/", include("tasks.urls")),
    path("api/", include("authn.urls")),
    path("api/", include("events.urls")),
    # Public: the schema and docs describe the API and hold no user data.
    re_path(r"^api/schema/?$", SchemaView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", DocsView.as_view(url_name="schema"), name="docs"),
    re_path(r"^healthz/?$", healthz, name="healthz"),
    re_path(r"^readyz/?$", readyz, name="readyz"),
    path("admin/", admin.site.urls),
]

handler400 = "evotodo.exceptions.bad_request"
handler403 = "evotodo.exceptions.permission_denied"
handler404 = "evotodo.exceptions.not_found"
handler500 = "evotodo.exceptions.server_error"
