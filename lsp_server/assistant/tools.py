"""The tools a model may call while it answers, each answered from the project index at $0.

``search_code(query)`` returns the snippets the context engine ranks first for the query;
``find_definition(name)`` and ``find_references(name)`` answer from the symbol index;
``read_file(path, start_line, end_line)`` reads a bounded range of a project file;
``list_files(glob)`` lists indexed files. Every result is bounded (:data:`MAX_RESULT_TOKENS`,
:data:`MAX_READ_LINES`, :data:`MAX_ITEMS`).

What a tool returns is context, so it gets the same privacy rules as context, and fails
closed: a file matching ``privacy.exclude`` is never read nor listed (a call naming one is
refused before anything is read, whichever model asks), and for a cloud model every result is
redacted (``privacy.redact_secrets``). A path outside the workspace (absolute, ``..``, a link
leading out) is refused before anything is read.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lsp_server.config import Settings
from lsp_server.context.index.model import Definition, Reference
from lsp_server.context.privacy import PrivacyFilter
from lsp_server.context.rank.tables import IndexView
from lsp_server.context.tokens import count_tokens
from lsp_server.providers.tools import ToolCall, ToolParam, ToolSpec
from lsp_server.routing.tool_loop import ToolOutcome

MAX_RESULT_TOKENS = 1500  # one tool result, at most
MAX_READ_LINES = 200  # read_file: lines per call
MAX_ITEMS = 40  # definitions, references or files listed per call
MAX_DEFINITION_LINES = 60  # find_definition: body lines shown per definition

SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("search_code", "the code snippets of the project that best match a query",
             (ToolParam("query", "string", "words or identifiers to look for"),)),
    ToolSpec("find_definition", "where a symbol is defined, with its code",
             (ToolParam("name", "string", "the symbol's name, e.g. parse_config"),)),
    ToolSpec("find_references", "where a symbol is used",
             (ToolParam("name", "string", "the symbol's name"),)),
    ToolSpec("read_file", f"lines of a project file (at most {MAX_READ_LINES} per call)",
             (ToolParam("path", "string", "the path relative to the project root"),
              ToolParam("start_line", "integer", "first line, 1-based", required=False),
              ToolParam("end_line", "integer", "last line, inclusive", required=False))),
    ToolSpec("list_files", "project files whose path matches a glob",
             (ToolParam("glob", "string", "e.g. src/**/*.rs or *config*"),)),
)
_BY_NAME = {s.name: s for s in SPECS}


class ToolIndex(Protocol):
    """What the tools read: the project index."""

    root: Path

    def files(self) -> list[str]: ...

    def definitions_named(self, name: str) -> list[Definition]: ...

    def references_named(self, name: str) -> list[Reference]: ...

    def text(self, path: str) -> str | None: ...


Search = Callable[[str], str]  # query -> the ranked snippets' text (privacy applied)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool's answer. ``ok`` False: refused or failed (``text`` says why); ``found`` is
    what the result showed of the code (definitions and references read), for a later tier."""

    call: ToolCall
    ok: bool
    text: str
    found: str = ""

    @property
    def tokens(self) -> int:
        return count_tokens(self.text)


