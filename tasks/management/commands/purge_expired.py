"""`manage.py purge_expired`: forget old tombstones and expired idempotency keys (run it daily)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from tasks.idempotency import LIFETIME
from tasks.services import purge_expired


class Command(BaseCommand):
    help = (
        "Delete tombstones of deleted tasks older than TASK_TOMBSTONE_RETENTION_DAYS, "
        "and Idempotency-Key records older than 24 hours."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        tombstones, records = purge_expired(
            tombstones_before=now - timedelta(days=settings.TASK_TOMBSTONE_RETENTION_DAYS),
            idempotency_before=now - LIFETIME,
        )
        self.stdout.write(f"Purged {tombstones} tombstones and {records} idempotency records.")
