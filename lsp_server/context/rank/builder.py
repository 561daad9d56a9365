"""Fill a token budget with the snippets a request needs, stable material first.

The context is two strings. ``stable`` is a compact map of the project (its most central files
by plain PageRank, with their top-level definitions), sorted by path: it depends only on the
project's state, so consecutive requests share it and a provider's prompt cache hits.
``volatile`` is what this request needs, grouped by file in rank order: the definitions that
carry the request's evidence in full (a very large one as its signature and best-matching
passages), the signatures of what they call and what calls them (small ones in the same file
whole), then a one-line-per-definition map of the next-ranked files while budget remains.
Snippets are valued as (1 / (1 + file rank)) ** 1.5 times their share of the file's evidence,
and taken best first. Nothing is sent as a whole file unless the whole file is one definition;
blank lines that alone separate two chosen snippets are sent instead of a ``⋮``.

For a cloud model, files the privacy settings exclude are left out entirely and secrets in
what remains are redacted.
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lsp_server.config import Settings
from lsp_server.context.index.model import Definition
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.privacy import PrivacyFilter
from lsp_server.context.rank.history import History, history_for
from lsp_server.context.rank.ranking import (
    CONTAINER_KINDS,
    ContextRequest,
    IndexView,
    Prepared,
    RankedDefinition,
    RankedFile,
    Signals,
    fuse,
    signals,
    tables_for,
)
from lsp_server.context.tokens import count_tokens

# The stable map gets a small, bounded share: orientation, not payload.
MAP_SHARE = 0.08
MAP_MAX_TOKENS = 1500
# Full definitions may use this share of the snippet budget; the rest maps the next files.
FULL_SHARE = 0.9
# A definition larger than this share of the budget is sent as its signature and its best
# passages instead of whole.
MAX_PIECE_SHARE = 0.1
MAX_PIECE_TOKENS = 1000  # ... or this many tokens, within MAX_PIECE_CAP of a small budget
MAX_PIECE_CAP = 0.4
NEIGHBOURS_PER_DEF = 4
# A neighbour in the same file as the definition, of at most this many lines, goes whole: a
# small helper beside the code a request needs is what a fix most often changes with it.
NEIGHBOUR_BODY_LINES = 40
MAP_DEFS_PER_FILE = 8
JSON_MIN_FILES = 50
# The map stops when what is left could not hold a line, or nothing has fit for a while.
MIN_USEFUL = 8
# Full snippets come from the best-ranked files only; the rest of the list gets the map.
UNIT_FILES = 50
MAX_MISSES = 64
# A snippet's value halves for every this share of the budget already taken from its file,
# so the best snippets of the next files come before the long tail of the first file.
FILE_HALF_SHARE = 0.15
# A file's weight is 1 / (1 + its rank) to this power: how fast the chance that a fix touches
# the file falls off down the ranking. Measured on the four bench sets (dev and held-out, Rust
# and Python), that chance falls off as (1 + rank) ** -1.1 to -1.6.
FILE_WEIGHT_POWER = 1.5


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
    # Of ``elapsed_ms``, the time spent bringing the project's ranking tables up to date: all
    # of them on a process's first request (the CLI), only the edited files' in a server.
    prepare_ms: float = 0.0

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
            "prepare_ms": round(self.prepare_ms, 1),
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

    def __init__(self, prep: Prepared, budget: int) -> None:
        self.prep = prep
        self.budget = budget
        self.used = 0
        self.ranges: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._lines: dict[str, list[str]] = {}
        self.order: list[str] = []
        self.per_file: dict[str, int] = defaultdict(int)  # tokens taken from each file
        self.log: list[tuple[str, list[tuple[int, int]], int]] = []  # undo: path, before, cost

    def lines(self, path: str) -> list[str]:
        if path not in self._lines:
            self._lines[path] = self.prep.texts.get(path, "").split("\n")
        return self._lines[path]

    def covered(self, path: str, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.ranges.get(path, ()))

    def _prefix(self, path: str) -> Sequence[int]:
        """Running token count per line (each line with its newline), for O(1) range costs."""
        return self.prep.line_prefix.get(path) or [0]

    def _tokens(self, path: str, ranges: list[tuple[int, int]]) -> int:
        """Tokens of the rendered block: header, the lines, and a ``⋮`` line per gap."""
        if not ranges:
            return 0
        sums = self._prefix(path)
        total = count_tokens(f"\n## {path}\n")
        prev_end = 0
        for a, b in ranges:
            if a > prev_end + 1:
                total += 2
            total += sums[b] - sums[a - 1]
            prev_end = b
        if prev_end < len(sums) - 1:
            total += 2
        return total

    def cost(self, path: str, start: int, end: int) -> int:
        """Marginal cost: the file's rendered block with the range, minus without."""
        old = self.ranges.get(path, [])
        return self._tokens(path, _merge([*old, (start, end)])) - self._tokens(path, old)

    def _bridge(self, path: str, start: int, end: int) -> tuple[int, int]:
        """``start``-``end`` widened over the blank lines that alone separate it from a range
        already taken: they render cheaper than the ``⋮`` that would stand for them, and
        they are where a fix adds code between two definitions."""
        lines = self.lines(path)
        taken = self.ranges.get(path, ())
        a = start
        while a > 1 and not lines[a - 2].strip():
            a -= 1
        if a < start and any(lo <= a - 1 <= hi for lo, hi in taken):
            start = a
        b = end
        while b < len(lines) and not lines[b].strip():
            b += 1
        if b > end and any(lo <= b + 1 <= hi for lo, hi in taken):
            end = b
        return start, end

    def add(self, path: str, start: int, end: int, limit: int | None = None) -> bool:
        nlines = len(self.lines(path))
        start, end = max(1, start), min(end, nlines)
        if start > end or self.covered(path, start, end):
            return False
        start, end = self._bridge(path, start, end)
        cost = self.cost(path, start, end)
        if self.used + cost > (self.budget if limit is None else limit):
            return False
        self.used += cost
        self.per_file[path] += cost
        if path not in self.ranges:
            self.order.append(path)
        self.log.append((path, list(self.ranges[path]), cost))
        self.ranges[path] = _merge([*self.ranges[path], (start, end)])
        return True

    def undo(self) -> None:
        """Take back the last range added."""
        path, before, cost = self.log.pop()
        self.used -= cost
        self.per_file[path] -= cost
        if before:
            self.ranges[path] = before
        else:
            del self.ranges[path]
            self.order.remove(path)

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
    for k in [*prep.callees.get(key, []), *prep.callers_of(key)]:
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
        defs = prep.definitions_of(path)
        names = [d.name for d in defs if d.parent is None][:MAP_DEFS_PER_FILE] if defs else []
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
    history = project_history(index, settings)
    with tables_for(index) as prep:
        result = _select(prep, request, budget_tokens=budget_tokens, settings=settings,
                         for_cloud=for_cloud, started=t0, history=history)
        result.prepare_ms = prep.last_sync_ms
        return result


