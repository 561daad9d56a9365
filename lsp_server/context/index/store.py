"""SQLite persistence of the index: one row per file, keyed by path, with stat and content hash.

A restart reads only the stat columns (path, mtime, size, hash), so an unchanged tree costs a
walk and one small query; the symbol blobs (``marshal``-ed tuples, :mod:`codec`) are read
when something first asks for symbols. The schema key covers the tags queries and the Python
version, so a new query or interpreter drops the stale rows instead of misreading them.

The database is in WAL mode with ``synchronous=NORMAL`` (a commit survives a crash of the
process; a power loss may undo the last commits, never corrupt). Checkpoints, which copy the
WAL into the database and wait for the disk twice, are taken off the write path: SQLite's
automatic one would run inside the commit of a cold index (about 60 ms of a 4 MB write), so
it is off, and a helper thread with its own connection checkpoints once a few MB of writes
have accumulated. A brand-new file is created without waiting for the disk (it holds nothing
yet).

The store is a cache of what the files say, so a damaged one is never repaired: a file that is
not a database, or fails SQLite's ``quick_check`` when opened (truncated, overwritten in the
middle), is deleted and created again, and :attr:`IndexStore.rebuilt` says why, once, for the
first refresh to pass on to the user. A read that finds damage later raises
:class:`~lsp_server.errors.IndexBuildError` (the next open rebuilds the file).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsp_server.context.index.languages import LANGUAGES
from lsp_server.errors import IndexBuildError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
CHECKPOINT_BYTES = 4 * 1024 * 1024  # about SQLite's own auto-checkpoint (1,000 pages of 4 KiB)
_UNREADABLE = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: not a database we can use; start over

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    hash TEXT NOT NULL,
    lines INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    n_defs INTEGER NOT NULL,
    n_refs INTEGER NOT NULL,
    note TEXT NOT NULL,
    symbols BLOB NOT NULL,
    imports BLOB NOT NULL
);
"""


def schema_key() -> str:
    """Changes whenever stored blobs would no longer mean the same thing."""
    h = hashlib.blake2b(digest_size=8)
    h.update(f"{SCHEMA_VERSION}:{sys.version_info[:2]}".encode())
    for spec in LANGUAGES.values():
        h.update(spec.name.encode())
        h.update(spec.tags_query_source().encode())
    return h.hexdigest()


def store_path(state_dir: Path, root: Path) -> Path:
    """One database per project root, under ``<state>/index/``."""
    digest = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
    return state_dir / "index" / f"{root.name or 'root'}-{digest}.sqlite"


@dataclass(slots=True)
class StoredFile:
    """A row without its blobs (what a restart reads)."""

    path: str
    language: str
    mtime_ns: int
    size: int
    content_hash: str
    lines: int
    errors: int
    n_defs: int
    n_refs: int
    note: str


Row = tuple[str, str, int, int, str, int, int, int, int, str, bytes, bytes]


class _DamagedError(Exception):
    """The file is not a usable database; the message says what SQLite found."""


