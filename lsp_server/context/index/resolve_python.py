"""Python import resolution: module names from the file layout, imports resolved to files.

A file's module name follows its packages: walk up while the directory has ``__init__.py``;
the first directory without one is its import root (so ``src/`` layouts and flat layouts both
work: ``src/pkg/mod.py`` → ``pkg.mod``). Namespace packages and scripts are also reachable by
their path from the project root and from ``src/``. Absolute imports resolve to the deepest
module that exists (``import a.b.c``); ``from a import b`` resolves to the submodule ``a.b``
when there is one, else to ``a``; relative imports count dots from the importing package.
When several files claim a module name, the one nearest the importer wins.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from lsp_server.context.index.model import Import
from lsp_server.context.index.syntax import RawImport


@dataclass(frozen=True, slots=True)
class ResolvedImport:
    raw: RawImport
    target: str | None
    names: tuple[str, ...]


def _strip(path: str) -> list[str]:
    parts = path[: -len(posixpath.splitext(path)[1])].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return parts


class PythonResolver:
    def __init__(self, files: set[str]) -> None:
        self.files = files
        dirs_with_init = {posixpath.dirname(f) for f in files if posixpath.basename(f) in ("__init__.py", "__init__.pyi")}
        self.module_of: dict[str, str] = {}
        self._by_name: dict[str, list[str]] = {}
        for f in sorted(files):
            parts = _strip(f)
            d = posixpath.dirname(f)
            depth = 0
            while d and d in dirs_with_init:
                depth += 1
                d = posixpath.dirname(d)
            # the import root is ``d``: keep the trailing package components plus the module
            keep = depth + (0 if posixpath.basename(f).startswith("__init__.") else 1)
            name = ".".join(parts[len(parts) - keep :]) if keep else ""
            if not name:
                name = ".".join(parts)
            self.module_of[f] = name
            self._add(name, f)
            full = ".".join(parts)
            if full != name:
                self._add(full, f)
            if parts and parts[0] == "src" and len(parts) > 1:
                self._add(".".join(parts[1:]), f)

    def _add(self, name: str, path: str) -> None:
        found = self._by_name.setdefault(name, [])
        if path.endswith(".pyi") and any(p.endswith(".py") for p in found):
            return
        found.append(path)

    @classmethod
    def build(cls, files: set[str], _imports: Mapping[str, list[RawImport]],
              _manifests: Mapping[str, str]) -> PythonResolver:
        """The :data:`~lsp_server.context.index.languages.ResolverFactory` shape: Python modules
        resolve from the file layout alone (the language names no manifests)."""
        return cls(files)

    def module_prefix(self, path: str) -> str:
        return self.module_of.get(path, "")

    def group(self, path: str) -> str:
        """The top-level package ``path`` belongs to."""
        return "py:" + self.module_prefix(path).split(".", 1)[0]

    def imports(self, path: str, raw: list[RawImport]) -> list[Import]:
        """One entry per import and distinct target (``from a import b, c`` may name two)."""
        return [Import(path, item[1], item[2], r.target, r.names, item[0])
                for item in raw for r in self.resolve(path, item)]

    def _pick(self, name: str, importer: str) -> str | None:
        found = self._by_name.get(name)
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        here = posixpath.dirname(importer)

        def closeness(p: str) -> tuple[int, int, str]:
            common = posixpath.commonpath([here, posixpath.dirname(p)]) if here else ""
            return (-len(common), p.endswith(".pyi"), p)

        return min(found, key=closeness)

    def _package(self, path: str) -> list[str]:
        module = self.module_of.get(path, "")
        parts = module.split(".") if module else []
        if not posixpath.basename(path).startswith("__init__."):
            parts = parts[:-1]
        return parts

    def resolve(self, path: str, raw: RawImport) -> list[ResolvedImport]:
        """One entry per distinct target (``from a import b, c`` may name two submodules)."""
        kind, text, _line, names, _scope, _attr = raw
        if kind == "import":
            parts = text.split(".")
            for n in range(len(parts), 0, -1):
                target = self._pick(".".join(parts[:n]), path)
                if target is not None:
                    return [ResolvedImport(raw, target if target != path else None, names)]
            return [ResolvedImport(raw, None, names)]
        if kind != "from":
            return [ResolvedImport(raw, None, names)]
        level = len(text) - len(text.lstrip("."))
        rest = text[level:]
        if level:
            base = self._package(path)
            if level > 1:
                base = base[: len(base) - (level - 1)] if level - 1 <= len(base) else []
            module = ".".join([*base, *([rest] if rest else [])])
        else:
            module = rest
        out: list[ResolvedImport] = []
        leftover: list[str] = []
        for name in names:
            sub = self._pick(f"{module}.{name}" if module else name, path) if name != "*" else None
            if sub is not None and sub != path:
                out.append(ResolvedImport(raw, sub, (name,)))
            else:
                leftover.append(name)
        if leftover or not out:
            target = self._pick(module, path) if module else None
            if target is None and not level:
                parts = module.split(".")
                for n in range(len(parts) - 1, 0, -1):
                    target = self._pick(".".join(parts[:n]), path)
                    if target is not None:
                        break
            out.insert(0, ResolvedImport(raw, target if target != path else None, tuple(leftover)))
        return out


def python_files(paths: Mapping[str, str]) -> set[str]:
    """The Python files among ``path → language``."""
    return {p for p, lang in paths.items() if lang == "python"}
