"""The workspace walk: which files the index reads, with their stat, honouring ``.gitignore``.

Nested ``.gitignore`` files apply below their directory and the deepest matching rule wins,
as in git (an ignored directory is not entered, so nothing inside it can be re-included).
VCS, build and virtualenv directories are always skipped, symlinked directories are followed
once (loops and duplicates are cut by device + inode), and files over the size limit are
reported as skipped. Binary content is detected later, when the file is read for parsing.

Directories are walked breadth first, in name order, so a file limit (a workspace opened at
the home directory) keeps the files nearest the root, the same ones on every run.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from lsp_server.context.index.languages import is_manifest, language_for_name

log = logging.getLogger(__name__)

ALWAYS_SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "target",
        "node_modules",
        "__pycache__",
        ".venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
    }
)


@dataclass(frozen=True, slots=True)
class WalkEntry:
    """A file the index should hold: relative POSIX path, language and stat."""

    path: str
    language: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class WalkResult:
    files: list[WalkEntry] = field(default_factory=list)
    manifests: list[WalkEntry] = field(default_factory=list)  # what the resolvers read (Cargo.toml)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    capped: bool = False  # the file limit was reached: files further from the root were left out


_Rules = list[tuple[str, pathspec.GitIgnoreSpec]]  # (base dir relative to root, spec)


def _load_gitignore(dir_path: str, rel_dir: str) -> pathspec.GitIgnoreSpec | None:
    try:
        with open(os.path.join(dir_path, ".gitignore"), encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return None
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except Exception as exc:  # a malformed pattern must not stop the walk
        log.warning("ignoring %s/.gitignore: %s", rel_dir or ".", exc)
        return None


def _ignored(rules: _Rules, rel: str, is_dir: bool) -> bool:
    """Git semantics: the last matching pattern across all applicable files decides."""
    verdict = False
    for base, spec in rules:
        sub = rel[len(base) + 1 :] if base else rel
        result = spec.check_file(sub + "/" if is_dir else sub)
        if result.include is not None:
            verdict = result.include
    return verdict


def walk(
    root: Path, max_file_bytes: int = 1_000_000, *, use_gitignore: bool = True,
    max_files: int | None = None,
) -> WalkResult:
    """Every indexable file under ``root`` (languages from :mod:`languages`), plus manifests.

    With ``max_files``, the walk stops once it holds that many source files and says so in
    :attr:`WalkResult.capped`.
    """
    result = WalkResult()
    root_str = str(root)
    seen_dirs: set[tuple[int, int]] = set()
    try:
        st = os.stat(root_str)
        seen_dirs.add((st.st_dev, st.st_ino))
    except OSError as exc:
        result.skipped.append((".", f"unreadable: {exc.strerror or exc}"))
        return result
    rules: _Rules = []
    if use_gitignore:
        exclude = os.path.join(root_str, ".git", "info", "exclude")
        if os.path.isfile(exclude):
            spec = _load_gitignore(os.path.dirname(exclude), ".git/info")
            if spec is not None:
                rules.append(("", spec))
    queue: deque[tuple[str, str, _Rules]] = deque([(root_str, "", rules)])
    while queue and not result.capped:
        dir_path, rel_dir, dir_rules = queue.popleft()
        queue.extend(_walk_dir(dir_path, rel_dir, dir_rules, seen_dirs, max_file_bytes,
                               use_gitignore, result, max_files))
    result.files.sort(key=lambda e: e.path)
    result.manifests.sort(key=lambda e: e.path)
    return result


def _walk_dir(
    dir_path: str,
    rel_dir: str,
    rules: _Rules,
    seen_dirs: set[tuple[int, int]],
    max_bytes: int,
    use_gitignore: bool,
    out: WalkResult,
    max_files: int | None,
) -> list[tuple[str, str, _Rules]]:
    """Add one directory's files to ``out``; return its subdirectories still to walk."""
    try:
        entries = sorted(os.scandir(dir_path), key=lambda e: e.name)
    except OSError as exc:
        out.skipped.append((rel_dir or ".", f"unreadable directory: {exc.strerror or exc}"))
        return []
    names = {e.name for e in entries}
    if "pyvenv.cfg" in names and rel_dir:
        out.skipped.append((rel_dir, "virtualenv"))
        return []
    if use_gitignore and ".gitignore" in names:
        spec = _load_gitignore(dir_path, rel_dir)
        if spec is not None:
            rules = [*rules, (rel_dir, spec)]
    subdirs: list[tuple[str, str, _Rules]] = []
    for entry in entries:
        name = entry.name
        rel = f"{rel_dir}/{name}" if rel_dir else name
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            if name in ALWAYS_SKIPPED_DIRS or (rules and _ignored(rules, rel, True)):
                continue
            try:
                st = entry.stat()
            except OSError as exc:
                out.skipped.append((rel, f"unreadable directory: {exc.strerror or exc}"))
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                out.skipped.append((rel, "symlink loop or duplicate directory"))
                continue
            seen_dirs.add(key)
            subdirs.append((entry.path, rel, rules))
            continue
        spec_lang = language_for_name(name)
        manifest = is_manifest(name)
        if spec_lang is None and not manifest:
            continue
        if rules and _ignored(rules, rel, False):
            continue
        try:
            st = entry.stat()
        except OSError as exc:  # a dangling symlink, a vanished file
            out.skipped.append((rel, f"unreadable: {exc.strerror or exc}"))
            continue
        if manifest:
            out.manifests.append(WalkEntry(rel, "toml", st.st_size, st.st_mtime_ns))
            continue
        if not entry.is_file():
            continue
        if st.st_size > max_bytes:
            out.skipped.append((rel, f"larger than context.max_file_bytes ({st.st_size} > {max_bytes})"))
            continue
        assert spec_lang is not None
        if max_files is not None and len(out.files) >= max_files:
            out.capped = True
            return []
        out.files.append(WalkEntry(rel, spec_lang.name, st.st_size, st.st_mtime_ns))
    return subdirs