class Toolbox:
    """Runs tool calls for one request (blocking: index reads; call from a thread)."""

    specs = SPECS

    def __init__(self, index: ToolIndex, privacy: PrivacyFilter, *, cloud: bool,
                 search: Search | None = None) -> None:
        self._index = index
        self._privacy = privacy
        self._cloud = cloud
        self._search = search
        self._root = index.root.resolve()

    def run(self, call: ToolCall) -> ToolResult:
        if call.error is not None:
            return ToolResult(call, False, f"error: malformed tool call: {call.error}")
        spec = _BY_NAME.get(call.name)
        if spec is None:
            return ToolResult(call, False, f"error: unknown tool {call.name!r}; the tools are "
                              + ", ".join(_BY_NAME))
        problem = _check_args(spec, call.args)
        if problem is not None:
            return ToolResult(call, False, f"error: {call.name}: {problem}")
        result = getattr(self, f"_{call.name}")(call, call.args)
        assert isinstance(result, ToolResult)
        return result

    @staticmethod
    def describe(call: ToolCall) -> str:
        """What the progress line says while ``call`` runs."""
        arg = next((str(v) for v in call.args.values()), "") if call.args else ""
        verb = {"search_code": "searching", "find_definition": "finding the definition of",
                "find_references": "finding references to", "read_file": "reading",
                "list_files": "listing"}.get(call.name, f"calling {call.name}")
        return f"{verb} `{arg[:80]}`…" if arg else f"{verb}…"

    # -- the tools ---------------------------------------------------------------------------

    def _search_code(self, call: ToolCall, args: dict[str, Any]) -> ToolResult:
        if self._search is None:
            return ToolResult(call, False, "error: search_code is not available here")
        text = self._search(str(args["query"])).strip()
        return self._finish(call, text or "no matching code", found=text)

    def _find_definition(self, call: ToolCall, args: dict[str, Any]) -> ToolResult:
        name = str(args["name"])
        defs = self._visible(self._index.definitions_named(name.split("::")[-1].split(".")[-1]))
        if not defs:
            return ToolResult(call, True, f"no definition of {name!r} in the index")
        parts: list[str] = []
        for d in defs[:MAX_ITEMS]:
            lines = (self._index.text(d.path) or "").splitlines()
            end = min(d.end_line, d.start_line + MAX_DEFINITION_LINES - 1)
            body = "\n".join(lines[d.start_line - 1:end])
            more = f"\n… ({d.end_line - end} more lines)" if end < d.end_line else ""
            parts.append(f"{d.path}:{d.start_line}-{d.end_line} {d.kind} {d.qualname}\n"
                         f"{self._redact(body, d.path)}{more}")
        text = "\n\n".join(parts)
        return self._finish(call, text, found=text)

    def _find_references(self, call: ToolCall, args: dict[str, Any]) -> ToolResult:
        name = str(args["name"])
        refs = self._visible(self._index.references_named(name.split("::")[-1].split(".")[-1]))
        if not refs:
            return ToolResult(call, True, f"no references to {name!r} in the index")
        rows: list[str] = []
        texts: dict[str, list[str]] = {}
        for r in refs[:MAX_ITEMS]:
            if r.path not in texts:
                texts[r.path] = (self._index.text(r.path) or "").splitlines()
            lines = texts[r.path]
            code = lines[r.line - 1].strip() if 0 < r.line <= len(lines) else ""
            rows.append(f"{r.path}:{r.line} ({r.kind}"
                        f"{', in ' + r.enclosing if r.enclosing else ''}): "
                        f"{self._redact(code, r.path)}")
        if len(refs) > MAX_ITEMS:
            rows.append(f"… and {len(refs) - MAX_ITEMS} more")
        text = "\n".join(rows)
        return self._finish(call, text, found=text)

    def _read_file(self, call: ToolCall, args: dict[str, Any]) -> ToolResult:
        rel = self._inside(str(args["path"]))
        if rel is None:
            return ToolResult(call, False, f"error: {args['path']!r} is outside the workspace; "
                              "refused")
        if self._privacy.is_excluded(rel):
            return ToolResult(call, False, f"error: {rel} is excluded by privacy.exclude; refused")
        start = int(args.get("start_line") or 1)
        end = int(args.get("end_line") or start + MAX_READ_LINES - 1)
        if start < 1 or end < start:
            return ToolResult(call, False, "error: read_file: expected 1 <= start_line <= end_line")
        end = min(end, start + MAX_READ_LINES - 1)
        text = self._index.text(rel)
        if text is None:
            return ToolResult(call, False, f"error: no such file {rel}")
        lines = text.splitlines()
        shown = lines[start - 1:end]
        if not shown:
            return ToolResult(call, False, f"error: {rel} has {len(lines)} lines")
        body = "\n".join(f"{start + i}: {line}" for i, line in enumerate(shown))
        head = f"{rel} lines {start}-{start + len(shown) - 1} of {len(lines)}"
        return self._finish(call, f"{head}\n{self._redact(body, rel)}")

    def _list_files(self, call: ToolCall, args: dict[str, Any]) -> ToolResult:
        glob = str(args["glob"])
        paths = [p for p in self._index.files() if not self._privacy.is_excluded(p)
                 and (fnmatch.fnmatch(p, glob) or fnmatch.fnmatch(p.rsplit("/", 1)[-1], glob))]
        if not paths:
            return ToolResult(call, True, f"no indexed file matches {glob!r}")
        more = f"\n… and {len(paths) - MAX_ITEMS} more" if len(paths) > MAX_ITEMS else ""
        return self._finish(call, "\n".join(sorted(paths)[:MAX_ITEMS]) + more)

    # -- helpers -----------------------------------------------------------------------------

    def _inside(self, path: str) -> str | None:
        """``path`` relative to the root, or None when it leads outside the workspace."""
        if not path or "\x00" in path:
            return None
        candidate = Path(path)
        if candidate.is_absolute() or ".." in candidate.parts:
            return None
        try:
            resolved = (self._root / candidate).resolve()
            return resolved.relative_to(self._root).as_posix()
        except (ValueError, OSError):
            return None

    def _visible(self, items: Sequence[Any]) -> list[Any]:
        return [x for x in items if not self._privacy.is_excluded(x.path)]

    def _redact(self, text: str, path: str) -> str:
        return self._privacy.redact(text, path)[0] if self._cloud else text

    def _finish(self, call: ToolCall, text: str, found: str = "") -> ToolResult:
        return ToolResult(call, True, bound(text, MAX_RESULT_TOKENS),
                          bound(found, MAX_RESULT_TOKENS) if found else "")


