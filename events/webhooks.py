"""Webhooks: the users' endpoints are sent their deliveries (events.relay makes them), signed as Standard Webhooks
say (https://www.standardwebhooks.com), retried on a schedule of about a day, and turned off when they keep failing.

How `deliver_due` works, for several workers at once: it claims due deliveries in a short transaction
(`SELECT … FOR UPDATE SKIP LOCKED`) by writing a lease (`leased_until`), sends them with no transaction open (a
small pool of threads: a slow receiver holds only its own thread, never a lock or a database connection), then
records each outcome in a transaction of its own, only if its lease is still the one it wrote. A worker that dies
mid-send leaves a lease that expires: the delivery is sent again (at least once; receivers deduplicate by
`webhook-id`, the event's id).

One endpoint gets one subject's events in order: a delivery is not sent while an earlier one (a lower event id)
of the same endpoint and subject is pending, retrying or in flight.

An endpoint turned off, by its owner or by the server (`gone`: it answered 410; `failing`: WEBHOOK_DISABLE_AFTER
deliveries in a row spent every retry), is sent nothing more: the relay makes it no deliveries while it is off, and
its pending ones are closed as failed ("webhook turned off") when it is turned off. Turned back on, it starts
afresh with the events that follow; any closed delivery can be sent again from the log (POST …/retry).

The receiver's address is checked before each attempt: unless WEBHOOK_ALLOW_PRIVATE, a host that resolves to a
loopback, private, link-local, multicast, reserved or unspecified address (any of its addresses) is refused, as
a failed attempt. The request goes to the very address checked (no second DNS lookup that could answer
differently), with the URL's host in `Host` and in TLS (SNI and certificate check). Redirects are not followed.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import logging
import math
import random
import secrets
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from standardwebhooks import Webhook

from events.cloudevents import CONTENT_TYPE, cloudevent_bytes
from events.models import Delivery, Event, WebhookEndpoint

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
USER_AGENT = "Evo-TODO-Webhooks/1.0"
DISABLED = "webhook.disabled"
GONE, FAILING = "gone", "failing"
TURNED_OFF = "webhook turned off"

# Seconds to wait after each failed attempt before the next (Standard Webhooks' schedule: the first attempt at
# once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight attempts over about 27 hours). Each wait
# is jittered by up to JITTER either way, so that a receiver back from an outage is not hit by every retry at once.
RETRY_DELAYS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1
# Receivers are sent this many requests at once at most, per `deliver_due` call.
MAX_THREADS = 8
# The worker's sending threads (DeliveryPump), and how many of them one user's deliveries may hold at once.
SENDERS = 16
PER_OWNER = 4
# How webhooks' TLS is checked: the system's certificate authorities, host names verified.
TLS_CONTEXT = ssl.create_default_context()
# A lease outlasts the request's timeout by this much: the claim, the signing and the recording.
LEASE_MARGIN_SECONDS = 15


def new_secret() -> str:
    """A signing secret in Standard Webhooks' format: "whsec_" and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_header(*, secrets_: Iterable[str], msg_id: str, timestamp: datetime, body: bytes) -> str:
    """`webhook-signature`: each live secret's "v1,<base64>", space-separated (the newest first)."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets_)


def live_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one until its grace period ends."""
    live = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        live.append(endpoint.previous_secret)
    return live


def signed_headers(
    *, endpoint: WebhookEndpoint, event: Event, body: bytes, sent_at: datetime, now: datetime
) -> dict[str, str]:
    """The headers of one attempt: Standard Webhooks' three, signed at `sent_at`, and the CloudEvent's type."""
    msg_id = str(event.event_id)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(sent_at.timestamp())),
        "webhook-signature": signature_header(
            secrets_=live_secrets(endpoint, now), msg_id=msg_id, timestamp=sent_at, body=body
        ),
        "content-type": CONTENT_TYPE,
        "user-agent": USER_AGENT,
    }


