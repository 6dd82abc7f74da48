"""`manage.py jwks [--token T]`: list the Better Auth keys, and check a token end to end."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from authn.diagnostics import DiagnosisFailed, check_token, published_keys


class Command(BaseCommand):
    help = "Fetch the configured JWKS and list its keys; with --token, verify a token as the API would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--token",
            help="A JWT to check end to end (exit status 1 when refused); '-' reads it from standard input, "
            "which keeps it out of the process list and shell history.",
        )

    stdin = sys.stdin

    def handle(self, *args: Any, token: str | None = None, **options: Any) -> None:
        try:
            url, keys = published_keys()
            self.stdout.write(f"JWKS {url}: {len(keys)} usable key{'s' if len(keys) != 1 else ''}")
            for key in keys:
                self.stdout.write(f"  {key.kid}  {key.algorithm:<6} {key.key:<14} {key.thumbprint}")
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
