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

    def warning(self, message: str, *args: object, extra: dict[str, object] | None = None) -> None:
        now = self.timer()
        with self._lock:
            self._since += 1
            if self._logged_at is not None and now - self._logged_at < self.interval:
                return
            count, self._since, self._logged_at = self._since, 0, now
        self.logger.warning(message + " (%d time(s) since the last report)", *args, count, extra=extra)


class OncePerIntervalFilter(logging.Filter):
    """For a logger that Django writes a line with a traceback to on every request of a kind any client can send
    (`django.security.DisallowedHost`: a request for a host not in ALLOWED_HOSTS, a scanner's or a misconfigured
    proxy's): that line is dropped and a WARNING without traceback is written at most once per interval instead,
    saying how often it recurred. Set on the logger in settings.LOGGING."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self.interval = interval
        self._reports: dict[str, OncePerInterval] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_once_per_interval", False):
            return True  # this filter's own report
        with self._lock:
            report = self._reports.get(record.name)
            if report is None:
                report = self._reports[record.name] = OncePerInterval(logging.getLogger(record.name), self.interval)
        report.warning("%s", record.getMessage(), extra={"_once_per_interval": True})
        return False
