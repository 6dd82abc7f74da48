"""Shared fixtures: signing keys, a real JWKS served over HTTP on 127.0.0.1, users and API clients."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from rest_framework.test import APIClient

from authn.jwks import reset_jwks_clients
from authn.tokens import verified_tokens
from authn.user_cache import recent_users

# The machine's Redis (CI starts it): tests that need one use this, never the developer's REDIS_URL.
MACHINE_REDIS_URL = "redis://127.0.0.1:6379/0"
TEST_SECRET = "test-shared-secret-0123456789-abcdefghijklmnop"
JWKS_PATH = "/api/auth/jwks"
OMIT = object()


@dataclass
class SigningKeyPair:
    """A private key and the public JWK Better Auth would publish for it."""

    kid: str
    algorithm: str
    private_key: Any

    @property
    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk = json.loads(algorithm.to_jwk(self.private_key.public_key()))
        # Better Auth publishes {alg, crv?, kty, x|y|n|e, kid} and no `use`.
        return {**jwk, "alg": self.algorithm, "kid": self.kid}

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(
            claims,
            self.private_key,
            algorithm=self.algorithm,
            headers={"kid": self.kid, "typ": None, **(headers or {})},
        )


def _private_key(algorithm: str) -> Any:
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "ES512":
        return ec.generate_private_key(ec.SECP521R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def key_pairs() -> dict[str, SigningKeyPair]:
    """One key per algorithm Better Auth's jwt plugin can use, with 32-character kids like its own."""
    return {
        alg: SigningKeyPair(
            kid=(alg + "kid0123456789abcdefghijklmnopqrstuvwxyz")[:32], algorithm=alg, private_key=_private_key(alg)
        )
        for alg in ("EdDSA", "ES256", "ES512", "RS256", "PS256")
    }


@pytest.fixture
def signing_key(key_pairs: dict[str, SigningKeyPair]) -> SigningKeyPair:
    """Better Auth's default: Ed25519."""
    return key_pairs["EdDSA"]


class FakeTimer:
    """Monotonic time that only moves when a test says so (replaces `JWKSClient.timer`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class JWKSState:
    """What the test JWKS server publishes, and how often it was asked."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    body: bytes | None = None
    hits: int = 0
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, *pairs: SigningKeyPair) -> None:
        self.keys = [pair.public_jwk for pair in pairs]
        self.status, self.body = 200, None

    def fail(self, status: int = 503) -> None:
        self.status = status


class JWKSServer:
    """A real HTTP server on 127.0.0.1 serving `/api/auth/jwks`, like Better Auth does."""

    def __init__(self) -> None:
        self.state = JWKSState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with state.lock:
                    state.hits += 1
                    state.paths.append(self.path)
                if self.path == "/redirect-to-jwks":
                    self.send_response(302)
                    self.send_header("Location", JWKS_PATH)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                if state.status != 200:
                    self.send_error(state.status)
                    return
                body = state.body if state.body is not None else json.dumps({"keys": state.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def jwks_url(self) -> str:
        return self.base_url + JWKS_PATH


@pytest.fixture(scope="session")
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def jwks(jwks_server: JWKSServer, signing_key: SigningKeyPair) -> JWKSState:
    """The published key set for this test: the EdDSA key, served fresh, hit counter at zero."""
    state = jwks_server.state
    state.publish(signing_key)
    state.hits = 0
    state.paths = []
    return state


@pytest.fixture(autouse=True)
def better_auth_settings(settings: Any, jwks_server: JWKSServer, jwks: JWKSState) -> Iterator[Any]:
    """Every test runs against the local JWKS and the shared test secret, with a cold key cache."""
    settings.BETTER_AUTH = {
        "URL": jwks_server.base_url,
        "SECRET": TEST_SECRET,
        "SECRET_FALLBACKS": [],
        "LEEWAY_SECONDS": 0,
        "JWKS_CACHE_SECONDS": 300,
        "JWKS_REFETCH_COOLDOWN_SECONDS": 10,
        "JWKS_TIMEOUT_SECONDS": 2,
    }
    reset_jwks_clients()
    recent_users.clear()
    verified_tokens.clear()
    yield settings
    reset_jwks_clients()
    recent_users.clear()
    verified_tokens.clear()


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The static files collected once for the live gunicorn servers of the whole session."""
    from evotodo.tests.live import collect_static

    root = tmp_path_factory.mktemp("static")
    collect_static(root)
    return root


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis; a test that needs it is skipped (with how to run it) without one, and fails in CI."""
    import redis

    try:
        redis.Redis.from_url(MACHINE_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis at {MACHINE_REDIS_URL}")
        pytest.skip(f"no Redis at {MACHINE_REDIS_URL}: start one (redis-server) to run this test")
    return MACHINE_REDIS_URL


def run_concurrently(action: Callable[[], Any], count: int) -> list[Any]:
    """Run `action` in `count` threads released at the same instant; each closes its own database connection."""
    from django.db import connection

    barrier = threading.Barrier(count)
    results: list[Any] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(action())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def better_auth_id(name: str) -> str:
    """A 32-character id shaped like Better Auth's."""
    return (name + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")[:32]


@pytest.fixture
def claims_for(jwks_server: JWKSServer) -> Callable[..., dict[str, Any]]:
    """The claims Better Auth's jwt plugin writes for a user, with overrides (OMIT removes a claim)."""

    def build(user: Any, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "sub": user.better_auth_id,
            "iss": jwks_server.base_url,
            "aud": jwks_server.base_url,
            "iat": now,
            "exp": now + 900,
            "id": user.better_auth_id,
            "email": user.email,
            "name": user.name,
            "emailVerified": True,
            "image": None,
            "createdAt": "2026-11-01T10:00:00.000Z",
            "updatedAt": "2026-11-01T10:00:00.000Z",
        }
        claims.update(overrides)
        return {key: value for key, value in claims.items() if value is not OMIT}

    return build


@pytest.fixture
def token_for(signing_key: SigningKeyPair, claims_for: Callable[..., dict[str, Any]]) -> Callable[..., str]:
    """A real EdDSA token for `user`, signed by the published key."""

    def mint(user: Any, **overrides: Any) -> str:
        return signing_key.sign(claims_for(user, **overrides))

    return mint


def hs256_token(claims: dict[str, Any], secret: str = TEST_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture
def alice(db: Any) -> Any:
    from authn.tests.factories import UserFactory

    return UserFactory(better_auth_id=better_auth_id("alice"), email="alice@example.com", name="Alice")


@pytest.fixture
def bob(db: Any) -> Any:
    from authn.tests.factories import UserFactory

    return UserFactory(better_auth_id=better_auth_id("bob"), email="bob@example.com", name="Bob")


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(token_for: Callable[..., str]) -> Callable[..., APIClient]:
    """An API client that sends `user`'s token on every request."""

    def build(user: Any, **overrides: Any) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, **overrides)}")
        return client

    return build


@pytest.fixture
def alice_client(alice: Any, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(alice)


@pytest.fixture
def bob_client(bob: Any, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(bob)