def project_history(index: IndexView, settings: Settings) -> History | None:
    """The history of the project ``index`` reads, brought up to date, when ``context.history``
    is on and the index is a project's on disk (None otherwise)."""
    if not settings.context.history or not isinstance(index, ProjectIndex):
        return None
    return history_for(index.root, settings.context.history_max_commits)


def _select(
    prep: Prepared,
    request: ContextRequest,
    *,
    budget_tokens: int,
    settings: Settings,
    for_cloud: bool,
    started: float,
    history: History | None = None,
) -> ContextResult:
    sig = signals(prep, request, history)
    files, defs = fuse(prep, sig)
    privacy = PrivacyFilter.from_settings(settings.privacy)
    excluded = [f.path for f in files if privacy.is_excluded(f.path)] if for_cloud else []
    blocked = set(excluded)

    map_budget = min(int(budget_tokens * MAP_SHARE), MAP_MAX_TOKENS)
    stable = _project_map(prep, map_budget, privacy if for_cloud else None)
    stable_tokens = count_tokens(stable)
    # Redaction markers can be a little longer than what they hide: keep slack for the cloud.
    room = budget_tokens - stable_tokens
    sel = _Selection(prep, max(0, int(room * 0.97) if for_cloud else room))
    full_limit = int(sel.budget * FULL_SHARE)
    max_piece = max(int(sel.budget * MAX_PIECE_SHARE),
                    min(int(sel.budget * MAX_PIECE_CAP), MAX_PIECE_TOKENS))

    # 1. The code the request needs, most valuable first: whole definitions (their parent's
    #    signature and their neighbours' signatures with them), or, for a definition too
    #    large to send whole, its signature and its best-matching passages.
    for unit in _spread(_units(prep, sig, files, blocked), sel, max(1.0, sel.budget * FILE_HALF_SHARE)):
        if sel.used >= full_limit:
            break
        if unit.passage is not None:
            sel.add(unit.path, *prep.passage_span[unit.passage], limit=full_limit)
            continue
        d = unit.definition
        assert d is not None
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
            if n.path in blocked:
                continue
            if n.path == d.path and n.end_line - n.start_line < NEIGHBOUR_BODY_LINES and sel.add(
                    n.path, n.start_line, n.end_line, limit=full_limit):
                continue
            sel.add(n.path, *_signature_span(n), limit=full_limit)

    # 1b. The imports of each file sent in part: what its code's names refer to, and where
    #     a change that needs a new name adds it.
    for path in list(sel.order):
        file_defs = prep.definitions_of(path)
        if file_defs is None:
            continue
        for imp in prep.imports_of(path):
            if not _inside_body(file_defs, imp.line):
                sel.add(path, imp.line, imp.line + imp.text.count("\n"))

    # 2. A compact map of the next-ranked files: one signature line per definition.
    misses = 0
    for f in files:
        if sel.budget - sel.used < MIN_USEFUL or misses > MAX_MISSES:
            break
        if f.path in blocked:
            continue
        file_defs = prep.definitions_of(f.path)
        if file_defs is None:
            continue
        for d in file_defs[: MAP_DEFS_PER_FILE * 2]:
            a, _ = _signature_span(d)
            misses = 0 if sel.add(f.path, a, a) else misses + 1

    # Line-sum costs track the exact count closely; if the exact count is over, take back
    # the last additions until it fits.
    while sel.log and sum(count_tokens(sel.render(p)) for p in sel.ranges) > sel.budget:
        sel.undo()

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
        elapsed_ms=(time.perf_counter() - started) * 1000.0,
        excluded=excluded,
        redactions=redactions,
        definitions=defs,
    )


