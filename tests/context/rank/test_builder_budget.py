"""The context builder over a small hand-built project: budget, snippets, order, privacy."""

from __future__ import annotations

import pytest

from lsp_server.config import PrivacySettings, Settings
from lsp_server.context.index import graph
from lsp_server.context.index.model import Definition, FileSymbols, Reference, SymbolEdge
from lsp_server.context.rank.builder import build_context
from lsp_server.context.rank.ranking import ContextRequest
from lsp_server.context.tokens import count_tokens


class MemoryIndex:
    """Just enough of ProjectIndex's read API, over texts and definitions given by the test."""

    def __init__(self, files: dict[str, str], defs: dict[str, list[tuple[str, str, int, int]]],
                 refs: dict[str, list[tuple[str, int, str | None]]] | None = None) -> None:
        self._text = files
        self._symbols: dict[str, FileSymbols] = {}
        for path, text in files.items():
            lines = text.split("\n")
            starts = [0]
            for ln in lines:
                starts.append(starts[-1] + len(ln.encode()) + 1)
            fs = FileSymbols(path, "python", str(hash(text)), len(text), len(lines))
            for name, kind, a, b in defs.get(path, []):
                fs.definitions.append(Definition(
                    path, name, kind, f"{path[:-3].replace('/', '.')}.{name}", lines[a - 1].strip(),
                    a, b, starts[a - 1], starts[b] - 1))
            for name, line, enclosing in (refs or {}).get(path, []):
                qual = f"{path[:-3].replace('/', '.')}.{enclosing}" if enclosing else None
                fs.references.append(Reference(path, name, "call", line, qual))
            self._symbols[path] = fs

    def files(self) -> list[str]:
        return sorted(self._text)

    def file(self, path: str) -> FileSymbols | None:
        return self._symbols.get(path)

    def text(self, path: str) -> str | None:
        return self._text.get(path)

    @property
    def generation(self) -> int:
        return 0  # nothing changes once built

    def file_edges(self) -> dict[str, set[str]]:
        return {"app/main.py": {"app/billing.py"}}

    def edges_by_file(self) -> dict[str, list[SymbolEdge]]:
        def named(name: str) -> list[Definition]:
            return [d for fs in self._symbols.values() for d in fs.definitions if d.name == name]

        edges = self.file_edges()
        return {p: graph.edges_for_file(fs, named, edges.get(p, set()), lambda _: "")
                for p, fs in self._symbols.items()}


def _func(name: str, body_lines: int, call: str | None = None) -> str:
    body = [f"    value_{i} = {i} * factor" for i in range(body_lines)]
    if call:
        body.append(f"    return {call}(value_0)")
    return "\n".join([f"def {name}(factor):", *body, ""])


@pytest.fixture
def project() -> MemoryIndex:
    billing = _func("compute_invoice_total", 12, call="apply_discount") + "\n" + _func("apply_discount", 6)
    main = _func("main", 3, call="compute_invoice_total")
    filler = {f"app/other_{i}.py": _func(f"unrelated_helper_{i}", 40) for i in range(30)}
    files = {"app/billing.py": billing, "app/main.py": main,
             "app/.env": "API_TOKEN=abc\n", "app/config.py": 'password = "hunter2-correct-horse"\n',
             **filler}
    defs = {
        "app/billing.py": [("compute_invoice_total", "function", 1, 14), ("apply_discount", "function", 16, 22)],
        "app/main.py": [("main", "function", 1, 5)],
        **{p: [(f"unrelated_helper_{i}", "function", 1, 41)] for i, p in enumerate(filler)},
    }
    refs = {"app/billing.py": [("apply_discount", 14, "compute_invoice_total")],
            "app/main.py": [("compute_invoice_total", 5, "main")]}
    return MemoryIndex(files, defs, refs)


