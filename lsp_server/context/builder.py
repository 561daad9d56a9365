"""Fill a token budget with the snippets a request needs, stable material first.

The context is two strings. ``stable`` is a compact map of the project (its most central files
by plain PageRank, with their top-level definitions), sorted by path: it depends only on the
project's state, so consecutive requests share it and a provider's prompt cache hits.
``volatile`` is what this request needs, in rank order: the best definitions in full, the
signatures of what they call and what calls them, then a one-line-per-definition map of the
next-ranked files while budget remains. Nothing is sent as a whole file unless the whole file
is one definition.

For a cloud model, files the privacy settings exclude are left out entirely and secrets in
what remains are redacted.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from lsp_server.config import Settings
from lsp_server.context.model import Definition
from lsp_server.context.privacy import PrivacyFilter
from lsp_server.context.ranking import (
    CONTAINER_KINDS,
    ContextRequest,
    IndexView,
    Prepared,
    RankedDefinition,
    RankedFile,
    prepared,
    rank,
)
from lsp_server.context.tokens import count_tokens

# The stable map gets a small, bounded share: orientation, not payload.
MAP_SHARE = 0.08
MAP_MAX_TOKENS = 1500
# Full definitions may use this share of the snippet budget; the rest maps the next files.
FULL_SHARE = 0.8
# A single definition larger than this share is shown by its signature and children instead.
MAX_PIECE_SHARE = 0.3
NEIGHBOURS_PER_DEF = 4
MAP_DEFS_PER_FILE = 8
JSON_MIN_FILES = 50


@dataclass
class ContextResult:
    files: list[RankedFile]
    stable: str
    volatile: str
    tokens: int
    budget: int
    elapsed_ms: float
    excluded: list[str] = field(default_factory=list)
    redactions: int = 0
    definitions: list[RankedDefinition] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.stable + self.volatile

    def to_json(self, min_files: int = JSON_MIN_FILES) -> dict[str, Any]:
        """The CLI's JSON: files best first (at least ``min_files``, and all in context)."""
        shown = [f for i, f in enumerate(self.files) if i < min_files or f.in_context]
        return {
            "files": [
                {
                    "path": f.path,
                    "score": f.score,
                    "tokens": f.tokens,
                    "in_context": f.in_context,
                    "ranges": [[a, b] for a, b in f.ranges],
                    "reasons": f.reasons,
                }
                for f in shown
            ],
            "tokens": self.tokens,
            "budget": self.budget,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "excluded": self.excluded,
            "redactions": self.redactions,
        }


@dataclass
class _Piece:
    path: str
    start: int
    end: int
    signature_only: bool = False


class _Selection:
    """Line ranges chosen per file, with their running token cost."""

    def __init__(self, index: IndexView, budget: int) -> None:
        self.index = index
        self.budget = budget
        self.used = 0
        self.ranges: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._lines: dict[str, list[str]] = {}
        self.order: list[str] = []

    def lines(self, path: str) -> list[str]:
        if path not in self._lines:
            self._lines[path] = (self.index.text(path) or "").split("\n")
        return self._lines[path]

    def covered(self, path: str, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.ranges.get(path, ()))

    def _tokens(self, path: str, ranges: list[tuple[int, int]]) -> int:
        return count_tokens(self._render(path, ranges)) if ranges else 0

    def cost(self, path: str, start: int, end: int) -> int:
        """Exact marginal cost: the file's rendered block with the range, minus without."""
        old = self.ranges.get(path, [])
        return self._tokens(path, _merge([*old, (start, end)])) - self._tokens(path, old)

    def add(self, path: str, start: int, end: int, limit: int | None = None) -> bool:
        nlines = len(self.lines(path))
        start, end = max(1, start), min(end, nlines)
        if start > end or self.covered(path, start, end):
            return False
        cost = self.cost(path, start, end)
        if self.used + cost > (self.budget if limit is None else limit):
            return False
        self.used += cost
        if path not in self.ranges:
            self.order.append(path)
        self.ranges[path] = _merge([*self.ranges[path], (start, end)])
        return True

    def render(self, path: str) -> str:
        return self._render(path, self.ranges[path])

    def _render(self, path: str, ranges: list[tuple[int, int]]) -> str:
        lines = self.lines(path)
        parts: list[str] = []
        prev_end = 0
        for a, b in ranges:
            if a > prev_end + 1:
                parts.append("⋮")
            parts.append("\n".join(lines[a - 1:b]))
            prev_end = b
        if prev_end < len(lines):
            parts.append("⋮")
        return f"\n## {path}\n" + "\n".join(parts) + "\n"


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _signature_span(d: Definition) -> tuple[int, int]:
    lines = max(1, d.signature.count("\n") + 1)
    return d.start_line, min(d.end_line, d.start_line + lines - 1)


