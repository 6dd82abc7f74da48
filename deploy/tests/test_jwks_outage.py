"""Better Auth's JWKS stops answering: a node restarted during the outage still verifies tokens with the last good
keys (shared through Redis), and a flood of tokens with unknown `kid`s does not stall good requests."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from conftest import SigningKeyPair
from deploy.cluster import Cluster
from deploy.tests.conftest import Answer, ControlledJWKS, call, p99

FLOOD_SECONDS = 6.0
FLOODERS = 3
GOOD_P99_SECONDS = 0.1


def better_auth_token(signing_key: SigningKeyPair, base_url: str, sub: str, **headers: Any) -> str:
    now = int(time.time())
    claims = {"sub": sub, "iss": base_url, "aud": base_url, "iat": now, "exp": now + 900, "email": f"{sub}@x.test"}
    return signing_key.sign(claims, headers)


def test_a_node_restarted_during_a_jwks_outage_verifies_with_the_last_good_keys(
    make_cluster: Callable[..., Cluster], controlled_jwks: ControlledJWKS, signing_key: SigningKeyPair
) -> None:
    controlled_jwks.control.keys = [signing_key.public_jwk]
    cluster = make_cluster(nodes=2, workers=2, better_auth_url=controlled_jwks.base_url)
    token = better_auth_token(signing_key, controlled_jwks.base_url, "jwks-user")
    assert call(cluster.url, "GET", "/api/me", token).status == 200  # the keys were fetched once

    controlled_jwks.stop_answering()
    cluster.restart_node(1)  # new master, new workers: nothing in their memory
    answers = [call(cluster.nodes[1].url, "GET", "/api/me", token, timeout=10) for _ in range(8)]

    assert [(answer.status, answer.code) for answer in answers] == [(200, None)] * 8
    assert all(answer.body["id"] == "jwks-user" for answer in answers)
    print(f"\njwks outage: restarted node served {len(answers)} of 8, slowest {max(a.seconds for a in answers):.2f} s")


def test_a_flood_of_unknown_kids_during_a_jwks_outage_does_not_stall_good_requests(
    make_cluster: Callable[..., Cluster], controlled_jwks: ControlledJWKS, signing_key: SigningKeyPair
) -> None:
    controlled_jwks.control.keys = [signing_key.public_jwk]
    cluster = make_cluster(
        nodes=2,
        workers=2,
        better_auth_url=controlled_jwks.base_url,
        env={"API_THROTTLE_USER": "off", "API_THROTTLE_ANON": "off"},
    )
    good = better_auth_token(signing_key, controlled_jwks.base_url, "good-user")
    for node in cluster.nodes:  # every worker has verified once
        for _ in range(8):
            assert call(node.url, "GET", "/api/me", good).status == 200

    controlled_jwks.stop_answering()
    stop = threading.Event()
    flood: list[Answer] = []

    def flooding() -> None:
        while not stop.is_set():
            bad = better_auth_token(signing_key, controlled_jwks.base_url, "flood", kid=uuid.uuid4().hex)
            flood.append(call(cluster.url, "GET", "/api/me", bad, timeout=30))

    threads = [threading.Thread(target=flooding) for _ in range(FLOODERS)]
    for thread in threads:
        thread.start()
    good_answers: list[Answer] = []
    try:
        deadline = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < deadline:
            good_answers.append(call(cluster.url, "GET", "/api/me", good, timeout=30))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    assert {answer.status for answer in good_answers} == {200}
    assert {(answer.status, answer.code) for answer in flood} <= {(401, "token_key_unknown"), (429, "throttled")}
    assert len(flood) > 50, "the flood did too little to prove anything"
    seconds = [answer.seconds for answer in good_answers]
    assert p99(seconds) < GOOD_P99_SECONDS, f"good p99 {p99(seconds) * 1000:.0f} ms"
    print(
        f"\nunknown-kid flood during a jwks outage: {len(flood)} bad, {len(good_answers)} good, "
        f"good p99 {p99(seconds) * 1000:.1f} ms, max {max(seconds) * 1000:.0f} ms, "
        f"jwks asked {controlled_jwks.control.hits} times"
    )
