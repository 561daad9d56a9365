"""Languages as data: a tree-sitter grammar and a tags query per language.

Adding a language is adding an entry here, a ``queries/<lang>-tags.scm`` file and an import
resolver; the engine does not change.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path, PurePath

import tree_sitter_python
import tree_sitter_rust
from tree_sitter import Language, Parser, Query

QUERIES = Path(__file__).parent / "queries"


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    extensions: tuple[str, ...]
    grammar: object  # the PyCapsule the grammar package returns
    separator: str = "::"  # joins qualified names: crate::a::B / pkg.mod.Class
    body_fields: tuple[str, ...] = ("body",)  # where a definition's header ends (its signature)

    @functools.cached_property
    def language(self) -> Language:
        return Language(self.grammar)

    def parser(self) -> Parser:
        """A new parser (parsers are not thread-safe: one per thread or task)."""
        return Parser(self.language)

    def tags_query_source(self) -> str:
        return (QUERIES / f"{self.name}-tags.scm").read_text(encoding="utf-8")

    @functools.cached_property
    def tags_query(self) -> Query:
        """The compiled tags query (compiled once per process; queries are immutable)."""
        return Query(self.language, self.tags_query_source())


LANGUAGES: dict[str, LanguageSpec] = {
    "rust": LanguageSpec("rust", (".rs",), tree_sitter_rust.language(), "::"),
    "python": LanguageSpec("python", (".py", ".pyi"), tree_sitter_python.language(), "."),
}


_BY_SUFFIX: dict[str, LanguageSpec] = {
    ext: spec for spec in LANGUAGES.values() for ext in spec.extensions
}


def language_for(path: str | PurePath) -> LanguageSpec | None:
    return _BY_SUFFIX.get(PurePath(path).suffix.lower())


def language_for_name(name: str) -> LanguageSpec | None:
    """The spec for a file name (a cheap suffix check used by the workspace walk)."""
    dot = name.rfind(".")
    return _BY_SUFFIX.get(name[dot:].lower()) if dot > 0 else None
