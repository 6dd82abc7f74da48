"""gunicorn's own answers in the API's JSON: a request that gunicorn refuses before the application sees it (a
request line or headers past its limits, a header it does not take, such as Content-Type sent twice, a broken
chunked body) got gunicorn's HTML page; a client gets `{"detail", "code"}` here as from every other error.

gunicorn writes those answers with one function, `gunicorn.util.write_error`, and has no setting for their
format: `install()` (called by gunicorn.conf.py, in the master before it forks the workers) puts this module's
`write_error` in its place. It takes and sends what gunicorn's does (status, reason, message), as JSON."""

from __future__ import annotations

import json
import socket

from gunicorn import util

# Codes by status: what gunicorn answers (workers/base.py's handle_error), each one in the ErrorCode enum.
CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "request_headers_too_large",
    500: "server_error",
    501: "not_implemented",
}
MAX_MESSAGE = 200  # gunicorn's message can quote the request line: a client's own bytes, kept short


def error_body(status: int, reason: str, message: str) -> bytes:
    detail = f"{reason}: {message[:MAX_MESSAGE]}" if message else f"{reason}."
    return json.dumps({"detail": detail, "code": CODES.get(status, "bad_request")}).encode()


def write_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """`gunicorn.util.write_error`'s answer, in JSON."""
    body = error_body(status_int, reason, mesg)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def install() -> None:
    util.write_error = write_error