# NAT64's well-known prefix (RFC 6052): 64:ff9b::10.0.0.1 is 10.0.0.1 on a network with a NAT64 gateway.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches: mapped (::ffff:a.b.c.d), 6to4 (2002:ab:cd::), Teredo (its
    server and client) and NAT64 (64:ff9b::a.b.c.d)."""
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


def refused_address(address: str) -> str | None:
    """Why a receiver may not be at this IP address ("loopback", "private"…), or None for a public one. An IPv6
    address that carries an IPv4 address (`embedded_ipv4`) is refused for what that one is too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a zone ("fe80::1%eth0") names no other address
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in embedded_ipv4(ip):
            reason = refused_address(str(inner))
            if reason is not None:
                return reason
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:8.8.8.8 is 8.8.8.8, public
    for reason in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{reason}"):
            return reason.replace("_", "-")
    if not ip.is_global:
        return "non-public"  # shared address space (100.64.0.0/10), documentation ranges…
    return None


def refused_host(host: str) -> str | None:
    """Why a URL's host is refused without looking it up (an address literal that is not public, or a name of
    this machine), or None: what the API checks when a URL is given. Delivery checks what it resolves to."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback"
    try:
        return refused_address(name)
    except ValueError:
        return None  # a name: checked when it is resolved, at each attempt


class AddressRefused(Exception):
    """The receiver's host resolves to an address webhooks may not reach."""


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for `host`: its first, once every one it resolves to is allowed."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise AddressRefused(f"{host} could not be resolved") from e
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private:
        for address in addresses:
            reason = refused_address(address)
            if reason is not None:
                # Neither the address nor its kind: the log must not map a deployment's internal names.
                raise AddressRefused(f"{host} resolves to an address webhooks may not reach (not public): refused")
    return addresses[0]


