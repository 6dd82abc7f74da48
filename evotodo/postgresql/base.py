"""Django's PostgreSQL backend, whose per-request health check looks at the socket before it asks the server.

Django checks a persistent connection (`CONN_HEALTH_CHECKS`) before the first query of each request with a
`SELECT 1`: a round trip per request, some 18 % of a list request's time, to learn what the socket already
says. A server that ends a session (`pg_terminate_backend`, a restart's fast shutdown, a pooler closing an
idle client, `idle_session_timeout`) sends its termination notice and closes the socket, which makes it
readable; a connection at rest has nothing to read. So an idle connection whose socket has nothing to read is
used as it is, and anything else takes Django's `SELECT 1`, which fails on a dead session and closes it.

What the socket cannot tell is a host that vanished without closing (a crash, a partition): until TCP
keepalives (settings: 10 s idle, then 2 probes 5 s apart) mark the socket, the first query of such a request
fails instead (a 503 `database_unavailable`, the connection then dropped) where `SELECT 1` would have waited
out `tcp_user_timeout` and reconnected to a database that is, in that case, unreachable anyway.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base, features, operations
from psycopg import pq

# PostgreSQL's protocol numbers a statement's parameters with 16 bits: a statement whose parameters are bound
# server-side (settings: `server_side_binding`) takes at most this many, and fails with more.
MAX_PARAMETERS = 65_535


class DatabaseFeatures(features.DatabaseFeatures):
    # Read by Django's `in_bulk`, which then asks for at most this many ids a query.
    max_query_params = MAX_PARAMETERS


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields: list[Any], objs: list[Any]) -> int:
        """As many objects a statement as its parameters allow (Django's PostgreSQL backend sets no limit, and
        `bulk_create` or `bulk_update` of thousands of rows failed as a statement of too many parameters):
        what Django's SQLite backend does for SQLite's own limit. Each field is one parameter an object."""
        return max(1, min(len(objs), MAX_PARAMETERS // max(len(fields), 1)))


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's wrapper; `is_usable` skips the round trip when the connection is idle, error-free and quiet, and
    bulk statements stay within PostgreSQL's parameters a statement (`DatabaseOperations`)."""

    features_class = DatabaseFeatures
    ops_class = DatabaseOperations

    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        if not self.errors_occurred and self._is_idle_and_quiet():
            return True
        if self.errors_occurred and self.connection.prepare_threshold is not None:
            return self._deallocate_all()
        return super().is_usable()

    def _deallocate_all(self) -> bool:
        """After an error, check the connection with `DEALLOCATE ALL` rather than `SELECT 1`: it also drops
        the statements prepared on it (psycopg forgets them when it sees the command), one of which may be what
        failed, e.g. "cached plan must not change result type" once a migration changed a column's type."""
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("DEALLOCATE ALL")
        except psycopg.Error:
            return False
        return True

    def _is_idle_and_quiet(self) -> bool:
        """Open, outside a transaction, and nothing from the server waiting on the socket."""
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN)
            return not poller.poll(0)  # readable, hung up or in error: ask the server
        except (OSError, ValueError, psycopg.OperationalError):  # no socket (closed meanwhile): ask the server
            return False
