"""The server keeps its event loop free: contexts are built in a child process that mirrors the
editor's buffers, and buffer changes reach the server's index from a thread."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.assistant.contexts import RequestContexts
from lsp_server.assistant.targets import resolve_target
from lsp_server.config import Settings, SettingsSource
from lsp_server.context.documents import Documents, TextChange
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.builder import build_context
from lsp_server.context.rank.ranking import ContextRequest
from lsp_server.context.worker import ContextWorker, WorkerUnavailableError
from lsp_server.text import Position, Span

MARKER = "pub fn unsaved_marker_area() -> f64 { 0.0 }\n"


def _at_top(text: str) -> TextChange:
    return TextChange(text, Span(Position(0, 0), Position(0, 0)))


@pytest.fixture
def project(rust_example: Path, tmp_path: Path) -> Path:
    root = tmp_path / "crate"
    shutil.copytree(rust_example, root)
    return root


def test_child_builds_what_the_server_would_including_unsaved_edits(project: Path) -> None:
    settings = Settings()
    docs = Documents()
    index = ProjectIndex.open(project, settings=settings, documents=docs)
    docs.subscribe(index.update_document)
    index.refresh()
    lib = project / "src" / "lib.rs"
    docs.open(lib, lib.read_text(), 1, "rust")
    docs.change(lib, [_at_top("// edited before the child started\n")], 2)
    worker = ContextWorker(project, SettingsSource(settings), docs)
    worker.start()
    try:
        # Changes made after the start are forwarded too, in order, with the builds.
        docs.change(lib, [_at_top(MARKER)], 3)
        request = ContextRequest(text="what does unsaved_marker_area return", path="src/lib.rs",
                                 line=1, open_paths=("src/lib.rs",))
        got = worker.build_now(request, budget_tokens=3000, for_cloud=True)
        want = build_context(index, request, budget_tokens=3000, settings=settings, for_cloud=True)
        assert "unsaved_marker_area" in got.text
        assert got.text == want.text
        assert [f.path for f in got.files] == [f.path for f in want.files]
    finally:
        worker.close()
        index.close()
    with pytest.raises(WorkerUnavailableError):
        worker.build(ContextRequest(text="x"), budget_tokens=100, for_cloud=False)


def _wait(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_child_killed_mid_build_is_started_again_once(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docs = Documents()
    assistant = Assistant(project, Settings(), docs, context_process=True)
    assistant.reindex()
    worker = assistant.project.worker
    assert worker is not None and worker.alive
    first = worker.pid
    assert first is not None
    request = AssistRequest(kind="explain", instruction="explain total_area",
                            path=project / "src" / "lib.rs", line_range=(10, 12))
    target = resolve_target(assistant.root, docs, request)
    try:
        build = worker.build(ContextRequest(text="explain total_area", path="src/lib.rs", line=10),
                             budget_tokens=3000, for_cloud=False)
        os.kill(first, signal.SIGKILL)  # during the build
        try:
            answered = "total_area" in build.result(timeout=30).text  # it finished first
        except WorkerUnavailableError:
            answered = False  # or it failed cleanly, and the caller builds in-process
        assert answered or build.exception() is not None
        # meanwhile, and whatever the child is doing, the request's context is built
        ctx = RequestContexts(assistant.project, request, target).get(False)
        assert "total_area" in ctx.text

        assert _wait(lambda: worker.alive and worker.pid not in (None, first))
        assert worker.restarts == 1
        second = worker.pid
        again = worker.build_now(ContextRequest(text="explain total_area", path="src/lib.rs",
                                                line=10), budget_tokens=3000, for_cloud=False)
        assert "total_area" in again.text  # the new child answers

        assert second is not None
        os.kill(second, signal.SIGKILL)  # a second death: no crash loop, in-process from now on
        assert _wait(lambda: not worker.alive)
        time.sleep(0.5)
        assert not worker.alive and worker.restarts == 1
        with pytest.raises(WorkerUnavailableError):
            worker.build(ContextRequest(text="x"), budget_tokens=100, for_cloud=False)
        ctx = RequestContexts(assistant.project, request, target).get(False)
        assert "total_area" in ctx.text
    finally:
        asyncio.run(assistant.aclose())
    said = [r.getMessage() for r in caplog.records if "context process stopped" in r.getMessage()]
    assert len(said) == 2 and "starting it again" in said[0] and "from now on" in said[1]
    assert all("Traceback" not in m for m in said)


def test_hover_sees_a_buffer_change_the_index_has_not_applied_yet(project: Path) -> None:
    docs = Documents()
    assistant = Assistant(project, Settings(), docs)
    assistant.reindex()
    lib = project / "src" / "lib.rs"
    docs.open(lib, lib.read_text(), 1, "rust")
    docs.change(lib, [_at_top(MARKER)], 2)
    # didChange returned without re-parsing; the read catches the index up first.
    info = assistant.symbol_info(lib, 1, MARKER.index("unsaved") + 2)
    assert info is not None and info.name == "unsaved_marker_area"
    docs.change(lib, [TextChange("", Span(Position(0, 0), Position(1, 0)))], 3)
    info = assistant.symbol_info(lib, 10, len("pub fn to"))
    assert info is not None and info.name == "total_area"
    asyncio.run(assistant.aclose())


def test_the_loop_reads_stdin_only_from_a_pipe_of_its_own(tmp_path: Path) -> None:
    from lsp_server.server.app import _own_pipe

    r, w = os.pipe()
    out = tmp_path / "out"
    with os.fdopen(r, "rb") as rf, os.fdopen(w, "wb") as wf, open(out, "wb") as of:
        assert _own_pipe(rf, of)
        assert not _own_pipe(rf, rf)  # the same pipe both ways: non-blocking would reach stdout
        assert not _own_pipe(of, wf)  # a regular file keeps pygls's reader
