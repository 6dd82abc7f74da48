"""deliver_due against a real receiver on 127.0.0.1: signatures, outcomes, the retry schedule (time injected),
turning endpoints off, per-subject order, leases and the address guard."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from authn.models import User
from events.cloudevents import CONTENT_TYPE
from events.models import Delivery, Event
from events.relay import dispatch
from events.services import webhook_rotate_secret, webhook_update
from events.tests.conftest import Receiver, make_delivery, make_endpoint, make_event
from events.webhooks import JITTER, MAX_ATTEMPTS, RETRY_DELAYS, TURNED_OFF, deliver_due, refused_address

pytestmark = pytest.mark.django_db


def verified(secret: str, request: Any) -> Any:
    return Webhook(secret).verify(request.body, request.headers)


def test_a_due_delivery_is_posted_signed_as_a_cloudevent_and_marked_delivered(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, receiver.url, failed_in_a_row=2)
    event = make_event(alice)
    delivery = make_delivery(endpoint, event)

    assert deliver_due() == 1

    [request] = receiver.requests
    assert request.path == "/hooks"
    assert request.headers["webhook-id"] == str(event.event_id)
    assert request.headers["content-type"] == CONTENT_TYPE
    assert "Evo-TODO" in request.headers["user-agent"]
    body = verified(endpoint.secret, request)
    assert body["id"] == str(event.event_id)
    assert body["type"] == "com.evotodo.task.updated"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status, delivery.error) == ("delivered", 1, 200, "")
    assert delivery.delivered_at is not None
    assert delivery.last_attempt_at is not None
    assert delivery.duration_ms is not None
    assert delivery.next_attempt_at is None
    assert delivery.leased_until is None
    endpoint.refresh_from_db()
    assert endpoint.failed_in_a_row == 0


def test_nothing_due_sends_nothing(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, receiver.url)
    make_delivery(endpoint, make_event(alice), next_attempt_at=timezone.now() + timedelta(minutes=1))
    assert deliver_due() == 0
    assert receiver.requests == []


def test_during_a_rotation_both_secrets_sign_and_after_it_only_the_new_one(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, receiver.url)
    old = endpoint.secret
    now = timezone.now()
    endpoint = webhook_rotate_secret(endpoint=endpoint, grace_seconds=3600, now=now)
    make_delivery(endpoint, make_event(alice, "tasks/1"), next_attempt_at=now)
    make_delivery(endpoint, make_event(alice, "tasks/2"), next_attempt_at=now)

    assert deliver_due(now=now, limit=1) == 1
    during = receiver.requests[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verified(old, during)
    verified(endpoint.secret, during)

    assert deliver_due(now=now + timedelta(seconds=3601)) == 1
    after = receiver.requests[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verified(endpoint.secret, after)
    with pytest.raises(Exception, match="No matching signature"):
        verified(old, after)


def test_a_failed_attempt_is_retried_on_the_schedule_with_jitter(alice: User, receiver: Receiver) -> None:
    receiver.status = 500
    endpoint = make_endpoint(alice, receiver.url)
    now = timezone.now()
    delivery = make_delivery(endpoint, make_event(alice), next_attempt_at=now)

    for attempt, delay in enumerate(RETRY_DELAYS, start=1):
        assert deliver_due(now=now) == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", attempt, 500)
        assert delivery.error == "answered 500"
        waited = (delivery.next_attempt_at - now).total_seconds()
        assert delay * (1 - JITTER) <= waited <= delay * (1 + JITTER)
        assert deliver_due(now=delivery.next_attempt_at - timedelta(microseconds=1)) == 0  # not before its time
        now = delivery.next_attempt_at

    assert deliver_due(now=now) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", MAX_ATTEMPTS, None)
    assert len(receiver.requests) == MAX_ATTEMPTS
    endpoint.refresh_from_db()
    assert (endpoint.failed_in_a_row, endpoint.active) == (1, True)


def test_the_schedule_spans_about_a_day() -> None:
    assert MAX_ATTEMPTS == 8
    assert 24 * 3600 <= sum(RETRY_DELAYS) <= 28 * 3600


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(alice: User, receiver: Receiver) -> None:
    receiver.hold = True
    endpoint = make_endpoint(alice, receiver.url)
    delivery = make_delivery(endpoint, make_event(alice))
    assert deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, None)
    assert delivery.error == "no answer within 1 s"


def test_a_refused_connection_is_a_failed_attempt(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, "http://127.0.0.1:9/nothing-listens")
    delivery = make_delivery(endpoint, make_event(alice))
    assert deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, None)
    assert delivery.error == "could not connect to 127.0.0.1:9"


def test_a_redirect_is_not_followed_and_is_a_failed_attempt(alice: User, receiver: Receiver) -> None:
    receiver.status = 302
    endpoint = make_endpoint(alice, receiver.url)
    delivery = make_delivery(endpoint, make_event(alice))
    assert deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("pending", 302)
    assert "redirects are not followed" in delivery.error
    assert len(receiver.requests) == 1


def test_a_410_turns_the_endpoint_off_and_writes_webhook_disabled(alice: User, receiver: Receiver) -> None:
    receiver.status = 410
    endpoint = make_endpoint(alice, receiver.url)
    first = make_delivery(endpoint, make_event(alice, "tasks/1"))
    waiting = make_delivery(endpoint, make_event(alice, "tasks/2"), next_attempt_at=timezone.now() + timedelta(hours=1))

    assert deliver_due() == 1

    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason) == (False, "gone")
    first.refresh_from_db()
    assert (first.status, first.response_status) == ("failed", 410)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.error) == ("failed", TURNED_OFF)
    event = Event.objects.get(type="webhook.disabled")
    assert event.owner_id == alice.pk
    assert event.published_at is not None  # the user's own affair: never to the broker
    assert event.subject == f"webhooks/{endpoint.pk}"
    assert event.data == {
        "user_id": alice.better_auth_id,
        "webhook": {"id": endpoint.pk, "url": endpoint.url, "disabled_reason": "gone"},
    }


def test_webhook_disabled_goes_to_the_owners_other_endpoints_that_take_it(alice: User, receiver: Receiver) -> None:
    receiver.statuses = [410]
    gone = make_endpoint(alice, receiver.url)
    watcher = make_endpoint(alice, receiver.url + "/watcher", events=["webhook.disabled"])
    make_endpoint(alice, receiver.url + "/tasks-only", events=["task.created"])
    make_delivery(gone, make_event(alice))

    deliver_due()
    dispatch()
    assert deliver_due() == 1

    last = receiver.requests[-1]
    assert last.path == "/hooks/watcher"
    body = verified(watcher.secret, last)
    assert body["type"] == "com.evotodo.webhook.disabled"
    assert body["data"]["webhook"] == {"id": gone.pk, "url": gone.url, "disabled_reason": "gone"}


def test_an_endpoint_is_turned_off_after_webhook_disable_after_deliveries_fail(
    alice: User, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_DISABLE_AFTER = 2
    receiver.status = 503
    endpoint = make_endpoint(alice, receiver.url)
    now = timezone.now()
    for subject in ("tasks/1", "tasks/2"):
        make_delivery(endpoint, make_event(alice, subject), next_attempt_at=now, attempts=MAX_ATTEMPTS - 1)

    assert deliver_due(now=now, limit=1) == 1
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.failed_in_a_row) == (True, 1)
    assert not Event.objects.filter(type="webhook.disabled").exists()

    assert deliver_due(now=now) == 1
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason, endpoint.failed_in_a_row) == (False, "failing", 2)
    assert Event.objects.get(type="webhook.disabled").data["webhook"]["disabled_reason"] == "failing"


def test_a_success_sets_the_failures_in_a_row_back_to_zero(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, receiver.url, failed_in_a_row=3)
    make_delivery(endpoint, make_event(alice))
    deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.failed_in_a_row == 0


def test_a_later_event_of_a_subject_waits_while_an_earlier_one_is_retrying(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, receiver.url)
    now = timezone.now()
    earlier = make_delivery(endpoint, make_event(alice, "tasks/1"), next_attempt_at=now)
    later = make_delivery(endpoint, make_event(alice, "tasks/1"), next_attempt_at=now)
    other = make_delivery(endpoint, make_event(alice, "tasks/2"), next_attempt_at=now)
    receiver.statuses = [500]  # one request at a time below, so the earlier one gets it

    assert deliver_due(now=now, limit=1) == 1  # the earlier of tasks/1: the oldest due, fails
    assert deliver_due(now=now) == 1  # tasks/2
    assert set(receiver.ids()) == {str(earlier.event.event_id), str(other.event.event_id)}
    assert deliver_due(now=now + timedelta(seconds=1)) == 0  # the later one waits for the earlier one's retry
    later.refresh_from_db()
    assert (later.status, later.attempts) == ("pending", 0)

    earlier.refresh_from_db()
    assert deliver_due(now=earlier.next_attempt_at) == 1
    assert deliver_due(now=earlier.next_attempt_at) == 1
    assert receiver.ids()[-2:] == [str(earlier.event.event_id), str(later.event.event_id)]


def test_an_endpoint_does_not_wait_for_another_endpoints_deliveries(alice: User, receiver: Receiver) -> None:
    receiver.status = 500
    one, two = make_endpoint(alice, receiver.url), make_endpoint(alice, receiver.url)
    event = make_event(alice, "tasks/1")
    now = timezone.now()
    make_delivery(one, event, next_attempt_at=now)
    make_delivery(two, make_event(alice, "tasks/1"), next_attempt_at=now)
    assert deliver_due(now=now) == 2


def test_a_leased_delivery_is_left_alone_until_its_lease_runs_out(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, receiver.url)
    now = timezone.now()
    delivery = make_delivery(endpoint, make_event(alice), next_attempt_at=now, leased_until=now + timedelta(seconds=30))
    assert deliver_due(now=now) == 0
    assert deliver_due(now=now + timedelta(seconds=30)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_an_outcome_is_not_recorded_over_a_lease_another_worker_took(alice: User, receiver: Receiver) -> None:
    from events.webhooks import Outcome, claim, record

    endpoint = make_endpoint(alice, receiver.url)
    now = timezone.now()
    delivery = make_delivery(endpoint, make_event(alice), next_attempt_at=now)
    [attempt] = claim(now=now, limit=10, lease=now + timedelta(seconds=1))
    Delivery.objects.filter(pk=delivery.pk).update(leased_until=now + timedelta(seconds=99))  # taken over
    record(attempt, Outcome(200, 5), now=now)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_an_inactive_endpoints_deliveries_are_not_sent(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, receiver.url, active=False)
    make_delivery(endpoint, make_event(alice))
    assert deliver_due() == 0
    assert receiver.requests == []


def test_turned_off_by_its_owner_its_pending_deliveries_close_and_turned_on_it_starts_afresh(
    alice: User, receiver: Receiver
) -> None:
    endpoint = make_endpoint(alice, receiver.url)
    pending = make_delivery(endpoint, make_event(alice, dispatched_at=timezone.now()))
    webhook_update(endpoint=endpoint, data={"active": False})
    pending.refresh_from_db()
    assert (pending.status, pending.error) == ("failed", TURNED_OFF)

    webhook_update(endpoint=endpoint, data={"active": True})
    assert deliver_due() == 0
    make_event(alice, type="task.created")
    dispatch()
    assert deliver_due() == 1
    assert json.loads(receiver.requests[0].body)["type"] == "com.evotodo.task.created"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hooks",
        "http://localhost:{port}/hooks",
        "http://[::1]:{port}/hooks",
    ],
)
def test_a_private_address_is_refused_as_a_failed_attempt_unless_allowed(
    alice: User, receiver: Receiver, settings: Any, url: str
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    port = receiver.url.split(":")[2].split("/")[0]
    endpoint = make_endpoint(alice, url.format(port=port))
    delivery = make_delivery(endpoint, make_event(alice))
    assert deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, None)
    assert "may not reach (not public)" in delivery.error
    assert "127.0.0.1" not in delivery.error.split(" resolves")[1]  # the log does not map internal names
    assert "refused" in delivery.error
    assert receiver.requests == []


def test_with_private_addresses_allowed_loopback_is_reached(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, receiver.url.replace("127.0.0.1", "localhost"))
    make_delivery(endpoint, make_event(alice))
    deliver_due()
    assert len(receiver.requests) == 1


def test_a_host_that_does_not_resolve_is_a_failed_attempt(alice: User, receiver: Receiver) -> None:
    endpoint = make_endpoint(alice, "http://no-such-host.invalid/hooks")
    delivery = make_delivery(endpoint, make_event(alice))
    deliver_due()
    delivery.refresh_from_db()
    assert delivery.error == "no-such-host.invalid could not be resolved"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 of 169.254.169.254
        ("64:ff9b::10.0.0.1", "private"),  # NAT64
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo, its client 10.0.0.1
        ("::ffff:8.8.8.8", None),
        ("2002:808:808::1", None),  # 6to4 of 8.8.8.8
        ("::", "unspecified"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_which_addresses_are_refused(address: str, reason: str | None) -> None:
    assert refused_address(address) == reason
