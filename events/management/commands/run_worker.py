"""`manage.py run_worker`: relay events to webhooks and the broker, send webhooks, fire reminders, until stopped."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from events.worker import Worker


class Command(BaseCommand):
    help = (
        "Relay the outbox's events (to webhooks, and to RabbitMQ with BROKER_URL), send due webhooks and fire "
        "due reminders, until SIGTERM or Ctrl-C. Run one or several, on one machine or several."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="One round of every job, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker()
        if options["once"]:
            done = worker.run_once()
            self.stdout.write(", ".join(f"{job}: {count}" for job, count in done.items()))
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"Worker {worker.name} running; SIGTERM or Ctrl-C stops it.")
        worker.run(stop)
        self.stdout.write("Worker stopped.")
