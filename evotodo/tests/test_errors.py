"""Errors outside the views are JSON too; plain HTTP is redirected to HTTPS when configured."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings


def test_unknown_api_path_is_a_json_404(db: Any) -> None:
    response = Client().get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_to_https_when_enabled(db: Any) -> None:
    response = Client().get("/api/tasks")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@override_settings(SECURE_SSL_REDIRECT=True)
def test_probes_are_exempt_from_the_https_redirect(db: Any) -> None:
    assert Client().get("/healthz").status_code == 200


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
def test_cors_allows_configured_origins_and_the_api_request_headers(db: Any) -> None:
    response = Client().options(
        "/api/tasks",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    allowed = response["Access-Control-Allow-Headers"]
    assert {"authorization", "if-match", "if-none-match", "idempotency-key"} <= set(allowed.split(", "))


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
def test_cors_exposes_the_headers_a_browser_app_reads(db: Any) -> None:
    preflight = Client().options(
        "/api/tasks",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert preflight.status_code == 200
    refused = Client().get("/api/tasks", HTTP_ORIGIN="https://app.example.com")
    assert refused.status_code == 401
    exposed = set(refused["Access-Control-Expose-Headers"].split(", "))
    assert exposed == {"Link", "ETag", "Idempotent-Replayed", "Retry-After", "X-Request-ID", "WWW-Authenticate"}
    assert {"WWW-Authenticate", "X-Request-ID"} <= set(refused.headers)


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
def test_cors_ignores_other_origins(db: Any) -> None:
    response = Client().get("/api/tasks", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


def test_an_unexpected_error_is_a_json_500_without_a_trace(
    db: Any, alice: Any, token_for: Any, monkeypatch: Any
) -> None:
    from tasks.views import TaskViewSet

    def explode(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals /srv/app/settings.py")

    monkeypatch.setattr(TaskViewSet, "list", explode)
    client = Client(raise_request_exception=False)
    response = client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert b"secret internals" not in response.content


@pytest.mark.parametrize("path", ["/api/schema", "/api/docs", "/healthz", "/readyz"])
@pytest.mark.parametrize("method", ["options", "post", "delete", "trace"])
def test_the_public_pages_answer_other_methods_with_a_json_405(path: str, method: str, db: Any) -> None:
    response = getattr(Client(), method)(path)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/schema", "/api/docs"])
def test_the_public_pages_answer_head(path: str, db: Any) -> None:
    assert Client().head(path).status_code == 200


def test_a_refused_csrf_check_is_a_json_403(db: Any) -> None:
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def test_me_refuses_unknown_parameters(alice: Any, alice_client: Any) -> None:
    response = alice_client.get("/api/me", {"page": "2"})
    assert (response.status_code, response.json()["code"]) == (400, "unknown_parameter")


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_a_post_to_a_probe_is_a_405_even_with_csrf_checks(path: str, db: Any) -> None:
    response = Client(enforce_csrf_checks=True).post(path)
    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


def test_logged_requests_show_the_path_but_never_the_query_string(db: Any) -> None:
    import logging

    from django.test import RequestFactory

    from evotodo.middleware import RequestIDLogFilter

    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Bad Request: %s", ("/api/tasks",), None)
    record.request = RequestFactory().get("/api/tasks?search=my+secret+plans&token=abc")
    RequestIDLogFilter().filter(record)
    assert record.request == "GET /api/tasks"


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"], API_MAX_BODY_BYTES=100)
def test_a_body_refused_for_its_size_carries_the_cors_and_security_headers_of_every_answer(db: Any) -> None:
    response = Client().post(
        "/api/tasks", "x" * 101, content_type="application/json", HTTP_ORIGIN="https://app.example.com"
    )
    assert (response.status_code, response.json()["code"]) == (413, "request_too_large")
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "Cache-Control" in response
    assert "Content-Security-Policy" in response


def test_a_request_for_a_host_not_allowed_is_a_json_400_logged_once_a_minute_without_a_traceback(
    db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from evotodo.logs import OncePerInterval, OncePerIntervalFilter

    caplog.set_level(logging.INFO)
    for once in logging.getLogger("django.security.DisallowedHost").filters:
        if isinstance(once, OncePerIntervalFilter):  # (one per time logging was configured in this process)
            once._reports.clear()  # an earlier test's report would hold this one's back
    for _ in range(5):
        response = Client().get("/api/tasks", HTTP_HOST="evil.example")
        assert (response.status_code, response.json()["code"]) == (400, "bad_request")
    records = [record for record in caplog.records if record.name == "django.security.DisallowedHost"]
    assert len(records) == 1
    assert records[0].levelname == "WARNING"
    assert records[0].exc_info is None
    assert "evil.example" in records[0].getMessage()
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    # A minute later, the next one is reported with the count of those in between.
    later = OncePerInterval.timer() + 61
    original = OncePerInterval.timer
    OncePerInterval.timer = staticmethod(lambda: later)  # type: ignore[method-assign]
    try:
        Client().get("/api/tasks", HTTP_HOST="evil.example")
    finally:
        OncePerInterval.timer = original  # type: ignore[method-assign]
    records = [record for record in caplog.records if record.name == "django.security.DisallowedHost"]
    assert len(records) == 2
    assert "5 time(s)" in records[1].getMessage()


def test_a_head_is_answered_without_a_body_and_with_the_length_of_its_get(alice: Any, token_for: Any) -> None:
    """Through the WSGI application itself (Django's test client drops a HEAD's body on its own)."""
    import io

    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    application = get_wsgi_application()

    def call(method: str) -> tuple[str, dict[str, str], bytes]:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": "/api/tasks",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "HTTP_AUTHORIZATION": f"Bearer {token_for(alice)}",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
        }
        started: list[Any] = []
        # As Django's test client does: the request's signals would close the test's database connection.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            body = b"".join(application(environ, lambda status, headers, *_: started.append((status, dict(headers)))))
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return started[0][0], started[0][1], body

    status, headers, body = call("GET")
    assert (status, len(body)) == ("200 OK", int(headers["Content-Length"]))
    assert body
    head_status, head_headers, head_body = call("HEAD")
    assert (head_status, head_body) == ("200 OK", b"")
    assert head_headers["Content-Length"] == headers["Content-Length"]
    assert head_headers["Content-Type"] == headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(("tags", "where"), [(["", "ok"], "tags.0"), (["ok", ""], "tags.1")])
def test_an_error_in_an_arrays_first_item_names_its_index_as_any_other(
    alice: Any, alice_client: Any, tags: list[str], where: str
) -> None:
    response = alice_client.post("/api/tasks", {"title": "t", "tags": tags}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{where}: ")
