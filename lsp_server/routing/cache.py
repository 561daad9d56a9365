"""The response cache: the same prompt to the same model answers from disk, instantly, for $0.

Keyed by the model's identity (provider, endpoint, model, sampling settings) and a SHA-256 of
the full prompt, so any change to the context, the instruction or the file text misses. Entries
expire after ``ttl_seconds``; beyond ``max_entries`` the least recently used are dropped.
SQLite under the state dir, shared by the CLI and the language server.

With ``cache.shared = true`` the entries live in the team's shared ledger database instead
(``ledger.url``, the team's own schema, so entries never cross teams): an answer one machine
paid for is a hit on every other. The same SQL runs on both. When that database cannot be
reached, a lookup is a miss and an answer is not kept; the ledger's back-off keeps such
lookups from waiting on the database more than once per period.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lsp_server.config import CacheSettings, ModelSettings, SettingsSource
from lsp_server.errors import LedgerError
from lsp_server.ledger.schema import RESPONSES_TABLE
from lsp_server.providers.base import Prompt, Usage

if TYPE_CHECKING:
    from lsp_server.ledger.backend import Sql
    from lsp_server.ledger.postgres import PostgresBackend

log = logging.getLogger(__name__)

_SCHEMA = RESPONSES_TABLE.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)


@dataclass(frozen=True, slots=True)
class CachedResponse:
    text: str
    model: str
    usage: Usage  # what the original call used (for the savings figure), not charged again
    stop_reason: str | None
    age_seconds: float


def model_identity(model: ModelSettings) -> str:
    """What makes two calls with the same prompt give the same answer."""
    return "|".join((model.provider, model.effective_base_url, model.model,
                     f"t={model.temperature:g}", f"max={model.max_output_tokens}"))


def cache_key(model: ModelSettings, prompt: Prompt) -> str:
    h = hashlib.sha256()
    for part in (model_identity(model), prompt.system, prompt.stable, prompt.volatile,
                 prompt.instruction, str(prompt.max_output_tokens), str(prompt.temperature)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


class ResponseCache:
    """Get and put completions by model and prompt."""

    def __init__(self, path: Path, settings: CacheSettings | SettingsSource) -> None:
        self.path = path
        self._settings = settings
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._shared: SharedStore | None = None
        self.where = str(path)
        if isinstance(settings, SettingsSource) and settings.current.cache.shared:
            from lsp_server.ledger.identity import ledger_url

            url = ledger_url(settings.current)
            assert url is not None  # the settings refuse cache.shared without a shared ledger
            self._shared = SharedStore(url, settings.current.ledger.team)
            self.where = self._shared.where
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                     timeout=5.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)

    @property
    def shared(self) -> bool:
        """Whether the entries live in the team's shared database."""
        return self._shared is not None

    def _db(self) -> AbstractContextManager[Sql]:
        if self._shared is not None:
            return self._shared.session()
        return self._local()

    @contextmanager
    def _local(self) -> Iterator[Sql]:
        assert self._conn is not None
        with self._lock:
            yield self._conn

    @property
    def settings(self) -> CacheSettings:
        """The current cache settings (read at each use, so a change applies at once)."""
        if isinstance(self._settings, SettingsSource):
            return self._settings.current.cache
        return self._settings

    @property
    def enabled(self) -> bool:
        return self.settings.enabled and self.settings.max_entries > 0

    def get(self, model: ModelSettings, prompt: Prompt) -> CachedResponse | None:
        if not self.enabled:
            return None
        key = cache_key(model, prompt)
        now = time.time()
        try:
            with self._db() as db:
                row = db.execute(
                    "SELECT text, model, usage, stop_reason, created FROM responses WHERE key = ?",
                    (key,)).fetchone()
                if row is None:
                    return None
                if now - float(row[4]) > self.settings.ttl_seconds:
                    db.execute("DELETE FROM responses WHERE key = ?", (key,))
                    return None
                db.execute(
                    "UPDATE responses SET last_used = ?, hits = hits + 1 WHERE key = ?", (now, key))
        except LedgerError as exc:  # the shared database is unreachable: a miss
            _unreachable(exc)
            return None
        raw = json.loads(row[2])
        usage = Usage(int(raw.get("input", 0)), int(raw.get("output", 0)),
                      int(raw.get("cache_read", 0)), int(raw.get("cache_write", 0)))
        return CachedResponse(str(row[0]), str(row[1]), usage, row[3], now - float(row[4]))

    def put(self, model: ModelSettings, prompt: Prompt, text: str, usage: Usage,
            stop_reason: str | None = None, raw_model: str = "") -> None:
        if not self.enabled:
            return
        key = cache_key(model, prompt)
        now = time.time()
        usage_json = json.dumps({"input": usage.input, "output": usage.output,
                                 "cache_read": usage.cache_read, "cache_write": usage.cache_write})
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO responses (key, model, created, last_used, hits, text, usage, "
                    "stop_reason) VALUES (?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "model = excluded.model, created = excluded.created, "
                    "last_used = excluded.last_used, hits = 0, text = excluded.text, "
                    "usage = excluded.usage, stop_reason = excluded.stop_reason",
                    (key, raw_model or model.model, now, now, text, usage_json, stop_reason))
                self._prune(db, now)
        except LedgerError as exc:
            _unreachable(exc)

    def _prune(self, db: Sql, now: float) -> None:
        db.execute("DELETE FROM responses WHERE created < ?", (now - self.settings.ttl_seconds,))
        (count,) = db.execute("SELECT COUNT(*) FROM responses").fetchone()
        excess = int(count) - self.settings.max_entries
        if excess > 0:
            db.execute(
                "DELETE FROM responses WHERE key IN "
                "(SELECT key FROM responses ORDER BY last_used ASC LIMIT ?)", (excess,))

    def __len__(self) -> int:
        with self._db() as db:
            (count,) = db.execute("SELECT COUNT(*) FROM responses").fetchone()
        return int(count)

    def clear(self) -> None:
        with self._db() as db:
            db.execute("DELETE FROM responses")

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
            return
        with self._lock:
            assert self._conn is not None
            self._conn.close()


class SharedStore:
    """The team's shared database as the cache's storage (opened on first use, so a server
    starting while the database is down still starts)."""

    def __init__(self, url: str, team: str) -> None:
        from lsp_server.ledger.identity import redact

        self._url = url
        self._team = team
        self.where = f"{redact(url)} (team {team})"
        self._lock = threading.Lock()
        self._backend: PostgresBackend | None = None

    @contextmanager
    def session(self) -> Iterator[Sql]:
        from lsp_server.ledger.postgres import PostgresBackend

        with self._lock:
            if self._backend is None:
                self._backend = PostgresBackend(self._url, self._team)
            backend = self._backend
        # Autocommit, as the local file: each statement stands alone, so a lookup is two
        # round trips (read, then mark used) rather than a transaction's four.
        with backend.reading() as db:
            yield db

    def close(self) -> None:
        with self._lock:
            if self._backend is not None:
                self._backend.close()
                self._backend = None


_told = threading.Event()


def _unreachable(exc: LedgerError) -> None:
    """Log the first failure of the shared cache; later ones quietly (each is a miss)."""
    if not _told.is_set():
        _told.set()
        log.warning("response cache: %s; lookups are misses until it answers", exc)
    else:
        log.debug("response cache: %s", exc)
