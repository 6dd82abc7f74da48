"""A request's transaction, and a write that is one statement committed by itself within it.

Every request that may write runs in one transaction (AtomicWritesMiddleware). psycopg sends its BEGIN with the
first statement and nothing at COMMIT when none was sent, so a write that is a single statement pays BEGIN and
COMMIT as two round trips of its four (a task's create: BEGIN, the INSERT, its event, COMMIT). Such a write,
when it is the request's first statement and its last, may instead run that statement in autocommit: PostgreSQL
makes a statement its own transaction, all of it or nothing, so the request keeps every promise of its
transaction (nothing half written, nothing written when it fails) for one round trip instead of four.

What changes is when it commits: as the statement ends, before the response is rendered rather than after. A
failure after it (rendering a created task's JSON, which reads nothing) would answer a 500 for a write that
stands; a COMMIT that fails after the response is built answers the same for one that does not, so neither
tells a client more than the other. Statements after it would run in a transaction of their own: the view
promises that there are none, for its own request only (a batch runs each operation's view in a request of its
own, which is never the transaction's), and tests hold that the one statement is all the request sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections
from django.db.transaction import Atomic
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
    connection = connections[using]
    if connection.vendor != "postgresql" or not connection.atomic_blocks or connection.connection is None:
        return False
    outermost = connection.atomic_blocks[0]
    return (
        type(outermost) is RequestTransaction
        and outermost.request is request
        and connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
    )


@contextmanager
def committed_alone(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block's one statement in autocommit, a transaction of its own: where `commits_alone` said it may
    (psycopg refuses autocommit once a transaction has begun). Django's transaction goes on around it: its COMMIT
    or ROLLBACK, with nothing begun, sends nothing."""
    raw = connections[using].connection
    raw.autocommit = True
    try:
        yield
    except IntegrityError as e:
        if getattr(e.__cause__, "sqlstate", None) == FOREIGN_KEY_VIOLATION:
            raise CommitRefused(*e.args) from e
        raise
    finally:
        if not raw.closed:
            raw.autocommit = False
