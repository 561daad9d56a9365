"""The package boundaries, checked on the import statements of every module of ``lsp_server``.

Imports are read with :mod:`ast` (inside functions and ``TYPE_CHECKING`` blocks too), so a
boundary holds for deferred imports as well as for the ones at the top of a module:

* the index never imports the ranking (``context.rank`` reads ``context.index``);
* only the LSP layer (``lsp_server/server/``) imports pygls or lsprotocol;
* providers never import routing, and the LSP layer never imports a provider;
* the engine's packages (context, edits, ledger, providers, routing) never import the assistant
  or a front end (the LSP layer, the CLI): data flows one way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lsp_server"

# (what a rule is about, whose imports it checks, the imported prefixes it forbids them)
RULES: list[tuple[str, str, tuple[str, ...]]] = [
    ("the index must not import the ranking", "lsp_server.context.index", ("lsp_server.context.rank",)),
    ("providers must not import routing", "lsp_server.providers", ("lsp_server.routing",)),
    ("the LSP layer must not talk to a provider", "lsp_server.server", ("lsp_server.providers",)),
    *[(f"{engine} must not import the assistant or a front end", f"lsp_server.{engine}",
       ("lsp_server.assistant", "lsp_server.server", "lsp_server.commands", "lsp_server.cli"))
      for engine in ("context", "edits", "ledger", "providers", "routing")],
]
LSP_LIBRARIES = ("pygls", "lsprotocol")
LSP_LAYER = "lsp_server.server"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(source: str, module: str, *, is_package: bool = False) -> Iterator[str]:
    """Every module ``source`` imports, absolute; for ``from m import n``, both ``m`` and
    ``m.n`` (``n`` may be a submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """The boundaries ``module`` (whose text is ``source``) crosses, one line each."""
    found: list[str] = []
    for name in sorted(set(imported_names(source, module, is_package=is_package))):
        for rule, whose, forbidden in RULES:
            if _within(module, whose) and any(_within(name, f) for f in forbidden):
                found.append(f"{module} imports {name}: {rule}")
        if not _within(module, LSP_LAYER) and any(_within(name, lib) for lib in LSP_LIBRARIES):
            found.append(f"{module} imports {name}: only {LSP_LAYER} may import pygls or lsprotocol")
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_keeps_to_the_boundaries() -> None:
    modules = _modules()
    assert len(modules) > 50 and PACKAGE / "context" / "index" / "project.py" in modules
    crossed = [
        line
        for path in modules
        for line in violations(path.read_text(encoding="utf-8"), _module_name(path),
                               is_package=path.name == "__init__.py")
    ]
    assert crossed == []


@pytest.mark.parametrize(("module", "source"), [
    ("lsp_server.context.index.derived", "from lsp_server.context.rank.tables import Prepared\n"),
    ("lsp_server.context.index.derived", "def f():\n    from ..rank import ranking\n"),
    ("lsp_server.context.index.derived", "from lsp_server.context import rank\n"),
    ("lsp_server.context.index.derived", "import lsp_server.context.rank.bm25\n"),
    ("lsp_server.edits.applier", "from lsprotocol import types\n"),
    ("lsp_server.routing.router", "from lsp_server.assistant.values import AssistResult\n"),
    ("lsp_server.ledger.store", "def f():\n    from lsp_server.server.app import AgenticServer\n"),
    ("lsp_server.server.features_ai", "from lsp_server.providers import make_provider\n"),
    ("lsp_server.assistant", "import pygls.server\n"),
    ("lsp_server.providers.base", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from lsp_server.routing.router import Router\n"),
    ("lsp_server.providers.base", "from .. import routing\n"),
])
def test_a_crossing_is_caught(module: str, source: str) -> None:
    assert violations(source, module)


@pytest.mark.parametrize(("module", "source"), [
    ("lsp_server.context.rank.ranking", "from lsp_server.context.index.model import Definition\n"),
    ("lsp_server.context.index.derived", "from lsp_server.context.index import graph\n"),
    ("lsp_server.context.index.derived", "import lsp_server.context.ranking_notes\n"),
    ("lsp_server.server.app", "from lsprotocol import types\nimport pygls\n"),
    ("lsp_server.routing.router", "from lsp_server.providers.base import Provider\n"),
])
def test_allowed_imports_pass(module: str, source: str) -> None:
    assert violations(source, module) == []