class IndexStore:
    """The database of one project. Thread-safe (one connection, one lock)."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.rebuilt: str | None = None  # why the stored file was discarded, if it was
        self._lock = threading.Lock()
        self._unchecked = 0  # bytes written since the last checkpoint (about)
        self._checkpointer: threading.Thread | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._connect(root)
            except _DamagedError as exc:
                log.warning("index: %s is damaged (%s); building it again", path, exc)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                self.rebuilt = (f"the index database {path} was damaged ({exc}); "
                                "it was deleted and built again from the files")
                self._db = self._connect(root)
        except (sqlite3.DatabaseError, OSError, _DamagedError) as exc:
            raise IndexBuildError(f"cannot open the index database {path}: {exc}") from exc

    def take_rebuilt(self) -> str | None:
        """Why the stored file was rebuilt, the first time this is asked; afterwards None."""
        note, self.rebuilt = self.rebuilt, None
        return note

    def _connect(self, root: Path) -> sqlite3.Connection:
        try:
            new = os.path.getsize(self.path) == 0
        except OSError:
            new = True
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            # Until the empty schema exists, nothing would be lost: skip the six waits for the
            # disk that switching a new file to WAL and creating its tables cost (12 ms).
            # A crash before the disk caught up leaves a file that is empty, without tables
            # (the schema below is created again) or unreadable (deleted above).
            try:
                db.execute("PRAGMA synchronous=OFF" if new else "PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA wal_autocheckpoint=0")  # see the module docstring
                if not new:
                    found = db.execute("PRAGMA quick_check(1)").fetchone()
                    if found is None or found[0] != "ok":
                        said = str(found[0]).replace("*** in database main ***", "") if found else ""
                        raise _DamagedError(" ".join(said.split()) or "quick_check failed")
                db.executescript(_SCHEMA)
                self._db = db
                self._check_schema(root)
            except sqlite3.DatabaseError as exc:
                if exc.sqlite_errorcode not in _UNREADABLE:
                    raise
                raise _DamagedError(str(exc)) from exc
            if new:
                db.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            db.close()
            raise
        return db

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Rows of one query, under the lock; damage found now is an IndexBuildError."""
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise IndexBuildError(
                    f"cannot read the index database {self.path}: {exc}; "
                    "restart the server (or run `agentic-optimizer index`) to build it again"
                ) from exc

    def _check_schema(self, root: Path) -> None:
        key = schema_key()
        rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if rows.get("schema") != key or rows.get("root") != str(root):
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM files")
            self._db.execute("DELETE FROM meta")
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)", [("schema", key), ("root", str(root))]
            )
            self._db.execute("COMMIT")

    def stats(self) -> dict[str, StoredFile]:
        rows = self._read(
            "SELECT path, language, mtime_ns, size, hash, lines, errors, n_defs, n_refs, note FROM files"
        )
        return {r[0]: StoredFile(*r) for r in rows}

    def blobs(self, paths: Iterable[str] | None = None) -> Iterator[tuple[str, bytes, bytes]]:
        """(path, symbols, imports) for the given paths, or for every file."""
        if paths is None:
            rows = self._read("SELECT path, symbols, imports FROM files")
        else:
            wanted = list(paths)
            rows = []
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows.extend(self._read(
                    f"SELECT path, symbols, imports FROM files WHERE path IN ({marks})", chunk))
        yield from rows

    def imports(self) -> list[tuple[str, bytes]]:
        return self._read("SELECT path, imports FROM files")

    def write(self, rows: Iterable[Row], touched: Iterable[tuple[int, int, str]] = (),
              removed: Iterable[str] = ()) -> None:
        """Upsert parsed rows, update the stat of files whose content did not change, drop removed."""
        rows = rows if isinstance(rows, list) else list(rows)
        written = sum(len(r[10]) + len(r[11]) for r in rows)
        with self._lock:
            try:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO files (path, language, mtime_ns, size, hash, lines, errors,"
                    " n_defs, n_refs, note, symbols, imports) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._db.executemany("UPDATE files SET mtime_ns = ?, size = ? WHERE path = ?", touched)
                self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in removed])
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise IndexBuildError(f"cannot write the index database {self.path}: {exc}") from exc
            self._unchecked += written + 4096  # the blobs, and at least a page of the rest
            if self._unchecked >= CHECKPOINT_BYTES and self._checkpointer is None:
                self._unchecked = 0
                self._checkpointer = threading.Thread(target=self._checkpoint, name="index-checkpoint",
                                                      daemon=True)
                self._checkpointer.start()

    def _checkpoint(self) -> None:
        """Copy the WAL into the database (its own connection: writers and readers go on)."""
        try:
            db = sqlite3.connect(str(self.path), timeout=10)
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                db.close()
        except sqlite3.Error as exc:  # the next one, or the close, will do it
            log.info("index: checkpoint of %s failed: %s", self.path, exc)
        finally:
            with self._lock:
                self._checkpointer = None

    @property
    def checkpointing(self) -> bool:
        """Whether a checkpoint thread is running now."""
        return self._checkpointer is not None

    @property
    def unchecked_bytes(self) -> int:
        """About how many bytes were written since the last checkpoint started."""
        return self._unchecked

    def wait_checkpoint(self) -> None:
        """Return once no checkpoint is running (before forking, and on close)."""
        thread = self._checkpointer
        if thread is not None:
            thread.join()

    def close(self) -> None:
        self.wait_checkpoint()
        with self._lock:
            self._db.close()  # the last connection to close checkpoints what is left