def test_named_definition_is_in_full_with_neighbours_as_signatures(project: MemoryIndex) -> None:
    req = ContextRequest(text="compute_invoice_total returns the wrong amount")
    res = build_context(project, req, budget_tokens=2000, settings=Settings(), for_cloud=False)
    assert res.files[0].path == "app/billing.py"
    assert res.files[0].in_context
    assert any(a <= 1 and b >= 14 for a, b in res.files[0].ranges)
    assert "value_11 = 11 * factor" in res.volatile
    # A caller (main) shows up by its signature, not its body.
    main = next(f for f in res.files if f.path == "app/main.py")
    assert main.in_context and "def main(factor):" in res.volatile
    assert any("named in the request" in r for r in res.files[0].reasons)


def test_small_neighbour_in_the_same_file_goes_whole(project: MemoryIndex,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    req = ContextRequest(text="compute_invoice_total returns the wrong amount")
    res = build_context(project, req, budget_tokens=2000, settings=Settings(), for_cloud=False)
    billing = res.files[0]
    # apply_discount (lines 16-22) is called by the named function, beside it: sent whole.
    assert any(a <= 16 and b >= 22 for a, b in billing.ranges)

    from lsp_server.context.rank import builder

    monkeypatch.setattr(builder, "NEIGHBOUR_BODY_LINES", 0)
    res = build_context(project, req, budget_tokens=2000, settings=Settings(), for_cloud=False)
    assert not any(a <= 16 and b >= 22 for a, b in res.files[0].ranges)


def test_budget_is_respected_and_files_listed_beyond_it(project: MemoryIndex) -> None:
    req = ContextRequest(text="compute_invoice_total returns the wrong amount")
    for budget in (300, 800, 3000):
        res = build_context(project, req, budget_tokens=budget, settings=Settings(), for_cloud=False)
        assert res.tokens == count_tokens(res.stable) + count_tokens(res.volatile)
        assert res.tokens <= budget
        assert len(res.files) == len(project.files())
        assert sum(f.in_context for f in res.files) < len(res.files)
    js = res.to_json()
    assert len(js["files"]) >= min(50, len(project.files()))
    assert js["budget"] == 3000 and js["tokens"] == res.tokens
    first = js["files"][0]
    assert set(first) == {"path", "score", "tokens", "in_context", "ranges", "reasons"}
    assert all(1 <= a <= b for a, b in first["ranges"])


def test_stable_part_does_not_depend_on_the_request(project: MemoryIndex) -> None:
    a = build_context(project, ContextRequest(text="apply_discount rounding"), budget_tokens=4000,
                      settings=Settings(), for_cloud=False)
    b = build_context(project, ContextRequest(text="unrelated_helper_3 is slow"), budget_tokens=4000,
                      settings=Settings(), for_cloud=False)
    assert a.stable and a.stable == b.stable
    assert a.volatile != b.volatile


def test_cursor_definition_is_included(project: MemoryIndex) -> None:
    req = ContextRequest(text="make this faster", path="app/other_7.py", line=10)
    res = build_context(project, req, budget_tokens=3000, settings=Settings(), for_cloud=False)
    top = res.files[0]
    assert top.path == "app/other_7.py" and top.in_context
    assert "def unrelated_helper_7(factor):" in res.volatile
    assert "definition under the cursor" in " ".join(r for d in res.definitions[:1] for r in d.reasons)


def test_cloud_context_excludes_private_files_and_redacts(project: MemoryIndex) -> None:
    settings = Settings(privacy=PrivacySettings(exclude=(".env", "config.py")))
    req = ContextRequest(text="API_TOKEN in app/.env and password in app/config.py",
                         open_paths=("app/.env", "app/config.py"))
    cloud = build_context(project, req, budget_tokens=3000, settings=settings, for_cloud=True)
    assert set(cloud.excluded) == {"app/.env", "app/config.py"}
    assert "API_TOKEN=abc" not in cloud.text and "hunter2" not in cloud.text
    assert not any(f.in_context for f in cloud.files if f.path in cloud.excluded)
    local = build_context(project, req, budget_tokens=3000,
                          settings=Settings(privacy=PrivacySettings(exclude=())), for_cloud=True)
    assert local.excluded == []


def test_snippets_spread_over_files_before_the_first_files_long_tail() -> None:
    """Values halve per share of budget already taken from a file (lazy greedy order)."""
    from types import SimpleNamespace

    from lsp_server.context.rank.builder import _spread, _Unit

    units = [_Unit(1.0, "a.rs"), _Unit(0.9, "a.rs"), _Unit(0.8, "a.rs"), _Unit(0.6, "b.rs")]
    sel = SimpleNamespace(per_file={})
    order = []
    for unit in _spread(units, sel, half=100.0):  # type: ignore[arg-type]
        order.append((unit.path, unit.value))
        sel.per_file[unit.path] = sel.per_file.get(unit.path, 0) + 100  # each takes a half-life
    # a.rs 1.0, then a.rs 0.9 is worth 0.45 < b.rs 0.6
    assert order == [("a.rs", 1.0), ("b.rs", 0.6), ("a.rs", 0.9), ("a.rs", 0.8)]


def test_blank_lines_between_two_snippets_are_sent_instead_of_an_elision(project: MemoryIndex) -> None:
    req = ContextRequest(text="compute_invoice_total returns the wrong amount")
    res = build_context(project, req, budget_tokens=2000, settings=Settings(), for_cloud=False)
    billing = res.files[0]
    # compute_invoice_total (1-14) and apply_discount (16-22) are both whole: the blank line
    # 15 between them joins them into one range, and no "⋮" stands between them.
    assert (1, 22) in billing.ranges
    block = res.volatile.split("## app/billing.py\n", 1)[1].split("\n## ", 1)[0]
    assert "return apply_discount(value_0)\n\ndef apply_discount(factor):" in block


def test_bridge_widens_only_over_blank_lines_up_to_a_taken_range() -> None:
    from types import SimpleNamespace

    from lsp_server.context.rank.builder import _Selection

    text = "fn a() {}\n\n\nfn b() {}\nlet x = 1;\n\nfn c() {}\n\nfn d() {}"
    prep = SimpleNamespace(texts={"m.rs": text}, line_prefix={})
    sel = _Selection(prep, 1000)  # type: ignore[arg-type]
    sel.ranges["m.rs"] = [(1, 1)]
    assert sel._bridge("m.rs", 4, 4) == (2, 4)  # two blank lines back to fn a
    assert sel._bridge("m.rs", 7, 7) == (7, 7)  # "let x = 1;" is code: no bridge back
    sel.ranges["m.rs"] = [(1, 1), (9, 9)]
    assert sel._bridge("m.rs", 7, 7) == (7, 8)  # forward over line 8 to fn d
    assert sel._bridge("m.rs", 5, 5) == (5, 5)  # line 6 is blank but line 7 is not taken


def test_a_failing_secret_detector_blocks_cloud_context_only(
        project: MemoryIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    from lsp_server.context import privacy

    class Broken:
        def analyze_line(self, **kwargs: object) -> list[object]:
            raise ValueError("detector bug")

    monkeypatch.setattr(privacy, "_PLUGINS", [Broken()])
    monkeypatch.setattr(privacy, "_LINE_CACHE", {})  # verdicts of earlier, working detectors
    req = ContextRequest(text="compute_invoice_total returns the wrong amount")
    local = build_context(project, req, budget_tokens=2000, settings=Settings(), for_cloud=False)
    cloud = build_context(project, req, budget_tokens=2000, settings=Settings(), for_cloud=True)
    assert "value_11 = 11 * factor" in local.volatile
    assert "value_11" not in cloud.volatile and privacy.UNCHECKED in cloud.volatile
    assert cloud.redactions > 0
