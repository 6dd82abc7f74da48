"""`manage.py rotate_secret`: rotate BETTER_AUTH_SECRET (and DJANGO_SECRET_KEY) in an env file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from authn.envfile import EnvFileError, rotate_secrets


class Command(BaseCommand):
    help = (
        "Write a new random BETTER_AUTH_SECRET (and with --django a new DJANGO_SECRET_KEY) into the env file, "
        "moving the old one to the front of *_FALLBACKS so tokens signed with it keep working until --prune."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--env-file", type=Path, help="The env file to rewrite (default: .env next to manage.py).")
        parser.add_argument("--django", action="store_true", help="Rotate DJANGO_SECRET_KEY too.")
        parser.add_argument("--keep", type=int, default=2, help="How many earlier secrets to keep (default 2).")
        parser.add_argument("--prune", action="store_true", help="Drop the fallbacks instead of rotating.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would change; write nothing.")
        parser.add_argument("--show", action="store_true", help="Print the new secret values.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["keep"] < 0:
            raise CommandError("--keep must be 0 or more.")
        path = options["env_file"] or Path(settings.BASE_DIR) / ".env"
        names = ["BETTER_AUTH_SECRET"] + (["DJANGO_SECRET_KEY"] if options["django"] else [])
        try:
            rotations = rotate_secrets(
                path, names, keep=options["keep"], prune=options["prune"], dry_run=options["dry_run"]
            )
        except EnvFileError as e:
            raise CommandError(str(e)) from e
        verb = "would be" if options["dry_run"] else "was"
        for rotation in rotations:
            if rotation.new_value is None:
                self.stdout.write(f"{rotation.name}: fallbacks {verb} pruned ({rotation.dropped} dropped).")
                continue
            shown = f" New value: {rotation.new_value}" if options["show"] else ""
            self.stdout.write(
                f"{rotation.name} {verb} rotated; {len(rotation.fallbacks)} earlier secret(s) kept as fallbacks, "
                f"{rotation.dropped} dropped.{shown}"
            )
        if not options["dry_run"]:
            self.stdout.write(f"Rewrote {path.resolve()}. Restart the service to use it.")
