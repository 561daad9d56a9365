"""Writing file changes to disk: only onto the text they were computed against, line ends kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.edits import SearchReplace, apply_edits, disk_reader, write_changes
from lsp_server.edits.protocol import FileChange
from lsp_server.errors import EditApplyError, StaleDocumentError, UnsafeEditError


def changes_for(root: Path, *edits: SearchReplace) -> list[FileChange]:
    return apply_edits(edits, disk_reader(root), root=root, settings=Settings())


def test_lf_file_is_written(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_bytes(b"x = 1\ny = 2\n")
    written = write_changes(tmp_path, changes_for(tmp_path, SearchReplace("a.py", "y = 2\n", "y = 3\n")))
    assert written == ["a.py"]
    assert (tmp_path / "a.py").read_bytes() == b"x = 1\ny = 3\n"


def test_crlf_file_keeps_crlf_when_the_change_was_computed_on_lf_text(tmp_path: Path) -> None:
    """The CLI reads files with universal newlines, so its changes hold LF text."""
    (tmp_path / "a.py").write_bytes(b"x = 1\r\ny = 2\r\n")
    lf = FileChange("a.py", "x = 1\ny = 2\n", "x = 1\ny = 3\n")
    assert write_changes(tmp_path, [lf]) == ["a.py"]
    assert (tmp_path / "a.py").read_bytes() == b"x = 1\r\ny = 3\r\n"


def test_crlf_change_computed_on_crlf_text_is_written_as_is(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_bytes(b"x = 1\r\n")
    write_changes(tmp_path, changes_for(tmp_path, SearchReplace("a.py", "x = 1\n", "x = 2\nz = 0\n")))
    assert (tmp_path / "a.py").read_bytes() == b"x = 2\r\nz = 0\r\n"


def test_new_file_and_its_directories_are_created(tmp_path: Path) -> None:
    changes = changes_for(tmp_path, SearchReplace("pkg/sub/new.py", "", "X = 1\n"))
    assert changes[0].created
    assert write_changes(tmp_path, changes) == ["pkg/sub/new.py"]
    assert (tmp_path / "pkg" / "sub" / "new.py").read_text() == "X = 1\n"


def test_a_file_created_meanwhile_is_stale(tmp_path: Path) -> None:
    changes = changes_for(tmp_path, SearchReplace("new.py", "", "X = 1\n"))
    (tmp_path / "new.py").write_text("mine = True\n")
    with pytest.raises(StaleDocumentError, match=r"new\.py changed while the request ran; nothing written"):
        write_changes(tmp_path, changes)
    assert (tmp_path / "new.py").read_text() == "mine = True\n"


def test_one_stale_file_writes_nothing_at_all(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "b.py").write_text("b = 1\n")
    changes = changes_for(tmp_path, SearchReplace("a.py", "a = 1\n", "a = 2\n"),
                          SearchReplace("b.py", "b = 1\n", "b = 2\n"))
    (tmp_path / "b.py").write_text("b = 1\nedited = True\n")
    with pytest.raises(StaleDocumentError, match=r"b\.py changed"):
        write_changes(tmp_path, changes)
    assert (tmp_path / "a.py").read_text() == "a = 1\n"
    assert (tmp_path / "b.py").read_text() == "b = 1\nedited = True\n"


def test_a_deleted_file_is_stale(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    changes = changes_for(tmp_path, SearchReplace("a.py", "a = 1\n", "a = 2\n"))
    (tmp_path / "a.py").unlink()
    with pytest.raises(StaleDocumentError):
        write_changes(tmp_path, changes)
    assert not (tmp_path / "a.py").exists()


def test_a_line_end_conversion_alone_is_not_stale(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_bytes(b"a = 1\n")
    changes = changes_for(tmp_path, SearchReplace("a.py", "a = 1\n", "a = 2\n"))
    (tmp_path / "a.py").write_bytes(b"a = 1\r\n")
    write_changes(tmp_path, changes)
    assert (tmp_path / "a.py").read_bytes() == b"a = 2\r\n"


@pytest.mark.parametrize("path", ["../escape.py", "sub/../../escape.py", "link/escape.py"])
def test_nothing_is_written_outside_the_root(tmp_path: Path, path: str) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "sub").mkdir()
    (root / "ok.py").write_text("ok = 1\n")
    os.symlink(tmp_path, root / "link")
    changes = [FileChange("ok.py", "ok = 1\n", "ok = 2\n"), FileChange(path, "", "pwned = 1\n", created=True)]
    with pytest.raises(UnsafeEditError, match="outside the workspace root; nothing written"):
        write_changes(root, changes)
    assert not (tmp_path / "escape.py").exists()
    assert (root / "ok.py").read_text() == "ok = 1\n"


def test_a_file_that_is_not_utf8_is_never_written(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("a = 1\n")
    (tmp_path / "latin1.py").write_bytes(b"s = 'caf\xe9'\n")
    changes = [FileChange("ok.py", "a = 1\n", "a = 2\n"),
               FileChange("latin1.py", "s = 'caf\ufffd'\n", "s = 'cafe'\n")]
    with pytest.raises(EditApplyError, match=r"latin1\.py is not UTF-8 text; nothing written"):
        write_changes(tmp_path, changes)
    assert (tmp_path / "ok.py").read_text() == "a = 1\n"
    assert (tmp_path / "latin1.py").read_bytes() == b"s = 'caf\xe9'\n"
