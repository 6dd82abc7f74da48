"""Verifying Better Auth JWTs: the key comes from configuration, never from the token."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jwt
from django.core.signals import setting_changed
from django.dispatch import receiver
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidSubjectError,
    InvalidTokenError,
    MissingRequiredClaimError,
)
from rest_framework_simplejwt.backends import TokenBackend

from authn.conf import ASYMMETRIC_ALGORITHMS, SHARED_SECRET_ALGORITHM, AuthSettings, auth_settings
from authn.jwks import JWKSClient, JWKSUnavailable, RedisKeySets, SigningKey, SigningKeyNotFound, jwks_client

MAX_SUB_LENGTH = 255
MAX_KID_LENGTH = 256
# A compact JWS: three base64url segments. Anything else (JWE's five, stray characters) is refused early.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


# The deployment's last good key sets, in Redis when REDIS_URL is set (every process sees the same ones).
shared_key_sets = RedisKeySets()


class TokenError(Exception):
    """A token was refused; `code` is the stable machine-readable reason, `message` is safe to show."""

    code = "token_invalid"
    message = "The token is invalid."

    def __init__(self, message: str | None = None, **context: Any) -> None:
        self.message = message or type(self).message
        self.context = context
        super().__init__(self.message)


class TokenMalformed(TokenError):
    code = "token_malformed"
    message = "The token is not a well-formed JWT."


class TokenAlgorithmNotAllowed(TokenError):
    code = "token_algorithm_not_allowed"
    message = "The token's signing algorithm is not accepted."


class TokenKeyUnknown(TokenError):
    code = "token_key_unknown"
    message = "The token was signed by a key this service does not know."


class TokenSignatureInvalid(TokenError):
    code = "token_signature_invalid"
    message = "The token's signature is invalid."


class TokenExpired(TokenError):
    code = "token_expired"
    message = "The token has expired."


class TokenNotYetValid(TokenError):
    code = "token_not_yet_valid"
    message = "The token is not valid yet."


class TokenIssuerInvalid(TokenError):
    code = "token_issuer_invalid"
    message = "The token was issued by an issuer this service does not accept."


class TokenAudienceInvalid(TokenError):
    code = "token_audience_invalid"
    message = "The token is not meant for this service."


class TokenClaimsInvalid(TokenError):
    code = "token_claims_invalid"
    message = "The token's claims are missing or invalid."


class VerificationUnavailable(Exception):
    """No key to check an asymmetric token has ever been fetched: answer 503, never accept."""


class MintingUnavailable(Exception):
    """No shared secret is configured, so no token can be minted."""


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def _strict_json(data: bytes | str) -> Any:
    return json.loads(data, object_pairs_hook=_reject_duplicate_keys)


class _StrictPyJWT(jwt.PyJWT):
    """PyJWT, with a payload whose duplicate members are an error rather than last-one-wins."""

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        try:
            payload = _strict_json(decoded["payload"])
        except (ValueError, RecursionError) as e:
            raise DecodeError(f"Invalid payload string: {e}") from e
        if not isinstance(payload, dict):
            raise DecodeError("Invalid payload string: must be a json object")
        return payload


_pyjwt = _StrictPyJWT()


def read_header(token: str) -> dict[str, Any]:
    """Parse the JOSE header only: it names the key to verify with. The payload is not read here."""
    if not COMPACT_JWS.fullmatch(token):
        raise TokenMalformed()
    segment = token.split(".", 1)[0]
    try:
        header = _strict_json(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, RecursionError) as e:
        raise TokenMalformed() from e
    if not isinstance(header, dict):
        raise TokenMalformed()
    return header


class VerifiedTokens:
    """A bounded LRU of verified claims, keyed by the SHA-256 of the whole token, each kept until its `exp`.

    Only acceptances are stored. An entry of an asymmetric token remembers its key, and is dropped as soon
    as the JWKS no longer publishes that key. `timer` is replaced in tests.
    """

    timer: Callable[[], float] = staticmethod(time.time)

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, tuple[float, SigningKey | None, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> tuple[SigningKey | None, dict[str, Any]] | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if self.timer() >= entry[0]:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return entry[1], entry[2]

    def put(self, digest: bytes, key: SigningKey | None, claims: dict[str, Any]) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[digest] = (float(claims["exp"]), key, claims)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def discard(self, digest: bytes) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


verified_tokens = VerifiedTokens(max_entries=10_000)


@receiver(setting_changed)
def _forget_verified_tokens(*, setting: str, **kwargs: Any) -> None:
    # Claims verified under other keys, secrets, issuer or audience prove nothing now. This receiver lives
    # beside the cache it clears, so conf.py (which tokens.py imports) never has to import tokens.py.
    if setting == "BETTER_AUTH":
        verified_tokens.clear()


def verify_token(token: str) -> dict[str, Any]:
    """Verify `token` with the configured keys and return its claims; raise a TokenError subclass.

    A token verified before, still within its `exp` and (if asymmetric) its key still published, is
    answered from `verified_tokens` without checking the signature again.
    """
    conf = auth_settings()
    if len(token) > conf.max_token_bytes:
        raise TokenMalformed("The token is too large.")
    digest = token_digest(token)
    cached = verified_tokens.get(digest)
    if cached is not None:
        if _still_published(cached[0], conf):
            return dict(cached[1])
        verified_tokens.discard(digest)
    header = read_header(token)
    algorithm = header.get("alg")
    key: SigningKey | None = None
    if algorithm == SHARED_SECRET_ALGORITHM and conf.secrets:
        claims = _verify_with_secrets(token, conf)
    elif algorithm in ASYMMETRIC_ALGORITHMS and conf.jwks_url:
        key = _signing_key(header, conf)
        claims = _decode(token, key.jwk, key.algorithm, conf)
    else:
        raise TokenAlgorithmNotAllowed(header_alg=algorithm, accepted=conf.accepted_algorithms)
    _check_claims(claims)
    verified_tokens.put(digest, key, claims)
    return dict(claims)


def token_digest(token: str) -> bytes:
    """What a token is remembered by: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).digest()


