"""A write of one statement committed alone within a request's transaction (evotodo.transactions): only where
nothing was sent yet in a request's own transaction, committed as the statement ends, refused as a COMMIT is."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest

from authn.models import User
from authn.tests.factories import UserFactory
from evotodo.transactions import CommitRefused, RequestTransaction, commits_alone, committed_alone
from tasks.models import SyncState

POSTGRESQL_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a statement commits alone only on PostgreSQL: set DATABASE_URL to a PostgreSQL server to run this",
)


def seen_by_another_connection(user_id: int) -> bool:
    """Whether a user row is committed: read on a connection of its own."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        return other.execute("SELECT 1 FROM authn_user WHERE id = %s", [user_id]).fetchone() is not None


def insert_user(better_auth_id: str) -> int:
    """One INSERT statement."""
    return User.objects.create(username=better_auth_id, better_auth_id=better_auth_id).pk


@POSTGRESQL_ONLY
def test_only_a_requests_own_transaction_that_sent_nothing_yet_commits_a_statement_alone(
    transactional_db: Any,
) -> None:
    request, another = HttpRequest(), HttpRequest()
    assert not commits_alone(request)  # no transaction at all
    with RequestTransaction(request):
        assert commits_alone(request)
        assert not commits_alone(another)  # a batch's operation, run in a request of its own
        User.objects.exists()
        assert not commits_alone(request)  # its BEGIN went with that statement
    with transaction.atomic(), RequestTransaction(request):
        assert not commits_alone(request)  # another transaction is the outermost: it would not commit
    with transaction.atomic():
        assert not commits_alone(request)


@pytest.mark.django_db
def test_a_test_cases_transaction_never_commits_a_statement_alone() -> None:
    request = HttpRequest()
    with RequestTransaction(request):
        assert not commits_alone(request)


@POSTGRESQL_ONLY
def test_a_statement_committed_alone_is_committed_as_it_ends_and_stays_when_the_request_rolls_back(
    transactional_db: Any,
) -> None:
    with RequestTransaction(HttpRequest()):
        with committed_alone():
            user_id = insert_user("committed-alone")
        assert seen_by_another_connection(user_id)  # before the request's transaction ends
        assert connection.connection.autocommit is False  # psycopg's transactions go on as Django expects
        transaction.set_rollback(True)
    assert User.objects.filter(pk=user_id).exists()
    with RequestTransaction(HttpRequest()):  # the connection is as any other afterwards: this one rolls back as a whole
        user_id = insert_user("rolled-back")
        transaction.set_rollback(True)
    assert not User.objects.filter(pk=user_id).exists()


@POSTGRESQL_ONLY
def test_a_statement_refused_by_a_deferred_foreign_key_is_a_commit_refused_and_leaves_nothing(
    transactional_db: Any,
) -> None:
    user = UserFactory()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM authn_user WHERE id = %s", [user.pk])
    with pytest.raises(CommitRefused), RequestTransaction(HttpRequest()), committed_alone():
        SyncState.objects.create(owner_id=user.pk, seq=1, purged_seq=0)
    assert not SyncState.objects.filter(owner_id=user.pk).exists()
    assert connection.connection.autocommit is True  # Django's autocommit, the request's transaction over
    assert User.objects.filter(pk=UserFactory().pk).exists()  # the connection serves on


@POSTGRESQL_ONLY
def test_any_other_refused_statement_is_its_own_error(transactional_db: Any) -> None:
    insert_user("taken")
    with pytest.raises(IntegrityError) as raised, RequestTransaction(HttpRequest()), committed_alone():
        insert_user("taken")
    assert type(raised.value) is IntegrityError
    assert User.objects.filter(better_auth_id="taken").count() == 1


@POSTGRESQL_ONLY
def test_committing_alone_anywhere_but_first_in_a_requests_transaction_is_refused_and_sends_nothing(
    transactional_db: Any,
) -> None:
    def attempt() -> None:
        with committed_alone():
            insert_user("escaped")

    connection.ensure_connection()
    with pytest.raises(TransactionManagementError):
        attempt()  # no transaction: Django's autocommit
    assert connection.connection.autocommit is True
    with pytest.raises(TransactionManagementError), transaction.atomic():
        attempt()  # not a request's transaction
    with RequestTransaction(HttpRequest()):
        User.objects.exists()
        with pytest.raises(TransactionManagementError):
            attempt()  # its transaction has begun
    with RequestTransaction(HttpRequest()):
        transaction.set_rollback(True)
        with pytest.raises(TransactionManagementError):
            attempt()  # to be rolled back
    assert not User.objects.filter(better_auth_id="escaped").exists()