@dataclass(frozen=True)
class Attempt:
    """One claimed delivery, ready to send: no model, so the sending threads never touch the database."""

    delivery_id: int
    lease: datetime
    url: str
    body: bytes
    headers: dict[str, str]
    endpoint_id: int = 0
    owner_id: int = 0


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the status (None: no answer), how long it took, and a short error."""

    status: int | None
    duration_ms: int
    error: str = ""


class Deadline:
    """Ends a request at a moment, whatever the receiver does: a socket timeout bounds each read, not the whole
    exchange, and a receiver that sends its answer a byte every few seconds would hold a worker for as long as it
    likes. At the deadline the connection is shut down from a timer thread, which ends any read in progress."""

    def __init__(self, seconds: float) -> None:
        self.socket: socket.socket | None = None
        self.expired = False
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        if self.socket is not None:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        if self.socket is not None:
            self.socket.close()


class Sender:
    """Makes one attempt's POST to the address its host was checked to be at, ended after `timeout` seconds in all
    (connecting, TLS, sending, and the answer's status line and headers; its body is never read). `timer` measures
    how long it took (a test may replace it)."""

    timer: Callable[[], float] = time.monotonic

    def __init__(self, *, timeout: float, allow_private: bool) -> None:
        self.timeout = timeout
        self.allow_private = allow_private

    def send(self, attempt: Attempt) -> Outcome:
        started = self.timer()

        def done(status: int | None, error: str = "") -> Outcome:
            return Outcome(status, max(int((self.timer() - started) * 1000), 0), error[:200])

        parts = urlsplit(attempt.url)
        host = parts.hostname or ""
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        try:
            address = resolve(host, port, allow_private=self.allow_private)
        except AddressRefused as e:
            return done(None, str(e))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        with Deadline(self.timeout) as deadline:
            try:
                status = self._post(deadline, address, port, host if https else None, path, attempt, parts.netloc)
            except ssl.SSLError:
                return done(None, "TLS handshake or certificate check failed")
            except (OSError, http.client.HTTPException) as e:
                if deadline.expired or isinstance(e, TimeoutError):
                    return done(None, f"no answer within {self.timeout:g} s")
                if isinstance(e, ConnectionRefusedError):
                    return done(None, f"could not connect to {host}:{port}")
                return done(None, f"connection failed ({type(e).__name__})")
        if 200 <= status < 300:
            return done(status)
        if 300 <= status < 400:
            return done(status, f"answered {status}: redirects are not followed")
        return done(status, f"answered {status}")

    def _post(
        self,
        deadline: Deadline,
        address: str,
        port: int,
        tls_host: str | None,
        path: str,
        attempt: Attempt,
        netloc: str,
    ) -> int:
        """The status of the receiver's answer; the connection is the deadline's to end."""
        deadline.socket = socket.create_connection((address, port), timeout=self.timeout)
        if tls_host is not None:  # TLS to the address checked, for the URL's host name (SNI, certificate)
            deadline.socket = TLS_CONTEXT.wrap_socket(deadline.socket, server_hostname=tls_host)
        connection = http.client.HTTPConnection(address, port, timeout=self.timeout)
        connection.sock = deadline.socket  # already connected: http.client sends on it as it is
        connection.request("POST", path, body=attempt.body, headers={**attempt.headers, "host": netloc})
        return connection.getresponse().status  # no redirect followed, no body read


def retry_delay(attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (1-based), jittered by up to ±JITTER."""
    base = RETRY_DELAYS[attempts - 1]
    return timedelta(seconds=base * (1 + JITTER * (2 * rand() - 1)))


def disabled_event(endpoint: WebhookEndpoint, now: datetime) -> Event:
    """The `webhook.disabled` event of an endpoint the server turned off: the relay fans it out to the owner's
    other endpoints that take it."""
    return Event.objects.create(
        owner_id=endpoint.owner_id,
        published_at=now,  # the user's own affair: to their other webhooks, never to the broker's consumers
        type=DISABLED,
        subject=f"webhooks/{endpoint.pk}",
        time=now,
        data={
            "user_id": endpoint.owner.better_auth_id,
            "webhook": {"id": endpoint.pk, "url": endpoint.url, "disabled_reason": endpoint.disabled_reason},
        },
    )


def close_pending(endpoint: WebhookEndpoint, now: datetime) -> int:
    """Close the pending deliveries of an endpoint turned off, as failed: nothing stale bursts out when it is
    turned back on. One in flight (leased) is left to its worker, which records what the receiver answered, and
    closes it if that is not a success. In the caller's transaction; returns how many it closed."""
    in_flight = Q(leased_until__isnull=False, leased_until__gt=now)
    return (
        Delivery.objects.filter(endpoint=endpoint, status=Delivery.PENDING)
        .exclude(in_flight)
        .update(status=Delivery.FAILED, next_attempt_at=None, leased_until=None, error=TURNED_OFF)
    )


def turn_off(endpoint: WebhookEndpoint, *, reason: str, now: datetime) -> None:
    """The server turns the endpoint off (`gone` or `failing`), closes its pending deliveries and writes the
    `webhook.disabled` event; in the caller's transaction, with the endpoint's row locked."""
    endpoint.active = False
    endpoint.disabled_reason = reason
    endpoint.save(update_fields=["active", "disabled_reason", "failed_in_a_row", "updated_at"])
    close_pending(endpoint, now)
    disabled_event(endpoint, now)
    logger.warning("webhook %s of user %s turned off: %s", endpoint.pk, endpoint.owner_id, reason)


def due_deliveries(now: datetime) -> QuerySet[Delivery]:
    """The deliveries an attempt is due for: pending, due, not leased (or the lease ran out), of an active
    endpoint, and with no earlier event of the same subject still pending for that endpoint."""
    earlier = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        subject=OuterRef("subject"),
        status=Delivery.PENDING,
        event_id__lt=OuterRef("event_id"),
    )
    return (
        Delivery.objects.filter(status=Delivery.PENDING, next_attempt_at__lte=now, endpoint__active=True)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .exclude(Exists(earlier))
    )


