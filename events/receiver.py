"""A webhook receiver for trying events out: `python -m events.receiver PORT [SECRET]` prints each delivery it
gets on 127.0.0.1:PORT and, given the endpoint's secret, whether its Standard Webhooks signature verifies.
A development tool: it answers 204 to everything."""

from __future__ import annotations

import contextlib
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


def handler_for(secret: str | None) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            verified: bool | None = None
            if secret:
                try:
                    Webhook(secret).verify(body, dict(self.headers.items()))
                    verified = True
                except WebhookVerificationError:
                    verified = False
            try:
                event = json.loads(body)
            except ValueError:
                event = {"body": body.decode(errors="replace")}
            print(json.dumps({"webhook-id": self.headers.get("webhook-id"), "verified": verified, "event": event}))
            sys.stdout.flush()
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per delivery is printed above

    return Receiver


def main(argv: list[str]) -> None:
    if not argv or not argv[0].isdigit():
        sys.exit("usage: python -m events.receiver PORT [SECRET]")
    server = ThreadingHTTPServer(("127.0.0.1", int(argv[0])), handler_for(argv[1] if len(argv) > 1 else None))
    print(f"Receiving webhooks on http://127.0.0.1:{argv[0]}/ (Ctrl-C stops)", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
