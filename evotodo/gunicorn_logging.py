"""gunicorn's own log lines (its access log and its error log) as one JSON object per line, like the app's.

gunicorn's access log is a `%`-format template that writes each value as it is: a path holding a decoded
`%0A` split one record over two lines, and its error log is plain text. This logger encodes every value
with `json.dumps`, so no request can break a line or forge a field.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger
from pythonjsonlogger.json import JsonFormatter


class JSONLogger(Logger):
    """gunicorn's Logger, writing JSON: set as `logger_class` in gunicorn.conf.py."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
        for handler in self.error_log.handlers:
            handler.setFormatter(formatter)
        for handler in self.access_log.handlers:
            handler.setFormatter(logging.Formatter("%(message)s"))

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        """One request: method, path without its query string (never logged), status, bytes, duration, the
        request id the application returned, and the client address."""
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        headers = dict((name.lower(), value) for name, value in resp.headers)
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "request_id": headers.get("x-request-id", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote": environ.get("REMOTE_ADDR", "-"),
        }
        self.access_log.info(json.dumps(record, ensure_ascii=True))