def _neighbours(prep: Prepared, d: Definition) -> list[Definition]:
    """What ``d`` refers to (resolved by the index), then what refers to it."""
    key = (d.path, d.qualname)
    out: list[Definition] = []
    seen: set[tuple[str, str]] = {key}
    for k in [*prep.callees.get(key, []), *prep.callers.get(key, [])]:
        n = prep.by_key.get(k)
        if n is not None and k not in seen and n.kind not in CONTAINER_KINDS:
            seen.add(k)
            out.append(n)
        if len(out) >= NEIGHBOURS_PER_DEF:
            break
    return out


def _project_map(prep: Prepared, budget: int, skip: PrivacyFilter | None) -> str:
    """Most central files (plain PageRank) and their top-level names, sorted by path."""
    if budget <= 0:
        return ""
    central = sorted(prep.global_rank, key=lambda p: (-prep.global_rank[p], p))
    lines: list[str] = []
    used = count_tokens("# Project map\n")
    for path in central:
        if path not in prep.file_tokens or (skip is not None and skip.is_excluded(path)):
            continue
        fs = prep.symbols.get(path)
        names = [d.name for d in fs.definitions if d.parent is None][:MAP_DEFS_PER_FILE] if fs else []
        line = f"{path}: {', '.join(names)}" if names else path
        cost = count_tokens(line) + 1
        if used + cost > budget:
            break
        used += cost
        lines.append(line)
    if not lines:
        return ""
    return "# Project map\n" + "\n".join(sorted(lines)) + "\n"


def build_context(
    index: IndexView,
    request: ContextRequest,
    *,
    budget_tokens: int,
    settings: Settings,
    for_cloud: bool,
) -> ContextResult:
    """Rank, select snippets within ``budget_tokens``, and apply the privacy filter."""
    t0 = time.perf_counter()
    files, defs = rank(index, request)
    prep = prepared(index)
    privacy = PrivacyFilter.from_settings(settings.privacy)
    excluded = [f.path for f in files if privacy.is_excluded(f.path)] if for_cloud else []
    blocked = set(excluded)

    map_budget = min(int(budget_tokens * MAP_SHARE), MAP_MAX_TOKENS)
    stable = _project_map(prep, map_budget, privacy if for_cloud else None)
    stable_tokens = count_tokens(stable)
    # Redaction markers can be a little longer than what they hide: keep slack for the cloud.
    room = budget_tokens - stable_tokens
    sel = _Selection(index, max(0, int(room * 0.97) if for_cloud else room))
    full_limit = int(sel.budget * FULL_SHARE)
    max_piece = int(sel.budget * MAX_PIECE_SHARE)

    # 1. The definitions the request needs, in full; their neighbours as signatures.
    for rd in defs:
        d = rd.definition
        if d.path in blocked:
            continue
        if sel.used >= full_limit:
            break
        span = d.end_line - d.start_line + 1
        if (d.kind in CONTAINER_KINDS and span > 40) or sel.cost(d.path, d.start_line, d.end_line) > max_piece:
            sel.add(d.path, *_signature_span(d), limit=full_limit)
            continue
        if not sel.add(d.path, d.start_line, d.end_line, limit=full_limit):
            continue
        if d.parent:
            parent = _parent(prep, d)
            if parent is not None:
                sel.add(parent.path, *_signature_span(parent), limit=full_limit)
        for n in _neighbours(prep, d):
            if n.path not in blocked:
                sel.add(n.path, *_signature_span(n), limit=full_limit)

    # 2. A compact map of the next-ranked files: one signature line per definition.
    for f in files:
        if sel.used >= sel.budget:
            break
        if f.path in blocked:
            continue
        fs = prep.symbols.get(f.path)
        if fs is None:
            continue
        for d in fs.definitions[: MAP_DEFS_PER_FILE * 2]:
            a, _ = _signature_span(d)
            sel.add(f.path, a, a)

    # Render in rank order; redact for the cloud.
    rank_of = {f.path: i for i, f in enumerate(files)}
    redactions = 0
    blocks: list[str] = []
    by_path = {f.path: f for f in files}
    for path in sorted(sel.ranges, key=lambda p: rank_of.get(p, len(files))):
        block = sel.render(path)
        if for_cloud:
            block, found = privacy.redact(block, filename=path)
            redactions += found
        blocks.append(block)
        rf = by_path.get(path)
        if rf is not None:
            rf.in_context = True
            rf.ranges = list(sel.ranges[path])
            rf.tokens = count_tokens(block)
    if for_cloud:
        stable, found = privacy.redact(stable, filename="project-map.txt")
        redactions += found
    for f in files:
        if f.path in blocked:
            f.reasons.append("excluded by the privacy settings (never sent to a cloud model)")
    volatile = "".join(blocks)
    return ContextResult(
        files=files,
        stable=stable,
        volatile=volatile,
        tokens=count_tokens(stable) + count_tokens(volatile),
        budget=budget_tokens,
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        excluded=excluded,
        redactions=redactions,
        definitions=defs,
    )


def _parent(prep: Prepared, d: Definition) -> Definition | None:
    fs = prep.symbols.get(d.path)
    if fs is None or d.parent is None:
        return None
    for p in fs.definitions:
        if p.qualname == d.parent and p.start_line <= d.start_line and d.end_line <= p.end_line:
            return p
    return None
