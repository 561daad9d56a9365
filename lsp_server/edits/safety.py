"""Refuse edits that could hurt: outside the workspace, into a secret file, or too large.

A path is checked as written and as it resolves on disk: ``..`` that climbs out, an absolute
path outside the root, a symlink (the file or any parent) that points out of the root or into
``.git``, and a symlink loop are all refused, as is any path matching ``privacy.exclude``
(``.env``, ``*.pem``, ...), and an edit set whose new text exceeds ``edits.max_edit_bytes``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path, PurePosixPath

from lsp_server.config import Settings
from lsp_server.context.privacy import PrivacyFilter
from lsp_server.errors import UnsafeEditError


def safe_relative_path(path: str, root: Path, settings: Settings) -> str:
    """``path`` as a relative POSIX path inside ``root``; UnsafeEditError when it may not be edited."""
    raw = path.strip().replace("\\", "/")
    if not raw or "\x00" in raw:
        raise UnsafeEditError(f"{path!r}: not a file path")
    root_real = root.resolve()
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        absolute = Path(raw)
        try:
            raw = absolute.resolve().relative_to(root_real).as_posix()
        except (ValueError, OSError, RuntimeError):
            try:
                raw = absolute.relative_to(root).as_posix()
            except ValueError:
                raise UnsafeEditError(f"{path}: outside the workspace root; refused") from None
    rel = posixpath.normpath(raw)
    if rel in {".", ""} or rel == ".." or rel.startswith("../"):
        raise UnsafeEditError(f"{path}: outside the workspace root; refused")
    if PurePosixPath(rel).name in {"", ".", ".."}:
        raise UnsafeEditError(f"{path}: not a file path")
    full = root_real / rel
    try:
        real = full.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise UnsafeEditError(f"{path}: cannot be resolved (a symlink loop); refused") from None
    if not real.is_relative_to(root_real):
        raise UnsafeEditError(f"{path}: resolves outside the workspace root (a symlink); refused")
    if real.is_dir():
        raise UnsafeEditError(f"{path}: is a directory, not a file")
    privacy = PrivacyFilter.from_settings(settings.privacy)
    real_rel = real.relative_to(root_real).as_posix()
    if privacy.is_excluded(rel) or privacy.is_excluded(real_rel):
        raise UnsafeEditError(f"{path}: excluded by privacy.exclude; the assistant may not edit it")
    if any(part == ".git" for p in (rel, real_rel) for part in PurePosixPath(p).parts):
        raise UnsafeEditError(f"{path}: inside .git; refused")
    return rel


def check_size(path: str, new_bytes: int, settings: Settings) -> None:
    """UnsafeEditError when an edit writes more than ``edits.max_edit_bytes``."""
    limit = settings.edits.max_edit_bytes
    if new_bytes > limit:
        raise UnsafeEditError(
            f"{path}: the edit writes {new_bytes} bytes, over edits.max_edit_bytes = {limit}; refused"
        )
