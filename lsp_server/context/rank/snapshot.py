"""The ranking tables on disk, beside the index, so a one-off command does not rebuild them.

Building the tables of a large project takes seconds (tokenizing every line, the latent SVD,
the reference graph); a ``context`` or ``ask`` command run from a shell would pay that on
every call, where the language server pays it once. After a sync that changed them, the tables
are written next to the index database; a new process loads them and checks them against the
index: when every file's content hash (and the code that builds the tables) is the same, they
are used as they are, otherwise the sync brings them up to date file by file, as it does for
an editor change (only the changed files' rows are redone).

The file is a pickle written by this program into the user's state directory, as trusted as
the index database beside it. A file that cannot be read (truncated, another version) is
ignored and rewritten after the next sync.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from lsp_server.context.rank.gc_pause import paused_collection

if TYPE_CHECKING:
    from lsp_server.context.rank.tables import Prepared

log = logging.getLogger(__name__)

MAGIC = b"ao-ranking-tables\n"
SUFFIX = ".tables"


@runtime_checkable
class PersistentIndex(Protocol):
    """An index stored on disk that can say cheaply what every file's content is."""

    @property
    def store_path(self) -> Path: ...

    def content_digests(self) -> dict[str, str]: ...


def snapshot_path(index: PersistentIndex) -> Path:
    """Where the tables of ``index`` are kept: beside its database."""
    return index.store_path.with_suffix(SUFFIX)


@functools.lru_cache(maxsize=1)
def code_key() -> str:
    """Changes whenever the code that derives the index or the tables (or the interpreter,
    or numpy) changes: a snapshot written by other code is never read as current."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{sys.version}:{np.__version__}:{pickle.HIGHEST_PROTOCOL}".encode())
    context = Path(__file__).resolve().parents[1]
    for sub in ("index", "rank"):
        for path in sorted((context / sub).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".scm"):
                h.update(path.relative_to(context).as_posix().encode())
                h.update(path.read_bytes())
    h.update((context / "tokens.py").read_bytes())
    return h.hexdigest()


def fingerprint(digests: Mapping[str, str]) -> str:
    """One digest of every file's path and content hash."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(digests):
        h.update(f"{path}\0{digests[path]}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def load(path: Path) -> tuple[str, Prepared] | None:
    """The fingerprint and tables stored at ``path``, or None when there are none usable
    (none, unreadable, or written by other code: those are not even a base to update)."""
    try:
        with path.open("rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC or fh.read(32) != code_key().encode():
                return None
            # The tables are millions of small objects: no cyclic collection while they load.
            with paused_collection():
                stored, prep = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # truncated, or written by another version: rebuilt and rewritten
        log.info("ranking tables at %s not usable (%s); rebuilding them", path, exc)
        return None
    if not isinstance(stored, str):
        return None
    return stored, prep


def save(path: Path, stored: str, prep: Prepared) -> bool:
    """Write the tables atomically (a reader sees the old file or the new one, never half)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    except OSError as exc:
        log.warning("could not write the ranking tables to %s: %s", path, exc)
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC)
            fh.write(code_key().encode())
            pickle.dump((stored, prep), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return True
    except OSError as exc:  # disk full, read-only state directory: the tables stay in memory
        log.warning("could not write the ranking tables to %s: %s", path, exc)
        Path(tmp).unlink(missing_ok=True)
        return False
