"""Factories for users."""

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from authn.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    better_auth_id = factory.Sequence(lambda n: f"user{n:028d}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.LazyFunction(lambda: make_password(None))
    last_seen_at = factory.LazyFunction(timezone.now)
