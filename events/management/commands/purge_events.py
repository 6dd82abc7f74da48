"""`manage.py purge_events`: forget sent events and finished webhook deliveries older than EVENTS_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from events.services import purge_events


class Command(BaseCommand):
    help = "Delete events and webhook deliveries older than EVENTS_RETENTION_DAYS that are sent or given up (daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        events, deliveries = purge_events(before=timezone.now() - timedelta(days=settings.EVENTS_RETENTION_DAYS))
        self.stdout.write(f"Purged {events} events and {deliveries} deliveries.")
