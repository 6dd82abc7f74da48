"""Fetching and caching Better Auth's JWKS: one thread-safe client per process, surviving issuer outages."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from jwt import PyJWK
from jwt.exceptions import InvalidKeyError, PyJWKError

from evotodo.shared_redis import RedisUnavailable, shared_redis

logger = logging.getLogger(__name__)

# The key type and curves each algorithm may use (RFC 7518, RFC 8037); anything else is skipped.
KEY_SHAPES: dict[str, tuple[str, frozenset[str] | None]] = {
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
}
# Only unambiguous shapes are inferred for a key that declares no `alg`; an RSA key must declare one.
INFERRED_ALGORITHMS: dict[tuple[str, str], str] = {
    ("OKP", "Ed25519"): "EdDSA",
    ("OKP", "Ed448"): "EdDSA",
    ("EC", "P-256"): "ES256",
    ("EC", "P-521"): "ES512",
}
MIN_RSA_BITS = 2048
# The members read here, which a valid JWK always gives as strings (others, like x5c, are ignored).
STRING_MEMBERS = frozenset({"kid", "kty", "crv", "alg", "use", "x", "y", "n", "e"})


class JWKSUnavailable(Exception):
    """No key set has ever been fetched, so no asymmetric token can be verified yet."""


class SigningKeyNotFound(Exception):
    """The key set is known, and no usable key in it has this `kid`."""


class JWKSFetchError(Exception):
    """One fetch of the key set failed: network, HTTP status, size or shape."""


@dataclass(frozen=True)
class SigningKey:
    """A public key from the JWKS with the one algorithm it may verify."""

    kid: str
    algorithm: str
    jwk: PyJWK
    data: dict[str, Any]


def parse_signing_key(data: Any, algorithms: Iterable[str]) -> SigningKey | None:
    """Return the usable signing key described by one JWKS entry, or None when it must not be used."""
    if not isinstance(data, dict) or any(not isinstance(data[name], str) for name in STRING_MEMBERS & data.keys()):
        return None
    kid, kty, crv = data.get("kid"), data.get("kty"), data.get("crv")
    if not kid or data.get("use", "sig") != "sig":
        return None
    algorithm = data.get("alg") or INFERRED_ALGORITHMS.get((kty, crv))  # type: ignore[arg-type]
    if algorithm not in algorithms or algorithm not in KEY_SHAPES:
        return None
    expected_kty, expected_curves = KEY_SHAPES[algorithm]
    if kty != expected_kty or (expected_curves is not None and crv not in expected_curves):
        return None
    try:
        jwk = PyJWK(data, algorithm=algorithm)
    except (PyJWKError, InvalidKeyError, ValueError, TypeError):
        return None
    if kty == "RSA" and jwk.key.key_size < MIN_RSA_BITS:
        return None
    return SigningKey(kid=kid, algorithm=algorithm, jwk=jwk, data=dict(data))


THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}


def jwk_thumbprint(data: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding."""
    members = {name: data[name] for name in THUMBPRINT_MEMBERS[data["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SharedKeySets(Protocol):
    """Where the processes of a deployment share the last good key set of each JWKS URL, and agree on who
    fetches next. Every method fails soft: None or False when the store cannot answer."""

    def load(self, url: str) -> tuple[bytes, float] | None:
        """The last good document fetched from `url`, and when (epoch seconds)."""

    def save(self, url: str, document: bytes, fetched_at: float) -> None:
        """Publish a document just fetched from `url`."""

    def claim_fetch(self, url: str, seconds: float) -> bool:
        """True for exactly one caller per `seconds` across all processes: that one may fetch `url` now."""


class JWKSClient:
    """Serve signing keys by `kid` from a cached JWKS.

    The set is refetched when it is older than `cache_seconds`, or when an unknown `kid` arrives,
    but never more than once per `refetch_cooldown_seconds`, so a flood of random `kid`s is not a
    flood of fetches. A failed refresh keeps the last good keys. `timer` is replaced in tests.

    With `shared` (the deployment's Redis), the last good set is shared by every worker of every node: a
    worker started while Better Auth is down verifies with it, a set fetched by one worker serves all the
    others without a fetch of their own, and one fetch per cooldown is made across the whole deployment
    (so N workers never fetch N times, and a flood of unknown `kid`s during an outage stalls at most the
    one worker whose turn it is). `wall_clock` dates the shared copies (monotonic time is per process).
    """

    timer: Callable[[], float] = staticmethod(time.monotonic)
    wall_clock: Callable[[], float] = staticmethod(time.time)
    max_response_bytes = 512 * 1024
    user_agent = "evotodo-jwks/1"

    def __init__(
        self,
        url: str,
        *,
        algorithms: Iterable[str],
        cache_seconds: float,
        refetch_cooldown_seconds: float,
        timeout_seconds: float,
        shared: SharedKeySets | None = None,
    ) -> None:
        self.url = url
        self.shared = shared
        self.algorithms = frozenset(algorithms)
        self.cache_seconds = cache_seconds
        self.refetch_cooldown_seconds = refetch_cooldown_seconds
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] | None = None
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None

    def get_signing_key(self, kid: str) -> SigningKey:
        """Return the key for `kid`, refetching within the limits above; raise when there is none."""
        keys = self._keys
        cached = keys.get(kid) if keys is not None else None
        if cached is not None and self._is_fresh(self.timer()):
            return cached
        if keys is None and self.shared is not None:
            with self._lock:
                self._adopt_shared(self.shared, self.timer())  # a new worker: the deployment's last good set, if any
            keys = self._keys
            cached = keys.get(kid) if keys is not None else None
            if cached is not None and self._is_fresh(self.timer()):
                return cached
        # Stale or unknown: refresh, unless another thread is already at it and the cache can answer.
        if cached is not None and not self._lock.acquire(blocking=False):
            return cached
        if cached is None and not self._lock.acquire(timeout=self.timeout_seconds + 1):
            return self._lookup(kid)  # another thread's fetch is slow: answer from what is known
        try:
            now = self.timer()
            known = self._keys is not None and kid in self._keys
            if self._may_fetch(now) and not (known and self._is_fresh(now)):
                self._refresh(now, kid)
        finally:
            self._lock.release()
        return self._lookup(kid)

    def _lookup(self, kid: str) -> SigningKey:
        keys = self._keys
        if keys is None:
            raise JWKSUnavailable(f"no JWKS could be fetched from {self.url}")
        try:
            return keys[kid]
        except KeyError:
            raise SigningKeyNotFound(kid) from None

    def refresh(self) -> dict[str, SigningKey]:
        """Fetch the key set now, ignoring cache and cooldown (for diagnostics); raise JWKSFetchError."""
        with self._lock:
            now = self.timer()
            self._attempted_at = now
            self._keys = self.fetch()
            self._fetched_at = now
            return self._keys

    def _read_before(self, response: Any, deadline: float) -> bytes:
        """The body, read a chunk at a time: a server that drips bytes cannot hold the fetch past `deadline`."""
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read1(65536):
            size += len(chunk)
            if size > self.max_response_bytes:
                raise JWKSFetchError(f"response larger than {self.max_response_bytes} bytes")
            if time.monotonic() > deadline:
                raise JWKSFetchError(f"response took longer than {self.timeout_seconds} seconds")
            chunks.append(chunk)
        return b"".join(chunks)

    def _is_fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self.cache_seconds

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.refetch_cooldown_seconds

    def _refresh(self, now: float, kid: str) -> None:
        self._attempted_at = now
        if self.shared is not None:
            adopted = self._adopt_shared(self.shared, now)
            if adopted and self._is_fresh(now) and self._keys is not None and kid in self._keys:
                return  # another worker fetched it lately: nothing newer to learn from a fetch of our own
            claimed = self.shared.claim_fetch(self.url, self.refetch_cooldown_seconds)
            if not claimed and self._keys is not None:
                return  # another worker of the deployment fetches it (or just did): its result is shared
            # A worker with no keys at all fetches anyway (within its own cooldown): it has nothing to answer
            # with while the other's fetch runs, or if that one's result never reaches the shared copy.
        try:
            document = self.fetch_document()
            keys = self.parse(document)
        except JWKSFetchError as e:
            kept = len(self._keys) if self._keys is not None else 0
            logger.warning("JWKS refresh from %s failed (%s); keeping %d cached keys", self.url, e, kept)
            return
        self._keys, self._fetched_at = keys, now
        if self.shared is not None:
            self.shared.save(self.url, document, self.wall_clock())

    def _adopt_shared(self, shared: SharedKeySets, now: float) -> bool:
        """Take the deployment's last good set when it is newer than ours; True when it was taken."""
        stored = shared.load(self.url)
        if stored is None:
            return False
        document, fetched_at = stored
        fetched_here = now - max(0.0, self.wall_clock() - fetched_at)
        if self._fetched_at is not None and fetched_here <= self._fetched_at:
            return False
        try:
            keys = self.parse(document)
        except JWKSFetchError:
            return False
        self._keys, self._fetched_at = keys, fetched_here
        return True

    def fetch(self) -> dict[str, SigningKey]:
        """Download and parse the key set once; raise JWKSFetchError on any failure."""
        return self.parse(self.fetch_document())

    def fetch_document(self) -> bytes:
        """Download the key set document once; raise JWKSFetchError on any failure."""
        if urlsplit(self.url).scheme not in {"http", "https"}:
            raise JWKSFetchError("the JWKS URL must be http(s)")
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            self.url, headers={"Accept": "application/json", "User-Agent": self.user_agent}
        )
        deadline = time.monotonic() + self.timeout_seconds
        try:
            with _opener.open(request, timeout=self.timeout_seconds) as response:
                body = self._read_before(response, deadline)
        except (OSError, http.client.HTTPException) as e:  # URLError, HTTPError and timeouts are OSErrors
            raise JWKSFetchError(str(e) or type(e).__name__) from e
        return body

    def parse(self, body: bytes) -> dict[str, SigningKey]:
        """The usable keys of a JWKS document; raise JWKSFetchError when it is not one."""
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as e:
            raise JWKSFetchError("response is not JSON") from e
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise JWKSFetchError('response has no "keys" list')
        keys: dict[str, SigningKey] = {}
        for entry in document["keys"]:
            key = parse_signing_key(entry, self.algorithms)
            if key is None:
                logger.warning("JWKS %s: skipping an unusable key (kid=%r)", self.url, _kid_of(entry))
            elif key.kid not in keys:
                keys[key.kid] = key
        return keys


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Keys come from the configured URL only; a redirect is a failed fetch."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _kid_of(entry: Any) -> str:
    return str(entry.get("kid"))[:64] if isinstance(entry, dict) else "?"


class RedisKeySets:
    """`SharedKeySets` in the deployment's Redis (evotodo.shared_redis), looked up at each call so that a
    client made before gunicorn forks never shares a socket with a worker. Without Redis, or while it fails,
    nothing is shared and every process may fetch (within its own cooldown), as on a single box."""

    prefix = "evotodo:jwks:"

    def _key(self, url: str) -> str:
        return self.prefix + hashlib.sha256(url.encode()).hexdigest()[:32]

    def load(self, url: str) -> tuple[bytes, float] | None:
        stored = self._call(lambda client: client.hmget(self._key(url), "document", "fetched_at"))
        if not stored or stored[0] is None or stored[1] is None:
            return None
        try:
            return stored[0], float(stored[1])
        except ValueError:
            return None

    def save(self, url: str, document: bytes, fetched_at: float) -> None:
        key = self._key(url)
        self._call(lambda client: client.hset(key, mapping={"document": document, "fetched_at": repr(fetched_at)}))

    def claim_fetch(self, url: str, seconds: float) -> bool:
        shared = shared_redis()
        if shared is None:
            return True  # a lone process: its own cooldown is the only one
        key, milliseconds = self._key(url) + ":fetch", int(seconds * 1000)
        try:
            return bool(shared.call(lambda client: client.set(key, 1, nx=True, px=milliseconds)))
        except RedisUnavailable:
            return True  # nobody can coordinate: fetch as a lone process would

    @staticmethod
    def _call(fn: Callable[[Any], Any]) -> Any:
        shared = shared_redis()
        if shared is None:
            return None
        try:
            return shared.call(fn)
        except RedisUnavailable:
            return None


_clients: dict[tuple[Any, ...], JWKSClient] = {}
_clients_lock = threading.Lock()


def jwks_client(
    url: str,
    *,
    algorithms: Iterable[str],
    cache_seconds: float,
    refetch_cooldown_seconds: float,
    timeout_seconds: float,
    shared: SharedKeySets | None = None,
) -> JWKSClient:
    """The process-wide client for this configuration (one per distinct configuration)."""
    config = (url, tuple(algorithms), cache_seconds, refetch_cooldown_seconds, timeout_seconds, shared is not None)
    client = _clients.get(config)
    if client is None:
        with _clients_lock:
            client = _clients.get(config)
            if client is None:
                client = JWKSClient(
                    url,
                    algorithms=config[1],
                    cache_seconds=cache_seconds,
                    refetch_cooldown_seconds=refetch_cooldown_seconds,
                    timeout_seconds=timeout_seconds,
                    shared=shared,
                )
                _clients[config] = client
    return client


def reset_jwks_clients() -> None:
    """Forget every cached key set (tests, and after the configuration changes)."""
    with _clients_lock:
        _clients.clear()
