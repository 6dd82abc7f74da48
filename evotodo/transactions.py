"""A request's transaction, and a write that is one statement committed by itself within it.

Every request that may write runs in one transaction (AtomicWritesMiddleware). psycopg sends its BEGIN with the
first statement and nothing at COMMIT when none was sent, so a write that could be a single statement pays BEGIN
and COMMIT as round trips of their own (a task's create: BEGIN, the INSERT, its tags, its event, COMMIT). Such a
write, when it is the request's first statement and its last, may instead run as one statement in autocommit:
PostgreSQL makes a statement its own transaction, all of it or nothing, so the request keeps its transaction's
promises (nothing half written, nothing written when it fails) in one round trip.

What changes is when it commits: as the statement ends, before the response is rendered rather than after. A
failure after it (rendering a created task's JSON, which reads nothing) would answer a 500 for a write that
stands, and a connection lost while the statement runs a 503 for one that may stand, where the transaction's
COMMIT leaves that doubt only for its own round trip: the README says so, and an Idempotency-Key (whose create
takes the transaction's path) makes a retry safe. Statements after it would run in a transaction of their own:
the view promises that there are none, for its own request only (a batch runs each operation's view in a request
of its own, which is never the transaction's), and tests hold that the one statement is all the request sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections
from django.db.transaction import Atomic, TransactionManagementError
from django.http import HttpRequest
from psycopg import pq

# PostgreSQL's foreign_key_violation: Django makes every foreign key DEFERRABLE INITIALLY DEFERRED, so this is the
# error that a COMMIT raises, and a statement in autocommit raises at its own commit.
FOREIGN_KEY_VIOLATION = "23503"


class RequestTransaction(Atomic):
    """`transaction.atomic()` as AtomicWritesMiddleware opens it for `request`, a request that may write: the one
    block within which that request's write may be committed alone (`commits_alone`)."""

    def __init__(self, request: HttpRequest, using: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(using, savepoint=True, durable=False)
        self.request = request


class CommitRefused(IntegrityError):
    """A statement committed alone was refused at its commit by a deferred foreign key: what the request's
    COMMIT raises otherwise (a row that refers to one deleted meanwhile), and answered the same (a 409)."""


def commits_alone(request: HttpRequest, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the write of `request`, when it is one statement, may commit it by itself now: on PostgreSQL,
    directly in the transaction AtomicWritesMiddleware opened for this very request (not the request of a batch's
    operation, not within a test case's transaction or any other opened around it), which has sent nothing yet.
    The caller's promise: this write is all its request writes."""
    return _alone_allowed(connections[using], request)


def _alone_allowed(connection: Any, request: HttpRequest | None) -> bool:
    """`commits_alone` for `request`, or for whichever request's transaction this is (None)."""
    if connection.vendor != "postgresql" or len(connection.atomic_blocks) != 1 or connection.connection is None:
        return False
    block = connection.atomic_blocks[0]
    return (
        type(block) is RequestTransaction
        and (request is None or block.request is request)
        and not connection.needs_rollback
        and not connection.connection.autocommit
        and connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
    )


@contextmanager
def committed_alone(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block's one statement in autocommit, a transaction of its own: only where `commits_alone` said
    it may (checked again here: anywhere else, a TransactionManagementError and nothing sent). Django's
    transaction goes on around it: its COMMIT or ROLLBACK, with nothing begun, sends nothing."""
    connection = connections[using]
    if not _alone_allowed(connection, None):
        raise TransactionManagementError("a statement commits alone only first in a request's own transaction")
    raw = connection.connection
    raw.autocommit = True
    try:
        yield
    except IntegrityError as e:
        if getattr(e.__cause__, "sqlstate", None) == FOREIGN_KEY_VIOLATION:
            raise CommitRefused(*e.args) from e.__cause__
        raise
    finally:
        if not raw.closed:
            raw.autocommit = False
