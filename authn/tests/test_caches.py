"""Budgets of the authenticated hot path: no signature check for a token already verified, no query for a
user seen recently, one JWKS fetch per TTL under load."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from authn import tokens
from authn.models import User
from authn.services import recent_users, user_from_claims
from authn.tokens import TokenKeyUnknown, TokenSignatureInvalid, VerifiedTokens, verified_tokens, verify_token
from conftest import FakeTimer, SigningKeyPair, hs256_token


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature check verify_token makes."""
    calls: list[str] = []
    real = tokens._decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(tokens, "_decode", counted)
    return calls


def test_a_token_already_verified_is_not_verified_again(
    alice: User, token_for: Callable[..., str], decodes: list[str]
) -> None:
    token = token_for(alice)
    for _ in range(5):
        assert verify_token(token)["sub"] == alice.better_auth_id
    assert len(decodes) == 1


def test_shared_secret_tokens_are_cached_too(alice: User, claims_for: Callable[..., dict], decodes: list[str]) -> None:
    token = hs256_token(claims_for(alice))
    verify_token(token)
    verify_token(token)
    assert len(decodes) == 1


def test_a_cached_token_is_never_used_past_its_exp(
    alice: User, token_for: Callable[..., str], decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = int(time.time()) + 600
    token = token_for(alice, exp=exp)
    verify_token(token)
    monkeypatch.setattr(verified_tokens, "timer", lambda: exp - 0.001)
    verify_token(token)
    assert len(decodes) == 1
    monkeypatch.setattr(verified_tokens, "timer", lambda: exp)
    assert verified_tokens.get(hashlib.sha256(token.encode()).digest()) is None
    verify_token(token)  # verified afresh (the real clock is still before exp)
    assert len(decodes) == 2


def test_a_secret_removed_from_the_settings_invalidates_the_tokens_it_verified(
    alice: User, claims_for: Callable[..., dict], settings: Any
) -> None:
    # The receiver that clears the cache lives in tokens.py, beside the cache, not in conf.py.
    token = hs256_token(claims_for(alice))
    verify_token(token)
    settings.BETTER_AUTH = {**settings.BETTER_AUTH, "SECRET": "a-new-shared-secret-0123456789-abcdefghijklmn"}
    assert len(verified_tokens) == 0
    with pytest.raises(TokenSignatureInvalid):
        verify_token(token)


def test_rejections_are_not_cached(alice: User, claims_for: Callable[..., dict], decodes: list[str]) -> None:
    forged = hs256_token(claims_for(alice), "not-the-secret-0123456789-abcdefghijklmnopqrst")
    for _ in range(3):
        with pytest.raises(TokenSignatureInvalid):
            verify_token(forged)
    assert len(decodes) == 3
    assert len(verified_tokens) == 0


def test_a_key_removed_from_the_jwks_invalidates_the_tokens_it_verified(
    alice: User, token_for: Callable[..., str], key_pairs: dict[str, SigningKeyPair], jwks: Any
) -> None:
    from authn.tokens import configured_jwks_client

    clock = FakeTimer()
    configured_jwks_client().timer = clock
    token = token_for(alice)
    verify_token(token)
    jwks.publish(key_pairs["ES256"])  # the EdDSA key is gone
    clock.advance(301)  # the JWKS cache expires
    with pytest.raises(TokenKeyUnknown):
        verify_token(token)
    assert len(verified_tokens) == 0


def test_the_verified_token_cache_is_bounded_least_recently_used_first() -> None:
    cache = VerifiedTokens(max_entries=3)
    exp = time.time() + 600
    for n in range(5):
        cache.put(bytes([n]), None, {"sub": str(n), "exp": exp})
    assert len(cache) == 3
    assert cache.get(bytes([0])) is None
    assert cache.get(bytes([4])) is not None


def test_a_recently_seen_user_costs_no_query(
    alice: User, claims_for: Callable[..., dict], django_assert_num_queries: Any
) -> None:
    user_from_claims(claims_for(alice))
    with django_assert_num_queries(0):
        assert user_from_claims(claims_for(alice)).pk == alice.pk


def test_a_changed_email_or_name_goes_to_the_database(alice: User, claims_for: Callable[..., dict]) -> None:
    user_from_claims(claims_for(alice))
    assert user_from_claims(claims_for(alice, name="Alice Cooper")).name == "Alice Cooper"
    assert User.objects.get(pk=alice.pk).name == "Alice Cooper"


def test_cached_users_expire_so_last_seen_keeps_being_written(
    alice: User, claims_for: Callable[..., dict], monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    clock = FakeTimer()
    monkeypatch.setattr(recent_users, "timer", clock)
    user_from_claims(claims_for(alice))
    clock.advance(recent_users.lifetime)
    with django_assert_num_queries(1):
        user_from_claims(claims_for(alice))


def test_saving_a_user_drops_it_from_the_cache(alice: User, claims_for: Callable[..., dict], token_for: Any) -> None:
    user_from_claims(claims_for(alice))
    alice.is_active = False
    alice.save()  # as the admin does
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(alice)}")
    assert client.get("/api/me").json()["code"] == "user_inactive"


def test_each_request_gets_its_own_user_instance(alice: User, claims_for: Callable[..., dict]) -> None:
    first = user_from_claims(claims_for(alice))
    first.name = "mutated by a view"
    assert user_from_claims(claims_for(alice)).name == "Alice"


def test_the_jwks_is_fetched_once_per_ttl_under_load(
    alice: User, claims_for: Callable[..., dict], signing_key: SigningKeyPair, jwks: Any
) -> None:
    from authn.tokens import configured_jwks_client

    clock = FakeTimer()
    configured_jwks_client().timer = clock
    barrier = threading.Barrier(8)

    def load() -> None:
        barrier.wait()
        for n in range(25):
            assert verify_token(signing_key.sign(claims_for(alice, jti=f"{threading.get_ident()}-{n}")))

    for _ in range(2):  # two TTL periods
        threads = [threading.Thread(target=load) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        clock.advance(300)
    assert jwks.hits == 2
