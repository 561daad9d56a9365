"""The tools on the real index of a real project: bounded answers, the privacy rules of context,
and paths that lead outside the workspace refused before anything is read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsp_server.assistant.tools import (
    MAX_ITEMS,
    MAX_READ_LINES,
    MAX_RESULT_TOKENS,
    Toolbox,
    context_search,
)
from lsp_server.config import Settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.privacy import PrivacyFilter
from lsp_server.context.tokens import count_tokens
from lsp_server.providers.tools import ToolCall, parse_text_calls

SECRET = "sk-live-abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, ProjectIndex]]:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "config.py").write_text(
        "def parse_config(text: str) -> dict[str, str]:\n"
        f"    api_key = \"{SECRET}\"\n"
        "    return dict(line.split('=', 1) for line in text.splitlines())\n")
    (root / "pkg" / "use.py").write_text(
        "from pkg.config import parse_config\n\n\ndef load(p: str) -> dict[str, str]:\n"
        "    return parse_config(open(p).read())\n")
    (root / "pkg" / "big.py").write_text("".join(f"V{i} = {i}\n" for i in range(1000)))
    for i in range(MAX_ITEMS + 5):
        (root / "pkg" / f"m{i}.py").write_text(f"def f{i}() -> int:\n    return {i}\n")
    (root / "secrets").mkdir()
    (root / "secrets" / "keys.py").write_text("def parse_config() -> None:\n    pass\n")
    (tmp_path / "outside.py").write_text("OUTSIDE = 1\n")
    os.symlink(tmp_path / "outside.py", root / "pkg" / "link.py")
    index = ProjectIndex.open(root, settings=Settings(), state_dir=tmp_path / "state")
    index.refresh()
    try:
        yield root, index
    finally:
        index.close()


def box(index: ProjectIndex, *, cloud: bool = True) -> Toolbox:
    privacy = PrivacyFilter(exclude=("secrets/",), redact_secrets=True)
    return Toolbox(index, privacy, cloud=cloud,
                   search=context_search(index, Settings(), cloud=cloud))


def call(tool: str, **args: object) -> ToolCall:
    return ToolCall(tool, args)


def test_definitions_and_references_come_from_the_index_redacted_for_the_cloud(project) -> None:
    _, index = project
    found = box(index).run(call("find_definition", name="parse_config"))
    assert found.ok and "pkg/config.py:1-3 function" in found.text
    assert "secrets/keys.py" not in found.text  # an excluded file is never shown
    assert SECRET not in found.text and "[REDACTED" in found.text
    assert "return dict(" in box(index, cloud=False).run(
        call("find_definition", name="pkg.config.parse_config")).text
    refs = box(index).run(call("find_references", name="parse_config"))
    assert refs.ok and "pkg/use.py:5" in refs.text and "secrets" not in refs.text
    missing = box(index).run(call("find_definition", name="nothing_here"))
    assert missing.ok and "no definition" in missing.text


def test_read_file_is_bounded_and_refuses_what_it_may_not_read(project) -> None:
    root, index = project
    tools = box(index)
    part = tools.run(call("read_file", path="pkg/big.py", start_line=10, end_line=12))
    assert part.text.splitlines() == ["pkg/big.py lines 10-12 of 1000", "10: V9 = 9",
                                      "11: V10 = 10", "12: V11 = 11"]
    whole = tools.run(call("read_file", path="pkg/big.py"))
    assert f"lines 1-{MAX_READ_LINES} of 1000" in whole.text
    for path in ("../outside.py", str(root.parent / "outside.py"), "pkg/link.py",
                 "pkg/../../outside.py"):
        refused = tools.run(call("read_file", path=path))
        assert not refused.ok and "outside the workspace; refused" in refused.text, path
        assert "OUTSIDE" not in refused.text
    excluded = tools.run(call("read_file", path="secrets/keys.py"))
    assert not excluded.ok and "excluded" in excluded.text and "def" not in excluded.text
    bad = tools.run(call("read_file", path="pkg/big.py", start_line="ten"))
    assert not bad.ok and "start_line must be an integer" in bad.text


def test_listing_and_search_are_bounded_and_skip_excluded_files(project) -> None:
    _, index = project
    tools = box(index)
    listed = tools.run(call("list_files", glob="*.py"))
    assert f"… and {len(index.files()) - 1 - MAX_ITEMS} more" in listed.text
    assert "secrets" not in listed.text
    found = tools.run(call("search_code", query="parse_config load"))
    assert found.ok and "parse_config" in found.text and SECRET not in found.text
    assert count_tokens(found.text) <= MAX_RESULT_TOKENS + 20


def test_unknown_tools_and_malformed_calls_are_answered_with_an_error(project) -> None:
    _, index = project
    tools = box(index)
    assert "unknown tool 'rm'" in tools.run(call("rm", path="x")).text
    assert "missing argument 'name'" in tools.run(call("find_definition")).text
    assert "unknown argument 'x'" in tools.run(call("list_files", glob="*", x=1)).text
    calls = parse_text_calls('text\n@tool read_file {"path": "a"}\n@tool read_file [1]\n'
                             "@tool 9x {}\n@toolbox not a call\n@tool list_files {bad")
    assert [c.error is None for c in calls] == [True, False, False, False]
    for c in calls[1:]:
        assert tools.run(c).text.startswith("error: malformed tool call")
