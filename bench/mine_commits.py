"""Held-out context-selection rows mined from a repository's own history.

The dev sets in ``../shared/bench-data/`` are few and were looked at while the ranking was
built; a gain that only holds there is tuning, not method. This script makes more rows of the
same shape from other repositories (or other commits of the same ones): the request is a
commit's message, the tree is its parent, and the gold files are the source files the commit
modified (tests, benches, examples and docs left out, as in the dev sets). A commit message is
written in the code's own vocabulary more often than an issue is, so absolute figures run
higher than on issues; what matters is whether a change to the method moves them the same way.

Commits qualify when they have one parent, a message of at least ``--min-chars`` characters
once trailers and issue references are removed, and modify 1 to ``--max-files`` source files
(and create none). Rows are taken evenly across the qualifying history, newest first, so the
set does not depend on when it was mined. Output is JSONL for ``bench/context_quality.py``:

    python bench/mine_commits.py tokio-rs/tokio clap-rs/clap --per-repo 20 \\
        --out ../scratch/heldout-rust.jsonl
    python bench/context_quality.py --data ../scratch/heldout-rust.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repos import DEFAULT_REPOS_DIR, git_dir

from lsp_server.context.rank.ranking import is_peripheral_path

SOURCE_SUFFIXES = (".rs", ".py")
# Housekeeping commits say nothing a user would ask.
SKIP_SUBJECT = re.compile(
    r"^(merge|revert|bump|release|prepare|version|changelog|update (the )?changelog|"
    r"chore|ci|docs?|style|fmt|format|typo|clippy|lint|deps|build\(deps\)|\[pre-commit)\b",
    re.I,
)
TRAILER = re.compile(r"^[A-Za-z][\w-]*(-by|-authored-by)?: .+$")
ISSUE_REF = re.compile(r"\b(?:fix(?:es|ed)?|close[sd]?|resolve[sd]?|see|refs?)\s+#\d+\b|\(?#\d+\)?", re.I)


def clean_message(subject: str, body: str) -> str:
    """The message as a request: no trailers (Signed-off-by, Co-authored-by), no issue numbers."""
    lines = [ln for ln in body.strip().splitlines() if not TRAILER.match(ln.strip())]
    text = subject.strip() + ("\n\n" + "\n".join(lines).strip() if lines else "")
    return ISSUE_REF.sub("", text).strip()


def candidates(gdir: Path, max_files: int, min_chars: int, limit: int) -> list[dict[str, object]]:
    log = subprocess.run(
        ["git", "--git-dir", str(gdir), "log", "--no-merges", "--no-renames", f"-n{limit}",
         "--name-status", "--format=%x00%H%x1f%P%x1f%s%x1f%b%x1e", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout
    out: list[dict[str, object]] = []
    for chunk in log.split("\x00")[1:]:
        head, _, status = chunk.partition("\x1e")
        sha, parents, subject, body = [*head.split("\x1f"), "", "", "", ""][:4]
        if len(parents.split()) != 1 or SKIP_SUBJECT.match(subject.strip()):
            continue
        modified: list[str] = []
        created = False
        for line in status.strip().splitlines():
            kind, _, path = line.partition("\t")
            if not path.endswith(SOURCE_SUFFIXES) or is_peripheral_path(path):
                continue
            if kind.startswith("M"):
                modified.append(path)
            else:
                created = True
        if created or not 1 <= len(modified) <= max_files:
            continue
        request = clean_message(subject, body)
        if len(request) < min_chars:
            continue
        out.append({"sha": sha, "parent": parents.split()[0], "request": request, "gold": modified})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repos", nargs="+", help="owner/name, mirrored under --repos-dir")
    ap.add_argument("--repos-dir", type=Path, default=DEFAULT_REPOS_DIR)
    ap.add_argument("--per-repo", type=int, default=20)
    ap.add_argument("--max-files", type=int, default=4)
    ap.add_argument("--min-chars", type=int, default=120)
    ap.add_argument("--history", type=int, default=4000, help="newest commits considered")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rows: list[dict[str, object]] = []
    for repo in args.repos:
        gdir = git_dir(args.repos_dir, repo)
        found = candidates(gdir, args.max_files, args.min_chars, args.history)
        step = max(1, len(found) // args.per_repo)
        picked = found[::step][: args.per_repo]
        for c in picked:
            patch = subprocess.run(
                ["git", "--git-dir", str(gdir), "diff", str(c["parent"]), str(c["sha"]), "--", *c["gold"]],  # type: ignore[misc]
                capture_output=True, text=True, check=True,
            ).stdout
            rows.append({
                "instance_id": f"{repo.replace('/', '__')}-{str(c['sha'])[:10]}",
                "repo": repo,
                "base_commit": c["parent"],
                "request": c["request"],
                "gold_files": c["gold"],
                "fix_patch": patch,
            })
        print(f"{repo}: {len(found)} qualifying commits, {len(picked)} taken", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} rows -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
