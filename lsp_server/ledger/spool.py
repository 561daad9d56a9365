"""Ledger rows kept on this machine while the team's shared ledger cannot be reached.

A request's rows are :class:`RowOp` values (start, attempt, finish: plain data, each applied to
a :class:`~lsp_server.ledger.store.Ledger`), so they can be written to a file and read back.
When the shared database is down, :class:`~lsp_server.ledger.writer.LedgerWriter` moves the
rows it could not write into a :class:`Spool` (``ledger-spool.sqlite3`` in the state
directory), in order; when the database answers again (in this run or the next) the spool is
replayed first, each row removed once written. A row written but not yet removed (the process
died in between) is replayed again without harm: a request's start is skipped when it is
there, an attempt carries its idempotency key, a finish is an update.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lsp_server.config import Settings
from lsp_server.errors import ConfigError, LedgerError, LedgerUnavailableError
from lsp_server.ledger.identity import ledger_url
from lsp_server.ledger.store import Ledger
from lsp_server.paths import state_dir

SPOOL_FILENAME = "ledger-spool.sqlite3"
KINDS = ("start", "attempt", "finish")


@dataclass(frozen=True)
class RowOp:
    """One ledger write as data: ``kind`` is start, attempt or finish; ``fields`` are the
    keyword arguments of the matching Ledger method, ``now`` as an ISO time."""

    kind: str
    request_id: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __call__(self, ledger: Ledger) -> object:
        kwargs = dict(self.fields)
        kwargs["now"] = datetime.fromisoformat(kwargs["now"])
        if self.kind == "start":
            return ledger.start_request(request_id=self.request_id, replay=True, **kwargs)
        if self.kind == "attempt":
            from lsp_server.providers.base import Usage

            kwargs["usage"] = Usage(*kwargs["usage"])
            return ledger.record_attempt(self.request_id, **kwargs)
        if self.kind == "finish":
            answered = kwargs.get("answered_by")
            kwargs["answered_by"] = tuple(answered) if answered is not None else None
            ledger.finish_request(self.request_id, **kwargs)
            return None
        raise LedgerError(f"unknown ledger row kind {self.kind!r}")

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "request_id": self.request_id,
                           "fields": self.fields})

    @classmethod
    def from_json(cls, text: str) -> RowOp:
        data = json.loads(text)
        return cls(str(data["kind"]), str(data["request_id"]), dict(data["fields"]))


class Spool:
    """The spool file (see the module docstring). Thread-safe; every call is one short
    transaction on a small local file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(path), check_same_thread=False,
                                         isolation_level=None, timeout=10.0)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "op TEXT NOT NULL, cost_usd REAL NOT NULL, moment TEXT NOT NULL)")
        except (OSError, sqlite3.Error) as exc:
            raise LedgerUnavailableError(f"cannot open the ledger spool at {path}: {exc}") from None

    @classmethod
    def for_settings(cls, settings: Settings) -> Spool | None:
        """The spool of a shared ledger (None for the SQLite ledger, or a spool that cannot be
        opened: rows then wait in memory)."""
        try:
            if ledger_url(settings) is None:
                return None
            return cls(state_dir(settings) / SPOOL_FILENAME)
        except (ConfigError, LedgerError):
            return None

    def add(self, ops: list[tuple[RowOp, float, datetime]]) -> None:
        """Append ``(op, cost_usd, moment)`` rows in order, in one transaction."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(
                    "INSERT INTO spool (op, cost_usd, moment) VALUES (?, ?, ?)",
                    [(op.to_json(), cost, moment.isoformat()) for op, cost, moment in ops])
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise LedgerUnavailableError(f"cannot write the ledger spool: {exc}") from None

    def head(self, limit: int = 200) -> list[tuple[int, RowOp]]:
        """The oldest rows, in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, op FROM spool ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(int(seq), RowOp.from_json(str(op))) for seq, op in rows]

    def remove(self, seq: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM spool WHERE seq = ?", (seq,))

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM spool").fetchone()[0])

    def cost_on(self, day: date, day_of: Any) -> float:
        """USD of the spooled attempts made on ``day`` (``day_of`` maps a moment to its day)."""
        with self._lock:
            rows = self._conn.execute("SELECT cost_usd, moment FROM spool WHERE cost_usd > 0")
            return sum(float(c) for c, m in rows if day_of(datetime.fromisoformat(m)) == day)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