def claim(*, now: datetime, limit: int, lease: datetime, busy: Iterable[Attempt] | None = None) -> list[Attempt]:
    """Lease up to `limit` due deliveries (oldest due first) to this worker and prepare their requests; other
    workers skip the rows locked here, and then see the lease. With `busy` (the attempts this worker has in
    flight), it takes none for an endpoint that has one in flight, one per endpoint, and at most PER_OWNER in
    flight for one user: one user's slow receivers cannot take every sending thread."""
    with transaction.atomic():
        candidates = (
            due_deliveries(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .order_by("next_attempt_at", "id")
        )
        if busy is None:
            deliveries = list(candidates[:limit])
        else:
            deliveries = _fairly(list(candidates[: limit * 4]), limit, list(busy))
        if not deliveries:
            return []
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(leased_until=lease)
    sent_at = timezone.now()  # the signature's timestamp: receivers hold it to their clock, not to an injected one
    attempts = []
    for delivery in deliveries:
        body = cloudevent_bytes(delivery.event)
        headers = signed_headers(endpoint=delivery.endpoint, event=delivery.event, body=body, sent_at=sent_at, now=now)
        attempts.append(
            Attempt(
                delivery.pk,
                lease,
                delivery.endpoint.url,
                body,
                headers,
                delivery.endpoint_id,
                delivery.endpoint.owner_id,
            )
        )
    return attempts


def _fairly(candidates: list[Delivery], limit: int, busy: list[Attempt]) -> list[Delivery]:
    """Up to `limit` of the candidates, in order, none for an endpoint already sending, and no user past PER_OWNER
    deliveries in flight."""
    endpoints = {attempt.endpoint_id for attempt in busy}
    owners = Counter(attempt.owner_id for attempt in busy)
    chosen = []
    for delivery in candidates:
        owner = delivery.endpoint.owner_id
        if delivery.endpoint_id in endpoints or owners[owner] >= PER_OWNER:
            continue
        chosen.append(delivery)
        endpoints.add(delivery.endpoint_id)
        owners[owner] += 1
        if len(chosen) == limit:
            break
    return chosen


def record(attempt: Attempt, outcome: Outcome, *, now: datetime, rand: Callable[[], float] = random.random) -> None:
    """Write one attempt's outcome, and what it means for its endpoint, in one short transaction; nothing when the
    lease is no longer this worker's (it ran out and another worker took the delivery)."""
    with transaction.atomic():
        endpoint_id = (
            Delivery.objects.filter(pk=attempt.delivery_id, leased_until=attempt.lease)
            .values_list("endpoint_id", flat=True)
            .first()
        )
        if endpoint_id is None:
            return
        # The endpoint first, then the delivery: the order the API's writes on an endpoint take them in.
        endpoint = WebhookEndpoint.objects.select_for_update().select_related("owner").get(pk=endpoint_id)
        delivery = Delivery.objects.select_for_update().filter(pk=attempt.delivery_id, leased_until=attempt.lease)
        delivery = delivery.first()
        if delivery is None:
            return
        delivery.attempts += 1
        delivery.response_status = outcome.status
        delivery.duration_ms = outcome.duration_ms
        delivery.error = outcome.error
        delivery.last_attempt_at = now
        delivery.leased_until = None
        if outcome.status is not None and 200 <= outcome.status < 300:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = Delivery.DELIVERED, now, None
            if endpoint.failed_in_a_row:
                endpoint.failed_in_a_row = 0
                endpoint.save(update_fields=["failed_in_a_row", "updated_at"])
        elif outcome.status == 410:
            delivery.status, delivery.next_attempt_at = Delivery.FAILED, None
            delivery.error = "answered 410 Gone: the webhook was turned off"
        elif not endpoint.active:  # turned off while this attempt was in flight
            delivery.status, delivery.next_attempt_at = Delivery.FAILED, None
            delivery.error = f"{outcome.error}; {TURNED_OFF}"[:200]
        elif delivery.attempts < MAX_ATTEMPTS:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts, rand)
        else:
            delivery.status, delivery.next_attempt_at = Delivery.FAILED, None
            endpoint.failed_in_a_row += 1
            endpoint.save(update_fields=["failed_in_a_row", "updated_at"])
        delivery.save()
        if endpoint.active and outcome.status == 410:
            turn_off(endpoint, reason=GONE, now=now)
        elif endpoint.active and endpoint.failed_in_a_row >= settings.WEBHOOK_DISABLE_AFTER:
            turn_off(endpoint, reason=FAILING, now=now)


