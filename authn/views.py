"""GET /api/me: who the bearer token says the caller is."""

from __future__ import annotations

from rest_framework.generics import RetrieveAPIView

from authn.models import User
from authn.serializers import MeSerializer
from evotodo.api import StrictQueryParamsMixin


class MeView(StrictQueryParamsMixin, RetrieveAPIView):
    """The authenticated caller's `{id, email, name}`."""

    serializer_class = MeSerializer

    def get_object(self) -> User:
        return self.request.user
