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
from tree_sitter import Language, Parser

QUERIES = Path(__file__).parent / "queries"


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    extensions: tuple[str, ...]
    grammar: object  # the PyCapsule the grammar package returns

    @functools.cached_property
    def language(self) -> Language:
        return Language(self.grammar)

    def parser(self) -> Parser:
        """A new parser (parsers are not thread-safe: one per thread or task)."""
        return Parser(self.language)

    def tags_query_source(self) -> str:
        return (QUERIES / f"{self.name}-tags.scm").read_text(encoding="utf-8")


LANGUAGES: dict[str, LanguageSpec] = {
    "rust": LanguageSpec("rust", (".rs",), tree_sitter_rust.language()),
    "python": LanguageSpec("python", (".py", ".pyi"), tree_sitter_python.language()),
}


def language_for(path: str | PurePath) -> LanguageSpec | None:
    suffix = PurePath(path).suffix.lower()
    for spec in LANGUAGES.values():
        if suffix in spec.extensions:
            return spec
    return None
