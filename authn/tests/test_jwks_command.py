"""The `jwks` command: lists the published keys and explains why a token is refused."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from authn.jwks import jwk_thumbprint
from authn.models import User
from authn.tokens import mint_token
from conftest import TEST_SECRET, SigningKeyPair, hs256_token

OTHER_SECRET = "other-shared-secret-0123456789-abcdefghijklmnop"
OLD_SECRET = "old-shared-secret-0123456789-abcdefghijklmnopqr"
OLDER_SECRET = "older-shared-secret-0123456789-abcdefghijklmnop"


def jwks_command(*args: str) -> str:
    out = StringIO()
    call_command("jwks", *args, stdout=out)
    return out.getvalue()


def test_rfc7638_thumbprint_of_the_rfc_example_key() -> None:
    rsa = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX"
            "jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaS"
            "qzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINH"
            "aQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(rsa) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_rfc8037_thumbprint_of_the_ed25519_example_key() -> None:
    okp = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(okp) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_lists_every_published_key(jwks: Any, key_pairs: dict[str, SigningKeyPair]) -> None:
    jwks.publish(key_pairs["EdDSA"], key_pairs["ES512"], key_pairs["PS256"])
    out = jwks_command()
    assert "3 usable keys" in out
    for pair, shape in [
        (key_pairs["EdDSA"], "Ed25519"),
        (key_pairs["ES512"], "P-521"),
        (key_pairs["PS256"], "RSA 2048 bits"),
    ]:
        line = next(line for line in out.splitlines() if pair.kid in line)
        assert pair.algorithm in line
        assert shape in line
        assert jwk_thumbprint(pair.public_jwk) in line


def test_accepted_token_is_reported_with_its_subject(alice: User, token_for: Callable[..., str]) -> None:
    out = jwks_command("--token", token_for(alice))
    assert f"Token accepted: sub={alice.better_auth_id!r}" in out


def test_expired_token_says_when_it_expired(alice: User, token_for: Callable[..., str]) -> None:
    with pytest.raises(CommandError, match=r"expired at .* UTC, (1[01]|9) minutes ago.*token_expired"):
        jwks_command("--token", token_for(alice, exp=int(time.time()) - 600))


def test_wrong_issuer_names_both_values(alice: User, token_for: Callable[..., str], jwks_server: Any) -> None:
    with pytest.raises(CommandError) as caught:
        jwks_command("--token", token_for(alice, iss="https://evil.example"))
    assert "'https://evil.example'" in str(caught.value)
    assert repr(jwks_server.base_url) in str(caught.value)


def test_unknown_kid_is_named(
    alice: User, claims_for: Callable[..., dict], key_pairs: dict[str, SigningKeyPair]
) -> None:
    with pytest.raises(CommandError, match=f"key '{key_pairs['ES256'].kid}'.*does not publish"):
        jwks_command("--token", key_pairs["ES256"].sign(claims_for(alice)))


def test_unreachable_jwks_fails_the_command(jwks: Any) -> None:
    jwks.fail(503)
    with pytest.raises(CommandError, match="Could not fetch the JWKS"):
        jwks_command()


def test_with_neither_a_jwks_nor_a_secret_the_command_fails_saying_what_to_set(settings: Any) -> None:
    settings.BETTER_AUTH = {}
    with pytest.raises(CommandError, match=r"Nothing to verify tokens with: set BETTER_AUTH_URL.*BETTER_AUTH_SECRET"):
        jwks_command()


def test_token_can_come_from_standard_input(
    alice: User, token_for: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from authn.management.commands.jwks import Command

    monkeypatch.setattr(Command, "stdin", io.StringIO(token_for(alice) + "\n"))
    assert f"Token accepted: sub={alice.better_auth_id!r}" in jwks_command("--token", "-")


@pytest.fixture
def secret_only(settings: Any) -> Any:
    """A peer's setup without Better Auth's JWKS: HS256 tokens signed with the shared secret, no iss or aud."""
    settings.BETTER_AUTH = {"SECRET": TEST_SECRET, "SECRET_FALLBACKS": [OLD_SECRET, OLDER_SECRET], "LEEWAY_SECONDS": 0}
    return settings


def secret_signed(user: User, secret: str, **overrides: Any) -> str:
    """An HS256 token like mint_token's for a setup without BETTER_AUTH_URL (so without iss and aud)."""
    now = int(time.time())
    return hs256_token({"sub": user.better_auth_id, "iat": now, "exp": now + 900, **overrides}, secret=secret)


