"""A cheaper `pool_pre_ping` for PostgreSQL: ask the connection's socket before the server.

`pool_pre_ping` sends `SELECT 1` at every checkout, so that a connection the server ended (a
restart, `pg_terminate_backend`, an idle timeout) is replaced instead of failing a request. A
ticket job checks a connection out three times (one per commit): three round trips. But a server
that ends a connection sends it a FATAL message and closes it, which makes its socket readable,
while a healthy idle connection has nothing to read. So a connection that psycopg does not know
to be closed or broken, outside a transaction, whose socket has nothing to read, is taken as it
is (one `poll` system call); any other gets the real ping, and is replaced when that fails.
"""

from __future__ import annotations

import select
import types

from flask import Flask

from app.extensions import db


def quiet(dbapi_connection) -> bool:
    """True when the psycopg connection is idle, open, and has nothing waiting to be read."""
    try:
        from psycopg.pq import TransactionStatus

        if dbapi_connection.closed or dbapi_connection.broken:
            return False
        if dbapi_connection.info.transaction_status != TransactionStatus.IDLE:
            return False
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except Exception:  # anything unexpected: the real ping decides
        return False


def _do_ping(self, dbapi_connection) -> bool:
    if quiet(dbapi_connection):
        return True
    return type(self).do_ping(self, dbapi_connection)


def init_app(app: Flask) -> None:
    """Give each psycopg engine with pool_pre_ping the socket check before its ping."""
    with app.app_context():
        for engine in db.engines.values():
            dialect = engine.dialect
            psycopg = (dialect.name, dialect.driver) == ("postgresql", "psycopg")
            if psycopg and engine.pool._pre_ping:
                dialect.do_ping = types.MethodType(_do_ping, dialect)
