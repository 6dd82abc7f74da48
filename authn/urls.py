"""URLs of the authn app, mounted under /api/."""

from django.urls import re_path

from authn.views import MeView

urlpatterns = [
    re_path(r"^me/?$", MeView.as_view(), name="me"),
]
