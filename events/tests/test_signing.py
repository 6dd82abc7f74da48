"""Signing: secrets in Standard Webhooks' format, and signatures that match the spec's published test vector."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from events.models import WebhookEndpoint
from events.webhooks import live_secrets, new_secret, signature_header

# The Standard Webhooks reference libraries' test vector (libraries/go/webhook_test.go, TestWebhookSign, and the
# other languages' equivalents): this secret, id, timestamp and payload sign to this signature.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = datetime.fromtimestamp(1614265330, UTC)
SPEC_PAYLOAD = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_new_secret_is_whsec_and_the_base64_of_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret


def test_the_signature_matches_the_spec_test_vector() -> None:
    header = signature_header(secrets_=[SPEC_SECRET], msg_id=SPEC_MSG_ID, timestamp=SPEC_TIMESTAMP, body=SPEC_PAYLOAD)
    assert header == SPEC_SIGNATURE


def test_two_secrets_sign_side_by_side_and_either_verifies() -> None:
    other = new_secret()
    now = datetime.now(UTC)
    header = signature_header(secrets_=[other, SPEC_SECRET], msg_id=SPEC_MSG_ID, timestamp=now, body=SPEC_PAYLOAD)
    first, second = header.split(" ")
    assert first.startswith("v1,")
    assert second.startswith("v1,")
    headers = {"webhook-id": SPEC_MSG_ID, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": header}
    for secret in (other, SPEC_SECRET):
        assert Webhook(secret).verify(SPEC_PAYLOAD, headers) == {"test": 2432232314}


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        (timedelta(seconds=1), ["new", "old"]),
        (timedelta(0), ["new"]),
        (timedelta(seconds=-1), ["new"]),
        (None, ["new"]),
    ],
)
def test_the_previous_secret_signs_only_until_it_expires(expires_in: timedelta | None, expected: list[str]) -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    endpoint = WebhookEndpoint(
        secret="new",
        previous_secret="old" if expires_in is not None else "",
        previous_secret_expires_at=now + expires_in if expires_in is not None else None,
    )
    assert live_secrets(endpoint, now) == expected
