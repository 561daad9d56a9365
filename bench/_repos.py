"""Materialize a benchmark repository at a commit from a bare mirror, cached in a scratch dir.

Mirrors are bare git directories at ``<repos_dir>/<owner>+<name>/repo`` (what the ``fetch`` tool
brings); a tree is extracted once with ``git archive`` into ``<scratch>/<name>-<commit[:8]>`` and
reused on later runs (a ``.complete`` marker guards against half-extracted trees).

:func:`checkout` gives the same tree as a real git checkout whose history ends at the commit
(``<scratch>/<name>-<commit[:8]>-history``), for evidence read from the repository's history:
a shared clone of the mirror (its objects borrowed through ``objects/info/alternates``),
detached at the commit, with every ref, reflog and remote removed, so that no later commit (a
row's fix included) is reachable from anything ``git log`` or ``git rev-list --all`` reads.
:func:`same_tree` compares it with the archive, file by file.
"""

from __future__ import annotations

import filecmp
import os
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


def _finished(dest: Path) -> bool:
    """Whether ``dest`` holds a finished copy (its marker written last); a half-made one is
    removed so the caller starts again."""
    if (dest / MARKER).exists():
        return True
    if dest.exists():
        shutil.rmtree(dest)
    return False


def materialize(repo: str, commit: str, *, repos_dir: Path = DEFAULT_REPOS_DIR,
                scratch: Path = DEFAULT_SCRATCH) -> Path:
    """The tree of ``repo`` at ``commit`` on disk (extracted once, then cached)."""
    dest = scratch / f"{repo.split('/', 1)[-1]}-{commit[:8]}"
    if _finished(dest):
        return dest
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


HISTORY_SUFFIX = "-history"


def _git(*args: str, cwd: Path | None = None) -> str:
    # Fixed settings, whatever the user's git config says: no line-ending conversion, so the
    # checkout holds the committed bytes, as ``git archive`` does.
    done = subprocess.run(["git", "-c", "core.autocrlf=false", "-c", "core.eol=lf", *args], cwd=cwd,
                          check=True, capture_output=True, text=True)
    return done.stdout


def checkout(repo: str, commit: str, *, repos_dir: Path = DEFAULT_REPOS_DIR,
             scratch: Path = DEFAULT_SCRATCH) -> Path:
    """A checkout of ``repo`` at ``commit`` whose history ends there (made once, then cached).

    Raises RuntimeError when any ref still reaches a commit that is not an ancestor of
    ``commit`` (checked on every new checkout, with ``git rev-list --all``).
    """
    dest = scratch / f"{repo.split('/', 1)[-1]}-{commit[:8]}{HISTORY_SUFFIX}"
    if _finished(dest):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    gdir = git_dir(repos_dir, repo)
    try:
        _git("clone", "-q", "--shared", "--no-checkout", str(gdir), str(dest))
        full = _git("rev-parse", "--verify", f"{commit}^{{commit}}", cwd=dest).strip()
        _git("checkout", "-q", "--detach", full, cwd=dest)
        _strip_refs(dest)
        leaked = later_commits(dest)
        if leaked:
            raise RuntimeError(f"{len(leaked)} commits after {commit[:12]} still reachable, e.g. {leaked[0]}")
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        raise RuntimeError(f"cannot check out {repo}@{commit} from {gdir}: {detail}") from exc
    # The marker is excluded from git's view, so the tree reads as clean.
    with open(dest / ".git" / "info" / "exclude", "a", encoding="utf-8") as fh:
        fh.write(f"/{MARKER}\n")
    (dest / MARKER).write_text(commit + "\n", encoding="utf-8")
    return dest


