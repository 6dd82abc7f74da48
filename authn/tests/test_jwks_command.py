"""The `jwks` command: lists the published keys and explains why a token is refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from authn.jwks import jwk_thumbprint
from authn.models import User
from conftest import SigningKeyPair


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


def test_no_jwks_configured_fails_the_command(settings: Any) -> None:
    settings.BETTER_AUTH = {"SECRET": "s" * 40}
    with pytest.raises(CommandError, match="BETTER_AUTH_URL"):
        jwks_command()


def test_token_can_come_from_standard_input(
    alice: User, token_for: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from authn.management.commands.jwks import Command

    monkeypatch.setattr(Command, "stdin", io.StringIO(token_for(alice) + "\n"))
    assert f"Token accepted: sub={alice.better_auth_id!r}" in jwks_command("--token", "-")
