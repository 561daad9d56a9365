"""Where the ledger's rows live: the SQLite file (the default) or a team's PostgreSQL database.

:class:`~lsp_server.ledger.store.Ledger` writes its records and runs its reports through a
:class:`Backend`: one transaction at a time (:meth:`Backend.transaction`) or a read
(:meth:`Backend.reading`), each handing out an :class:`Sql` that takes the ledger's SQL with
``?`` placeholders. The SQL is written once for both: the PostgreSQL back end only changes the
placeholder style (:mod:`lsp_server.ledger.postgres`).

A failure of the storage (a locked, read-only, full or damaged file; a database that cannot be
reached) is a :class:`~lsp_server.errors.LedgerUnavailableError`; a row that breaks a
constraint is a :class:`RowConflictError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

from lsp_server.errors import LedgerError, LedgerUnavailableError
from lsp_server.ledger.sqlite_file import Checkpoints, open_file


class RowConflictError(LedgerError):
    """A row breaks a constraint (its key is already there)."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Sql(Protocol):
    """One connection's ``execute``, with ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> object: ...


def rows_as_dicts(cursor: Cursor) -> list[dict[str, Any]]:
    """The rows of ``cursor`` keyed by column name."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class Backend(Protocol):
    """The storage behind a ledger (see the module docstring)."""

    @property
    def shared(self) -> bool:
        """Whether several users write here (a team's database), not just this machine."""

    @property
    def where(self) -> str:
        """Where the rows live, for messages: a file path or a URL without its password."""

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""

    def transaction(self) -> AbstractContextManager[Sql]:
        """One write transaction."""

    def reading(self) -> AbstractContextManager[Sql]:
        """A connection for reads."""

    def close(self) -> None: ...


class SqliteBackend:
    """The ledger's SQLite file (:mod:`lsp_server.ledger.sqlite_file`): one connection, each
    write one ``BEGIN IMMEDIATE`` transaction under the busy timeout."""

    shared = False
    dialect = "sqlite"

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.conn, self.rebuilt = open_file(path, busy_timeout_ms)
        self._checkpoints = Checkpoints(path, busy_timeout_ms)

    @property
    def where(self) -> str:
        return str(self.path)

    @contextmanager
    def transaction(self) -> Iterator[Sql]:
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            self._rollback()
            raise RowConflictError(str(exc)) from None
        except sqlite3.Error as exc:
            self._rollback()
            raise self._unavailable(exc) from None
        except BaseException:
            self._rollback()
            raise
        self._checkpoints.after_commit(conn)

    @contextmanager
    def reading(self) -> Iterator[Sql]:
        yield self.conn

    def close(self) -> None:
        self._checkpoints.stop()
        self.conn.close()

    def _rollback(self) -> None:
        if self.conn.in_transaction:  # SQLite may have rolled back already (disk full, I/O)
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def _unavailable(self, exc: sqlite3.Error) -> LedgerUnavailableError:
        return LedgerUnavailableError(f"cannot write the ledger at {self.path}: {exc}")