def bound(text: str, tokens: int) -> str:
    """``text`` cut at a line boundary to about ``tokens`` tokens, saying it was cut."""
    if count_tokens(text) <= tokens:
        return text
    kept: list[str] = []
    used = 0
    for line in text.splitlines():
        cost = count_tokens(line) + 1
        if used + cost > tokens:
            break
        kept.append(line)
        used += cost
    return "\n".join(kept) + "\n… (cut to the size limit)"


def _check_args(spec: ToolSpec, args: Any) -> str | None:
    known = {p.name: p for p in spec.params}
    for key in args:
        if key not in known:
            return f"unknown argument {key!r}"
    for p in spec.params:
        value = args.get(p.name)
        if value is None:
            if p.required:
                return f"missing argument {p.name!r}"
            continue
        if p.type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            return f"{p.name} must be an integer"
        if p.type == "string" and (not isinstance(value, str) or not value.strip()):
            return f"{p.name} must be a non-empty string"
    return None


class IndexTools:
    """The :class:`~lsp_server.routing.tool_loop.ToolRunner` of one request: a
    :class:`Toolbox` run off the event loop (index reads and file reads block), made on the
    first call (opening the index may build it)."""

    def __init__(self, make: Callable[[], Toolbox]) -> None:
        self._make = make
        self._toolbox: Toolbox | None = None

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        return SPECS

    async def run(self, call: ToolCall) -> ToolOutcome:
        result = await asyncio.to_thread(self._run, call)
        return ToolOutcome(result.ok, result.text, result.found)

    def _run(self, call: ToolCall) -> ToolResult:
        if self._toolbox is None:
            self._toolbox = self._make()
        return self._toolbox.run(call)

    def describe(self, call: ToolCall) -> str:
        return Toolbox.describe(call)


def context_search(index: IndexView, settings: Settings, *, cloud: bool) -> Search:
    """``search_code`` as the context engine answers it: the snippets it ranks first for the
    query, within one tool result's size, with the privacy filter it applies to context."""
    from lsp_server.context.rank.builder import build_context
    from lsp_server.context.rank.ranking import ContextRequest

    def search(query: str) -> str:
        built = build_context(index, ContextRequest(text=query), budget_tokens=MAX_RESULT_TOKENS,
                              settings=settings, for_cloud=cloud)
        return built.volatile

    return search
