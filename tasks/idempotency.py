"""`Idempotency-Key`: a retried write (any POST, PUT, PATCH or DELETE that takes one) gets the first response back
instead of acting twice."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import JSONField, Value
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from tasks.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# Visible ASCII but the comma, like a UUID or a random token: a header sent twice reaches the application as its
# values joined by commas, which must not pass for one key.
KEY_FORMAT = re.compile(r"[\x21-\x2b\x2d-\x7e]{1,255}")
LIFETIME = timedelta(hours=24)
REPLAYED_HEADERS = ("ETag", "Location")


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for a different request."
    default_code = "idempotency_key_reused"


def fingerprint(scope: str, data: Any) -> str:
    return hashlib.sha256(json.dumps([scope, data], sort_keys=True, default=str).encode()).hexdigest()


def _recorded(request: Request, key: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(owner=request.user, key=key).first()
    if record is not None and record.created_at < timezone.now() - LIFETIME:
        record.delete()  # expired: the key may be used afresh
        return None
    return record


def _replay(record: IdempotencyRecord, expected: str) -> Response:
    if record.fingerprint != expected:
        raise IdempotencyKeyReused()
    return Response(record.body, status=record.status_code, headers={**record.headers, "Idempotent-Replayed": "true"})


def idempotent(request: Request, scope: str, run: Callable[[], Response]) -> Response:
    """Run `run` once per (user, key): a retry with the same body replays the first success; the same key
    with another body is a 422. Without the header, just run. Keys are per user and live 24 hours."""
    key = request.headers.get(HEADER)
    if key is None:
        return run()
    if not KEY_FORMAT.fullmatch(key):
        raise ValidationError({HEADER: ["Must be one key of 1-255 visible ASCII characters other than the comma."]})
    expected = fingerprint(scope, request.data)
    record = _recorded(request, key)
    if record is not None:
        return _replay(record, expected)
    try:
        with transaction.atomic():
            response = run()
            if status.is_success(response.status_code):
                IdempotencyRecord.objects.create(
                    owner=request.user,
                    key=key,
                    scope=scope,
                    fingerprint=expected,
                    status_code=response.status_code,
                    body=Value(None, JSONField()) if response.data is None else response.data,  # 204: JSON null
                    headers={name: response[name] for name in REPLAYED_HEADERS if name in response},
                )
    except (IntegrityError, APIException):
        # A concurrent request with the same key won, and our work was rolled back with the record: either at
        # the record's insert, or sooner, when what the winner did made ours fail (a list name now taken).
        record = _recorded(request, key)
        if record is None:
            raise
        return _replay(record, expected)
    return response
