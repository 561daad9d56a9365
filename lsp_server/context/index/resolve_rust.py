"""Rust import resolution: crates from ``Cargo.toml``, the module tree from ``mod`` items, and
``use`` paths (``crate::``, ``super::``, ``self::``, other workspace crates, ``pub use``
re-exports) resolved to the file that defines what they name.

Crates are discovered from every ``Cargo.toml`` in the tree (so every ``[workspace] members``
crate, and path dependencies, are found): a package's library (``[lib] path`` or
``src/lib.rs``) is reachable from every crate under its crate name (``grep-regex`` →
``grep_regex``) and under any alias a ``[dependencies]`` entry gives it (``package = ...``).
Binaries, tests, examples and benches are crates of their own.

Qualified names start with ``crate`` for the main target of the package whose ``Cargo.toml``
sits at the project root (its library, else its first binary), and with the crate's name for
every other crate — the way code in the root crate would name them:
``crate::shapes::circle::Circle::area``, ``grep_regex::matcher::RegexMatcher::new``.
"""

from __future__ import annotations

import logging
import posixpath
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lsp_server.context.index.model import Import
from lsp_server.context.index.syntax import RawImport

log = logging.getLogger(__name__)

MAX_REEXPORT_DEPTH = 8


@dataclass(slots=True)
class Crate:
    name: str  # how code names it: underscored
    root: str  # root file, relative POSIX path
    package_dir: str  # directory of its Cargo.toml ("" for the project root)
    prefix: str  # qualified-name prefix: "crate" or the crate name
    is_lib: bool


@dataclass(eq=False, slots=True)
class RustModule:
    crate: Crate
    path: tuple[str, ...]  # module path below the crate root
    file: str
    scope: str  # inline module chain inside ``file`` ("" for the file's own module)
    parent: RustModule | None
    children: dict[str, RustModule] = field(default_factory=dict)

    @property
    def qualname(self) -> str:
        return "::".join((self.crate.prefix, *self.path))


def _norm(path: str) -> str:
    norm = posixpath.normpath(path)
    return "" if norm == "." else norm


def _join(*parts: str) -> str:
    return _norm(posixpath.join(*[p for p in parts if p]))


@dataclass(slots=True)
class _Package:
    name: str
    dir: str
    lib: Crate | None = None
    targets: list[Crate] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # alias → package dir or package name