def deliver_due(*, now: datetime | None = None, limit: int = 50) -> int:
    """Attempt the deliveries due by `now` (at most `limit`): claim them, send them outside any transaction, a few
    at a time, and record each outcome. Several workers may run this at once: none sends what another claimed.
    Returns how many it attempted."""
    clock = (lambda: now) if now is not None else timezone.now
    start = clock()
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    threads = max(1, min(limit, MAX_THREADS))
    # Long enough for every wave of requests the pool makes, each bounded by the timeout.
    waves = math.ceil(limit / threads)
    lease = start + timedelta(seconds=waves * timeout + LEASE_MARGIN_SECONDS)
    attempts = claim(now=start, limit=limit, lease=lease)
    if not attempts:
        return 0
    sender = Sender(timeout=timeout, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    with ThreadPoolExecutor(max_workers=min(threads, len(attempts)), thread_name_prefix="webhook") as pool:
        futures = {pool.submit(sender.send, attempt): attempt for attempt in attempts}
        for future in as_completed(futures):
            record(futures[future], future.result(), now=clock())
    return len(attempts)


class DeliveryPump:
    """The worker's webhook sender: SENDERS threads, each taking the next due delivery as soon as it is free, so a
    receiver that is slow holds one thread for at most WEBHOOK_TIMEOUT_SECONDS, never a round of everyone's
    deliveries; one delivery per endpoint and PER_OWNER per user in flight at once (`claim`). `pump` claims work
    for the free threads and returns at once; the sending and recording run in the threads."""

    def __init__(self, senders: int = SENDERS) -> None:
        self.senders = senders
        self.pool = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="webhook")
        self.lock = threading.Lock()
        self.in_flight: dict[int, Attempt] = {}
        # Set each time a sending thread comes free: its endpoint's next delivery may be due now (Worker.run).
        self.freed = threading.Event()

    def pump(self, *, now: datetime | None = None) -> int:
        """Claim due deliveries for the free threads and start them; returns how many it started."""
        with self.lock:
            free = self.senders - len(self.in_flight)
            busy = list(self.in_flight.values())
        if free <= 0:
            return 0
        now = now or timezone.now()
        lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
        attempts = claim(now=now, limit=free, lease=lease, busy=busy)
        sender = Sender(timeout=settings.WEBHOOK_TIMEOUT_SECONDS, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
        for attempt in attempts:
            with self.lock:
                self.in_flight[attempt.delivery_id] = attempt
            self.pool.submit(self._send, sender, attempt)
        return len(attempts)

    def _send(self, sender: Sender, attempt: Attempt) -> None:
        try:
            outcome = sender.send(attempt)
            record(attempt, outcome, now=timezone.now())
        except DatabaseError:
            # The lease runs out and the delivery is sent again: at least once.
            logger.warning("recording webhook delivery %s failed", attempt.delivery_id, exc_info=True)
            close_old_connections()
        finally:
            with self.lock:
                self.in_flight.pop(attempt.delivery_id, None)
            self.freed.set()

    def busy(self) -> int:
        with self.lock:
            return len(self.in_flight)

    def close(self) -> None:
        """Wait for the deliveries in flight (each ends within WEBHOOK_TIMEOUT_SECONDS), then stop the threads."""
        self.pool.shutdown(wait=True)