@dataclass
class _Unit:
    value: float
    path: str
    definition: Definition | None = None
    passage: int | None = None


def _units(prep: Prepared, sig: Signals, files: list[RankedFile], blocked: set[str]) -> list[_Unit]:
    """Candidate snippets, valued as (how likely the file matters) × (how much of the
    file's evidence the snippet holds): (1 / (1 + the file's rank)) ** ``FILE_WEIGHT_POWER``
    — the chance that the r-th file is one the fix touches falls off about that fast —
    times the snippet's best lexical or mention score relative to the best in its file."""
    file_weight = {f.path: (1.0 / (1 + r)) ** FILE_WEIGHT_POWER for r, f in enumerate(files[:UNIT_FILES])
                   if f.score > 0 and f.path not in blocked}
    units: list[_Unit] = []
    # Only the weighted files' own definitions and passages: a few thousand, not the project.
    for path, fw in file_weight.items():
        def_ids, passage_ids = prep.file_rows(path)
        passage_scores = [(k, sig.passage_lex[k]) for k in passage_ids if k in sig.passage_lex]
        best = max((v for _, v in passage_scores), default=0.0) or 1.0
        mention_top = max((sig.mention_def.get(di, 0.0) for di in def_ids), default=0.0) or 1.0
        for di in def_ids:
            lex = sig.def_lex.get(di, 0.0)
            mention = sig.mention_def.get(di, 0.0)
            if lex or mention:
                units.append(_Unit(fw * max(lex / best, mention / mention_top), path,
                                   definition=prep.defs[di]))
        for k, v in passage_scores:
            a, b = prep.passage_span[k]
            owner = prep.passage_owner[k][1]
            od = prep.defs[owner] if owner is not None else None
            if od is not None and (od.kind in CONTAINER_KINDS or (a, b) == (od.start_line, od.end_line)):
                continue  # the whole definition is already a unit
            units.append(_Unit(fw * v / best, path, passage=k))
    units.sort(key=lambda u: (-u.value, u.path, _first_line(prep, u), u.passage is not None))
    return units


def _spread(units: list[_Unit], sel: _Selection, half: float) -> Iterator[_Unit]:
    """``units`` best first, each discounted by half for every ``half`` tokens already taken
    from its file, so the best snippets of the next files come before the long tail of the
    first one.

    Lazy greedy: a popped unit whose discounted value fell below the next one goes back
    on the heap with its new value (discounts only ever lower a value).
    """
    heap = [(-u.value, i, u) for i, u in enumerate(units)]
    heapq.heapify(heap)
    while heap:
        neg, i, unit = heapq.heappop(heap)
        value = unit.value * 0.5 ** (sel.per_file.get(unit.path, 0) / half)
        if heap and value < -neg and value < -heap[0][0]:
            heapq.heappush(heap, (-value, i, unit))
            continue
        yield unit


def _inside_body(definitions: list[Definition], line: int) -> bool:
    """True when ``line`` is inside a function-like body (a local import, not the file's)."""
    return any(d.start_line < line <= d.end_line and d.kind not in CONTAINER_KINDS for d in definitions)


def _first_line(prep: Prepared, unit: _Unit) -> int:
    if unit.passage is not None:
        return prep.passage_span[unit.passage][0]
    return unit.definition.start_line if unit.definition is not None else 0


def _parent(prep: Prepared, d: Definition) -> Definition | None:
    defs = prep.definitions_of(d.path)
    if defs is None or d.parent is None:
        return None
    for p in defs:
        if p.qualname == d.parent and p.start_line <= d.start_line and d.end_line <= p.end_line:
            return p
    return None
