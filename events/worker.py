"""The worker: one loop that relays the outbox (webhook deliveries, the broker), starts due webhooks (sent from
the delivery pump's threads, events.webhooks.DeliveryPump) and fires reminders, each job on its own schedule,
recording when it last ran (its health check reads that). Several
workers, on one machine or several, may run at once: each job claims its rows with SKIP LOCKED (or, for the
broker, takes a lock that keeps one task's events in order)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from events.models import WorkerBeat
from events.relay import BrokerUnavailable, Publisher, dispatch, publish
from events.reminders import fire_due_reminders
from events.webhooks import DeliveryPump

logger = logging.getLogger(__name__)

# The job whose beat says the loop is alive (`worker_health`).
LOOP = "loop"
# Reminders fired a round; when that many were due, the next round goes on.
REMINDER_BATCH = 500
# How often the loop records that it is alive (`worker_health` allows a minute by default).
BEAT_EVERY_SECONDS = 5.0
# How soon an idle worker notices it is told to stop.
STOP_CHECK_SECONDS = 0.25
# How often a failing dependency is written to the log: once a minute, not once a loop.
WARN_EVERY_SECONDS = 60.0


class Worker:
    """The loop's state: the broker connection, when each job last ran and when each failure was last logged.
    `clock` and `now` are hooks that tests replace."""

    clock: Callable[[], float] = staticmethod(time.monotonic)  # type: ignore[assignment]

    def __init__(self, *, broker_url: str | None = None, name: str = "") -> None:
        url = settings.BROKER_URL if broker_url is None else broker_url
        self.publisher = Publisher(url) if url else None
        # Webhooks are sent from the pump's own threads: a slow receiver never holds up the relay or reminders.
        self.pump = DeliveryPump()
        self.name = name or f"{socket.gethostname()}:{threading.get_native_id()}"
        self.next_reminders = self.next_beat = 0.0
        self.warned: dict[str, float] = {}

    def now(self) -> datetime:
        return timezone.now()

    def _warn(self, job: str, error: BaseException) -> None:
        last = self.warned.get(job)
        if last is None or self.clock() - last >= WARN_EVERY_SECONDS:
            self.warned[job] = self.clock()
            logger.warning(
                "worker job %s failed: %s: %s (again within a minute: not logged)", job, type(error).__name__, error
            )

    def _recovered(self, job: str) -> None:
        if self.warned.pop(job, None) is not None:
            logger.info("worker job %s works again", job)

    def _reminders(self) -> int:
        fired, dropped = fire_due_reminders(now=self.now(), limit=REMINDER_BATCH)
        if fired + dropped == REMINDER_BATCH:
            self.next_reminders = 0.0  # more are due: the next round takes them, not the next tick
        return fired + dropped

    def _idle(self, stop: threading.Event) -> None:
        """Wait for the next poll, or less: until a sending thread comes free (one endpoint's deliveries go one at
        a time, so the next of a backlog is due as soon as the last is answered, not a poll later) or `stop`."""
        deadline = time.monotonic() + settings.WORKER_POLL_SECONDS
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.pump.freed.wait(min(left, STOP_CHECK_SECONDS)):
                return

    def run_once(self) -> dict[str, int]:
        """One round of every job that is due; a job that fails is logged (rate-limited) and retried next round,
        without stopping the others."""
        done: dict[str, int] = {}
        jobs: list[tuple[str, Callable[[], int]]] = [("dispatch", lambda: dispatch(now=self.now()))]
        if self.publisher is not None:
            jobs.append(("publish", lambda: publish(self.publisher, now=self.now())))  # type: ignore[arg-type]
        jobs.append(("deliver", lambda: self.pump.pump(now=self.now())))
        if self.clock() >= self.next_reminders:
            self.next_reminders = self.clock() + settings.REMINDER_TICK_SECONDS
            jobs.append(("reminders", self._reminders))
        for job, run in jobs:
            try:
                done[job] = run()
            except BrokerUnavailable as e:
                self._warn(job, e)
            except DatabaseError as e:
                self._warn(job, e)
                close_old_connections()  # a broken connection is replaced next round
            else:
                self._recovered(job)
        if self.clock() >= self.next_beat:
            try:
                WorkerBeat.objects.update_or_create(job=LOOP, defaults={"at": self.now(), "worker": self.name})
            except DatabaseError as e:
                self._warn("beat", e)
                close_old_connections()
            else:
                self.next_beat = self.clock() + BEAT_EVERY_SECONDS
        return done

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop` is set: a round as soon as the last found work or a webhook sender came free, else
        every WORKER_POLL_SECONDS."""
        try:
            while not stop.is_set():
                self.pump.freed.clear()
                done = self.run_once()
                if not any(done.values()):
                    self._idle(stop)
        finally:
            self.pump.close()
            if self.publisher is not None:
                self.publisher.close()
