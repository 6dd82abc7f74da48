"""Rate limits hold exactly across nodes (Redis, a moving window), and a flood of bad tokens from one client IP is
refused with 429 after 30 a minute, whatever X-Forwarded-For the client sends (nginx replaces it)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import jwt
import pytest

from deploy.cluster import Cluster
from deploy.tests.conftest import BASE_PORT, Answer, call

USER_RATE = 60
# The contract is an exact moving window: not one request past the rate.
MARGIN = 0
CLIENTS = 8
REQUESTS = 400
AUTH_FAILURES_PER_MINUTE = 30  # API_THROTTLE_AUTH_FAILURES' default


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster(base_port=BASE_PORT, nodes=2, workers=2, env={"API_THROTTLE_USER": f"{USER_RATE}/min"}) as running:
        yield running


def test_one_users_requests_over_both_nodes_are_limited_exactly_to_the_rate(cluster: Cluster) -> None:
    token = cluster.token("rate-user")
    answers: list[Answer] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(REQUESTS // CLIENTS):
            answer = call(cluster.url, "GET", "/api/me", token)
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    served = [answer for answer in answers if answer.status == 200]
    refused = [answer for answer in answers if answer.status != 200]
    assert len(answers) == REQUESTS
    assert USER_RATE <= len(served) <= USER_RATE + MARGIN, len(served)
    assert {(answer.status, answer.code) for answer in refused} == {(429, "throttled")}
    assert all(int(answer.headers["Retry-After"]) > 0 for answer in refused)
    by_node = {node.port: cluster.nginx_log().count(f'"upstream":"127.0.0.1:{node.port}"') for node in cluster.nodes}
    assert all(count > REQUESTS // 4 for count in by_node.values()), by_node  # both nodes counted
    print(f"\nuser rate {USER_RATE}/min over 2 nodes: {len(served)} of {REQUESTS} served, {len(refused)} 429")


def test_a_flood_of_bad_tokens_from_one_ip_is_throttled_after_30_whatever_x_forwarded_for_says(
    cluster: Cluster,
) -> None:
    answers = []
    for n in range(AUTH_FAILURES_PER_MINUTE + 20):
        forged = jwt.encode({"sub": f"forger-{n}", "exp": 4_000_000_000}, "not-the-secret-" + "x" * 40)
        # A different forged X-Forwarded-For each time: nginx replaces it with the real address.
        answers.append(call(cluster.url, "GET", "/api/me", forged, headers={"X-Forwarded-For": f"203.0.113.{n % 250}"}))

    codes = [(answer.status, answer.code) for answer in answers]
    assert codes[:AUTH_FAILURES_PER_MINUTE] == [(401, "token_signature_invalid")] * AUTH_FAILURES_PER_MINUTE
    assert codes[AUTH_FAILURES_PER_MINUTE:] == [(429, "throttled")] * 20
    assert all(int(answer.headers["Retry-After"]) > 0 for answer in answers[AUTH_FAILURES_PER_MINUTE:])
    # Refused before any signature check: a token that would verify is refused too, from the same address.
    good = call(cluster.url, "GET", "/api/me", cluster.token(f"fresh-{uuid.uuid4().hex[:8]}"))
    assert (good.status, good.code) == (429, "throttled")
    print(f"\nbad-token flood: {codes.count((401, 'token_signature_invalid'))} refused 401, then 429s")
