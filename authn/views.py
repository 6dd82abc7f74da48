"""GET /api/me: who the bearer token says the caller is."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.generics import RetrieveAPIView

from authn.models import User
from authn.serializers import MeSerializer
from evotodo.api import StrictQueryParamsMixin


@extend_schema_view(get=extend_schema(summary="Who your token says you are"))
class MeView(StrictQueryParamsMixin, RetrieveAPIView):
    """The authenticated caller's `{id, email, name}`."""

    serializer_class = MeSerializer

    def get_object(self) -> User:
        return self.request.user
