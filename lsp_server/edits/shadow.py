"""A shadow copy of a project in the state directory, where checks and tests run.

The copy persists between requests (``<state>/shadow/<digest of the root>/ws``) and is brought
up to date incrementally: only files whose size or modification time changed on disk are copied
again, and files deleted from the project are deleted from the copy. Build output inside the copy
(``target/``) is kept, so ``cargo check`` and test builds stay warm. Copied files get a fresh
modification time (never the source's): cargo decides what to rebuild from mtimes, and a file
restored with an old mtime after an edit would look already built.

One copy is used by one verification at a time (an exclusive ``flock`` on its lock file, which
also serialises threads of one process). Nothing here ever writes into the project itself.

The copy also keeps what is worth remembering about it between requests: the symbol index of the
copy (for finding the tests that reach an edited definition) and how long the project's whole
test suite took, keyed by a digest of the files that make up the suite, so a change to a test
file forgets it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lsp_server.config import Settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.paths import state_dir

# Directories never copied (and never deleted from the copy: ``target`` is the warm build).
SKIPPED_DIRS = frozenset({
    ".git", "target", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".tox", ".hg", ".svn",
})
_MANIFEST = "manifest.json"
_SUITES = "suites.json"
UNFINISHED_FOR = 3600.0  # seconds a "did not finish in N s" is believed
MAX_FILES = 50_000  # a workspace opened at a home directory is not copied


class ShadowTooLargeError(OSError):
    """The project has more files than a shadow copy takes."""


class Shadow:
    """One project's shadow copy; use :func:`shadow_for` to get it locked and in sync."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.home = home
        self.ws = home / "ws"
        self._manifest: dict[str, list[int]] = {}
        self._synced: dict[str, list[int]] = {}  # as copied from the project (writes do not touch it)
        self._files: list[str] = []
        self.digest = ""  # the synced tree's state plus the texts written over it

    def _load(self) -> None:
        try:
            raw = json.loads((self.home / _MANIFEST).read_text(encoding="utf-8"))
            self._manifest = {str(k): list(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        except (OSError, ValueError):
            self._manifest = {}

    def _save(self) -> None:
        tmp = self.home / (_MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self._manifest), encoding="utf-8")
        os.replace(tmp, self.home / _MANIFEST)

    def _walk(self, base: Path) -> Iterator[tuple[str, Path]]:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
            for name in filenames:
                full = Path(dirpath) / name
                yield full.relative_to(base).as_posix(), full

    def sync(self) -> None:
        """Copy what changed in the project since the last sync; drop what was deleted."""
        self._load()
        if not self.ws.is_dir():
            self._manifest = {}
        self.ws.mkdir(parents=True, exist_ok=True)
        seen: dict[str, list[int]] = {}
        hasher = hashlib.sha256()
        entries: list[tuple[str, Path]] = []
        for entry in self._walk(self.root):
            entries.append(entry)
            if len(entries) > MAX_FILES:
                raise ShadowTooLargeError(f"more than {MAX_FILES} files: too many to copy for checks")
        for rel, src in sorted(entries):
            try:
                st = src.stat()
            except OSError:
                continue
            if not src.is_file() or (src.is_symlink() and not _inside(src, self.root)):
                continue
            stamp = [st.st_size, st.st_mtime_ns]
            seen[rel] = stamp
            hasher.update(f"{rel}\0{stamp[0]}\0{stamp[1]}\n".encode("utf-8", "surrogatepass"))
            dest = self.ws / rel
            if self._manifest.get(rel) == stamp and dest.is_file():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(src, dest)  # a fresh mtime, on purpose (see the module docstring)
            except OSError:
                seen.pop(rel, None)
        for rel, full in list(self._walk(self.ws)):
            if rel not in seen:
                full.unlink(missing_ok=True)
        self._manifest = seen
        self._synced = dict(seen)
        self._files = sorted(seen)
        self._save()
        self.digest = hasher.hexdigest()

    def files(self) -> list[str]:
        """The project's files as of the last sync (project-relative POSIX paths)."""
        return list(self._files)

    def write(self, texts: Mapping[str, str | None]) -> None:
        """Write ``texts`` over the copy (None deletes the file); the next sync restores them."""
        for rel, text in texts.items():
            dest = self.ws / rel
            self._manifest.pop(rel, None)  # differs from the project now: recopy on the next sync
            if text is None:
                dest.unlink(missing_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        self._save()

    def digest_with(self, texts: Mapping[str, str | None]) -> str:
        """A key for the copy's content with ``texts`` written over it (for caching results).

        A text equal to the project's file leaves the key alone: edits to different files of an
        unchanged project share the key of the project as it is (and its cached test results)."""
        hasher = hashlib.sha256(self.digest.encode())
        for rel in sorted(texts):
            if self._same_as_project(rel, texts[rel]):
                continue
            hasher.update(f"{rel}\0{texts[rel]}\1".encode("utf-8", "surrogatepass"))
        return hasher.hexdigest()

    def _same_as_project(self, rel: str, text: str | None) -> bool:
        if text is None or rel not in self._synced:
            return False
        try:
            with (self.root / rel).open(encoding="utf-8", errors="replace", newline="") as fh:
                return fh.read() == text
        except OSError:
            return False

    @contextmanager
    def index(self, settings: Settings) -> Iterator[ProjectIndex]:
        """The symbol index of the copy as it is now, refreshed (stored beside the copy, so a
        later request re-parses only the files that changed)."""
        with ProjectIndex.open(self.ws, settings, state_dir=self.home, workers=1) as idx:
            idx.refresh()
            yield idx

    # --- the whole test suite's duration -----------------------------------------------------

    def files_digest(self, wanted: Callable[[str], bool]) -> str:
        """A digest of the synced size and mtime of the project's files that ``wanted`` picks."""
        hasher = hashlib.sha256()
        for rel in sorted(r for r in self._synced if wanted(r)):
            size, mtime = self._synced[rel]
            hasher.update(f"{rel}\0{size}\0{mtime}\n".encode("utf-8", "surrogatepass"))
        return hasher.hexdigest()

    def suite_seconds(self, suite: str, digest: str) -> tuple[float, bool] | None:
        """How long ``suite`` took on this copy when its files had ``digest``: (seconds, True),
        or (seconds, False) when it had not finished by then; None when not known."""
        entry = self._suites().get(suite)
        if not isinstance(entry, dict) or entry.get("digest") != digest:
            return None
        seconds, finished, at = entry.get("seconds"), entry.get("finished"), entry.get("at", 0)
        if not isinstance(seconds, (int, float)) or not isinstance(finished, bool):
            return None
        if not finished and (not isinstance(at, (int, float)) or time.time() - at > UNFINISHED_FOR):
            return None  # measured on a busy machine, perhaps: worth measuring again
        return float(seconds), finished

    def remember_suite(self, suite: str, digest: str, seconds: float, finished: bool) -> None:
        suites = self._suites()
        suites[suite] = {"digest": digest, "seconds": round(seconds, 3), "finished": finished,
                         "at": round(time.time())}
        tmp = self.home / (_SUITES + ".tmp")
        tmp.write_text(json.dumps(suites), encoding="utf-8")
        os.replace(tmp, self.home / _SUITES)

    def _suites(self) -> dict[str, object]:
        try:
            raw = json.loads((self.home / _SUITES).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return raw if isinstance(raw, dict) else {}


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def shadow_home(root: Path, settings: Settings) -> Path:
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return state_dir(settings) / "shadow" / digest


@contextmanager
def shadow_for(root: Path, settings: Settings) -> Iterator[Shadow]:
    """The project's shadow copy, locked for this caller and synced with the project."""
    home = shadow_home(root, settings)
    home.mkdir(parents=True, exist_ok=True)
    with (home / "lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            shadow = Shadow(root.resolve(), home)
            shadow.sync()
            yield shadow
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
