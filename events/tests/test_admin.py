"""The events admin: endpoints with their deliveries, and never a secret."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from authn.models import User
from events.models import Delivery
from events.tests.conftest import make_delivery, make_endpoint, make_event


@pytest.fixture
def staff_client(db: Any) -> Client:
    User.objects.create_superuser("root", "root@example.com", "correct horse battery staple")
    client = Client()
    client.login(username="root", password="correct horse battery staple")
    return client


def test_an_endpoints_page_shows_its_deliveries_and_never_its_secrets(staff_client: Client, alice: User) -> None:
    endpoint = make_endpoint(alice, previous_secret="whsec_previous0000000000000000000000000000000")
    make_delivery(endpoint, make_event(alice), error="answered 500")
    response = staff_client.get(f"/admin/events/webhookendpoint/{endpoint.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "answered 500" in page
    assert endpoint.secret not in page
    assert endpoint.previous_secret not in page
    listing = staff_client.get("/admin/events/webhookendpoint/").content.decode()
    assert endpoint.url in listing
    assert endpoint.secret not in listing


def test_turning_an_endpoint_off_in_the_admin_closes_its_pending_deliveries(staff_client: Client, alice: User) -> None:
    endpoint = make_endpoint(alice)
    delivery = make_delivery(endpoint, make_event(alice))
    response = staff_client.post(
        f"/admin/events/webhookendpoint/{endpoint.pk}/change/",
        {
            "url": endpoint.url,
            "description": "",
            "deliveries-TOTAL_FORMS": "1",
            "deliveries-INITIAL_FORMS": "1",
            "deliveries-MIN_NUM_FORMS": "0",
            "deliveries-MAX_NUM_FORMS": "0",
            "deliveries-0-id": str(delivery.pk),
            "deliveries-0-endpoint": str(endpoint.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert Delivery.objects.get(pk=delivery.pk).status == "failed"


def test_the_delivery_and_event_pages_load(staff_client: Client, alice: User) -> None:
    delivery = make_delivery(make_endpoint(alice), make_event(alice))
    assert staff_client.get(f"/admin/events/delivery/{delivery.pk}/change/").status_code == 200
    assert staff_client.get(f"/admin/events/event/{delivery.event_id}/change/").status_code == 200
    assert staff_client.get("/admin/events/delivery/").status_code == 200
