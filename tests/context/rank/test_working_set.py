"""The editor's working set as evidence: open buffers, and the files edited lately in the
order the user edited them (the latest counting most), passed from the buffers to ranking."""

from __future__ import annotations

from pathlib import Path

from lsp_server.assistant.contexts import ProjectContext
from lsp_server.assistant.values import AssistRequest, Target
from lsp_server.config import Settings, SettingsSource
from lsp_server.context.documents import MAX_RECENT_EDITS, Documents, TextChange
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.ranking import ContextRequest, rank, signals, tables_for
from lsp_server.text import Position, Span


def _project(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    for name in ("alpha", "beta", "gamma", "delta"):
        (root / "pkg" / f"{name}.py").write_text(
            f"def {name}_rows(rows):\n    return [r for r in rows if r]\n")
    return root


def _edit(docs: Documents, path: Path, version: int) -> None:
    docs.change(path, [TextChange("# touched\n", Span(Position(0, 0), Position(0, 0)))], version)


def test_documents_keep_the_order_of_edits(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    docs = Documents()
    a, b, c = (root / "pkg" / f"{n}.py" for n in ("alpha", "beta", "gamma"))
    for p in (a, b, c):
        docs.open(p, p.read_text(), 1)
    assert docs.recently_edited() == []  # opening is not editing
    _edit(docs, b, 2)
    _edit(docs, a, 2)
    _edit(docs, b, 3)
    assert docs.recently_edited() == [b.absolute(), a.absolute()]
    docs.close(b)
    assert docs.recently_edited() == [b.absolute(), a.absolute()]  # edited, then closed
    for i in range(MAX_RECENT_EDITS + 3):
        extra = root / f"f{i}.py"
        extra.write_text("x = 1\n")
        _edit(docs, extra, 1)
    recent = docs.recently_edited()
    assert len(recent) == MAX_RECENT_EDITS and recent[0] == (root / f"f{MAX_RECENT_EDITS + 2}.py").absolute()


def test_the_latest_edit_counts_most(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    index = ProjectIndex.open(root, state_dir=tmp_path / "state")
    index.refresh()
    request = "the rows filter drops empty rows"
    for latest, earlier in (("pkg/gamma.py", "pkg/beta.py"), ("pkg/beta.py", "pkg/gamma.py")):
        ask = ContextRequest(text=request, recent_paths=(latest, earlier))
        with tables_for(index) as prep:
            mentions = signals(prep, ask).mention_file
        assert mentions[latest] > mentions[earlier] > 0 and mentions.get("pkg/alpha.py", 0.0) == 0.0
        files, _ = rank(index, ask)
        reasons = {f.path: f.reasons for f in files}
        assert "recently edited" in reasons[latest] and "recently edited" in reasons[earlier]
        assert "recently edited" not in reasons["pkg/alpha.py"]
        assert [f.path for f in files].index(latest) < [f.path for f in files].index("pkg/alpha.py")
    index.close()


def test_a_request_carries_the_buffers_working_set(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    docs = Documents()
    project = ProjectContext(root, SettingsSource(Settings(state_dir=str(tmp_path / "state"))), docs)
    delta, beta = root / "pkg" / "delta.py", root / "pkg" / "beta.py"
    docs.open(delta, delta.read_text(), 1)
    docs.open(beta, beta.read_text(), 1)
    _edit(docs, beta, 2)
    project.index()
    result = project.build(AssistRequest("ask", "the rows filter drops empty rows"),
                           Target(None, None, None), None, cloud=False)
    reasons = {f.path: f.reasons for f in result.files}
    assert "recently edited" in reasons["pkg/beta.py"] and "open in the editor" in reasons["pkg/beta.py"]
    assert "open in the editor" in reasons["pkg/delta.py"]
    assert "recently edited" not in reasons["pkg/delta.py"]
    assert not any("open in the editor" in r or "recently edited" in r for r in reasons["pkg/alpha.py"])
