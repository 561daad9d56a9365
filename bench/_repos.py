"""Materialize a benchmark repository at a commit from a bare mirror, cached in a scratch dir.

Mirrors are bare git directories at ``<repos_dir>/<owner>+<name>/repo`` (what the ``fetch`` tool
brings); a tree is extracted once with ``git archive`` into ``<scratch>/<name>-<commit[:8]>`` and
reused on later runs (a ``.complete`` marker guards against half-extracted trees).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# Beside the checkout: bare mirrors in ``../.mirror`` (where the ``fetch`` tool puts them),
# extracted trees in ``../scratch``; every benchmark also takes ``--repos-dir`` / ``--scratch``.
_BESIDE = Path(__file__).resolve().parents[2]
DEFAULT_REPOS_DIR = _BESIDE / ".mirror"
DEFAULT_SCRATCH = _BESIDE / "scratch"
MARKER = ".bench-complete"


def git_dir(repos_dir: Path, repo: str) -> Path:
    """The bare git directory holding ``owner/name``."""
    base = repos_dir / repo.replace("/", "+")
    return base / "repo" if (base / "repo").is_dir() else base


def materialize(repo: str, commit: str, *, repos_dir: Path = DEFAULT_REPOS_DIR,
                scratch: Path = DEFAULT_SCRATCH) -> Path:
    """The tree of ``repo`` at ``commit`` on disk (extracted once, then cached)."""
    name = repo.split("/", 1)[-1]
    dest = scratch / f"{name}-{commit[:8]}"
    if (dest / MARKER).exists():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    gdir = git_dir(repos_dir, repo)
    archive = subprocess.Popen(["git", "--git-dir", str(gdir), "archive", commit],
                               stdout=subprocess.PIPE)
    assert archive.stdout is not None
    untar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=False)
    archive.stdout.close()
    if archive.wait() != 0 or untar.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise RuntimeError(f"cannot extract {repo}@{commit} from {gdir}")
    (dest / MARKER).write_text(commit + "\n", encoding="utf-8")
    return dest