class RustResolver:
    """Built once per change of the file set; answers module prefixes and import targets."""

    def __init__(
        self,
        files: set[str],
        imports: Mapping[str, list[RawImport]],
        manifests: Mapping[str, str],
    ) -> None:
        """``files``: Rust files; ``imports``: raw imports per file; ``manifests``: Cargo.toml
        path → its text."""
        self.files = files
        self.raw_imports = imports
        self.packages: dict[str, _Package] = {}
        self.crates: list[Crate] = []
        self.module_of: dict[str, RustModule] = {}
        self._inline: dict[tuple[str, str], RustModule] = {}
        self._libs_by_name: dict[str, Crate] = {}
        self._roots: dict[int, RustModule] = {}
        ordered = sorted(files)
        for path, text in sorted(manifests.items()):
            self._read_manifest(path, text, ordered)
        for crate in self.crates:
            root = RustModule(crate, (), crate.root, "", None)
            self._roots[id(crate)] = root
            self._load_file(root)
        for path in sorted(files - self.module_of.keys()):
            self._fallback_module(path)

    # --- crates ---------------------------------------------------------------------------

    def _read_manifest(self, path: str, text: str, files: list[str]) -> None:
        """One package's crates and dependency aliases; ``files``: the Rust files, sorted."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            log.info("skipping %s: %s", path, exc)
            return
        package = data.get("package")
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            return
        pdir = posixpath.dirname(path)
        pkg = _Package(package["name"], pdir)
        self.packages[pdir] = pkg
        is_root = pdir == ""
        lib_table = data.get("lib")
        lib: dict[str, Any] = lib_table if isinstance(lib_table, dict) else {}
        lib_path = _join(pdir, lib["path"]) if isinstance(lib.get("path"), str) else _join(pdir, "src/lib.rs")
        lib_name = lib["name"] if isinstance(lib.get("name"), str) else pkg.name
        crate_name = str(lib_name).replace("-", "_")
        primary_taken = False
        if lib_path in self.files:
            prefix = "crate" if is_root else crate_name
            pkg.lib = Crate(crate_name, lib_path, pdir, prefix, True)
            pkg.targets.append(pkg.lib)
            self._libs_by_name.setdefault(crate_name, pkg.lib)
            primary_taken = is_root
        bins: list[tuple[str, str]] = []
        for entry in data.get("bin", []) if isinstance(data.get("bin"), list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                bins.append((str(entry.get("name", pkg.name)), _join(pdir, entry["path"])))
            elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
                bins.append((entry["name"], _join(pdir, "src/bin", entry["name"] + ".rs")))
        bins.append((pkg.name, _join(pdir, "src/main.rs")))
        # Cargo's target auto-discovery, over the files below the package only: a workspace
        # has a manifest per member, and each would otherwise look at every file.
        bin_dir = _join(pdir, "src/bin")
        main_bases = [(base + "/", base.count("/") + 2)
                      for base in (_join(pdir, kind) for kind in ("tests", "examples", "benches", "src/bin"))]
        flat_dirs = [_join(pdir, kind) for kind in ("tests", "examples", "benches")]
        below = pdir + "/" if pdir else ""
        for f in files:
            if not f.startswith(below):
                continue
            parent = posixpath.dirname(f)
            if parent == bin_dir:
                bins.append((posixpath.basename(f)[:-3], f))
            for prefix, depth in main_bases:
                if f.startswith(prefix) and f.count("/") == depth and f.endswith("/main.rs"):
                    bins.append((f.split("/")[-2], f))
            for flat in flat_dirs:
                if parent == flat:
                    bins.append((posixpath.basename(f)[:-3], f))
        bins.append(("build_script_build", _join(pdir, "build.rs")))
        seen = {c.root for c in pkg.targets}
        for name, root in bins:
            if root not in self.files or root in seen:
                continue
            seen.add(root)
            name = name.replace("-", "_")
            prefix = "crate" if is_root and not primary_taken else name
            primary_taken = primary_taken or is_root
            crate = Crate(name, root, pdir, prefix, False)
            pkg.targets.append(crate)
        self.crates.extend(pkg.targets)
        for table in ("dependencies", "dev-dependencies", "build-dependencies"):
            deps = data.get(table)
            if not isinstance(deps, dict):
                continue
            for key, spec in deps.items():
                if not isinstance(spec, dict):
                    continue
                alias = key.replace("-", "_")
                if isinstance(spec.get("path"), str):
                    pkg.aliases[alias] = "dir:" + _join(pdir, spec["path"])
                elif isinstance(spec.get("package"), str):
                    pkg.aliases[alias] = "name:" + spec["package"].replace("-", "_")

    def extern_crate(self, name: str, from_dir: str) -> RustModule | None:
        """The root module a leading path segment names from a crate in ``from_dir``."""
        pkg = self.packages.get(from_dir)
        if pkg is not None:
            if pkg.lib is not None and name == pkg.lib.name:
                return self._roots.get(id(pkg.lib))
            target = pkg.aliases.get(name)
            if target is not None:
                kind, _, value = target.partition(":")
                other: Crate | None = None
                if kind == "dir":
                    dep = self.packages.get(value)
                    other = dep.lib if dep is not None else None
                else:
                    other = self._libs_by_name.get(value)
                if other is not None:
                    return self._roots.get(id(other))
        lib = self._libs_by_name.get(name)
        return self._roots.get(id(lib)) if lib is not None else None

    # --- module tree ----------------------------------------------------------------------

    def _scope_module(self, file_module: RustModule, scope: str) -> RustModule:
        """The inline module ``scope`` (``a::b``) inside the file of ``file_module``."""
        if not scope:
            return file_module
        key = (file_module.file, scope)
        found = self._inline.get(key)
        if found is not None:
            return found
        parent_scope, _, name = scope.rpartition("::")
        parent = self._scope_module(file_module, parent_scope)
        module = RustModule(file_module.crate, (*parent.path, name), file_module.file, scope, parent)
        parent.children.setdefault(name, module)
        self._inline[key] = module
        return module

    def _load_file(self, module: RustModule, path_loaded: bool = False) -> None:
        """Attach ``module``'s file and follow its ``mod`` declarations, depth first."""
        if module.file in self.module_of:
            return
        self.module_of[module.file] = module
        file = module.file
        base = posixpath.dirname(file)
        stem = posixpath.basename(file)[:-3]
        mod_rs = path_loaded or module.parent is None or stem == "mod"
        own_dir = base if mod_rs else _join(base, stem)
        for kind, name, _line, _names, scope, attr in self.raw_imports.get(file, ()):
            if kind == "inline-mod":
                self._scope_module(module, f"{scope}::{name}" if scope else name)
                continue
            if kind != "mod":
                continue
            owner = self._scope_module(module, scope)
            inline_dir = _join(own_dir, *scope.split("::")) if scope else own_dir
            if attr:
                candidates = [_join(base if not scope else inline_dir, attr)]
            else:
                candidates = [_join(inline_dir, name + ".rs"), _join(inline_dir, name, "mod.rs")]
            target = next((c for c in candidates if c in self.files), None)
            if target is None:
                continue
            child = RustModule(module.crate, (*owner.path, name), target, "", owner)
            owner.children.setdefault(name, child)
            self._load_file(child, path_loaded=bool(attr))

    def _fallback_module(self, path: str) -> None:
        """A file no crate root reaches (dead code, fixtures): guess its module from its path."""
        pkg_dir = ""
        for pdir in self.packages:
            if (pdir == "" or path.startswith(pdir + "/")) and len(pdir) >= len(pkg_dir):
                pkg_dir = pdir
        pkg = self.packages.get(pkg_dir)
        crate = (pkg.lib or (pkg.targets[0] if pkg.targets else None)) if pkg is not None else None
        if crate is None:
            crate = Crate("crate", path, "", "crate", False)
        rel = path[len(pkg_dir) + 1 :] if pkg_dir else path
        rel = rel.removeprefix("src/")
        parts = rel[:-3].split("/")
        if parts[-1] in ("mod", "lib", "main"):
            parts.pop()
        self.module_of[path] = RustModule(crate, tuple(p.replace("-", "_") for p in parts), path, "", None)

    # --- answers --------------------------------------------------------------------------

    def module_prefix(self, path: str) -> str:
        module = self.module_of.get(path)
        return module.qualname if module is not None else "crate"

    def group(self, path: str) -> str:
        """The package directory of the crate ``path`` belongs to."""
        module = self.module_of.get(path)
        return "rust:" + (module.crate.package_dir if module is not None else "")

    def imports(self, path: str, raw: list[RawImport]) -> list[Import]:
        """``use`` and ``mod x;`` items of ``path`` with their targets (inline modules skipped)."""
        return [Import(path, item[1], item[2], self.resolve(path, item), item[3], item[0])
                for item in raw if item[0] != "inline-mod"]

    def resolve(self, path: str, raw: RawImport) -> str | None:
        """The file a ``use`` / ``mod`` names, or None when it is outside the project."""
        kind, text, _line, _names, scope, _attr = raw
        module = self.module_of.get(path)
        if module is None:
            return None
        owner = self._scope_module(module, scope)
        if kind == "mod":
            child = owner.children.get(text)
            return child.file if child is not None and child.file != path else None
        if kind in ("use", "pub-use"):
            return self.resolve_path(owner, text, 0)
        return None

    def resolve_path(self, owner: RustModule, text: str, depth: int) -> str | None:
        segments = text.split("::")
        if not segments or depth > MAX_REEXPORT_DEPTH:
            return None
        first = segments[0]
        cur: RustModule | None
        if first == "":
            cur = self.extern_crate(segments[1], owner.crate.package_dir) if len(segments) > 1 else None
            rest = segments[2:]
        elif first == "crate":
            cur, rest = self._roots.get(id(owner.crate)), segments[1:]
            if cur is None:  # a fallback module: its crate has no root module
                cur, rest = owner, segments[1:]
        elif first in ("self", "super") or first in owner.children:
            cur, rest = owner, segments
        else:
            cur, rest = self.extern_crate(first, owner.crate.package_dir), segments[1:]
        if cur is None:
            return None
        for i, seg in enumerate(rest):
            if seg == "self":
                continue
            if seg == "super":
                cur = cur.parent or cur
                continue
            if seg == "*":
                return cur.file
            child = cur.children.get(seg)
            if child is not None:
                cur = child
                continue
            if i == len(rest) - 1 or rest[i + 1] != "*":
                via = self._reexport(cur, seg, depth)
                if via is not None:
                    return via
            return cur.file
        return cur.file

    def _reexport(self, module: RustModule, name: str, depth: int) -> str | None:
        """Follow ``pub use x::Name`` (or ``as Name``) in ``module`` to where Name is defined."""
        for kind, text, _line, names, scope, _attr in self.raw_imports.get(module.file, ()):
            if kind != "pub-use" or scope != module.scope or name not in names:
                continue
            if text.rsplit("::", 1)[-1] == name or names == (name,):
                return self.resolve_path(module, text, depth + 1)
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "crates": [(c.name, c.root, c.prefix) for c in self.crates],
            "modules": {p: m.qualname for p, m in sorted(self.module_of.items())},
        }
