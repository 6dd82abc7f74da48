"""`manage.py mint_token USER`: a Better-Auth-shaped HS256 token for a local user, for development."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from authn.models import User
from authn.tokens import MintingUnavailable, mint_token


class Command(BaseCommand):
    help = (
        "Print a token for USER (a Better Auth id or an email), signed with BETTER_AUTH_SECRET, "
        "with the claims Better Auth writes. For local development, smoke tests and scripts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="The user's Better Auth id (the token's sub) or email.")
        parser.add_argument("--ttl", type=int, default=900, help="Lifetime in seconds (default 900, as Better Auth).")
        parser.add_argument("--force", action="store_true", help="Mint even when DJANGO_DEBUG is off (production).")

    def handle(self, *args: Any, user: str, ttl: int, force: bool, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to mint a token with DJANGO_DEBUG off (production); add --force if you mean it."
            )
        if not 1 <= ttl <= 86_400:
            raise CommandError("--ttl must be between 1 and 86400 seconds.")
        account = User.objects.filter(better_auth_id=user).first() or self._by_email(user)
        try:
            token = mint_token(sub=account.better_auth_id, email=account.email, name=account.name, ttl_seconds=ttl)
        except MintingUnavailable as e:
            raise CommandError(f"{e} Set it in .env (make run writes a development one).") from e
        self.stdout.write(token)

    def _by_email(self, email: str) -> User:
        matches = list(User.objects.filter(email__iexact=email, better_auth_id__isnull=False)[:2])
        if len(matches) != 1:
            found = "several users have" if matches else "no Better Auth user has"
            raise CommandError(f"{found} the id or email {email!r}; seed_demo creates demo users.")
        return matches[0]
