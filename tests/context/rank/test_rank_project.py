"""Ranking and the ``context`` command on real projects indexed by ProjectIndex."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lsp_server.cli import main
from lsp_server.config import Settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.builder import build_context
from lsp_server.context.rank.ranking import ContextRequest, rank


def _index(root: Path, state: Path) -> ProjectIndex:
    index = ProjectIndex.open(root, settings=Settings(), state_dir=state)
    index.refresh()
    return index


@pytest.fixture
def service(tmp_path: Path) -> Path:
    root = tmp_path / "svc"
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "__init__.py").write_text("")
    (root / "svc" / "handler.py").write_text(
        "from .codec import decode_frame\n\n\n"
        "def handle_request(raw):\n"
        "    frame = decode_frame(raw)\n"
        "    return frame.payload\n"
    )
    (root / "svc" / "codec.py").write_text(
        "class Frame:\n    def __init__(self, payload):\n        self.payload = payload\n\n\n"
        "def decode_frame(raw):\n    return Frame(raw[4:])\n"
    )
    for i in range(6):
        (root / "svc" / f"report_{i}.py").write_text(
            f"def render_report_{i}(rows):\n    return '\\n'.join(str(r) for r in rows)\n"
        )
    (root / "tests").mkdir()
    (root / "tests" / "test_handler.py").write_text(
        "from svc.handler import handle_request\n\n\n"
        "def test_handle_request():\n    assert handle_request(b'abcdpayload') == b'payload'\n"
    )
    return root


def test_named_definition_ranks_its_file_first_with_reasons(service: Path, tmp_path: Path) -> None:
    index = _index(service, tmp_path / "state")
    files, defs = rank(index, ContextRequest(text="handle_request drops the first byte of the payload"))
    assert files[0].path == "svc/handler.py"
    assert any("handle_request" in r for r in files[0].reasons)
    assert defs[0].definition.name == "handle_request"
    # Every indexed file is ranked once.
    assert sorted(f.path for f in files) == sorted(index.files())


def test_pagerank_lifts_what_the_named_code_depends_on(service: Path, tmp_path: Path) -> None:
    index = _index(service, tmp_path / "state")
    files, _ = rank(index, ContextRequest(text="handle_request drops the first byte"))
    order = [f.path for f in files]
    assert order.index("svc/codec.py") < min(order.index(f"svc/report_{i}.py") for i in range(6))
    codec = files[order.index("svc/codec.py")]
    assert any("linked" in r or "codec" in r for r in codec.reasons)
    # The test file mentions the name too, but is ranked below the code.
    assert order.index("tests/test_handler.py") > order.index("svc/handler.py")


def test_cursor_and_path_mentions(service: Path, tmp_path: Path) -> None:
    index = _index(service, tmp_path / "state")
    files, defs = rank(index, ContextRequest(text="tidy this up", path="svc/report_3.py", line=2))
    assert files[0].path == "svc/report_3.py"
    assert defs[0].definition.name == "render_report_3"
    files, _ = rank(index, ContextRequest(text="something is off in svc/report_5.py"))
    assert files[0].path == "svc/report_5.py"


def test_rust_example_context_has_definition_and_neighbour_signatures(
    rust_example: Path, tmp_path: Path
) -> None:
    root = tmp_path / "crate"
    shutil.copytree(rust_example, root)
    index = _index(root, tmp_path / "state")
    res = build_context(index, ContextRequest(text="Circle::area returns the wrong value"),
                        budget_tokens=1500, settings=Settings(), for_cloud=True)
    assert res.files[0].path == "src/shapes/circle.rs"
    assert res.files[0].in_context and "fn area(&self) -> f64" in res.volatile
    assert res.tokens <= 1500


def test_file_sent_in_part_carries_its_imports(rust_example: Path, tmp_path: Path) -> None:
    root = tmp_path / "crate"
    shutil.copytree(rust_example, root)
    fillers = "\n".join(
        f"pub fn filler_{i}(x: u64) -> u64 {{\n" + "    let y = x + 1;\n" * 30 + "    y\n}\n" for i in range(40)
    )
    (root / "src" / "convert.rs").write_text(
        "use std::collections::HashMap;\nuse crate::units::Length;\n\n" + fillers
        + "\npub fn to_lookup_table(v: &[Length]) -> HashMap<u32, f64> {\n"
          "    fn helper() { use std::fmt::Write as _; }\n    HashMap::new()\n}\n" + fillers.replace("filler", "more")
    )
    (root / "src" / "lib.rs").write_text((root / "src" / "lib.rs").read_text() + "\npub mod convert;\n")
    index = _index(root, tmp_path / "state")
    res = build_context(index, ContextRequest(text="to_lookup_table drops entries"),
                        budget_tokens=2000, settings=Settings(), for_cloud=False)
    top = res.files[0]
    assert top.path == "src/convert.rs" and top.in_context
    # the module-level imports (with the blank line to the next snippet, if one was taken)
    assert top.ranges[0][0] == 1 and top.ranges[0][1] in (2, 4)
    assert "pub fn to_lookup_table" in res.volatile and "    HashMap::new()" in res.volatile
    assert "let y = x + 1;" not in res.volatile  # the fillers' bodies stayed out


def test_context_command_json(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["context", "--project", str(service), "--budget", "600", "--format", "json",
                 "handle_request drops the first byte"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["budget"] == 600 and 0 < out["tokens"] <= 600
    assert isinstance(out["elapsed_ms"], float | int)
    assert 0 < out["prepare_ms"] <= out["elapsed_ms"]  # a fresh process builds its tables
    first = out["files"][0]
    assert first["path"] == "svc/handler.py" and first["in_context"] is True
    assert all(isinstance(a, int) and 1 <= a <= b for a, b in first["ranges"])
    assert len(out["files"]) == 10  # fewer than 50 files: all of them, best first


def test_context_command_text_cursor_and_request_file(
    service: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    req = tmp_path / "req.txt"
    req.write_text("make the report faster")
    code = main(["context", "--project", str(service), "--budget", "800", "--file",
                 "svc/report_2.py", "--line", "1", "--request-file", str(req)])
    assert code == 0
    out = capsys.readouterr().out
    assert "## svc/report_2.py" in out and "def render_report_2(rows):" in out
    assert "1. * svc/report_2.py" in out


def test_context_command_errors_are_one_line(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["context", "--project", str(service)]) == 2
    assert "no request" in capsys.readouterr().err
    assert main(["context", "--project", str(service), "--line", "3", "x"]) == 2
    assert "--line needs --file" in capsys.readouterr().err


def test_quoted_error_message_finds_the_file_that_emits_it(service: Path, tmp_path: Path) -> None:
    (service / "svc" / "report_4.py").write_text(
        "def render_report_4(rows):\n"
        "    if not rows:\n"
        "        raise ValueError('nothing to render for this period')\n"
        "    return rows\n"
    )
    index = _index(service, tmp_path / "state")
    files, _ = rank(index, ContextRequest(
        text='I get `ValueError: nothing to render for this period` when the list is empty'))
    assert files[0].path == "svc/report_4.py"
    assert any("quoted in the request" in r for r in files[0].reasons)


def test_innermost_project_frame_of_a_traceback_ranks_first(service: Path, tmp_path: Path) -> None:
    index = _index(service, tmp_path / "state")
    # Outer frames name the handler several times; the error was raised in the codec, below
    # the test that triggered it and above the interpreter's own code.
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/srv/me/svc/tests/test_handler.py", line 5, in test_handle_request\n'
        '  File "/srv/me/svc/svc/handler.py", line 5, in handle_request\n'
        '  File "/srv/me/svc/svc/handler.py", line 5, in handle_request\n'
        '  File "/srv/me/svc/svc/codec.py", line 7, in decode_frame\n'
        '  File "/usr/lib/python3.11/abc.py", line 1, in check\n'
        "IndexError: frame too short\n"
    )
    files, _ = rank(index, ContextRequest(text=trace))
    assert files[0].path == "svc/codec.py"
    assert "where the reported error was raised" in files[0].reasons
    handler = next(f for f in files if f.path == "svc/handler.py")
    assert "where the reported error was raised" in handler.reasons
    test = next(f for f in files if f.path == "tests/test_handler.py")
    assert "where the reported error was raised" not in test.reasons


def test_context_command_checks_the_request_and_the_cursor(
    service: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["context", "--project", str(service), "  "]) == 2
    assert "the request is empty" in capsys.readouterr().err
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n")
    assert main(["context", "--project", str(service), "--request-file", str(blank)]) == 2
    assert f"--request-file {blank}: the request is empty" in capsys.readouterr().err
    # svc/codec.py has 7 lines: the cursor may sit on the last, not past it
    args = ["context", "--project", str(service), "--budget", "400", "--file", "svc/codec.py"]
    assert main([*args, "--line", "7", "decode the frame"]) == 0
    capsys.readouterr()
    assert main([*args, "--line", "8", "decode the frame"]) == 2
    assert "--line 8: svc/codec.py has 7 lines" in capsys.readouterr().err
    # a file the index does not hold is named on stderr, and the context is built without it
    (service / "NOTES.txt").write_text("decode frames faster\n")
    assert main(["context", "--project", str(service), "--budget", "400", "--file", "NOTES.txt",
                 "decode the frame"]) == 0
    captured = capsys.readouterr()
    assert "--file NOTES.txt: not a source file of the index" in captured.err
    assert "svc/codec.py" in captured.out


def test_context_command_names_a_missing_file_and_a_binary_request(
    service: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["context", "--project", str(service), "--file", "svc/nope.py", "--line", "1",
                 "decode the frame"]) == 2
    assert "--file svc/nope.py: no such file in the project" in capsys.readouterr().err
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    assert main(["context", "--project", str(service), "--file", str(outside), "x"]) == 2
    assert f"--file {outside}: not inside the project" in capsys.readouterr().err
    blob = tmp_path / "req.bin"
    blob.write_bytes(b"\x7fELF\x00\x00decode")
    assert main(["context", "--project", str(service), "--request-file", str(blob)]) == 2
    assert f"--request-file {blob}: binary content, not a request" in capsys.readouterr().err


def test_prepare_time_is_the_first_request_s_and_an_edit_s(service: Path, tmp_path: Path) -> None:
    index = _index(service, tmp_path / "state")

    def build() -> float:
        res = build_context(index, ContextRequest(text="render the report"), budget_tokens=600,
                            settings=Settings(), for_cloud=False)
        assert 0 <= res.prepare_ms <= res.elapsed_ms
        return res.prepare_ms

    assert build() > 0  # every file's tables
    assert build() == 0  # nothing changed since
    (service / "svc" / "report_1.py").write_text("def render_report_1(rows):\n    return []\n")
    index.refresh()
    assert build() > 0  # the changed file's


def test_context_command_reuses_the_tables_it_kept(
    service: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A second one-off command loads the tables the first wrote beside the index, and ranks
    exactly as the first did; a file changed in between is ranked from its new text."""
    monkeypatch.setenv("AGENTIC_OPTIMIZER_HOME", str(tmp_path / "home"))
    args = ["context", "--project", str(service), "--budget", "600", "--format", "json",
            "handle_request drops the first byte"]

    def ranked() -> list[tuple[str, float, list[list[int]]]]:
        assert main(args) == 0
        out = json.loads(capsys.readouterr().out)
        return [(f["path"], f["score"], f["ranges"]) for f in out["files"]]

    first = ranked()
    assert list((tmp_path / "home" / "index").glob("*.tables"))
    assert ranked() == first
    (service / "svc" / "codec.py").write_text("def drops_the_first_byte():\n    pass\n")
    after = ranked()
    score = {path: s for path, s, _ in after}
    assert score["svc/codec.py"] > dict((p, s) for p, s, _ in first)["svc/codec.py"]
    # what a process without kept tables gives for the changed project
    monkeypatch.setenv("AGENTIC_OPTIMIZER_HOME", str(tmp_path / "fresh"))
    assert [p for p, _, _ in ranked()] == [p for p, _, _ in after]
