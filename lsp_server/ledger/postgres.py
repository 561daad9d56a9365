"""A team's shared ledger in PostgreSQL (``ledger.url``), through psycopg 3 and a small pool.

Each team (``ledger.team``) has its own schema, ``ao_team_<team>``, holding the same tables as
the SQLite ledger (:mod:`lsp_server.ledger.schema` builds both): a team's reports, budget and
response cache read only its schema, so nothing crosses teams. Connections are in autocommit
mode with the team's schema on their search path; a write is one ``transaction()``.

The ledger's SQL uses ``?`` placeholders; :class:`PgSql` turns them into psycopg's ``%s``.
Connection failures (the server down, a timeout, a dropped connection) raise
:class:`~lsp_server.errors.LedgerUnavailableError`, with the URL's password masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
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

CONNECT_TIMEOUT_S = 5  # how long opening a connection may take before the database is "down"
WAIT_S = 5.0  # how long a caller waits for a pooled connection
POOL_MAX = 4
_UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def schema_name(team: str) -> str:
    """The quoted schema of ``team`` (``ledger.team`` is validated to ``[A-Za-z0-9_-]+``)."""
    return '"ao_team_' + team.lower().replace('"', "") + '"'


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> bytes:
    return sql.replace("%", "%%").replace("?", "%s").encode()


class PgSql:
    """A psycopg connection taking the ledger's ``?`` placeholders."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        return self._conn.execute(_placeholders(sql), tuple(params) or None)


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
        self._pool = ConnectionPool(
            url, min_size=1, max_size=POOL_MAX, open=False, name="ledger",
            kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout_s)),
                    "application_name": "agentic-optimizer"},
            configure=self._configure, check=ConnectionPool.check_connection,
            reconnect_timeout=24 * 3600,  # keep trying while the server is down
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s + 1)
            with self._pool.connection(timeout=wait_s) as conn:
                migrate_postgres(conn, self.schema)
        except _UNAVAILABLE as exc:
            self._pool.close(timeout=0)
            raise LedgerUnavailableError(
                f"cannot reach the shared ledger at {self.where}: {_said(exc)}") from None
        except psycopg.Error as exc:
            self._pool.close(timeout=0)
            raise LedgerError(f"cannot use the shared ledger at {self.where}: {_said(exc)}") from None

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"SET search_path TO {self.schema}".encode())

    @contextmanager
    def transaction(self) -> Iterator[Sql]:
        try:
            with self._pool.connection(timeout=self._wait_s) as conn, conn.transaction():
                yield PgSql(conn)
        except psycopg.IntegrityError as exc:
            raise RowConflictError(_said(exc)) from None
        except _UNAVAILABLE as exc:
            raise LedgerUnavailableError(
                f"cannot write the shared ledger at {self.where}: {_said(exc)}") from None

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        try:
            with self._pool.connection(timeout=self._wait_s) as conn:
                yield PgSql(conn)
        except _UNAVAILABLE as exc:
            raise LedgerUnavailableError(
                f"cannot read the shared ledger at {self.where}: {_said(exc)}") from None

    def close(self) -> None:
        self._pool.close(timeout=2)


def _said(exc: BaseException) -> str:
    """The first line of a driver error (psycopg adds hints and context on later lines)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
