"""A language is data plus a resolver: one registered from outside the engine is walked, parsed,
extracted, resolved and linked like the built-in ones, with no engine code naming it."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import pytest
import tree_sitter_python

from lsp_server.context.index import lang_python
from lsp_server.context.index.languages import (
    LANGUAGES,
    LanguageSpec,
    is_manifest,
    language_for,
    register_language,
    unregister_language,
)
from lsp_server.context.index.model import Import
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.index.syntax import RawImport

TOY_QUERY = """
(function_definition) @definition.function
(call function: (identifier) @reference.call)
(import_statement) @import
"""


class ToyResolver:
    """``import b`` names ``b.toy`` beside the importer; a file's module is its stem."""

    built: ClassVar[list[ToyResolver]] = []  # every instance the index made, newest last

    def __init__(self, files: set[str], _imports: Mapping[str, list[RawImport]],
                 manifests: Mapping[str, str]) -> None:
        self.files = files
        self.manifests = dict(manifests)
        ToyResolver.built.append(self)

    def imports(self, path: str, raw: list[RawImport]) -> list[Import]:
        out = []
        for kind, text, line, names, _scope, _attr in raw:
            target = posixpath.join(posixpath.dirname(path), text + ".toy")
            out.append(Import(path, text, line, target if target in self.files else None, names, kind))
        return out

    def module_prefix(self, path: str) -> str:
        return posixpath.splitext(posixpath.basename(path))[0]

    def group(self, path: str) -> str:
        return "toy"


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[LanguageSpec]:
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "toy-tags.scm").write_text(TOY_QUERY, encoding="utf-8")
    spec = LanguageSpec("toy", (".toy",), tree_sitter_python.language(), ".",
                        read_import=lang_python.read_import, resolver=ToyResolver,
                        manifests=("toy.json",), queries=queries)
    ToyResolver.built.clear()  # only resolvers this test's index builds
    register_language(spec)
    try:
        yield spec
    finally:
        unregister_language("toy")


def test_a_registered_language_is_indexed_resolved_and_linked(toy: LanguageSpec, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.toy").write_text("import b\n\ndef main():\n    helper()\n", encoding="utf-8")
    (root / "b.toy").write_text("def helper():\n    return 1\n", encoding="utf-8")
    (root / "toy.json").write_text("{}", encoding="utf-8")
    (root / "notes.txt").write_text("not a language", encoding="utf-8")
    with ProjectIndex.open(root, state_dir=tmp_path / "state", workers=1) as idx:
        stats = idx.refresh()
        assert stats.files == 2 and stats.definitions == 2
        a = idx.file("a.toy")
        assert a is not None and a.language == "toy"
        assert [d.qualname for d in a.definitions] == ["a.main"]
        assert [(r.name, r.enclosing) for r in a.references] == [("helper", "a.main")]
        assert [(i.text, i.target) for i in idx.imports_of("a.toy")] == [("b", "b.toy")]
        assert idx.file_edges()["a.toy"] == {"b.toy"}
        assert [d.qualname for d in idx.definitions_named("helper")] == ["b.helper"]
        assert idx.module_prefix("b.toy") == "b"
        # the walk collected the manifest the language names and handed its text to the resolver
        assert ToyResolver.built[-1].manifests == {"toy.json": "{}"}
        assert ToyResolver.built[-1].files == {"a.toy", "b.toy"}


def test_registering_and_unregistering_a_language(toy: LanguageSpec) -> None:
    assert LANGUAGES["toy"] is toy
    assert language_for("src/x.TOY") is toy
    assert is_manifest("toy.json") and is_manifest("Cargo.toml")
    unregister_language("toy")
    assert "toy" not in LANGUAGES and language_for("src/x.toy") is None
    assert not is_manifest("toy.json") and is_manifest("Cargo.toml")
    register_language(toy)  # the fixture unregisters it again


def test_a_language_without_a_usable_query_is_refused(tmp_path: Path) -> None:
    def spec(queries: Path) -> LanguageSpec:
        return LanguageSpec("broken", (".brk",), tree_sitter_python.language(), ".",
                            read_import=lang_python.read_import, resolver=ToyResolver, queries=queries)

    with pytest.raises(ValueError, match=r"'broken'.*broken-tags\.scm"):
        register_language(spec(tmp_path))  # no query file
    (tmp_path / "broken-tags.scm").write_text("(no_such_node) @definition.function\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Invalid node type"):
        register_language(spec(tmp_path))
    assert "broken" not in LANGUAGES and language_for("x.brk") is None