def is_known_good(digest: bytes) -> bool:
    """Whether the token of this digest was verified by this process and is still within its `exp`."""
    return verified_tokens.get(digest) is not None


def _still_published(key: SigningKey | None, conf: AuthSettings) -> bool:
    """Whether the key that verified a cached token is still in the JWKS (refreshed when stale, as usual)."""
    if key is None:
        return True  # a shared-secret token: the secrets change only with the settings, which clear the cache
    try:
        current = configured_jwks_client(conf).get_signing_key(key.kid)
    except (SigningKeyNotFound, JWKSUnavailable):
        return False
    return current is key or current.data == key.data


def mint_token(*, sub: str, email: str = "", name: str = "", ttl_seconds: int = 900, now: float | None = None) -> str:
    """An HS256 token shaped like Better Auth's (sub, iss, aud, iat, exp, email, name), signed with the secret.

    For local development, smoke tests and scripts; the API verifies it like any shared-secret token.
    """
    conf = auth_settings()
    if not conf.secrets:
        raise MintingUnavailable("BETTER_AUTH_SECRET is not set, so there is nothing to sign tokens with.")
    issued_at = int(now if now is not None else time.time())
    backend = TokenBackend(
        SHARED_SECRET_ALGORITHM,
        signing_key=conf.secrets[0],
        audience=conf.audience[0] if conf.audience else None,
        issuer=conf.issuer or None,
    )
    payload = {"sub": sub, "email": email, "name": name, "iat": issued_at, "exp": issued_at + ttl_seconds}
    return backend.encode(payload)


def configured_jwks_client(conf: AuthSettings | None = None) -> JWKSClient:
    """The process-wide JWKS client for the current settings."""
    conf = conf or auth_settings()
    return jwks_client(
        conf.jwks_url,
        algorithms=ASYMMETRIC_ALGORITHMS,
        cache_seconds=conf.jwks_cache_seconds,
        refetch_cooldown_seconds=conf.jwks_refetch_cooldown_seconds,
        timeout_seconds=conf.jwks_timeout_seconds,
        shared=shared_key_sets,
    )