def _strip_refs(dest: Path) -> None:
    """Delete every ref but the detached HEAD: branches, tags, remotes, notes, stash,
    packed refs, FETCH_HEAD / ORIG_HEAD and the reflogs (which would keep the clone's
    first HEAD, a later commit, reachable for ``--reflog``)."""
    gd = dest / ".git"
    for ref in _git("for-each-ref", "--format=%(refname)", cwd=dest).split():
        _git("update-ref", "-d", ref, cwd=dest)
    for remote in _git("remote", cwd=dest).split():
        _git("remote", "remove", remote, cwd=dest)
    for leftover in ("packed-refs", "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD", "CHERRY_PICK_HEAD"):
        (gd / leftover).unlink(missing_ok=True)
    shutil.rmtree(gd / "logs", ignore_errors=True)
    shutil.rmtree(gd / "refs", ignore_errors=True)
    for sub in ("heads", "tags"):
        (gd / "refs" / sub).mkdir(parents=True)


def later_commits(dest: Path) -> list[str]:
    """Commits reachable from any ref or reflog of ``dest`` that are not ancestors of HEAD."""
    head = _git("rev-parse", "HEAD", cwd=dest).strip()
    out = _git("rev-list", "--all", "--reflog", f"^{head}", cwd=dest)
    return out.split()


def same_tree(archive: Path, tree: Path) -> list[str]:
    """Paths whose presence or bytes differ between two trees (``.git`` and markers aside)."""
    def files(root: Path) -> set[str]:
        out: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not (dirpath == str(root) and d == ".git")]
            rel = os.path.relpath(dirpath, root)
            for f in filenames:
                path = f if rel == "." else f"{rel}/{f}"
                if path != MARKER:
                    out.add(path)
        return out

    a, b = files(archive), files(tree)
    differ = sorted(a ^ b)
    for path in sorted(a & b):
        pa, pb = archive / path, tree / path
        if pa.is_symlink() or pb.is_symlink():
            if not (pa.is_symlink() and pb.is_symlink() and os.readlink(pa) == os.readlink(pb)):
                differ.append(path)
        elif not filecmp.cmp(pa, pb, shallow=False):
            differ.append(path)
    return differ


def main() -> int:
    """Check out every row's tree with its history and compare it with the archive."""
    import argparse
    import json

    ap = argparse.ArgumentParser(description="history checkouts of bench rows, compared with the archives")
    ap.add_argument("data", type=Path, nargs="+", help="bench-data JSONL files")
    ap.add_argument("--repos-dir", type=Path, default=DEFAULT_REPOS_DIR)
    ap.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    args = ap.parse_args()
    seen: set[tuple[str, str]] = set()
    differing = 0
    fixes_hidden = fixes_checked = 0
    for data in args.data:
        for line in data.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            key = (row["repo"], row["base_commit"])
            if key in seen:
                continue
            seen.add(key)
            tree = checkout(*key, repos_dir=args.repos_dir, scratch=args.scratch)
            diff = same_tree(materialize(*key, repos_dir=args.repos_dir, scratch=args.scratch), tree)
            if diff:
                differing += 1
                print(f"{row['instance_id']}: {len(diff)} paths differ, e.g. {diff[:3]}")
            # Rows mined from history (bench/mine_commits.py) name their fix commit.
            fix = row["instance_id"].rsplit("-", 1)[-1]
            if len(fix) >= 7 and all(c in "0123456789abcdef" for c in fix):
                found = subprocess.run(["git", "--git-dir", str(git_dir(args.repos_dir, row["repo"])),
                                        "rev-parse", "--verify", "-q", f"{fix}^{{commit}}"],
                                       capture_output=True, text=True)
                if found.returncode == 0:
                    fixes_checked += 1
                    full = found.stdout.strip()
                    reachable = subprocess.run(["git", "rev-list", "--all", "--reflog"], cwd=tree,
                                               capture_output=True, text=True, check=True).stdout.split()
                    if full in reachable:
                        raise SystemExit(f"{row['instance_id']}: the fix {full} is reachable in {tree}")
                    fixes_hidden += 1
    print(f"{len(seen)} trees checked out with history: {len(seen) - differing} identical to the "
          f"archive, {differing} differ; fix commit unreachable in {fixes_hidden}/{fixes_checked} "
          f"mined rows (and no commit after the base in any tree)")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
