"""`manage.py worker_health`: exit 0 when a worker ran recently and the outbox is not falling behind."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from events.models import WorkerBeat
from events.relay import backlog
from events.worker import LOOP


class Command(BaseCommand):
    help = "A health check for the worker: fails when no worker ran within --max-age seconds or events wait longer."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--max-age", type=int, default=60, help="Seconds since a worker's last round. Default: 60")
        parser.add_argument(
            "--max-backlog", type=int, default=300, help="Seconds the oldest event may wait. Default: 300"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        beat = WorkerBeat.objects.filter(job=LOOP).first()
        if beat is None:
            raise CommandError("No worker has run yet: start `python manage.py run_worker`.")
        age = (now - beat.at).total_seconds()
        if age > options["max_age"]:
            raise CommandError(f"The last worker round was {age:.0f} s ago ({beat.worker}).")
        waiting = {name: seconds for name, seconds in backlog(now).items() if seconds is not None}
        late = {name: seconds for name, seconds in waiting.items() if seconds > options["max_backlog"]}
        if late:
            raise CommandError(f"Events are waiting: {', '.join(f'{k} {v:.0f}' for k, v in late.items())}.")
        self.stdout.write(f"ok: last round {age:.1f} s ago by {beat.worker}; backlog {waiting or 'none'}")
