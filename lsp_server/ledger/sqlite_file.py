"""The ledger's SQLite file: opening it, keeping its WAL bounded, and a damaged file.

The file is in WAL mode with a busy timeout; commits do not fsync (``synchronous = NORMAL``, safe
in WAL mode) and SQLite's own auto-checkpoint is off: the fsync-heavy checkpoint runs on a
background thread (:class:`Checkpoints`) instead of inside a commit, so recording a request
stays well under a millisecond even when a checkpoint is due.

A file that SQLite finds damaged when it is opened (not a database, or failing ``quick_check``)
is copied aside as ``<name>.damaged-<UTC time>`` (with its WAL) before anything else touches it,
and a fresh ledger is started (:func:`open_file`).
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from lsp_server.errors import LedgerUnavailableError
from lsp_server.ledger.schema import LATEST, migrate

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_EVERY = 200  # commits between background WAL checkpoints
WAL_LIMIT_FRAMES = 2000  # beyond this, the writer checkpoints inline so the WAL can restart
WAL_SIZE_LIMIT = 8 * 1024 * 1024  # bytes the WAL file is cut back to when it restarts
_UNREADABLE = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def open_file(target: Path, busy_timeout_ms: int) -> tuple[sqlite3.Connection, str | None]:
    """A prepared, migrated connection to ``target``, and what was done if it was damaged."""
    try:
        return _connect(target, busy_timeout_ms), None
    except _DamagedError as exc:
        try:
            aside = _set_aside(target, datetime.now(UTC))
        except OSError as err:
            raise LedgerUnavailableError(
                f"the ledger at {target} is damaged ({exc}) and could not be copied aside: {err}"
            ) from None
        rebuilt = (f"the ledger at {target} was damaged ({exc}); it was copied to {aside} "
                   "and a new ledger was started")
        log.warning("%s", rebuilt)
        try:
            return _connect(target, busy_timeout_ms), rebuilt
        except _DamagedError as again:
            raise LedgerUnavailableError(f"cannot use the ledger at {target}: {again}") from None


class Checkpoints:
    """Keeps the WAL bounded: a background checkpoint now and then, inline when it falls behind.

    Under sustained writes the background checkpoint never catches up with the end of the WAL,
    so the WAL could not restart and would grow; past a limit the writer checkpoints inline
    once, as SQLite's own auto-checkpoint would have. The limit is read from the WAL's size as
    well as from the frame count the thread last reported: a thread starved of CPU reports
    nothing, and the WAL must stay bounded regardless.
    """

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._commits = 0
        self._thread: Checkpointer | None = None

    def after_commit(self, conn: sqlite3.Connection) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY:
            return
        if self._thread is None:
            self._thread = Checkpointer(self._path, self._busy_timeout_ms)
        elif self._thread.wal_frames > WAL_LIMIT_FRAMES or self._wal_bytes() > 2 * WAL_SIZE_LIMIT:
            self._thread.wal_frames = 0
            with suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            return
        self._thread.poke()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def _wal_bytes(self) -> int:
        try:
            return Path(f"{self._path}-wal").stat().st_size
        except OSError:
            return 0


class Checkpointer:
    """Runs passive WAL checkpoints on its own connection and thread when poked."""

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._wake = threading.Event()
        self._stopping = False
        self.wal_frames = 0
        self._thread = threading.Thread(target=self._run, name="ledger-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        conn = sqlite3.connect(str(self._path), timeout=self._busy_timeout_ms / 1000,
                               isolation_level=None, check_same_thread=False)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                with suppress(sqlite3.Error):  # busy or locked: the next poke retries
                    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.wal_frames = int(row[1]) if row and row[1] is not None else 0
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=10)


class _DamagedError(Exception):
    """The file is not a usable database; the message says what SQLite found."""


def _prepare(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    try:
        found = conn.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode in _UNREADABLE:
            raise _DamagedError(str(exc)) from None
        raise
    if found is None or found[0] != "ok":
        said = str(found[0]).replace("*** in database main ***", "") if found else ""
        raise _DamagedError(" ".join(said.split()) or "quick_check failed")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA wal_autocheckpoint = 0")  # see Checkpoints
    conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
    migrate(conn, LATEST)


def _set_aside(target: Path, now: datetime) -> Path:
    """Copy a damaged ledger (and its WAL) aside, then remove it so a fresh one starts."""
    aside = target.with_name(f"{target.name}.damaged-{now.strftime('%Y%m%dT%H%M%SZ')}")
    shutil.copy2(target, aside)
    wal = Path(f"{target}-wal")
    if wal.exists():
        shutil.copy2(wal, Path(f"{aside}-wal"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    return aside


def _retry_busy(step: Callable[[], None], busy_timeout_ms: int) -> None:
    """Run ``step``, again after a short wait while another process holds the lock.

    Switching a new database to WAL needs the file to itself, and SQLite answers a second
    process doing the same at that moment with "database is locked" at once, without waiting
    out the busy timeout; so the opening steps are retried here, within that timeout.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    delay = 0.01
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)




def _connect(target: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(target), timeout=busy_timeout_ms / 1000, isolation_level=None,
            check_same_thread=False,
        )
    except (OSError, sqlite3.Error) as exc:
        raise LedgerUnavailableError(f"cannot open the ledger at {target}: {exc}") from None
    try:
        _retry_busy(lambda: _prepare(conn, busy_timeout_ms), busy_timeout_ms)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise LedgerUnavailableError(f"cannot use the ledger at {target}: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn
