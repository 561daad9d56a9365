"""The benchmark's history checkouts: the base commit's tree, with no later commit reachable."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _repos import checkout, later_commits, materialize, same_tree
from git_repo import commit, git


def test_checkout_ends_history_at_the_base_commit(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit(work, "first", {"a.py": "x = 1\n", ".gitattributes": "ignored.txt export-ignore\n"})
    base = commit(work, "second", {"b.py": "y = 2\n"})
    fix = commit(work, "the fix", {"a.py": "x = 3  # the fix\n"})
    git(work, "tag", "v1")
    git(work, "branch", "later")
    mirrors = tmp_path / "mirrors"
    (mirrors / "o+demo").mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--mirror", str(work), str(mirrors / "o+demo" / "repo"))
    scratch = tmp_path / "scratch"

    tree = checkout("o/demo", base, repos_dir=mirrors, scratch=scratch)

    assert tree.name == f"demo-{base[:8]}-history"
    assert git(tree, "rev-parse", "HEAD") == base
    everything = git(tree, "rev-list", "--all", "--reflog").split()
    assert fix not in everything
    assert base in everything
    assert later_commits(tree) == []
    assert git(tree, "for-each-ref") == ""
    assert git(tree, "remote") == ""
    assert git(tree, "status", "--porcelain") == ""
    # The fix is still in the mirror: only the refs hide it.
    assert fix in git(mirrors / "o+demo" / "repo", "rev-list", "--all").split()
    archive = materialize("o/demo", base, repos_dir=mirrors, scratch=scratch)
    assert (tree / "a.py").read_text() == "x = 1\n"
    # git archive leaves export-ignore files out; a checkout has them: compared file by file.
    assert same_tree(archive, tree) == []
    (tree / "b.py").write_text("changed\n")
    assert same_tree(archive, tree) == ["b.py"]
    # A second call reuses the cached checkout.
    assert checkout("o/demo", base, repos_dir=mirrors, scratch=scratch) == tree
