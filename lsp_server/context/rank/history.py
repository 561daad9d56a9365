"""The project's git history as ranking evidence: messages, co-change, recency.

A fix usually touches the files that earlier commits about the same behaviour touched, and
commit messages describe behaviour in the words issue reports use. Three lists come from the
history, each a ranking of files for one request:

* **Messages** — BM25 over, per file, the subjects and bodies of the commits that touched it,
  queried with the request's words.
* **Co-change** — files that changed together with the files the other evidence ranks highest
  (and the file under the cursor): for a seed file, the share of its commits that also touched
  the candidate; each seed first, as it always changed with itself.
* **Recency** — how often and how lately a file changed (each commit counts half as much every
  :data:`RECENCY_HALF_LIFE` commits back): a mild prior, the same for every request.

The history is read with the ``git`` command through ``HEAD``'s ancestry only (``git log HEAD``;
no branch, tag or remote is read), bounded: the newest ``max_commits`` commits or
:data:`READ_SECONDS` of reading, whichever comes first; merges are skipped (their changes are in
the commits they merge), and so are commits touching more than :data:`MAX_FILES_PER_COMMIT`
files (mass renames, reformatting, vendoring: noise for co-change). The last ``HEAD`` read is
remembered and a later refresh reads only the commits since then. A project that is not a git
repository, or a machine without ``git``, has no history evidence, and says why in
``index --stats``. Every read is a subprocess: callers run ranking off the event loop.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.context.rank.bm25 import BM25
from lsp_server.context.rank.terms import tokenize

DEFAULT_MAX_COMMITS = 5000
# Reading stops after this long even below the depth cap (a huge repository, a slow disk).
READ_SECONDS = 5.0
MAX_FILES_PER_COMMIT = 50
# A commit message is a title and a paragraph or two; a changelog pasted into one is not.
MAX_MESSAGE_TOKENS = 200
RECENCY_HALF_LIFE = 200.0
GIT_TIMEOUT = 10.0
# history_for looks for new commits at most this often: a request should not wait for a git
# process (tens of milliseconds on a loaded machine) to learn that nothing was committed.
RECHECK_SECONDS = 5.0

_RECORD = "\x1e"
_FIELD = "\x1f"
# Subject and body, then the names of the files changed (one a line, after a blank line).
_FORMAT = "--format=%x1e%H%x1f%ct%x1f%B%x1f"


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    time: int
    tokens: tuple[str, ...]
    files: tuple[str, ...]


@dataclass
class HistoryStats:
    """What was read, for ``index --stats``."""

    available: bool = False
    reason: str = ""  # why there is no history evidence, when there is none
    head: str = ""
    commits: int = 0  # kept: non-merge commits of at most MAX_FILES_PER_COMMIT files
    skipped_large: int = 0
    files: int = 0
    stopped_by: str = ""  # "depth cap" / "time cap" when reading stopped before the root
    shallow: bool = False
    read_ms: float = 0.0
    new_commits: int = 0  # read by the last refresh that found a new head (all on the first)

    def line(self, max_commits: int) -> str:
        if not self.available:
            return f"history: none ({self.reason})"
        if self.stopped_by == "time cap":
            depth = f"stopped by the time cap of {READ_SECONDS:g} s"
        elif self.stopped_by:
            depth = f"depth cap {max_commits} commits reached"
        else:
            depth = f"whole history read (depth cap {max_commits} commits)"
        return (f"history: {self.commits} commits touching {self.files} files, {depth}"
                f"{', shallow clone' if self.shallow else ''}; {self.skipped_large} skipped "
                f"(merges aside) for touching more than {MAX_FILES_PER_COMMIT} files; "
                f"read in {self.read_ms:.0f} ms at {self.head[:12]}")


class GitUnavailableError(Exception):
    """No history: git is missing, or the project is not (readably) a git repository.

    Caught inside this module: a project without history is ranked without it."""


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never prompt, never take the repository's index lock for a read.
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"})
    return env


def _git_args(*args: str) -> list[str]:
    # A repository's own config must not make a read run anything (fsmonitor hooks, external
    # diff or textconv drivers): none of it is needed to list changed paths.
    return ["git", "-c", "core.fsmonitor=false", "-c", "core.quotepath=off", *args]


def _run_git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(_git_args(*args), cwd=root, capture_output=True, text=True,
                              errors="replace", env=_git_env(), timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitUnavailableError(f"git failed: {exc}") from exc


def head_of(root: Path) -> str:
    """The commit ``HEAD`` names in the repository holding ``root``."""
    if shutil.which("git") is None:
        raise GitUnavailableError("git is not installed")
    if not root.is_dir():
        raise GitUnavailableError("the project root is not a directory")
    inside = _run_git(root, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        why = inside.stderr.strip().splitlines()
        detail = why[-1] if why and "not a git repository" not in why[-1] else "not a git repository"
        raise GitUnavailableError(detail)
    head = _run_git(root, "rev-parse", "-q", "--verify", "HEAD^{commit}")
    if head.returncode != 0:
        raise GitUnavailableError("the repository has no commits yet")
    return head.stdout.strip()


def _parse(record: str) -> tuple[str, int, str, list[str]] | None:
    parts = record.split(_FIELD)
    if len(parts) != 4:
        return None
    sha, ct, message, names = parts
    try:
        when = int(ct)
    except ValueError:
        return None
    files = [n for n in names.split("\n") if n and not n.startswith('"')]
    return sha, when, message, files


def read_log(root: Path, head: str, *, since: str | None, max_commits: int,
             deadline: float) -> Iterator[tuple[str, int, str, list[str]]]:
    """Commits of ``head``'s ancestry, newest first (those after ``since`` only, when given),
    at most ``max_commits`` of them, until ``deadline`` (a ``time.monotonic()`` value).
    Paths are relative to ``root`` (``--relative``); changes outside it are left out."""
    args = _git_args("log", "--no-merges", "--no-renames", "--name-only", "--relative",
                     "--no-ext-diff", "--no-textconv", "--no-color", _FORMAT, f"-n{max_commits}",
                     head, *([f"^{since}"] if since else []), "--")
    try:
        proc = subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=_git_env())
    except OSError as exc:
        raise GitUnavailableError(f"git failed: {exc}") from exc
    assert proc.stdout is not None
    buf = ""
    try:
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            buf += chunk.decode("utf-8", errors="replace")
            *done, buf = buf.split(_RECORD)
            for record in done:
                parsed = _parse(record)
                if parsed is not None:
                    yield parsed
        parsed = _parse(buf)
        if parsed is not None:
            yield parsed
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.wait()


@dataclass
class _Tables:
    """Derived from the kept commits; rebuilt after a refresh that read new ones."""

    messages: BM25[str]
    commits_of: dict[str, list[int]]  # file → indexes into the commit list (newest first)
    recency: dict[str, float]


class History:
    """The history of one project root. Thread-safe: a refresh and readers share a lock."""

    def __init__(self, root: Path, *, max_commits: int = DEFAULT_MAX_COMMITS,
                 read_seconds: float = READ_SECONDS) -> None:
        self.root = root
        self.max_commits = max_commits
        self.read_seconds = read_seconds
        self._lock = threading.Lock()
        self._commits: list[Commit] = []  # newest first
        self._stats = HistoryStats(reason="not read yet")
        self._tables: _Tables | None = None
        self._complete = False  # the kept commits reach the root (or the shallow boundary)
        self.checked_at = -math.inf  # time.monotonic() of the last refresh

    @property
    def stats(self) -> HistoryStats:
        with self._lock:
            return self._stats

    def refresh(self) -> HistoryStats:
        """Read the commits added since the last refresh (all, the first time)."""
        with self._lock:
            t0 = time.perf_counter()
            self.checked_at = time.monotonic()
            try:
                head = head_of(self.root)
            except GitUnavailableError as exc:
                self._commits, self._tables, self._complete = [], None, False
                self._stats = HistoryStats(available=False, reason=str(exc))
                return self._stats
            old = self._stats
            if old.available and old.head == head:
                return old
            since = old.head if old.available and self._is_ancestor(old.head, head) else None
            boundary = self._shallow_boundary()
            fresh, skipped, stopped = self._read(head, since, boundary)
            if since is None:
                self._commits = fresh
                self._complete = not stopped
                skipped_total = skipped
            else:
                self._commits = (fresh + self._commits)[:self.max_commits]
                skipped_total = old.skipped_large + skipped
                if stopped:
                    # Commits between what was read now and what was kept are missing: the
                    # kept ones no longer continue the new ones, so keep only the new.
                    self._commits, self._complete = fresh, False
            reached_cap = len(self._commits) >= self.max_commits
            self._tables = _build(self._commits)
            self._stats = HistoryStats(
                available=True, head=head, commits=len(self._commits), skipped_large=skipped_total,
                files=len(self._tables.commits_of),
                stopped_by=stopped or ("depth cap" if reached_cap else ("" if self._complete else old.stopped_by)),
                shallow=bool(boundary), read_ms=(time.perf_counter() - t0) * 1000,
                new_commits=len(fresh))
            return self._stats

    def _is_ancestor(self, old: str, new: str) -> bool:
        try:
            return _run_git(self.root, "merge-base", "--is-ancestor", old, new).returncode == 0
        except GitUnavailableError:
            return False

    def _shallow_boundary(self) -> frozenset[str]:
        """The commits a shallow clone cut the history at: git shows each as adding every
        file of its tree, which says nothing about what changed together."""
        try:
            where = _run_git(self.root, "rev-parse", "--git-path", "shallow").stdout.strip()
        except GitUnavailableError:
            return frozenset()
        path = self.root / where if where else None
        try:
            return frozenset(path.read_text().split()) if path is not None and path.is_file() else frozenset()
        except OSError:
            return frozenset()

    def _read(self, head: str, since: str | None, boundary: frozenset[str],
              ) -> tuple[list[Commit], int, str]:
        """New commits (newest first), how many were skipped as too large, and what stopped
        the read early ("" when it reached its end)."""
        out: list[Commit] = []
        skipped = 0
        seen = 0
        deadline = time.monotonic() + self.read_seconds
        try:
            for sha, when, message, files in read_log(self.root, head, since=since,
                                                      max_commits=self.max_commits, deadline=deadline):
                seen += 1
                if sha in boundary:
                    continue
                if len(files) > MAX_FILES_PER_COMMIT:
                    skipped += 1
                    continue
                if not files:
                    continue
                tokens = tuple(_intern(_message_tokens(message)))
                out.append(Commit(sha, when, tokens, tuple(_intern(files))))
        except TimeoutError:
            return out, skipped, "time cap"
        return out, skipped, ("depth cap" if seen >= self.max_commits else "")

    # -- evidence -------------------------------------------------------------------------

    def message_scores(self, query: Iterable[str], known: Mapping[str, object]) -> dict[str, float]:
        """BM25 of the request's tokens over each file's commit messages (files in ``known``)."""
        with self._lock:
            if self._tables is None:
                return {}
            scores = self._tables.messages.scores(query)
        return {p: s for p, s in scores.items() if p in known}

    def cochange(self, seeds: Mapping[str, float], known: Mapping[str, object]) -> dict[str, float]:
        """Files that changed with the seeds: per seed, the share of its commits that also
        touched the file, times the seed's weight. A seed changed with itself every time (its
        own weight, when the history knows it), so the seeds keep their order at the head of
        the list and what changed with them follows: measured on the dev sets, leaving the
        seeds out let a file that often changed with the first one overtake it (Rust dev
        Acc@1 0.255 to 0.149 at half a vote)."""
        out: dict[str, float] = defaultdict(float)
        with self._lock:
            if self._tables is None:
                return {}
            commits_of, commits = self._tables.commits_of, self._commits
            for seed, weight in seeds.items():
                mine = commits_of.get(seed)
                if not mine:
                    continue
                if seed in known:
                    out[seed] += weight
                share = weight / len(mine)
                for ci in mine:
                    for f in commits[ci].files:
                        if f != seed and f in known:
                            out[f] += share
        return dict(out)

    def recency(self, known: Mapping[str, object]) -> dict[str, float]:
        with self._lock:
            if self._tables is None:
                return {}
            return {p: s for p, s in self._tables.recency.items() if p in known}

    def commit_count(self, path: str) -> int:
        with self._lock:
            return len(self._tables.commits_of.get(path, ())) if self._tables else 0


def _message_tokens(message: str) -> list[str]:
    """The first MAX_MESSAGE_TOKENS tokens of a message. Words never cross a newline, so
    tokenizing line by line gives the same tokens, and a long body stops being read early."""
    out: list[str] = []
    for line in message.split("\n"):
        out.extend(tokenize(line))
        if len(out) >= MAX_MESSAGE_TOKENS:
            break
    return out[:MAX_MESSAGE_TOKENS]


def _intern(items: Iterable[str]) -> list[str]:
    # The same words and paths recur in thousands of commits: one string object each.
    return [sys.intern(s) for s in items]


def _build(commits: list[Commit]) -> _Tables:
    commits_of: dict[str, list[int]] = defaultdict(list)
    docs: dict[str, list[str]] = defaultdict(list)
    recency: dict[str, float] = defaultdict(float)
    for i, c in enumerate(commits):
        decay = 0.5 ** (i / RECENCY_HALF_LIFE)
        for f in c.files:
            commits_of[f].append(i)
            docs[f].extend(c.tokens)
            recency[f] += decay
    return _Tables(messages=BM25(docs), commits_of=dict(commits_of), recency=dict(recency))


@dataclass
class _Registry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    by_root: dict[Path, History] = field(default_factory=dict)


_REGISTRY = _Registry()


def history_for(root: Path, max_commits: int = DEFAULT_MAX_COMMITS) -> History:
    """The process's one :class:`History` of ``root``, refreshed (reads only new commits)
    unless it was within the last RECHECK_SECONDS."""
    key = Path(root)
    with _REGISTRY.lock:
        hist = _REGISTRY.by_root.get(key)
        if hist is None or hist.max_commits != max_commits:
            hist = History(key, max_commits=max_commits)
            _REGISTRY.by_root[key] = hist
    if time.monotonic() - hist.checked_at >= RECHECK_SECONDS:
        hist.refresh()
    return hist
