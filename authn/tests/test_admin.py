"""The admin: staff sign in with Django passwords and see users with their task counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from authn.models import User
from tasks.tests.factories import TaskFactory


@pytest.fixture
def staff_client(db: Any) -> Client:
    User.objects.create_superuser("root", "root@example.com", "correct horse battery staple")
    client = Client()
    assert client.login(username="root", password="correct horse battery staple")
    return client


def test_user_list_shows_better_auth_ids_and_task_counts(staff_client: Client, alice: User, bob: User) -> None:
    TaskFactory.create_batch(3, owner=alice)
    response = staff_client.get("/admin/authn/user/")
    assert response.status_code == 200
    rows = {user.better_auth_id: user.task_count for user in response.context["cl"].result_list}
    assert rows[alice.better_auth_id] == 3
    assert rows[bob.better_auth_id] == 0


def test_user_search_by_email_and_id(staff_client: Client, alice: User, bob: User) -> None:
    for term in ("alice@example.com", alice.better_auth_id[:10]):
        response = staff_client.get("/admin/authn/user/", {"q": term})
        assert [user.pk for user in response.context["cl"].result_list] == [alice.pk]


def test_user_change_page_loads(staff_client: Client, alice: User) -> None:
    assert staff_client.get(f"/admin/authn/user/{alice.pk}/change/").status_code == 200


def test_users_created_from_tokens_cannot_sign_in_to_the_admin(db: Any) -> None:
    from authn.services import user_from_claims

    user = user_from_claims({"sub": "frank0123456789abcdefghijklmnopq", "email": "frank@example.com"})
    assert (user.username, user.has_usable_password(), user.is_staff) == (None, False, False)
    assert Client().login(username="frank0123456789abcdefghijklmnopq", password="") is False
    assert Client().login(username="frank@example.com", password="") is False


def test_anonymous_visitor_is_sent_to_the_login_page(db: Any) -> None:
    response = Client().get("/admin/authn/user/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_user_list_shows_last_seen_and_links_to_the_users_tasks(staff_client: Client, alice: User) -> None:
    TaskFactory(owner=alice)
    page = staff_client.get("/admin/authn/user/").content.decode()
    assert f"/admin/tasks/task/?owner__id__exact={alice.pk}" in page
    assert "last seen" in page.lower()


def test_better_auth_id_is_read_only_on_the_user_page(staff_client: Client, alice: User) -> None:
    page = staff_client.get(f"/admin/authn/user/{alice.pk}/change/").content.decode()
    assert alice.better_auth_id in page
    assert 'name="better_auth_id"' not in page


def test_an_admin_can_disable_a_better_auth_user_who_has_no_username(
    staff_client: Client, alice: User, alice_client: Any
) -> None:
    page = staff_client.get(f"/admin/authn/user/{alice.pk}/change/")
    assert page.status_code == 200
    form = {"email": alice.email, "name": alice.name, "username": "", "_save": "Save"}  # is_active left unticked
    response = staff_client.post(f"/admin/authn/user/{alice.pk}/change/", form)
    assert response.status_code == 302, response.content[:500]
    alice.refresh_from_db()
    assert (alice.is_active, alice.username) == (False, None)
    assert alice_client.get("/api/me").json()["code"] == "user_inactive"
