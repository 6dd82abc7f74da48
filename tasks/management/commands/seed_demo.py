"""`manage.py seed_demo`: demo users with realistic tasks; running it twice changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tasks.demo import seed_demo


class Command(BaseCommand):
    help = "Create demo users and tasks (idempotent). Each demo user's token comes from `mint_token`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=3, help="How many demo users (default 3).")
        parser.add_argument("--tasks-per-user", type=int, default=20, help="Tasks for each (default 20).")
        parser.add_argument("--reset", action="store_true", help="Delete the demo users and their tasks first.")

    def handle(self, *args: Any, users: int, tasks_per_user: int, reset: bool, **options: Any) -> None:
        if not 1 <= users <= 10_000:
            raise CommandError("--users must be between 1 and 10000.")
        if not 0 <= tasks_per_user <= 10_000:
            raise CommandError("--tasks-per-user must be between 0 and 10000.")
        step = max(users // 10, 1)

        def progress(done: int, total: int) -> None:
            if total >= 20 and (done % step == 0 or done == total):
                self.stdout.write(f"  {done}/{total} users")

        result = seed_demo(users=users, tasks_per_user=tasks_per_user, reset=reset, progress=progress)
        if reset:
            self.stdout.write(f"Deleted {result.users_deleted} demo users and their tasks.")
        self.stdout.write(
            f"Demo data ready: {len(result.users)} users ({result.users_created} new), "
            f"{result.tasks_created} tasks created."
        )
        self.stdout.write("Get a token for a demo user (needs BETTER_AUTH_SECRET; `make run` writes one into .env):")
        for user in result.users:
            self.stdout.write(f"  python manage.py mint_token {user.better_auth_id}   # {user.name} <{user.email}>")
