"""`manage.py jwks [--token T]`: list the Better Auth keys and secrets in use, and check a token end to end."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from authn.diagnostics import JWKS_SETTINGS, DiagnosisFailed, VerificationSetup, check_token, verification_setup


class Command(BaseCommand):
    help = (
        "Fetch the configured JWKS and list its keys, and say whether HS256 tokens are checked against a shared "
        "secret; with --token, verify a token as the API would. Never prints a secret or the token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--token",
            help="A JWT to check end to end (exit status 1 when refused); '-' reads it from standard input, "
            "which keeps it out of the process list and shell history.",
        )

    stdin = sys.stdin

    def handle(self, *args: Any, token: str | None = None, **options: Any) -> None:
        try:
            self.describe(verification_setup())
            if token is not None:
                claims = check_token((self.stdin.read() if token == "-" else token).strip())
                expires = datetime.fromtimestamp(claims["exp"], UTC)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Token accepted: sub={claims['sub']!r} iss={claims.get('iss')!r} aud={claims.get('aud')!r} "
                        f"expires {expires:%Y-%m-%d %H:%M:%S} UTC"
                    )
                )
        except DiagnosisFailed as e:
            raise CommandError(str(e)) from e

    def describe(self, setup: VerificationSetup) -> None:
        """What verifies tokens here: the JWKS and its keys, and how many shared secrets (never their values)."""
        if setup.jwks_url:
            count = len(setup.keys)
            self.stdout.write(f"JWKS {setup.jwks_url}: {count} usable key{'s' if count != 1 else ''}")
            for key in setup.keys:
                self.stdout.write(f"  {key.kid}  {key.algorithm:<6} {key.key:<14} {key.thumbprint}")
        else:
            self.stdout.write(f"No JWKS configured: asymmetric tokens are refused; set {JWKS_SETTINGS} to accept them.")
        if setup.secrets:
            fallbacks = setup.secrets - 1
            also = f" and {fallbacks} fallback{'s' if fallbacks != 1 else ''}" if fallbacks else ""
            self.stdout.write(f"Shared secret: HS256 tokens are checked against BETTER_AUTH_SECRET{also}.")
        else:
            self.stdout.write("No shared secret: HS256 tokens are refused; set BETTER_AUTH_SECRET to accept them.")
