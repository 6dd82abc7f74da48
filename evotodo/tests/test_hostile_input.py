"""Hostile request bodies and parameters get a clean JSON 4xx with a stable code, and change nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from authn.models import User
from tasks.models import Task


def post_raw(client: APIClient, body: bytes, content_type: str = "application/json") -> Any:
    return client.generic("POST", "/api/tasks", body, content_type=content_type)


def assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert not Task.objects.exists()


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_400(depth: int, alice: User, alice_client: APIClient) -> None:
    body = b'{"title": "x", "description": ' + b"[" * depth + b"]" * depth + b"}"
    assert_refused(post_raw(alice_client, body), 400, "parse_error")


def test_nesting_within_the_limit_reaches_validation(alice: User, alice_client: APIClient) -> None:
    body = b'{"title": "x", "tags": ' + b"[" * 10 + b"]" * 10 + b"}"
    assert_refused(post_raw(alice_client, body), 400, "invalid")


def test_body_over_the_limit_is_a_json_413(alice: User, alice_client: APIClient, settings: Any) -> None:
    settings.API_MAX_BODY_BYTES = 4096
    body = b'{"title": "x", "description": "' + b"a" * 5000 + b'"}'
    assert_refused(post_raw(alice_client, body), 413, "request_too_large")


@pytest.mark.parametrize("size", [262_145, 5_000_000])
def test_a_body_over_the_default_limit_is_a_413_naming_it_and_logged_once_without_a_traceback(
    size: int, alice: User, alice_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"title": "x", "description": "' + b"a" * size + b'"}'
    with caplog.at_level(logging.INFO):
        response = post_raw(alice_client, body)
    assert_refused(response, 413, "request_too_large")
    assert "262144 bytes" in response.json()["detail"]
    assert [(r.levelname, r.exc_info) for r in caplog.records if r.levelno >= logging.WARNING] == [("WARNING", None)]


def test_a_chunked_body_from_a_server_that_does_not_end_the_input_is_a_411(
    alice: User, alice_client: APIClient
) -> None:
    response = alice_client.generic(
        "POST", "/api/tasks", b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )
    assert_refused(response, 411, "length_required")


def test_invalid_utf8_is_400(alice: User, alice_client: APIClient) -> None:
    assert_refused(post_raw(alice_client, b'{"title": "\xff\xfe"}'), 400, "parse_error")


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_number_constants_are_400(constant: bytes, alice: User, alice_client: APIClient) -> None:
    assert_refused(post_raw(alice_client, b'{"title": "x", "priority": ' + constant + b"}"), 400, "parse_error")


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1.8e308", b"-" + b"9" * 400 + b".0"])
@pytest.mark.parametrize("member", [b"priority", b"id", b"created_at"])
def test_numbers_past_a_doubles_range_are_400_even_in_ignored_members(
    number: bytes, member: bytes, alice: User, alice_client: APIClient
) -> None:
    body = b'{"title": "x", "' + member + b'": ' + number + b"}"
    assert_refused(post_raw(alice_client, body), 400, "parse_error")
    assert not Task.objects.exists()


@pytest.mark.parametrize("digits", [65, 4300, 5000, 100_000])
def test_an_integer_of_too_many_digits_is_a_400_that_names_no_python_setting(
    digits: int, alice: User, alice_client: APIClient
) -> None:
    for number in (b"7" * digits, b"-" + b"7" * digits):
        response = post_raw(alice_client, b'{"title": "x", "list_id": ' + number + b"}")
        assert_refused(response, 400, "parse_error")
        assert f"{digits} digits" in response.json()["detail"]
        assert "sys." not in response.json()["detail"]


def test_an_integer_of_64_digits_reaches_validation(alice: User, alice_client: APIClient) -> None:
    response = post_raw(alice_client, b'{"title": "x", "list_id": ' + b"9" * 64 + b"}")
    assert_refused(response, 400, "invalid")
    assert "list_id" in response.json()["errors"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "GZIP", "x-unknown", "gzip, identity"])
def test_a_body_with_a_content_encoding_is_a_415_and_creates_nothing(
    encoding: str, alice: User, alice_client: APIClient
) -> None:
    response = alice_client.generic(
        "POST", "/api/tasks", b'{"title": "x"}', content_type="application/json", HTTP_CONTENT_ENCODING=encoding
    )
    assert_refused(response, 415, "unsupported_content_encoding")


def test_a_body_with_the_identity_encoding_is_read(alice: User, alice_client: APIClient) -> None:
    response = alice_client.generic(
        "POST", "/api/tasks", b'{"title": "x"}', content_type="application/json", HTTP_CONTENT_ENCODING="identity"
    )
    assert response.status_code == 201


def test_a_body_that_starts_with_a_byte_order_mark_is_a_400_that_says_so(alice: User, alice_client: APIClient) -> None:
    response = post_raw(alice_client, b'\xef\xbb\xbf{"title": "x"}')
    assert_refused(response, 400, "parse_error")
    assert "byte order mark" in response.json()["detail"]
    assert "utf-8-sig" not in response.json()["detail"]


def test_numbers_within_a_doubles_range_still_parse(alice: User, alice_client: APIClient) -> None:
    response = post_raw(alice_client, b'{"title": "x", "id": 1.7976931348623157e308, "created_at": -5e-324}')
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "nul\\u0000byte"}',
        b'{"title": "ok", "description": "\\u0000"}',
        b'{"title": "ok", "due_at": "2027-06-01T12:00:00Z\\u0000"}',
        b'{"title": "ok", "due_at": "2027-06-01T12:00:00Z", '
        b'"recurrence": {"freq": "daily", "until": "2027-12-31\\u0000"}}',
    ],
)
def test_nul_bytes_are_a_400_naming_the_field(body: bytes, alice: User, alice_client: APIClient) -> None:
    assert_refused(post_raw(alice_client, body), 400, "invalid")


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "lone \\ud800 surrogate"}',
        b'{"title": "ok", "tags": ["\\udfff"]}',
        b'{"title": "ok", "\\ud800": 1}',
        b'{"title": "ok", "a\\udfffb": 1}',
        b'{"title": "x", "due_at": "2027-06-01T12:00:00Z", "recurrence": {"freq": "\\ud800"}}',
        b'{"title": "x", "due_at": "2027-06-01T12:00:00Z", "recurrence": {"freq": "daily", "\\udc00": 1}}',
        b'{"title": "\\ude00\\ud83d"}',
    ],
)
def test_a_lone_surrogate_anywhere_in_the_body_is_a_400(body: bytes, alice: User, alice_client: APIClient) -> None:
    assert_refused(post_raw(alice_client, body), 400, "parse_error")


def test_a_surrogate_pair_is_one_character_and_is_kept(alice: User, alice_client: APIClient) -> None:
    response = post_raw(alice_client, b'{"title": "\\ud83d\\ude00 smile"}')
    assert response.status_code == 201
    assert Task.objects.get().title == "\U0001f600 smile"


@pytest.mark.parametrize(
    "body", [b'{"title": "a", "title": "b"}', b'{"title": "x", "recurrence": {"freq": "daily", "freq": "weekly"}}']
)
def test_a_member_named_twice_is_a_400(body: bytes, alice: User, alice_client: APIClient) -> None:
    response = post_raw(alice_client, body)
    assert_refused(response, 400, "parse_error")
    assert "appears twice" in response.json()["detail"]


@pytest.mark.parametrize("body", [b"[]", b'"title"', b"42", b"null"])
def test_json_that_is_not_an_object_is_400(body: bytes, alice: User, alice_client: APIClient) -> None:
    assert_refused(post_raw(alice_client, body), 400, "invalid")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_other_content_types_are_415(content_type: str, alice: User, alice_client: APIClient) -> None:
    assert_refused(post_raw(alice_client, b"title=x", content_type), 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "query", ["search=%00", "tag=a%00b", "due_before=%00", "sort=%00", "limit=%00", "priority=%00"]
)
def test_nul_and_garbage_in_query_parameters_are_400(query: str, alice: User, alice_client: APIClient) -> None:
    response = alice_client.get(f"/api/tasks?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"


def test_html_only_accept_header_is_a_json_406(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/tasks", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_disallowed_host_is_a_json_400(db: Any) -> None:
    response = Client().get("/api/tasks", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}


def test_token_in_the_query_string_is_ignored(alice: User, token_for: Any, api_client: APIClient) -> None:
    response = api_client.get(f"/api/tasks?access_token={token_for(alice)}&token={token_for(alice)}")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
