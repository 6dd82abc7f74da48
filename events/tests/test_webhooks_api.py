"""The webhooks API: /api/webhooks (and /api/{user_id}/webhooks), rotate-secret, deliveries, retry and ping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from authn.models import User
from events.models import Delivery, Event, WebhookEndpoint
from events.relay import EVENT_TYPES
from events.services import MAX_WEBHOOKS
from events.tests.conftest import Receiver, make_delivery, make_endpoint, make_event
from events.webhooks import deliver_due

URL = "https://hooks.example.com/in"


def create(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/webhooks", {"url": URL, "events": ["*"], **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def refused(response: Any, field: str, code: str = "invalid") -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert field in body["errors"]


# --- Creating and reading ---


def test_a_created_webhook_is_stored_and_its_secret_shown_once(alice: User, alice_client: APIClient) -> None:
    body = create(alice_client, events=["task.created", "task.completed"], description="CI")
    stored = WebhookEndpoint.objects.get(pk=body["id"])
    assert (stored.owner_id, stored.url, stored.events, stored.description) == (
        alice.pk,
        URL,
        ["task.created", "task.completed"],
        "CI",
    )
    assert body["secret"] == stored.secret
    assert body["secret"].startswith("whsec_")
    assert body["active"] is True
    assert body["disabled_reason"] == ""
    assert "secret" not in alice_client.get(f"/api/webhooks/{body['id']}").json()
    assert "secret" not in alice_client.get("/api/webhooks").json()[0]


def test_the_list_holds_only_the_callers_webhooks(alice: User, bob: User, alice_client: APIClient) -> None:
    mine = make_endpoint(alice)
    make_endpoint(bob)
    assert [item["id"] for item in alice_client.get("/api/webhooks").json()] == [mine.pk]


def test_duplicate_event_types_are_dropped_in_order(alice_client: APIClient) -> None:
    body = create(alice_client, events=["task.deleted", "task.created", "task.deleted"])
    assert body["events"] == ["task.deleted", "task.created"]
    assert WebhookEndpoint.objects.get(pk=body["id"]).events == ["task.deleted", "task.created"]


def test_every_event_type_may_be_subscribed(alice_client: APIClient) -> None:
    assert create(alice_client, events=list(EVENT_TYPES))["events"] == list(EVENT_TYPES)


def test_a_user_may_have_at_most_twenty_webhooks(alice: User, alice_client: APIClient) -> None:
    for _ in range(MAX_WEBHOOKS):
        make_endpoint(alice)
    response = alice_client.post("/api/webhooks", {"url": URL, "events": ["*"]}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "too_many_webhooks"
    assert WebhookEndpoint.objects.filter(owner=alice).count() == MAX_WEBHOOKS


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"events": ["*"]}, "url", "invalid"),
        ({"url": URL}, "events", "invalid"),
        ({"url": "ftp://example.com/x"}, "url", "invalid"),
        ({"url": "example.com/hook"}, "url", "invalid"),
        ({"url": "https://"}, "url", "invalid"),
        ({"url": "https://user:pw@example.com/in"}, "url", "invalid"),
        ({"url": "https://user@example.com/in"}, "url", "invalid"),
        ({"url": "https://example.com:99999/in"}, "url", "invalid"),
        ({"url": "https://[::1/in"}, "url", "invalid"),
        ({"url": "https://example.com/" + "a" * 2000}, "url", "invalid"),
        ({"url": 5}, "url", "invalid"),
        ({"url": None}, "url", "invalid"),
        ({"url": "http://127.0.0.1/in"}, "url", "invalid"),
        ({"url": "http://localhost:8000/in"}, "url", "invalid"),
        ({"url": "http://10.0.0.5/in"}, "url", "invalid"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url", "invalid"),
        ({"url": "http://[::1]/in"}, "url", "invalid"),
        ({"events": []}, "events", "invalid"),
        ({"events": ["task.exploded"]}, "events", "invalid"),
        ({"events": ["webhook.ping"]}, "events", "invalid"),
        ({"events": ["*", "task.created"]}, "events", "invalid"),
        ({"events": "task.created"}, "events", "invalid"),
        ({"events": [1]}, "events", "invalid"),
        ({"description": "x" * 501}, "description", "invalid"),
        ({"description": 5}, "description", "invalid"),
        ({"active": "yes"}, "active", "invalid"),
        ({"secret": "whsec_mine"}, "secret", "unknown_field"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_created(
    alice_client: APIClient, body: dict[str, Any], field: str, code: str
) -> None:
    # The defaults fill what the case does not send, except the field whose absence it tests.
    full = {key: value for key, value in {"url": URL, "events": ["*"], **body}.items() if key in body or key != field}
    refused(alice_client.post("/api/webhooks", full, format="json"), field, code)
    assert not WebhookEndpoint.objects.exists()


def test_private_addresses_are_accepted_when_allowed(alice_client: APIClient, settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert create(alice_client, url="http://127.0.0.1:8000/in")["url"] == "http://127.0.0.1:8000/in"


def test_a_name_that_is_not_an_address_is_accepted_and_checked_when_delivering(alice_client: APIClient) -> None:
    assert create(alice_client, url="http://hooks.internal.example/in")["url"] == "http://hooks.internal.example/in"


# --- Changing and deleting ---


def test_a_patch_changes_only_what_it_sends(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice, description="before")
    response = alice_client.patch(f"/api/webhooks/{endpoint.pk}", {"events": ["list.created"]}, format="json")
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.description, endpoint.url) == (["list.created"], "before", URL)
    assert "secret" not in response.json()


def test_a_put_needs_the_url_and_events(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    refused(alice_client.put(f"/api/webhooks/{endpoint.pk}", {"url": URL}, format="json"), "events")
    response = alice_client.put(
        f"/api/webhooks/{endpoint.pk}", {"url": "https://b.example.com/", "events": ["task.created"]}, format="json"
    )
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == ("https://b.example.com/", ["task.created"])


def test_turning_a_webhook_back_on_clears_why_it_was_off(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice, active=False, disabled_reason="failing", failed_in_a_row=5)
    response = alice_client.patch(f"/api/webhooks/{endpoint.pk}", {"active": True}, format="json")
    assert response.status_code == 200
    assert response.json()["disabled_reason"] == ""
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason, endpoint.failed_in_a_row) == (True, "", 0)


def test_turning_a_webhook_off_closes_its_pending_deliveries(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    delivery = make_delivery(endpoint, make_event(alice))
    assert alice_client.patch(f"/api/webhooks/{endpoint.pk}", {"active": False}, format="json").status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason) == (False, "")


def test_disabled_reason_cannot_be_written(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    response = alice_client.patch(f"/api/webhooks/{endpoint.pk}", {"disabled_reason": "gone"}, format="json")
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == ""


def test_a_deleted_webhook_is_gone_with_its_deliveries(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    make_delivery(endpoint, make_event(alice))
    assert alice_client.delete(f"/api/webhooks/{endpoint.pk}").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert not Delivery.objects.exists()


# --- Another user's webhook ---


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("put", "", {"url": "https://evil.example.com/", "events": ["*"]}),
        ("patch", "", {"url": "https://evil.example.com/"}),
        ("delete", "", None),
        ("post", "/rotate-secret", {}),
        ("get", "/deliveries", None),
        ("post", "/ping", None),
        ("post", "/deliveries/{delivery}/retry", None),
    ],
)
def test_another_users_webhook_is_404_and_unchanged(
    alice: User, bob: User, bob_client: APIClient, method: str, suffix: str, body: Any
) -> None:
    endpoint = make_endpoint(alice)
    delivery = make_delivery(endpoint, make_event(alice))
    path = f"/api/webhooks/{endpoint.pk}" + suffix.format(delivery=delivery.pk)
    response = getattr(bob_client, method)(path, body, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.url, stored.secret, stored.previous_secret) == (URL, endpoint.secret, "")
    assert Delivery.objects.count() == 1
    assert Event.objects.count() == 1


def test_another_webhooks_delivery_cannot_be_retried_through_yours(alice: User, alice_client: APIClient) -> None:
    mine, other = make_endpoint(alice), make_endpoint(alice)
    delivery = make_delivery(other, make_event(alice))
    response = alice_client.post(f"/api/webhooks/{mine.pk}/deliveries/{delivery.pk}/retry")
    assert response.status_code == 404
    assert Delivery.objects.count() == 1


def test_without_a_token_the_webhooks_are_401(api_client: APIClient, alice: User) -> None:
    make_endpoint(alice)
    assert api_client.get("/api/webhooks").status_code == 401


# --- Rotating the secret ---


def test_rotating_gives_a_new_secret_once_and_keeps_the_old_one_for_the_grace(
    alice: User, alice_client: APIClient
) -> None:
    endpoint = make_endpoint(alice)
    before = timezone.now()
    response = alice_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret", {"grace_seconds": 60}, format="json")
    assert response.status_code == 200
    body = response.json()
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert body["secret"] == stored.secret != endpoint.secret
    assert stored.previous_secret == endpoint.secret
    assert before + timedelta(seconds=60) <= stored.previous_secret_expires_at <= timezone.now() + timedelta(seconds=60)
    assert "secret" not in alice_client.get(f"/api/webhooks/{endpoint.pk}").json()


def test_rotating_without_a_body_keeps_the_old_secret_a_day(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    assert alice_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret").status_code == 200
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    left = stored.previous_secret_expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < left <= timedelta(days=1)


def test_rotating_with_no_grace_drops_the_old_secret_at_once(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    alice_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret", {"grace_seconds": 0}, format="json")
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.previous_secret, stored.previous_secret_expires_at) == ("", None)


def test_a_second_rotation_during_the_grace_is_a_409_that_keeps_both_secrets(
    alice: User, alice_client: APIClient
) -> None:
    endpoint = make_endpoint(alice)
    alice_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret", {"grace_seconds": 100}, format="json")
    rotated = WebhookEndpoint.objects.get(pk=endpoint.pk)
    response = alice_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret", {"grace_seconds": 100}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "rotation_in_progress")
    assert "secret" not in response.json()
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.secret, stored.previous_secret) == (rotated.secret, endpoint.secret)


def test_a_rotation_with_no_grace_during_another_ends_every_old_secret(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    alice_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret", {"grace_seconds": 100}, format="json")
    response = alice_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret", {"grace_seconds": 0}, format="json")
    assert response.status_code == 200
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.secret, stored.previous_secret) == (response.json()["secret"], "")


def test_a_webhook_create_retried_with_its_idempotency_key_makes_one_with_one_secret(
    alice: User, alice_client: APIClient
) -> None:
    body = {"url": "https://hooks.example.com/a", "events": ["*"]}
    first = alice_client.post("/api/webhooks", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    again = alice_client.post("/api/webhooks", body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["secret"] == first.json()["secret"] == WebhookEndpoint.objects.get(owner=alice).secret


def test_a_rotation_retried_with_its_idempotency_key_rotates_once_and_answers_the_same_secret(
    alice: User, alice_client: APIClient
) -> None:
    endpoint = make_endpoint(alice)
    path = f"/api/webhooks/{endpoint.pk}/rotate-secret"
    first = alice_client.post(path, {"grace_seconds": 60}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1")
    again = alice_client.post(path, {"grace_seconds": 60}, format="json", HTTP_IDEMPOTENCY_KEY="rotate-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (200, 200, "true")
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert again.json()["secret"] == first.json()["secret"] == stored.secret
    assert stored.previous_secret == endpoint.secret  # one rotation: the first secret is still the previous one


def test_a_ping_and_a_retry_sent_again_with_their_idempotency_keys_queue_one_delivery_each(
    alice: User, alice_client: APIClient
) -> None:
    endpoint = make_endpoint(alice)
    pings = [
        alice_client.post(f"/api/webhooks/{endpoint.pk}/ping", {}, format="json", HTTP_IDEMPOTENCY_KEY="ping-1")
        for _ in range(2)
    ]
    assert [ping.status_code for ping in pings] == [202, 202]
    assert pings[1].json() == pings[0].json()
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1
    path = f"/api/webhooks/{endpoint.pk}/deliveries/{pings[0].json()['id']}/retry"
    retries = [alice_client.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1") for _ in range(2)]
    assert [retry.status_code for retry in retries] == [202, 202]
    assert retries[1].json() == retries[0].json()
    assert Delivery.objects.filter(endpoint=endpoint).count() == 2


@pytest.mark.parametrize(
    ("method", "body"), [("patch", {"description": "Once"}), ("put", {"url": URL, "events": ["*"]}), ("delete", None)]
)
def test_a_webhook_write_retried_with_its_idempotency_key_runs_once(
    alice: User, alice_client: APIClient, method: str, body: Any
) -> None:
    endpoint = make_endpoint(alice)
    path = f"/api/webhooks/{endpoint.pk}"
    first = getattr(alice_client, method)(path, body, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    stored = list(WebhookEndpoint.objects.values())
    again = getattr(alice_client, method)(path, body, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert first.status_code in (200, 204), first.content
    assert (again.status_code, again["Idempotent-Replayed"]) == (first.status_code, "true")
    assert (again.json() if again.content else b"") == (first.json() if first.content else b"")
    assert list(WebhookEndpoint.objects.values()) == stored


def test_a_rotation_and_a_ping_replay_their_answers_once_the_webhook_is_deleted(
    alice: User, alice_client: APIClient
) -> None:
    endpoint = make_endpoint(alice)
    calls = [
        (f"/api/webhooks/{endpoint.pk}/rotate-secret", {"grace_seconds": 0}, "r-1"),
        (f"/api/webhooks/{endpoint.pk}/ping", {}, "p-1"),
    ]
    first = [alice_client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key) for path, body, key in calls]
    assert alice_client.delete(f"/api/webhooks/{endpoint.pk}").status_code == 204
    again = [alice_client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key) for path, body, key in calls]
    assert [response.status_code for response in again] == [response.status_code for response in first] == [200, 202]
    assert [response.json() for response in again] == [response.json() for response in first]
    reused = alice_client.post(calls[0][0], {"grace_seconds": -1}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")


def test_a_url_on_port_0_is_refused(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post(
        "/api/webhooks", {"url": "https://hooks.example.com:0/", "events": ["*"]}, format="json"
    )
    assert (response.status_code, response.json()["errors"]["url"][0]) == (
        400,
        "Port 0 reaches nothing: give a port from 1 to 65535.",
    )
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"grace_seconds": -1}, "invalid"),
        ({"grace_seconds": 604_801}, "invalid"),
        ({"grace_seconds": "60"}, "invalid"),
        ({"grace_seconds": 1.5}, "invalid"),
        ({"grace": 60}, "unknown_field"),
    ],
)
def test_a_bad_grace_is_refused_and_the_secret_kept(
    alice: User, alice_client: APIClient, body: dict[str, Any], code: str
) -> None:
    endpoint = make_endpoint(alice)
    response = alice_client.post(f"/api/webhooks/{endpoint.pk}/rotate-secret", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret


# --- Deliveries, retry, ping ---


def test_the_deliveries_come_newest_first_in_pages(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    deliveries = [make_delivery(endpoint, make_event(alice, f"tasks/{n}")) for n in range(5)]
    make_delivery(make_endpoint(alice), make_event(alice))  # another endpoint's
    response = alice_client.get(f"/api/webhooks/{endpoint.pk}/deliveries", {"limit": 2})
    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [deliveries[4].pk, deliveries[3].pk]
    seen = [item["id"] for item in response.json()]
    while "Link" in response:
        next_url = response["Link"].split(">")[0].lstrip("<")
        response = alice_client.get(next_url)
        seen += [item["id"] for item in response.json()]
    assert seen == [delivery.pk for delivery in reversed(deliveries)]
    first = alice_client.get(f"/api/webhooks/{endpoint.pk}/deliveries").json()[0]
    assert set(first) == {
        "id",
        "event_id",
        "event_type",
        "status",
        "attempts",
        "response_status",
        "duration_ms",
        "error",
        "next_attempt_at",
        "last_attempt_at",
        "delivered_at",
        "created_at",
    }
    assert (first["event_id"], first["event_type"]) == (str(deliveries[4].event.event_id), "task.updated")


@pytest.mark.parametrize("query", [{"cursor": "abc"}, {"limit": 0}, {"limit": 501}, {"page": 2}])
def test_bad_delivery_paging_is_refused(alice: User, alice_client: APIClient, query: dict[str, Any]) -> None:
    endpoint = make_endpoint(alice)
    assert alice_client.get(f"/api/webhooks/{endpoint.pk}/deliveries", query).status_code == 400


def test_retry_makes_a_new_pending_delivery_of_the_same_event_due_now(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    failed = make_delivery(endpoint, make_event(alice), status="failed", attempts=8, next_attempt_at=None)
    response = alice_client.post(f"/api/webhooks/{endpoint.pk}/deliveries/{failed.pk}/retry")
    assert response.status_code == 202
    body = response.json()
    resent = Delivery.objects.get(pk=body["id"])
    assert (resent.event_id, resent.endpoint_id, resent.status, resent.attempts) == (
        failed.event_id,
        endpoint.pk,
        "pending",
        0,
    )
    assert resent.next_attempt_at <= timezone.now()
    assert body["status"] == "pending"
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("failed", 8)


def test_retry_and_ping_of_a_webhook_turned_off_are_409(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice, active=False)
    delivery = make_delivery(endpoint, make_event(alice), status="failed")
    for path in (f"deliveries/{delivery.pk}/retry", "ping"):
        response = alice_client.post(f"/api/webhooks/{endpoint.pk}/{path}")
        assert response.status_code == 409
        assert response.json()["code"] == "webhook_inactive"
    assert Delivery.objects.count() == 1
    assert Event.objects.count() == 1


def test_retry_and_ping_refuse_a_body(alice: User, alice_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    delivery = make_delivery(endpoint, make_event(alice))
    for path in (f"deliveries/{delivery.pk}/retry", "ping"):
        response = alice_client.post(f"/api/webhooks/{endpoint.pk}/{path}", {"now": True}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "unknown_field"
    assert Delivery.objects.count() == 1


def test_a_ping_is_delivered_to_that_webhook_alone(alice: User, alice_client: APIClient, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, receiver.url)
    make_endpoint(alice, receiver.url + "/other")
    response = alice_client.post(f"/api/webhooks/{endpoint.pk}/ping")
    assert response.status_code == 202
    assert response.json()["event_type"] == "webhook.ping"
    event = Event.objects.get(type="webhook.ping")
    assert event.dispatched_at is not None
    assert event.published_at is not None
    assert event.subject == f"webhooks/{endpoint.pk}"
    assert Delivery.objects.get().endpoint_id == endpoint.pk

    assert deliver_due() == 1
    [request] = receiver.requests
    assert request.path == "/hooks"
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert body["type"] == "com.evotodo.webhook.ping"
    assert body["data"] == {"user_id": alice.better_auth_id, "webhook": {"id": endpoint.pk, "url": endpoint.url}}


# --- The path-style twin ---


def test_the_path_style_routes_serve_the_callers_webhooks(alice: User, alice_client: APIClient) -> None:
    response = alice_client.post(f"/api/{alice.better_auth_id}/webhooks", {"url": URL, "events": ["*"]}, format="json")
    assert response.status_code == 201
    assert "secret" in response.json()
    listed = alice_client.get(f"/api/{alice.better_auth_id}/webhooks").json()
    assert [item["id"] for item in listed] == [response.json()["id"]]


def test_the_path_style_routes_refuse_another_users_id(alice: User, bob: User, bob_client: APIClient) -> None:
    endpoint = make_endpoint(alice)
    response = bob_client.get(f"/api/{alice.better_auth_id}/webhooks/{endpoint.pk}")
    assert response.status_code == 403
    assert response.json()["code"] == "user_mismatch"
    response = bob_client.delete(f"/api/{alice.better_auth_id}/webhooks/{endpoint.pk}")
    assert response.status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
