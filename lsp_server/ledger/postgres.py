"""A team's shared ledger in PostgreSQL (``ledger.url``), through psycopg 3 and a small pool.

Each team (``ledger.team``) has its own schema, ``ao_team_<team>``, holding the same tables as
the SQLite ledger (:mod:`lsp_server.ledger.schema` builds both): a team's reports, budget and
response cache read only its schema, so nothing crosses teams. Connections are in autocommit
mode with the team's schema on their search path; a write is one ``transaction()``.

One pool per database and team is shared by everything in the process that opens it (the
ledger's reader and writer, the shared response cache), at most ``POOL_MAX`` connections and
none kept while idle, so a team of many servers stays well inside the server's
``max_connections``; the schema is migrated when that pool is made.

The ledger's SQL uses ``?`` placeholders; :class:`PgSql` turns them into psycopg's ``%s``.
Connection failures (the server down, a timeout, a dropped connection) raise
:class:`~lsp_server.errors.LedgerUnavailableError`, with the URL's password masked. After one,
the database is not tried again for a back-off period (:class:`Breaker`, 1 s doubling to 30 s):
some reads (the day's spend for the budget, the shared cache) are made on the server's event
loop, and a database that is down must cost them one timeout per period, not one per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from lsp_server.errors import LedgerError, LedgerUnavailableError
from lsp_server.ledger.backend import Cursor, RowConflictError, Sql
from lsp_server.ledger.identity import redact
from lsp_server.ledger.schema import migrate_postgres

log = logging.getLogger(__name__)
# The pool logs every failed reconnection while the database is down; the ledger tells the user
# once per outage instead (LedgerWriter's notice), so only the pool's errors are kept.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

CONNECT_TIMEOUT_S = 2  # how long opening a connection may take before the database is "down"
WAIT_S = 2.0  # how long a caller waits for a pooled connection
BACKOFF_S = (1.0, 30.0)  # first and longest wait before a database that failed is tried again
POOL_MAX = 4
_UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def schema_name(team: str) -> str:
    """The quoted schema of ``team`` (``ledger.team`` is validated to ``[A-Za-z0-9_-]+``)."""
    return '"ao_team_' + team.lower().replace('"', "") + '"'


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> bytes:
    return sql.replace("%", "%%").replace("?", "%s").encode()


class Breaker:
    """Fails fast for a while after a connection failure (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0
        self._wait = BACKOFF_S[0]
        self.reason = ""

    def check(self, where: str) -> None:
        with self._lock:
            if time.monotonic() < self._until:
                raise LedgerUnavailableError(
                    f"the shared ledger at {where} is unreachable ({self.reason}); "
                    "trying again shortly")

    def failed(self, reason: str) -> None:
        with self._lock:
            self.reason = reason
            self._until = time.monotonic() + self._wait
            self._wait = min(self._wait * 2, BACKOFF_S[1])

    def succeeded(self) -> None:
        with self._lock:
            self._until, self._wait = 0.0, BACKOFF_S[0]


_BREAKERS: dict[str, Breaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(url: str) -> Breaker:
    """The one breaker of a database, shared by every ledger and cache opened on it."""
    with _BREAKERS_LOCK:
        return _BREAKERS.setdefault(url, Breaker())


class PgSql:
    """A psycopg connection taking the ledger's ``?`` placeholders."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        return self._conn.execute(_placeholders(sql), tuple(params) or None)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> object:
        with self._conn.cursor() as cur:
            cur.executemany(_placeholders(sql), rows)
        return None


class PostgresBackend:
    """See the module docstring. Opening it migrates the team's schema."""

    shared = True
    dialect = "postgresql"
    rebuilt: str | None = None  # (a damaged SQLite file's note; never for a database)

    def __init__(self, url: str, team: str, *, connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 wait_s: float = WAIT_S) -> None:
        self.url = url
        self.team = team
        self.schema = schema_name(team)
        self._wait_s = wait_s
        self.where = f"{redact(url)} (team {team})"
        self._breaker = breaker_for(url)
        self._breaker.check(self.where)
        self._key = (url, self.schema)
        self._closed = False
        try:
            self._pool = _acquire(url, self.schema, connect_timeout_s)
        except _UNAVAILABLE as exc:
            self._breaker.failed(_said(exc))
            raise LedgerUnavailableError(
                f"cannot reach the shared ledger at {self.where}: {_said(exc)}") from None
        except psycopg.Error as exc:
            raise LedgerError(f"cannot use the shared ledger at {self.where}: {_said(exc)}") from None

    @contextmanager
    def transaction(self) -> Iterator[Sql]:
        self._breaker.check(self.where)
        try:
            with self._pool.connection(timeout=self._wait_s) as conn, conn.transaction():
                yield PgSql(conn)
        except psycopg.IntegrityError as exc:
            raise RowConflictError(_said(exc)) from None
        except _UNAVAILABLE as exc:
            self._breaker.failed(_said(exc))
            raise LedgerUnavailableError(
                f"cannot write the shared ledger at {self.where}: {_said(exc)}") from None
        except psycopg.Error as exc:  # refused for good (e.g. a permission): one clear line
            raise LedgerError(f"the shared ledger at {self.where} refused a write: "
                              f"{_said(exc)}") from None
        self._breaker.succeeded()

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        self._breaker.check(self.where)
        try:
            with self._pool.connection(timeout=self._wait_s) as conn:
                yield PgSql(conn)
        except _UNAVAILABLE as exc:
            self._breaker.failed(_said(exc))
            raise LedgerUnavailableError(
                f"cannot read the shared ledger at {self.where}: {_said(exc)}") from None
        except psycopg.Error as exc:
            raise LedgerError(f"the shared ledger at {self.where} refused a query: "
                              f"{_said(exc)}") from None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _release(self._key)


class _Shared:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool
        self.users = 0


_POOLS: dict[tuple[str, str], _Shared] = {}
_POOLS_LOCK = threading.Lock()


def _acquire(url: str, schema: str, connect_timeout_s: float) -> ConnectionPool[Any]:
    """The process's pool for ``schema`` at ``url``, made (and the schema migrated) on first use."""
    with _POOLS_LOCK:
        entry = _POOLS.get((url, schema))
        if entry is None:
            search_path = f"SET search_path TO {schema}".encode()

            def configure(conn: psycopg.Connection[Any]) -> None:
                conn.execute(search_path)

            pool: ConnectionPool[Any] = ConnectionPool(
                url, min_size=0, max_size=POOL_MAX, open=False, name="ledger",
                kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout_s)),
                        "application_name": "agentic-optimizer"},
                configure=configure, check=ConnectionPool.check_connection,
                max_idle=60.0,
            )
            # The first connection is made directly: a refused password or an unknown database
            # is then reported as the server said it, not as a pool timeout.
            with psycopg.connect(url, autocommit=True,
                                 connect_timeout=max(1, int(connect_timeout_s)),
                                 application_name="agentic-optimizer") as conn:
                migrate_postgres(conn, schema)
            pool.open()
            entry = _POOLS[(url, schema)] = _Shared(pool)
        entry.users += 1
        return entry.pool


def _release(key: tuple[str, str]) -> None:
    with _POOLS_LOCK:
        entry = _POOLS.get(key)
        if entry is None:
            return
        entry.users -= 1
        if entry.users > 0:
            return
        del _POOLS[key]
    entry.pool.close(timeout=2)


def _said(exc: BaseException) -> str:
    """The first line of a driver error (psycopg adds hints and context on later lines)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
