"""Safety: no edit leaves the workspace root, enters .git, or touches an excluded file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsp_server.config import Settings, parse_settings
from lsp_server.edits.safety import check_size, safe_relative_path
from lsp_server.errors import UnsafeEditError

DEFAULTS = Settings()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "a.py").write_text("x = 1\n")
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text("[core]\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "b.py").write_text("y = 2\n")
    return ws


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/a.py", "src/a.py"),
        ("./src/../src/a.py", "src/a.py"),
        ("src\\a.py", "src/a.py"),
        ("  src/new.py ", "src/new.py"),
        ("new/dir/c.rs", "new/dir/c.rs"),
    ],
)
def test_paths_inside_the_root(root: Path, path: str, expected: str) -> None:
    assert safe_relative_path(path, root, DEFAULTS) == expected


def test_absolute_path_inside_the_root_becomes_relative(root: Path) -> None:
    assert safe_relative_path(str(root / "src" / "a.py"), root, DEFAULTS) == "src/a.py"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../outside/b.py", "outside the workspace root"),
        ("src/../../outside/b.py", "outside the workspace root"),
        ("..", "outside the workspace root"),
        (".", "outside the workspace root"),
        ("/etc/passwd", "outside the workspace root"),
        ("", "not a file path"),
        ("a\x00b.py", "not a file path"),
        ("src", "is a directory"),
        (".git/config", "inside .git"),
        ("src/.git/hooks/pre-commit", "inside .git"),
        (".env", "excluded by privacy.exclude"),
        ("certs/server.pem", "excluded by privacy.exclude"),
    ],
)
def test_refused_paths(root: Path, path: str, reason: str) -> None:
    with pytest.raises(UnsafeEditError, match=reason):
        safe_relative_path(path, root, DEFAULTS)


def test_absolute_path_outside_the_root_is_refused(root: Path) -> None:
    with pytest.raises(UnsafeEditError, match="outside the workspace root"):
        safe_relative_path(str(root.parent / "outside" / "b.py"), root, DEFAULTS)


def test_configured_exclusions_apply(root: Path) -> None:
    strict = parse_settings({"privacy": {"exclude": ["generated/**"]}})
    with pytest.raises(UnsafeEditError, match="excluded"):
        safe_relative_path("generated/x.py", root, strict)
    assert safe_relative_path(".env.example", root, strict) == ".env.example"


def test_symlinked_directory_out_of_the_root_is_refused(root: Path) -> None:
    os.symlink(root.parent / "outside", root / "link")
    with pytest.raises(UnsafeEditError, match="resolves outside the workspace root"):
        safe_relative_path("link/b.py", root, DEFAULTS)


def test_symlinked_file_to_an_excluded_file_is_refused(root: Path) -> None:
    (root / ".env").write_text("TOKEN=1\n")
    os.symlink(".env", root / "settings.txt")
    with pytest.raises(UnsafeEditError, match="excluded"):
        safe_relative_path("settings.txt", root, DEFAULTS)


def test_symlink_into_git_is_refused(root: Path) -> None:
    os.symlink(".git", root / "gitlink")
    with pytest.raises(UnsafeEditError, match=r"inside \.git"):
        safe_relative_path("gitlink/config", root, DEFAULTS)


def test_symlink_loop_is_refused_not_crashed(root: Path) -> None:
    os.symlink("loop", root / "loop")
    with pytest.raises(UnsafeEditError, match="refused"):
        safe_relative_path("loop/x.py", root, DEFAULTS)


def test_symlink_inside_the_root_is_allowed(root: Path) -> None:
    os.symlink("src", root / "alias")
    assert safe_relative_path("alias/a.py", root, DEFAULTS) == "alias/a.py"


def test_check_size() -> None:
    small = parse_settings({"edits": {"max_edit_bytes": 10}})
    check_size("a.py", 10, small)
    with pytest.raises(UnsafeEditError, match=r"11 bytes, over edits\.max_edit_bytes = 10"):
        check_size("a.py", 11, small)


_SEGMENTS = st.sampled_from(
    ["..", ".", "src", "a.py", "config", "link", "gitlink", "loop", "", "/", "~", "C:", ".git"]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_SEGMENTS, min_size=1, max_size=6), st.booleans())
def test_no_accepted_path_leaves_the_root(root: Path, parts: list[str], absolute: bool) -> None:
    if not (root / "link").is_symlink():
        os.symlink(root.parent / "outside", root / "link")
        os.symlink(".git", root / "gitlink")
        os.symlink("loop", root / "loop")
    path = ("/" if absolute else "") + "/".join(parts)
    try:
        rel = safe_relative_path(path, root, DEFAULTS)
    except UnsafeEditError:
        return
    real = (root / rel).resolve()
    assert real.is_relative_to(root.resolve())
    assert ".git" not in real.relative_to(root.resolve()).parts
    assert not rel.startswith(("/", "../")) and rel != ".."
