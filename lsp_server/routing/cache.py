"""The response cache: the same prompt to the same model answers from disk, instantly, for $0.

Keyed by the model's identity (provider, endpoint, model, sampling settings) and a SHA-256 of
the full prompt, so any change to the context, the instruction or the file text misses. Entries
expire after ``ttl_seconds``; beyond ``max_entries`` the least recently used are dropped.
SQLite under the state dir, shared by the CLI and the language server.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lsp_server.config import CacheSettings, ModelSettings, SettingsSource
from lsp_server.providers.base import Prompt, Usage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    created REAL NOT NULL,
    last_used REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL,
    usage TEXT NOT NULL,
    stop_reason TEXT
)"""


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
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                     timeout=5.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)

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
        with self._lock:
            row = self._conn.execute(
                "SELECT text, model, usage, stop_reason, created FROM responses WHERE key = ?",
                (key,)).fetchone()
            if row is None:
                return None
            if now - float(row[4]) > self.settings.ttl_seconds:
                self._conn.execute("DELETE FROM responses WHERE key = ?", (key,))
                return None
            self._conn.execute(
                "UPDATE responses SET last_used = ?, hits = hits + 1 WHERE key = ?", (now, key))
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
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, model, created, last_used, hits, text, usage, "
                "stop_reason) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                (key, raw_model or model.model, now, now, text, usage_json, stop_reason))
            self._prune(now)

    def _prune(self, now: float) -> None:
        self._conn.execute("DELETE FROM responses WHERE created < ?", (now - self.settings.ttl_seconds,))
        (count,) = self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()
        excess = int(count) - self.settings.max_entries
        if excess > 0:
            self._conn.execute(
                "DELETE FROM responses WHERE key IN "
                "(SELECT key FROM responses ORDER BY last_used ASC LIMIT ?)", (excess,))

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()
        return int(count)

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM responses")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