def jwt_none_token(claims: dict[str, Any]) -> str:
    """An unsigned token (`alg: none`), which no configuration accepts."""

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def refusal(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        jwks_command(*args)
    return str(caught.value)


def test_a_minted_hs256_token_is_accepted_without_a_jwks(secret_only: Any, alice: User, jwks: Any) -> None:
    secret_only.DEBUG = True
    minted = StringIO()
    call_command("mint_token", alice.better_auth_id, stdout=minted)
    out = jwks_command("--token", minted.getvalue().strip())
    assert f"Token accepted: sub={alice.better_auth_id!r}" in out
    assert jwks.hits == 0


def test_with_only_a_secret_the_listing_says_no_jwks_is_configured_and_succeeds(secret_only: Any, jwks: Any) -> None:
    out = jwks_command()
    assert "No JWKS configured" in out
    assert "HS256 tokens are checked against BETTER_AUTH_SECRET and 2 fallbacks" in out
    assert jwks.hits == 0


def test_the_listing_says_whether_hs256_tokens_are_accepted_beside_the_jwks(settings: Any) -> None:
    assert "HS256 tokens are checked against BETTER_AUTH_SECRET." in jwks_command()
    settings.BETTER_AUTH = {**settings.BETTER_AUTH, "SECRET": ""}
    assert "No shared secret: HS256 tokens are refused" in jwks_command()


def test_an_hs256_token_is_checked_against_the_secret_when_a_jwks_is_configured_too(
    alice: User, claims_for: Callable[..., dict]
) -> None:
    out = jwks_command("--token", hs256_token(claims_for(alice)))
    assert "usable key" in out
    assert f"Token accepted: sub={alice.better_auth_id!r}" in out


@pytest.mark.parametrize("fallback", [OLD_SECRET, OLDER_SECRET])
def test_a_token_signed_with_a_fallback_secret_is_accepted(secret_only: Any, alice: User, fallback: str) -> None:
    assert f"Token accepted: sub={alice.better_auth_id!r}" in jwks_command("--token", secret_signed(alice, fallback))


def test_an_hs256_token_signed_with_a_wrong_secret_is_refused_with_an_explanation(
    secret_only: Any, alice: User
) -> None:
    message = refusal("--token", secret_signed(alice, OTHER_SECRET))
    assert "signed HS256, but with neither BETTER_AUTH_SECRET nor its 2 fallbacks" in message
    assert message.endswith("(token_signature_invalid)")


def test_a_wrong_secret_without_fallbacks_says_none_is_set(alice: User, claims_for: Callable[..., dict]) -> None:
    message = refusal("--token", hs256_token(claims_for(alice), secret=OTHER_SECRET))
    assert "signed HS256, but not with BETTER_AUTH_SECRET (and no fallback is set)" in message


def test_an_expired_hs256_token_says_when_it_expired(secret_only: Any, alice: User) -> None:
    token = mint_token(sub=alice.better_auth_id, ttl_seconds=60, now=time.time() - 660)
    with pytest.raises(CommandError, match=r"expired at .* UTC, (1[01]|9) minutes ago.*token_expired"):
        jwks_command("--token", token)


def test_an_hs256_token_from_another_issuer_names_both_values(
    alice: User, claims_for: Callable[..., dict], jwks_server: Any
) -> None:
    message = refusal("--token", hs256_token(claims_for(alice, iss="https://evil.example")))
    assert "'https://evil.example'" in message
    assert repr(jwks_server.base_url) in message
    assert message.endswith("(token_issuer_invalid)")


def test_an_hs256_token_with_an_audience_nobody_configured_says_which_setting_accepts_it(
    secret_only: Any, alice: User
) -> None:
    message = refusal("--token", secret_signed(alice, TEST_SECRET, aud="https://api.example.com"))
    assert "meant for 'https://api.example.com', but this service expects no audience" in message
    assert "BETTER_AUTH_AUDIENCE" in message


def test_an_hs256_token_without_a_secret_configured_says_to_set_one(
    settings: Any, alice: User, claims_for: Callable[..., dict]
) -> None:
    settings.BETTER_AUTH = {**settings.BETTER_AUTH, "SECRET": ""}
    message = refusal("--token", hs256_token(claims_for(alice)))
    assert "'HS256', which is only accepted when BETTER_AUTH_SECRET is set" in message
    assert message.endswith("(token_algorithm_not_allowed)")


def test_an_asymmetric_token_without_a_jwks_says_to_set_better_auth_url(
    secret_only: Any, alice: User, token_for: Callable[..., str], jwks: Any
) -> None:
    message = refusal("--token", token_for(alice))
    assert "'EdDSA', which is checked against Better Auth's JWKS: set BETTER_AUTH_URL" in message
    assert jwks.hits == 0


def test_an_unsigned_token_is_refused_naming_the_accepted_algorithms(secret_only: Any, alice: User) -> None:
    unsigned = jwt_none_token({"sub": alice.better_auth_id, "exp": int(time.time()) + 60})
    message = refusal("--token", unsigned)
    assert "signed with 'none', but this service accepts only HS256" in message


@pytest.mark.parametrize("secret", [TEST_SECRET, OLD_SECRET, OTHER_SECRET], ids=["current", "fallback", "wrong"])
def test_neither_a_secret_nor_the_token_is_ever_printed(secret_only: Any, alice: User, secret: str) -> None:
    token = secret_signed(alice, secret)
    out = StringIO()
    try:
        call_command("jwks", "--token", token, stdout=out, stderr=out)
    except CommandError as e:
        out.write(str(e))
    printed = out.getvalue()
    assert printed
    for hidden in (TEST_SECRET, OLD_SECRET, OLDER_SECRET, OTHER_SECRET, token, token.rsplit(".", 1)[1]):
        assert hidden not in printed


@pytest.mark.parametrize(
    ("secret", "overrides"),
    [
        (TEST_SECRET, {}),
        (OLD_SECRET, {}),
        (OTHER_SECRET, {}),
        (TEST_SECRET, {"exp": 1}),
        (TEST_SECRET, {"aud": "https://api.example.com"}),
        (TEST_SECRET, {"sub": " "}),
        (None, {}),
    ],
    ids=["current", "fallback", "wrong_secret", "expired", "another_audience", "blank_sub", "unsigned"],
)
def test_the_command_and_the_api_agree_on_hs256_tokens(
    secret_only: Any, alice: User, secret: str | None, overrides: dict[str, Any]
) -> None:
    if secret is None:
        token = jwt_none_token({"sub": alice.better_auth_id, "exp": int(time.time()) + 60})
    else:
        token = secret_signed(alice, secret, **overrides)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/me")
    api_verdict = "accepted" if response.status_code == 200 else response.json()["code"]
    assert command_verdict(token) == api_verdict


def command_verdict(token: str) -> str:
    """'accepted', or the code the command's explanation ends with."""
    try:
        jwks_command("--token", token)
    except CommandError as e:
        return str(e).rsplit("(", 1)[1].rstrip(")")
    return "accepted"