def _signing_key(header: dict[str, Any], conf: AuthSettings) -> SigningKey:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
        raise TokenMalformed("The token names no valid key id (kid).")
    try:
        key = configured_jwks_client(conf).get_signing_key(kid)
    except SigningKeyNotFound as e:
        raise TokenKeyUnknown(kid=kid) from e
    except JWKSUnavailable as e:
        raise VerificationUnavailable(str(e)) from e
    if header.get("alg") != key.algorithm:
        raise TokenAlgorithmNotAllowed(
            "The token's algorithm does not match its key.", header_alg=header.get("alg"), key_alg=key.algorithm
        )
    return key


def _verify_with_secrets(token: str, conf: AuthSettings) -> dict[str, Any]:
    # The current secret first, then the fallbacks, the way Django's SECRET_KEY_FALLBACKS works.
    for secret in conf.secrets:
        try:
            return _decode(token, secret, SHARED_SECRET_ALGORITHM, conf)
        except TokenSignatureInvalid:
            continue
    raise TokenSignatureInvalid(header_alg=SHARED_SECRET_ALGORITHM, secrets_tried=len(conf.secrets))


def _decode(token: str, key: Any, algorithm: str, conf: AuthSettings) -> dict[str, Any]:
    required = ["exp", "sub"] + (["iss"] if conf.issuer else []) + (["aud"] if conf.audience else [])
    try:
        return _pyjwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            options={"require": required},
            issuer=conf.issuer or None,
            audience=list(conf.audience) or None,
            leeway=conf.leeway_seconds,
        )
    except ExpiredSignatureError as e:
        # PyJWT reads `"exp": true` as 1, long expired: it is no number.
        raise TokenExpired(exp=_type_checked_claims(token, key, algorithm).get("exp")) from e
    except ImmatureSignatureError as e:
        claims = _type_checked_claims(token, key, algorithm)  # `"nbf": true` likewise
        raise TokenNotYetValid(nbf=claims.get("nbf"), iat=claims.get("iat")) from e
    except InvalidIssuerError as e:
        got = _verified_claims_or_empty(token, key, algorithm).get("iss")
        raise TokenIssuerInvalid(expected=conf.issuer, got=got) from e
    except InvalidAudienceError as e:
        got = _verified_claims_or_empty(token, key, algorithm).get("aud")
        raise TokenAudienceInvalid(expected=list(conf.audience), got=got) from e
    except MissingRequiredClaimError as e:
        raise TokenClaimsInvalid(f"The token has no {e.claim!r} claim.", claim=e.claim) from e
    except (InvalidSubjectError, InvalidIssuedAtError) as e:
        _type_checked_claims(token, key, algorithm)  # which claim, when it is of the wrong type
        raise TokenClaimsInvalid() from e
    except InvalidSignatureError as e:
        raise TokenSignatureInvalid() from e
    except InvalidAlgorithmError as e:
        raise TokenAlgorithmNotAllowed() from e
    except DecodeError as e:
        if _type_checked_claims(token, key, algorithm):  # signed and readable: a claim PyJWT found of the wrong type
            raise TokenClaimsInvalid() from e
        raise TokenMalformed() from e
    except (InvalidTokenError, InvalidKeyError) as e:
        raise TokenMalformed() from e


def _type_checked_claims(token: str, key: Any, algorithm: str) -> dict[str, Any]:
    """`_verified_claims_or_empty`, and TokenClaimsInvalid naming a claim of the wrong type (`_check_claims`)."""
    claims = _verified_claims_or_empty(token, key, algorithm)
    if claims:
        _check_claims(claims)
    return claims


def _verified_claims_or_empty(token: str, key: Any, algorithm: str) -> dict[str, Any]:
    """The signature-verified claims, for explaining an issuer or audience mismatch."""
    try:
        return _pyjwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
    except (InvalidTokenError, InvalidKeyError):
        return {}


def storable(text: str) -> bool:
    """Text a database can keep: no NUL, no lone surrogate (which cannot be encoded)."""
    return "\x00" not in text and not any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def _check_claims(claims: dict[str, Any]) -> None:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_SUB_LENGTH or not storable(sub):
        raise TokenClaimsInvalid("The token's subject (sub) must be a non-blank string of at most 255 characters.")
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TokenClaimsInvalid(f"The token's {name!r} claim must be a number.", claim=name)
