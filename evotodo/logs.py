"""Logging a condition that recurs on every request (a dependency down) once per interval, not once per request."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class OncePerInterval:
    """A WARNING for a recurring condition at most once per `interval` seconds in this process, saying how often
    it recurred since the last one; `timer` is for tests."""

    timer: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, logger: logging.Logger, interval: float = 60.0) -> None:
        self.logger = logger
        self.interval = interval
        self._lock = threading.Lock()
        self._logged_at: float | None = None
        self._since = 0

    def warning(self, message: str, *args: object) -> None:
        now = self.timer()
        with self._lock:
            self._since += 1
            if self._logged_at is not None and now - self._logged_at < self.interval:
                return
            count, self._since, self._logged_at = self._since, 0, now
        self.logger.warning(message + " (%d time(s) since the last report)", *args, count)
