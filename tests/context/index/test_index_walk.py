"""The workspace walk: .gitignore (nested, negation), skipped directories, size limit, loops."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lsp_server.context.index.walk import walk


def write(root: Path, rel: str, text: str = "x = 1\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def paths(root: Path, **kw: int) -> list[str]:
    return [e.path for e in walk(root, **kw).files]


def test_nested_gitignore_and_negation(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.gen.py\nbuild/\n!keep.gen.py\n")
    write(tmp_path, "a.py")
    write(tmp_path, "x.gen.py")
    write(tmp_path, "keep.gen.py")
    write(tmp_path, "build/out.py")
    write(tmp_path, "pkg/.gitignore", "local_*.py\n/rooted.py\n")
    write(tmp_path, "pkg/local_cfg.py")
    write(tmp_path, "pkg/rooted.py")
    write(tmp_path, "pkg/sub/rooted.py")
    write(tmp_path, "pkg/mod.py")
    write(tmp_path, "other/local_cfg.py")  # the nested rule applies below pkg/ only
    assert paths(tmp_path) == [
        "a.py",
        "keep.gen.py",
        "other/local_cfg.py",
        "pkg/mod.py",
        "pkg/sub/rooted.py",
    ]


def test_deeper_gitignore_overrides_parent(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "*.rs\n")
    write(tmp_path, "src/.gitignore", "!lib.rs\n")
    write(tmp_path, "src/lib.rs", "fn a() {}\n")
    write(tmp_path, "src/other.rs", "fn b() {}\n")
    assert paths(tmp_path) == ["src/lib.rs"]


def test_always_skipped_directories_and_manifests(tmp_path: Path) -> None:
    for d in (".git", "target", "node_modules", "__pycache__", ".venv"):
        write(tmp_path, f"{d}/hidden.py")
    write(tmp_path, "env/pyvenv.cfg", "home = /usr\n")
    write(tmp_path, "env/lib/site.py")
    write(tmp_path, "src/main.rs", "fn main() {}\n")
    write(tmp_path, "Cargo.toml", "[package]\nname = 'x'\n")
    write(tmp_path, "README.md", "# not source\n")
    result = walk(tmp_path)
    assert [e.path for e in result.files] == ["src/main.rs"]
    assert [m.path for m in result.manifests] == ["Cargo.toml"]
    assert ("env", "virtualenv") in result.skipped


def test_size_limit_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "small.py")
    write(tmp_path, "big.py", "x = 1\n" * 500)
    result = walk(tmp_path, max_file_bytes=1024)
    assert [e.path for e in result.files] == ["small.py"]
    assert result.skipped and result.skipped[0][0] == "big.py"
    assert "max_file_bytes" in result.skipped[0][1]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_is_cut(tmp_path: Path) -> None:
    write(tmp_path, "pkg/a.py")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "loop")
    os.symlink(tmp_path / "nowhere.py", tmp_path / "dangling.py")
    result = walk(tmp_path)
    assert [e.path for e in result.files] == ["pkg/a.py"]
    reasons = dict(result.skipped)
    assert "symlink loop" in reasons["pkg/loop"]
    assert "unreadable" in reasons["dangling.py"]


def test_stat_is_recorded(tmp_path: Path) -> None:
    f = write(tmp_path, "m.py", "print('hi')\n")
    (entry,) = walk(tmp_path).files
    st = f.stat()
    assert (entry.language, entry.size, entry.mtime_ns) == ("python", st.st_size, st.st_mtime_ns)


def test_file_limit_keeps_the_files_nearest_the_root(tmp_path: Path) -> None:
    for rel in ("b.py", "a.py", "zeta/e.py", "pkg/c.py", "pkg/deep/d.py"):
        write(tmp_path, rel)
    write(tmp_path, "pkg/deep/Cargo.toml", "[package]\nname = 'x'\n")
    capped = walk(tmp_path, max_files=3)
    assert [e.path for e in capped.files] == ["a.py", "b.py", "pkg/c.py"]  # breadth first, by name
    assert capped.capped
    exact = walk(tmp_path, max_files=5)
    assert len(exact.files) == 5 and not exact.capped  # reaching the limit is not passing it
    assert [m.path for m in exact.manifests] == ["pkg/deep/Cargo.toml"]
    assert not walk(tmp_path).capped
