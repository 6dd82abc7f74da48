"""JWKSClient: cached, one refetch per cooldown, surviving outages; always against a real HTTP server."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from authn.conf import ASYMMETRIC_ALGORITHMS
from authn.jwks import JWKSClient, JWKSFetchError, JWKSUnavailable, SigningKeyNotFound, parse_signing_key
from conftest import FakeTimer, SigningKeyPair


def new_client(url: str, *, timeout_seconds: float) -> JWKSClient:
    """A client with the production defaults: a 300 s cache and a 10 s refetch cooldown."""
    return JWKSClient(
        url,
        algorithms=ASYMMETRIC_ALGORITHMS,
        cache_seconds=300,
        refetch_cooldown_seconds=10,
        timeout_seconds=timeout_seconds,
    )


@pytest.fixture
def timer() -> FakeTimer:
    return FakeTimer()


@pytest.fixture
def client(jwks_server: Any, jwks: Any, timer: FakeTimer) -> JWKSClient:
    client = new_client(jwks_server.jwks_url, timeout_seconds=2)
    client.timer = timer
    return client


def test_known_kid_is_served_from_cache_after_one_fetch(
    client: JWKSClient, signing_key: SigningKeyPair, jwks: Any
) -> None:
    for _ in range(5):
        assert client.get_signing_key(signing_key.kid).algorithm == "EdDSA"
    assert jwks.hits == 1


def test_keys_are_refetched_once_the_cache_expires(
    client: JWKSClient, signing_key: SigningKeyPair, jwks: Any, timer: FakeTimer
) -> None:
    client.get_signing_key(signing_key.kid)
    timer.advance(299)
    client.get_signing_key(signing_key.kid)
    assert jwks.hits == 1
    timer.advance(2)
    client.get_signing_key(signing_key.kid)
    assert jwks.hits == 2


def test_unknown_kid_refetches_and_finds_a_newly_published_key(
    client: JWKSClient, key_pairs: dict[str, SigningKeyPair], signing_key: SigningKeyPair, jwks: Any, timer: FakeTimer
) -> None:
    client.get_signing_key(signing_key.kid)
    jwks.publish(signing_key, key_pairs["ES256"])
    timer.advance(10)
    assert client.get_signing_key(key_pairs["ES256"].kid).algorithm == "ES256"
    assert jwks.hits == 2


def test_flood_of_unknown_kids_fetches_once_per_cooldown(
    client: JWKSClient, signing_key: SigningKeyPair, jwks: Any, timer: FakeTimer
) -> None:
    client.get_signing_key(signing_key.kid)
    for n in range(200):
        with pytest.raises(SigningKeyNotFound):
            client.get_signing_key(f"random-{n}")
    assert jwks.hits == 1  # the warm-up fetch was less than a cooldown ago
    timer.advance(10)
    for n in range(200):
        with pytest.raises(SigningKeyNotFound):
            client.get_signing_key(f"random-after-cooldown-{n}")
    assert jwks.hits == 2


def test_concurrent_unknown_kids_cause_a_single_fetch(
    client: JWKSClient, signing_key: SigningKeyPair, jwks: Any
) -> None:
    barrier = threading.Barrier(16)
    outcomes: list[str] = []

    def lookup(n: int) -> None:
        barrier.wait()
        try:
            client.get_signing_key(signing_key.kid if n % 2 else f"unknown-{n}")
            outcomes.append("found")
        except SigningKeyNotFound:
            outcomes.append("unknown")

    threads = [threading.Thread(target=lookup, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["found"] * 8 + ["unknown"] * 8
    assert jwks.hits == 1


def test_cached_keys_keep_working_when_a_refresh_fails(
    client: JWKSClient, signing_key: SigningKeyPair, jwks: Any, timer: FakeTimer
) -> None:
    client.get_signing_key(signing_key.kid)
    jwks.fail(503)
    timer.advance(301)
    assert client.get_signing_key(signing_key.kid).kid == signing_key.kid
    assert jwks.hits == 2
    timer.advance(1)  # still stale, but within the cooldown of the failed attempt: no new fetch
    client.get_signing_key(signing_key.kid)
    assert jwks.hits == 2


def test_recovers_when_the_issuer_comes_back(
    client: JWKSClient, key_pairs: dict[str, SigningKeyPair], signing_key: SigningKeyPair, jwks: Any, timer: FakeTimer
) -> None:
    client.get_signing_key(signing_key.kid)
    jwks.fail(503)
    timer.advance(301)
    client.get_signing_key(signing_key.kid)
    jwks.publish(signing_key, key_pairs["RS256"])
    timer.advance(10)
    assert client.get_signing_key(key_pairs["RS256"].kid).algorithm == "RS256"


def test_no_key_ever_fetched_is_unavailable_not_unknown(
    client: JWKSClient, signing_key: SigningKeyPair, jwks: Any
) -> None:
    jwks.fail(503)
    with pytest.raises(JWKSUnavailable):
        client.get_signing_key(signing_key.kid)


def test_key_removed_from_the_jwks_stops_working_once_the_cache_expires(
    client: JWKSClient, key_pairs: dict[str, SigningKeyPair], signing_key: SigningKeyPair, jwks: Any, timer: FakeTimer
) -> None:
    client.get_signing_key(signing_key.kid)
    jwks.publish(key_pairs["ES256"])
    timer.advance(301)
    with pytest.raises(SigningKeyNotFound):
        client.get_signing_key(signing_key.kid)


def test_response_larger_than_the_limit_is_a_failed_fetch(client: JWKSClient, jwks: Any) -> None:
    jwks.body = b'{"keys": [], "pad": "' + b"x" * (client.max_response_bytes + 10) + b'"}'
    with pytest.raises(JWKSFetchError):
        client.fetch()


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"keys": {}}', b'{"no": "keys"}'])
def test_response_that_is_not_a_key_set_is_a_failed_fetch(body: bytes, client: JWKSClient, jwks: Any) -> None:
    jwks.body = body
    with pytest.raises(JWKSFetchError):
        client.fetch()


def test_unreachable_issuer_is_a_failed_fetch() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        client = new_client(f"http://127.0.0.1:{port}/api/auth/jwks", timeout_seconds=1)
        with pytest.raises(JWKSFetchError):
            client.fetch()


def test_silent_issuer_times_out() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # accepts the connection, never answers
        client = new_client(f"http://127.0.0.1:{sock.getsockname()[1]}/api/auth/jwks", timeout_seconds=0.2)
        with pytest.raises(JWKSFetchError):
            client.fetch()


def test_redirect_is_not_followed(jwks_server: Any, jwks: Any) -> None:
    client = new_client(jwks_server.base_url + "/redirect-to-jwks", timeout_seconds=1)
    with pytest.raises(JWKSFetchError):
        client.fetch()  # the redirect points at a valid JWKS, and is still refused
    assert jwks.paths == ["/redirect-to-jwks"]


def test_an_error_status_is_a_failed_fetch(jwks_server: Any, jwks: Any) -> None:
    with pytest.raises(JWKSFetchError):
        new_client(jwks_server.base_url + "/elsewhere", timeout_seconds=1).fetch()


def test_non_http_url_is_never_opened(tmp_path: Any) -> None:
    path = tmp_path / "jwks.json"
    path.write_text('{"keys": []}')
    client = new_client(path.as_uri(), timeout_seconds=1)
    with pytest.raises(JWKSFetchError):
        client.fetch()


def test_better_auth_key_shapes_are_usable(key_pairs: dict[str, SigningKeyPair]) -> None:
    for algorithm, pair in key_pairs.items():
        key = parse_signing_key(pair.public_jwk, ASYMMETRIC_ALGORITHMS)
        assert key is not None
        assert key.algorithm == algorithm
        assert key.kid == pair.kid


def test_ec_and_okp_keys_without_alg_get_the_only_algorithm_they_fit(key_pairs: dict[str, SigningKeyPair]) -> None:
    for algorithm in ("EdDSA", "ES256", "ES512"):
        jwk = {k: v for k, v in key_pairs[algorithm].public_jwk.items() if k != "alg"}
        assert parse_signing_key(jwk, ASYMMETRIC_ALGORITHMS).algorithm == algorithm  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "change",
    [
        {"alg": None},  # RSA without alg: RS256 or PS256 would be a guess
        {"alg": "HS256"},
        {"alg": "RS512"},
        {"use": "enc"},
        {"kid": None},
        {"kid": ""},
        {"kty": "oct", "k": "c2VjcmV0"},
        {"alg": "ES256"},  # an RSA key cannot be an ES256 key
    ],
)
def test_unusable_rsa_key_entries_are_skipped(change: dict[str, Any], key_pairs: dict[str, SigningKeyPair]) -> None:
    jwk = {**key_pairs["RS256"].public_jwk, **change}
    jwk = {k: v for k, v in jwk.items() if v is not None}
    assert parse_signing_key(jwk, ASYMMETRIC_ALGORITHMS) is None


def test_ec_key_declaring_a_curve_of_another_algorithm_is_skipped(key_pairs: dict[str, SigningKeyPair]) -> None:
    jwk = {**key_pairs["ES512"].public_jwk, "alg": "ES256"}
    assert parse_signing_key(jwk, ASYMMETRIC_ALGORITHMS) is None


def test_short_rsa_key_is_skipped() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    pair = SigningKeyPair(
        kid="short", algorithm="RS256", private_key=rsa.generate_private_key(public_exponent=65537, key_size=1024)
    )
    assert parse_signing_key(pair.public_jwk, ASYMMETRIC_ALGORITHMS) is None


def test_one_bad_entry_does_not_spoil_the_set(client: JWKSClient, signing_key: SigningKeyPair, jwks: Any) -> None:
    jwks.keys = ["junk", {"kty": "EC"}, signing_key.public_jwk]
    assert list(client.fetch()) == [signing_key.kid]


@pytest.mark.parametrize("change", [{"alg": ["EdDSA"]}, {"crv": ["Ed25519"]}, {"x": 12345}, {"kid": {"a": 1}}])
def test_entries_with_non_string_members_are_skipped(change: dict[str, Any], signing_key: SigningKeyPair) -> None:
    assert parse_signing_key({**signing_key.public_jwk, **change}, ASYMMETRIC_ALGORITHMS) is None


def test_deeply_nested_response_is_a_failed_fetch_and_keeps_the_keys(
    client: JWKSClient, signing_key: SigningKeyPair, jwks: Any, timer: FakeTimer
) -> None:
    client.get_signing_key(signing_key.kid)
    jwks.body = b"[" * 100_000 + b"]" * 100_000
    timer.advance(301)
    assert client.get_signing_key(signing_key.kid).kid == signing_key.kid
    assert jwks.hits == 2


def test_a_server_that_drips_bytes_cannot_hold_the_fetch_past_its_timeout() -> None:
    stop = threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def drip() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not stop.wait(0.05):
                    try:
                        connection.sendall(b" ")
                    except OSError:
                        return

        threading.Thread(target=drip, daemon=True).start()
        client = new_client(f"http://127.0.0.1:{listener.getsockname()[1]}/jwks", timeout_seconds=0.3)
        try:
            with pytest.raises(JWKSFetchError, match="longer than"):  # not the 100 000-byte body's end
                client.fetch()
        finally:
            stop.set()
