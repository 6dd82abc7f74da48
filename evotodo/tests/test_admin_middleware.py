"""Sessions, the logged-in user and messages run for the admin and are skipped on the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from authn.models import User


def test_an_api_request_has_no_session_nor_messages(alice: User, alice_client: APIClient) -> None:
    response = alice_client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["id"] == alice.better_auth_id
    assert not hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "_messages")
    assert "sessionid" not in response.cookies


def test_a_session_cookie_does_not_authenticate_the_api(db: Any) -> None:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("staff", email="staff@example.com", password="pw"))
    assert client.get("/admin/").status_code == 200  # the admin still has its session and user
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_admin_login_still_sets_a_session(db: Any) -> None:
    get_user_model().objects.create_superuser("staff", email="staff@example.com", password="pw")
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "staff", "password": "pw"})
    assert response.status_code == 302
    assert "sessionid" in response.cookies
    assert client.get("/admin/").status_code == 200
