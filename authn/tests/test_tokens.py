"""verify_token: what Better Auth signs is accepted, everything else is refused with a stable code."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from authn.tokens import (
    TokenAlgorithmNotAllowed,
    TokenAudienceInvalid,
    TokenClaimsInvalid,
    TokenExpired,
    TokenIssuerInvalid,
    TokenKeyUnknown,
    TokenMalformed,
    TokenNotYetValid,
    TokenSignatureInvalid,
    verify_token,
)
from conftest import TEST_SECRET, SigningKeyPair, better_auth_id, hs256_token

SUB = better_auth_id("carol")


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def claims(jwks_server: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": SUB, "iss": jwks_server.base_url, "aud": jwks_server.base_url, "iat": now, "exp": now + 900}


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "ES512", "RS256", "PS256"])
def test_each_better_auth_algorithm_is_accepted_with_the_key_that_declares_it(
    algorithm: str, key_pairs: dict[str, SigningKeyPair], jwks: Any, claims: dict[str, Any]
) -> None:
    jwks.publish(*key_pairs.values())
    assert verify_token(key_pairs[algorithm].sign(claims))["sub"] == SUB


def test_better_auth_default_claims_are_returned(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    claims.update(email="carol@example.com", name="Carol", emailVerified=False, image=None)
    assert verify_token(signing_key.sign(claims)) == claims


def test_expired_token_is_refused(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    claims["exp"] = int(time.time()) - 1
    with pytest.raises(TokenExpired):
        verify_token(signing_key.sign(claims))


def test_leeway_accepts_a_token_that_expired_within_it(
    settings: Any, signing_key: SigningKeyPair, claims: dict[str, Any]
) -> None:
    settings.BETTER_AUTH = {**settings.BETTER_AUTH, "LEEWAY_SECONDS": 30}
    claims["exp"] = int(time.time()) - 5
    assert verify_token(signing_key.sign(claims))["sub"] == SUB


def test_nbf_in_the_future_is_refused(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    claims["nbf"] = int(time.time()) + 120
    with pytest.raises(TokenNotYetValid):
        verify_token(signing_key.sign(claims))


def test_iat_in_the_future_is_refused(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    claims["iat"] = int(time.time()) + 3600
    with pytest.raises(TokenNotYetValid):
        verify_token(signing_key.sign(claims))


@pytest.mark.parametrize("claim", ["exp", "sub"])
def test_missing_required_claim_is_refused(claim: str, signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    del claims[claim]
    with pytest.raises(TokenClaimsInvalid):
        verify_token(signing_key.sign(claims))


@pytest.mark.parametrize("sub", ["", "   ", 42, {"id": SUB}, ["a"], "x" * 256, "x" * 5_000])
def test_sub_that_is_not_a_short_non_blank_string_is_refused(
    sub: Any, signing_key: SigningKeyPair, claims: dict[str, Any]
) -> None:
    claims["sub"] = sub
    with pytest.raises(TokenClaimsInvalid):
        verify_token(signing_key.sign(claims))


def test_sub_of_255_characters_is_accepted(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    claims["sub"] = "s" * 255
    assert verify_token(signing_key.sign(claims))["sub"] == "s" * 255


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_time_claim_that_is_a_string_is_refused(
    claim: str, signing_key: SigningKeyPair, claims: dict[str, Any]
) -> None:
    claims[claim] = str(int(time.time()) + (900 if claim == "exp" else -10))
    with pytest.raises(TokenClaimsInvalid):
        verify_token(signing_key.sign(claims))


def test_wrong_issuer_is_refused_with_both_values(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    claims["iss"] = "https://evil.example"
    with pytest.raises(TokenIssuerInvalid) as caught:
        verify_token(signing_key.sign(claims))
    assert caught.value.context == {"expected": claims["aud"], "got": "https://evil.example"}


def test_missing_issuer_is_refused(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    del claims["iss"]
    with pytest.raises(TokenClaimsInvalid):
        verify_token(signing_key.sign(claims))


@pytest.mark.parametrize("aud", ["https://other.example", ["https://other.example", "https://third.example"]])
def test_audience_without_ours_is_refused(aud: Any, signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    claims["aud"] = aud
    with pytest.raises(TokenAudienceInvalid):
        verify_token(signing_key.sign(claims))


def test_audience_list_containing_ours_is_accepted(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    claims["aud"] = ["https://other.example", claims["aud"]]
    assert verify_token(signing_key.sign(claims))["sub"] == SUB


def test_configured_issuer_and_audience_list_replace_the_url_origin(
    settings: Any, signing_key: SigningKeyPair, claims: dict[str, Any]
) -> None:
    settings.BETTER_AUTH = {
        **settings.BETTER_AUTH,
        "ISSUER": "https://auth.example",
        "AUDIENCE": ["https://api.example", "https://mobile.example"],
    }
    claims.update(iss="https://auth.example", aud="https://mobile.example")
    assert verify_token(signing_key.sign(claims))["sub"] == SUB
    claims["iss"] = settings.BETTER_AUTH["URL"]
    with pytest.raises(TokenIssuerInvalid):
        verify_token(signing_key.sign(claims))


def test_unknown_kid_is_refused(key_pairs: dict[str, SigningKeyPair], claims: dict[str, Any]) -> None:
    stranger = SigningKeyPair(
        kid="unpublished0123456789abcdefghijk", algorithm="EdDSA", private_key=key_pairs["EdDSA"].private_key
    )
    with pytest.raises(TokenKeyUnknown):
        verify_token(stranger.sign(claims))


@pytest.mark.parametrize("kid", [["a", "b"], {"k": 1}, 7, None, "", "k" * 300])
def test_kid_that_is_not_a_short_string_is_refused(
    kid: Any, signing_key: SigningKeyPair, claims: dict[str, Any]
) -> None:
    header = {"alg": "EdDSA", "kid": kid}
    token = f"{b64(header)}.{b64(claims)}.{b64(b'sig')}"
    with pytest.raises(TokenMalformed):
        verify_token(token)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "", "HS512", "RS512", "ES384"])
def test_algorithms_outside_the_allow_list_are_refused(
    alg: str, signing_key: SigningKeyPair, claims: dict[str, Any]
) -> None:
    token = f"{b64({'alg': alg, 'kid': signing_key.kid})}.{b64(claims)}."
    with pytest.raises(TokenAlgorithmNotAllowed):
        verify_token(token)


def test_header_alg_that_disagrees_with_the_key_is_refused(
    key_pairs: dict[str, SigningKeyPair], signing_key: SigningKeyPair, claims: dict[str, Any]
) -> None:
    # Signed with a real ES256 key, but naming the published EdDSA key.
    impostor = SigningKeyPair(kid=signing_key.kid, algorithm="ES256", private_key=key_pairs["ES256"].private_key)
    with pytest.raises(TokenAlgorithmNotAllowed):
        verify_token(impostor.sign(claims))


def test_signature_of_another_key_with_the_same_kid_is_refused(
    key_pairs: dict[str, SigningKeyPair], signing_key: SigningKeyPair, claims: dict[str, Any]
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    forger = SigningKeyPair(kid=signing_key.kid, algorithm="EdDSA", private_key=ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(TokenSignatureInvalid):
        verify_token(forger.sign(claims))


def test_stripped_signature_is_refused(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    header, payload, _ = signing_key.sign(claims).split(".")
    with pytest.raises(TokenSignatureInvalid):
        verify_token(f"{header}.{payload}.")


def test_hs256_signed_with_the_public_key_is_refused(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    public_pem = signing_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = f"{b64({'alg': 'HS256', 'kid': signing_key.kid})}.{b64(claims)}"
    import hashlib
    import hmac

    signature = hmac.new(public_pem, token.encode(), hashlib.sha256).digest()
    with pytest.raises(TokenSignatureInvalid):
        verify_token(f"{token}.{b64(signature)}")


def test_hs256_with_the_shared_secret_is_accepted(claims: dict[str, Any]) -> None:
    assert verify_token(hs256_token(claims))["sub"] == SUB


def test_hs256_with_a_fallback_secret_is_accepted(settings: Any, claims: dict[str, Any]) -> None:
    old = "previous-shared-secret-0123456789-abcdefghijklmn"
    settings.BETTER_AUTH = {**settings.BETTER_AUTH, "SECRET_FALLBACKS": [old]}
    assert verify_token(hs256_token(claims, old))["sub"] == SUB


def test_hs256_with_an_unknown_secret_is_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(TokenSignatureInvalid):
        verify_token(hs256_token(claims, "some-other-secret-0123456789-abcdefghijklmnopq"))


def test_hs256_is_refused_when_no_secret_is_configured(settings: Any, claims: dict[str, Any]) -> None:
    settings.BETTER_AUTH = {**settings.BETTER_AUTH, "SECRET": ""}
    with pytest.raises(TokenAlgorithmNotAllowed):
        verify_token(hs256_token(claims))


def test_hs256_must_carry_issuer_and_audience_when_a_url_is_configured(claims: dict[str, Any]) -> None:
    del claims["aud"]
    with pytest.raises(TokenClaimsInvalid):
        verify_token(hs256_token(claims))


def test_secret_only_deployment_accepts_sub_and_exp_tokens(settings: Any) -> None:
    settings.BETTER_AUTH = {"SECRET": TEST_SECRET}
    token = hs256_token({"sub": SUB, "exp": int(time.time()) + 60})
    assert verify_token(token)["sub"] == SUB


def test_secret_only_deployment_refuses_asymmetric_tokens(
    settings: Any, signing_key: SigningKeyPair, claims: dict[str, Any], jwks: Any
) -> None:
    settings.BETTER_AUTH = {"SECRET": TEST_SECRET}
    with pytest.raises(TokenAlgorithmNotAllowed):
        verify_token(signing_key.sign(claims))
    assert jwks.hits == 0


@pytest.mark.parametrize("header_name", ["jku", "x5u"])
def test_key_url_headers_are_ignored_and_never_fetched(
    header_name: str, jwks_server: Any, jwks: Any, claims: dict[str, Any]
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    attacker = SigningKeyPair(
        kid="attacker0123456789abcdefghijklmn", algorithm="EdDSA", private_key=ed25519.Ed25519PrivateKey.generate()
    )
    token = attacker.sign(claims, headers={header_name: jwks_server.base_url + "/attacker/jwks"})
    with pytest.raises(TokenKeyUnknown):
        verify_token(token)
    assert jwks.hits == 1  # the configured JWKS only: a fetch of the attacker's URL would count too


def test_embedded_jwk_header_is_ignored(claims: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    attacker = SigningKeyPair(
        kid="attacker0123456789abcdefghijklmn", algorithm="EdDSA", private_key=ed25519.Ed25519PrivateKey.generate()
    )
    with pytest.raises(TokenKeyUnknown):
        verify_token(attacker.sign(claims, headers={"jwk": attacker.public_jwk}))


def test_unknown_critical_extension_is_refused(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    with pytest.raises(TokenMalformed):
        verify_token(signing_key.sign(claims, headers={"crit": ["exp-ext"], "exp-ext": True}))


def test_duplicate_payload_members_are_refused(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    payload = json.dumps(claims)[:-1] + f', "sub": "{better_auth_id("mallory")}"}}'
    header = b64({"alg": "EdDSA", "kid": signing_key.kid})
    signing_input = f"{header}.{b64(payload.encode())}"
    signature = signing_key.private_key.sign(signing_input.encode())
    with pytest.raises(TokenMalformed):
        verify_token(f"{signing_input}.{b64(signature)}")


def test_duplicate_header_members_are_refused(signing_key: SigningKeyPair, claims: dict[str, Any]) -> None:
    header = b64(f'{{"alg": "EdDSA", "kid": "{signing_key.kid}", "alg": "none"}}'.encode())
    with pytest.raises(TokenMalformed):
        verify_token(f"{header}.{b64(claims)}.{b64(b'sig')}")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        "a.b.c.d.e",
        "!!!.???.###",
        "eyJhbGciOiJFZERTQSJ9.%%%.abc",
        b64(b"[1, 2]") + ".e30.",
        b64(b"not json") + ".e30.",
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenMalformed):
        verify_token(token)


def test_token_over_the_size_limit_is_refused_before_parsing(
    signing_key: SigningKeyPair, claims: dict[str, Any]
) -> None:
    claims["padding"] = "x" * 1_000_000
    with pytest.raises(TokenMalformed):
        verify_token(signing_key.sign(claims))
