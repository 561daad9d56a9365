"""Languages as data: a tree-sitter grammar, a tags query and an import resolver per language.

Adding a language is adding an entry here, a ``queries/<lang>-tags.scm`` file, the reader of its
import statements (``lang_<name>.py``) and an import resolver; the engine (:mod:`extract`,
:mod:`project`, :mod:`walk`) reaches a language only through its :class:`LanguageSpec`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Protocol

import tree_sitter_python
import tree_sitter_rust
from tree_sitter import Language, Node, Parser, Query

from lsp_server.context.index import lang_python, lang_rust
from lsp_server.context.index.model import Import
from lsp_server.context.index.resolve_python import PythonResolver
from lsp_server.context.index.resolve_rust import RustResolver
from lsp_server.context.index.syntax import RawImport

QUERIES = Path(__file__).parent / "queries"

# An ``@import`` capture → its raw imports: (node, row offset, enclosing scope). The offset and
# scope are non-zero for code re-parsed apart from its file (a Rust macro body).
ImportReader = Callable[[Node, int, str], list[RawImport]]
# The ``@definition.module`` captures of one tree → (byte, raw import) for those that name a
# file (Rust ``mod x;``): (nodes, tree root, scope, row offset, byte offset).
ModuleReader = Callable[[list[Node], Node, str, int, int], list[tuple[int, RawImport]]]


class ImportResolver(Protocol):
    """One language's answers about a project's files (built again when the file set changes)."""

    def imports(self, path: str, raw: list[RawImport]) -> list[Import]:
        """The raw imports of ``path`` resolved to project files (target None: outside it)."""
        ...

    def module_prefix(self, path: str) -> str:
        """What the qualified names of ``path``'s definitions start with (``crate::a``, ``pkg.m``)."""
        ...

    def group(self, path: str) -> str:
        """The crate or package ``path`` belongs to: a name shared by its siblings only."""
        ...


# (files of the language, their raw imports, manifest path → text) → a resolver
ResolverFactory = Callable[[set[str], Mapping[str, list[RawImport]], Mapping[str, str]], ImportResolver]


def _no_scope(_node: Node) -> str:
    return ""


@dataclass(frozen=True, eq=False)  # one instance per language: compared and hashed by identity
class LanguageSpec:
    name: str
    extensions: tuple[str, ...]
    grammar: object  # the PyCapsule the grammar package returns
    separator: str  # joins qualified names: crate::a::B / pkg.mod.Class
    read_import: ImportReader
    resolver: ResolverFactory
    manifests: tuple[str, ...] = ()  # project files the resolver reads (Cargo.toml), by name
    read_modules: ModuleReader | None = None  # module items that name files (Rust ``mod x;``)
    # Definitions whose name is not their ``name`` field, by node type (a Rust ``impl`` block
    # is named by its type, a Python assignment by its left side).
    name_rules: Mapping[str, Callable[[Node], str | None]] = field(default_factory=dict)
    # Definitions that start where a wrapper around them starts (a decorated Python function
    # starts at its first decorator): node type → the wrapper's node type.
    wrappers: Mapping[str, str] = field(default_factory=dict)
    # The chain of enclosing named scopes of a node within its file (Rust inline modules),
    # for the scope of code re-parsed apart from its file.
    scope_of: Callable[[Node], str] = _no_scope
    # Nodes whose children are whole items (a file, an impl or class body, a block): an edit
    # re-extracts the items around it. With none, an edit re-extracts the whole file.
    body_types: frozenset[str] = frozenset()
    queries: Path = QUERIES  # the directory holding ``<name>-tags.scm``

    @functools.cached_property
    def language(self) -> Language:
        return Language(self.grammar)

    def parser(self) -> Parser:
        """A new parser (parsers are not thread-safe: one per thread or task)."""
        return Parser(self.language)

    def tags_query_source(self) -> str:
        return (self.queries / f"{self.name}-tags.scm").read_text(encoding="utf-8")

    @functools.cached_property
    def tags_query(self) -> Query:
        """The compiled tags query (compiled once per process; queries are immutable)."""
        return Query(self.language, self.tags_query_source())


BUILTIN: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        "rust", (".rs",), tree_sitter_rust.language(), "::",
        read_import=lang_rust.read_use,
        resolver=RustResolver,
        manifests=("Cargo.toml",),
        read_modules=lang_rust.read_modules,
        name_rules={"impl_item": lang_rust.impl_name},
        scope_of=lang_rust.inline_scope,
        body_types=frozenset({"source_file", "declaration_list", "block"}),
    ),
    LanguageSpec(
        "python", (".py", ".pyi"), tree_sitter_python.language(), ".",
        read_import=lang_python.read_import,
        resolver=PythonResolver.build,  # modules resolve from the file layout: no manifests
        name_rules={"expression_statement": lang_python.assignment_name},
        wrappers={"function_definition": "decorated_definition", "class_definition": "decorated_definition"},
        body_types=frozenset({"module", "block"}),
    ),
)

LANGUAGES: dict[str, LanguageSpec] = {}  # by name; see :func:`register_language`

_BY_SUFFIX: dict[str, LanguageSpec] = {}
_MANIFESTS: set[str] = set()  # every manifest file name the languages read


def register_language(spec: LanguageSpec, *, check: bool = True) -> None:
    """Make ``spec`` known to the engine: its files are walked, parsed and resolved.

    The built-in languages are registered at import; an extension (or a test) adds its own.
    Registering a name again replaces that language. The registry is this process's: parse
    helpers started by ``fork`` inherit it; those started fresh (``forkserver``, ``spawn``)
    know the built-in languages only, and the files they cannot parse are parsed here.

    With ``check`` the tags query is compiled now, so that a missing or invalid query file is
    a ``ValueError`` naming the language here rather than a failed index later.
    """
    if check:
        try:
            spec.tags_query  # noqa: B018  (compiled once, kept on the spec)
        except (OSError, ValueError) as exc:  # no such file; tree_sitter.QueryError
            raise ValueError(f"language {spec.name!r}: cannot use its tags query "
                             f"{spec.queries / (spec.name + '-tags.scm')}: {exc}") from exc
    unregister_language(spec.name)
    LANGUAGES[spec.name] = spec
    for ext in spec.extensions:
        _BY_SUFFIX[ext.lower()] = spec
    _MANIFESTS.update(spec.manifests)


def unregister_language(name: str) -> None:
    old = LANGUAGES.pop(name, None)
    if old is None:
        return
    for ext in old.extensions:
        if _BY_SUFFIX.get(ext.lower()) is old:
            del _BY_SUFFIX[ext.lower()]
    _MANIFESTS.clear()
    _MANIFESTS.update(m for spec in LANGUAGES.values() for m in spec.manifests)


for _builtin in BUILTIN:
    register_language(_builtin, check=False)  # compiled on first use: not every command parses


def is_manifest(name: str) -> bool:
    """Whether the workspace walk collects a file of this name for a resolver (Cargo.toml)."""
    return name in _MANIFESTS


def language_for(path: str | PurePath) -> LanguageSpec | None:
    return _BY_SUFFIX.get(PurePath(path).suffix.lower())


def language_for_name(name: str) -> LanguageSpec | None:
    """The spec for a file name (a cheap suffix check used by the workspace walk)."""
    dot = name.rfind(".")
    return _BY_SUFFIX.get(name[dot:].lower()) if dot > 0 else None
