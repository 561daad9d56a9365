"""Questions the index answers with no model: "where is X defined", "who calls Y",
"list the impls of T". They cost $0 and answer in milliseconds, so the classifier sends every
request that reads as one of them here first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from lsp_server.context.index.model import Definition, Reference

SearchOp = Literal["definition", "references", "callers", "impls"]

_NAME = r"`?(?P<name>[A-Za-z_]\w*(?:(?:::|\.)[A-Za-z_]\w*)*)`?(?:\(\))?"
_KIND = r"(?:(?:the\s+)?(?:function|fn|method|struct|class|trait|enum|type|const|constant|module|macro|def|symbol)\s+)?"
_TAIL = r"(?:\s+(?:in|across)\s+(?:the\s+|this\s+)?(?:project|codebase|crate|package|repo|repository|workspace))?\s*[?.!]*\s*$"
_LEAD = r"^\s*(?:please\s+)?"

_RAW: tuple[tuple[SearchOp, str, bool], ...] = (
    # "where is X defined", "where's the struct Foo declared"
    ("definition", r"(?:where\s+(?:is|are)|where's)\s+" + _KIND + _NAME
     + r"\s+(?:defined|declared|implemented|located)", False),
    ("definition", r"(?:find|show|go\s+to|jump\s+to|locate)?\s*(?:me\s+)?(?:the\s+)?"
     r"(?:definition|declaration)s?\s+of\s+" + _KIND + _NAME, False),
    # "where is `parse_config`" (code-looking names only: "where is the bug" is not a search)
    ("definition", r"(?:where\s+(?:is|are)|where's)\s+" + _KIND + _NAME, True),
    # "who calls Y", "find the callers of Y"
    ("callers", r"(?:who|what|which\s+\w+)\s+(?:calls|invokes)\s+" + _KIND + _NAME, False),
    ("callers", r"(?:find|list|show)?\s*(?:me\s+)?(?:all\s+)?(?:the\s+)?(?:callers|call\s+sites)"
     r"\s+(?:of|to|for)\s+" + _KIND + _NAME, False),
    ("references", r"(?:who|what|which\s+\w+)\s+(?:uses|references|imports)\s+" + _KIND + _NAME, False),
    ("references", r"(?:find|list|show)?\s*(?:me\s+)?(?:all\s+)?(?:the\s+)?(?:usages|uses|references)"
     r"\s+(?:of|to|for)\s+" + _KIND + _NAME, False),
    ("references", r"where\s+(?:is|are)\s+" + _KIND + _NAME + r"\s+(?:used|called|referenced)", False),
    # "list the impls of T", "what implements T"
    ("impls", r"(?:find|list|show)?\s*(?:me\s+)?(?:all\s+)?(?:the\s+)?(?:impls|implementations|"
     r"implementors|implementers|subclasses)\s+(?:of|for)\s+" + _KIND + _NAME, False),
    ("impls", r"(?:who|what|which\s+\w+)\s+(?:implements?|subclass(?:es)?|inherits?\s+from|extends?)\s+"
     + _KIND + _NAME, False),
)
_PATTERNS: tuple[tuple[SearchOp, re.Pattern[str], bool], ...] = tuple(
    (op, re.compile(_LEAD + body + _TAIL, re.I), needs_code) for op, body, needs_code in _RAW
)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    op: SearchOp
    name: str  # the simple name (last segment of a qualified one)
    written: str  # the name as the user wrote it

    def describe(self) -> str:
        what = {"definition": "definition of", "references": "references to",
                "callers": "callers of", "impls": "implementations of"}[self.op]
        return f"{what} {self.written}"


def _code_like(name: str, text: str) -> bool:
    return (
        f"`{name}`" in text or "_" in name or "::" in name or "." in name
        or f"{name}(" in text or any(c.isupper() for c in name[1:]) or name[:1].isupper()
    )


def parse_search(text: str) -> SearchQuery | None:
    """The search a request asks for, or None when it is not a plain index question."""
    if len(text) > 200 or "\n" in text.strip():
        return None
    for op, pattern, needs_code in _PATTERNS:
        m = pattern.match(text)
        if m is None:
            continue
        written = m.group("name")
        if needs_code and not _code_like(written, text):
            continue
        simple = re.split(r"::|\.", written)[-1]
        return SearchQuery(op, simple, written)
    return None


class SearchIndex(Protocol):
    """What answering needs from the project index."""

    def definitions_named(self, name: str) -> Sequence[Definition]: ...

    def references_named(self, name: str) -> Sequence[Reference]: ...


@dataclass(frozen=True)
class SearchAnswer:
    query: SearchQuery
    text: str
    hits: int


def _qualifies(defn: Definition, written: str) -> bool:
    """A qualified question (``shapes::Circle``) keeps definitions whose qualname ends with it."""
    if written == defn.name:
        return True
    sep_norm = written.replace(".", "::")
    return defn.qualname.replace(".", "::").endswith(sep_norm)


def _impl_of(defn: Definition, name: str) -> bool:
    """Rust ``impl T for X`` / ``impl T`` blocks, Python classes listing ``T`` among their bases."""
    sig = " ".join(defn.signature.split())
    word = re.escape(name)
    if defn.kind == "impl":
        return bool(re.search(rf"\bimpl\b(?:<[^>]*>)?\s+(?:[\w:]+::)?{word}\b", sig))
    if defn.kind == "class":
        bases = re.search(r"\((.*)\)", sig)
        return bool(bases and re.search(rf"(?:^|[\s,.]){word}\b", bases.group(1)))
    return False


def _loc(path: str, line: int) -> str:
    return f"{path}:{line}"


def answer_search(index: SearchIndex, query: SearchQuery, *, all_definitions: Sequence[Definition] = (),
                  limit: int = 50) -> SearchAnswer:
    """Answer ``query`` from the index as Markdown-ish text with ``path:line`` locations.

    ``all_definitions`` is only needed for ``impls`` (the blocks are found by their headers).
    """
    lines: list[str] = []
    if query.op == "definition":
        defs = [d for d in index.definitions_named(query.name) if _qualifies(d, query.written)]
        defs.sort(key=lambda d: (d.kind == "impl", d.path, d.start_line))
        if not defs:
            return SearchAnswer(query, f"No definition named `{query.written}` in the index.", 0)
        lines.append(f"`{query.written}` is defined in {len(defs)} place{'s' if len(defs) != 1 else ''}:")
        lines += [f"- {_loc(d.path, d.start_line)} ({d.kind}) `{_one_line(d.signature)}`" for d in defs[:limit]]
        return SearchAnswer(query, _finish(lines, len(defs), limit), len(defs))
    if query.op in ("references", "callers"):
        refs = list(index.references_named(query.name))
        if query.op == "callers":
            refs = [r for r in refs if r.kind in ("call", "call_in_macro", "macro")]
        refs.sort(key=lambda r: (r.path, r.line))
        noun = "call" if query.op == "callers" else "reference"
        if not refs:
            return SearchAnswer(query, f"No {noun}s to `{query.written}` in the index.", 0)
        files = len({r.path for r in refs})
        lines.append(f"{len(refs)} {noun}{'s' if len(refs) != 1 else ''} to `{query.written}` "
                     f"in {files} file{'s' if files != 1 else ''}:")
        grouped: dict[tuple[str, int, str | None, str], int] = {}
        for r in refs:
            key = (r.path, r.line, r.enclosing, r.kind)
            grouped[key] = grouped.get(key, 0) + 1
        for (path, line, enclosing, kind), count in list(grouped.items())[:limit]:
            where = f" in `{enclosing}`" if enclosing else ""
            times = f", {count}×" if count > 1 else ""
            lines.append(f"- {_loc(path, line)}{where} ({kind}{times})")
        return SearchAnswer(query, _finish(lines, len(grouped), limit), len(refs))
    impls = [d for d in all_definitions if _impl_of(d, query.name)]
    impls.sort(key=lambda d: (d.path, d.start_line))
    if not impls:
        return SearchAnswer(query, f"No implementations of `{query.written}` in the index.", 0)
    lines.append(f"{len(impls)} implementation{'s' if len(impls) != 1 else ''} of `{query.written}`:")
    lines += [f"- {_loc(d.path, d.start_line)} `{_one_line(d.signature)}`" for d in impls[:limit]]
    return SearchAnswer(query, _finish(lines, len(impls), limit), len(impls))


def _one_line(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _finish(lines: list[str], total: int, limit: int) -> str:
    if total > limit:
        lines.append(f"- … and {total - limit} more")
    return "\n".join(lines)
