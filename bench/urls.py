"""The project's URLs, plus the benchmark's floor (/bench/plain) and auth-less twin of the list."""

from django.urls import path, re_path

from bench.views import StubbedAuthTaskViewSet, plain
from evotodo.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/plain", plain),
    re_path(r"^bench/list-noauth/?$", StubbedAuthTaskViewSet.as_view({"get": "list"})),
    *project_urlpatterns,
]
