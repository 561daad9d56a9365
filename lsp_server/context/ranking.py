"""Rank a project's files and definitions for one request.

Three kinds of evidence, each meaningful on its own, fused by reciprocal rank:

* **Mentions** — what the request names that the index knows: identifiers defined in the
  project (rarer names weigh more), paths (suffix match), CLI flags (``--max-depth`` →
  ``max_depth``), the symbol and file under the cursor, open and recent buffers, diagnostics.
* **Lexical** — BM25 of the request over definitions (name, qualified name, signature, body)
  and over whole files (path + text).
* **Structure** — a personalized PageRank over the file reference graph (imports and
  references resolved to the files defining them), restarted at the mentions and the best
  lexical hits, so code linked to what the request names rises even when it shares no words.

Reciprocal rank fusion (Cormack et al., k = 60) needs no score calibration between these
signals; each ranked file and definition carries the reasons it was picked.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from lsp_server.context.bm25 import BM25
from lsp_server.context.model import Definition, FileSymbols, SymbolEdge
from lsp_server.context.pagerank import Graph, personalized_pagerank
from lsp_server.context.terms import RequestTerms, extract_terms, split_identifier, tokenize
from lsp_server.context.tokens import count_tokens

RRF_K = 60.0
# Names defined in more places than this say little about where to look (``new``, ``fmt``).
AMBIGUOUS_DEFS = 12
# Only the best lexical hits restart the walk: the head of the list, not its long tail.
LEXICAL_SEEDS = 10
# A file → file import edge counts as much as one resolved reference; users of a definition
# receive rank back at half the weight of the reference itself.
IMPORT_WEIGHT = 1.0
REVERSE_WEIGHT = 0.5
USE_WEIGHT = 0.5
# The walk follows each file's strongest links only: the long tail of weak links moves
# little rank and dominates the cost on large repositories.
MAX_OUT_EDGES = 12
# Verbatim search is for what the user quoted or pasted, not whole logs.
MAX_PHRASES = 24
MAX_RANKED_DEFS = 300
# BM25 runs over passages of at most this many lines, so a long function or a file of
# module-level tables is matched where its words are, not diluted over its whole length.
PASSAGE_LINES = 60
CONTAINER_KINDS = frozenset({"class", "impl", "trait", "module", "mod", "interface"})
BODY_KINDS = frozenset({"function", "method", "macro", "const", "static", "type", "struct",
                        "enum", "field", "variable", "constant"})
# Tests, benches and examples rarely need the change a request asks for, unless named.
TEST_PENALTY = 0.5
TEST_HINTS = ("test", "tests", "testing", "bench", "benches", "example", "examples", "fixtures")


class IndexView(Protocol):
    """What ranking reads from :class:`~lsp_server.context.index.ProjectIndex`."""

    def files(self) -> list[str]: ...

    def file(self, path: str) -> FileSymbols | None: ...

    def text(self, path: str) -> str | None: ...

    def file_edges(self) -> dict[str, set[str]]: ...

    def symbol_edges(self) -> list[SymbolEdge]: ...


@dataclass(frozen=True)
class ContextRequest:
    """A request as the ranker sees it. Paths are relative POSIX; lines are 1-based."""

    text: str
    path: str | None = None
    line: int | None = None
    line_range: tuple[int, int] | None = None
    open_paths: tuple[str, ...] = ()
    recent_paths: tuple[str, ...] = ()
    diagnostics: tuple[str, ...] = ()


@dataclass
class RankedFile:
    path: str
    score: float
    tokens: int = 0
    in_context: bool = False
    ranges: list[tuple[int, int]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class RankedDefinition:
    definition: Definition
    score: float
    reasons: list[str] = field(default_factory=list)


def is_test_path(path: str) -> bool:
    """Tests, benches, examples and fixtures: rarely what a request asks to change."""
    parts = path.lower().split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    return (
        any(p in TEST_HINTS for p in parts[:-1])
        or stem.startswith("test_")
        or stem.endswith("_test")
        or stem in ("tests", "test", "conftest")
    )


DefKey = tuple[str, str]  # (path, qualname)


@dataclass
class Prepared:
    """Everything about the project that does not depend on the request (cached per state)."""

    files: list[str]
    symbols: dict[str, FileSymbols]
    texts: dict[str, str]
    defs: list[Definition]
    def_ids: dict[tuple[str, int, str], int]  # (path, start byte, qualname) → index in defs
    defs_by_name: dict[str, list[int]]
    defs_by_parts: dict[str, list[int]]  # "max_depth" for maxDepth, MaxDepth, max_depth
    passage_bm25: BM25[int]  # definitions cut into passages, plus code outside definitions
    passage_owner: list[tuple[str, int | None]]
    passage_span: list[tuple[int, int]]
    file_bm25: BM25[str]
    path_bm25: BM25[str]  # path components only: file names say what a file is about
    graph: Graph
    file_tokens: dict[str, int]
    line_prefix: dict[str, list[int]]  # per file: running token count, line by line
    global_rank: dict[str, float]
    callees: dict[DefKey, list[DefKey]]  # what a definition's body refers to
    callers: dict[DefKey, list[DefKey]]  # the definitions whose bodies refer to it
    by_key: dict[DefKey, Definition]
    users: dict[str, set[str]]  # name → files that reference it


def _passages(start: int, end: int) -> list[tuple[int, int]]:
    """Lines ``start..end`` (1-based, inclusive) cut into passages of at most PASSAGE_LINES."""
    return [(a, min(end, a + PASSAGE_LINES - 1)) for a in range(start, end + 1, PASSAGE_LINES)]


def _flat(line_toks: list[list[str]], a: int, b: int) -> list[str]:
    return [t for toks in line_toks[a - 1:b] for t in toks]


def _uncovered(nlines: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Line ranges of a file that no definition covers (module-level code, macros, tables)."""
    out: list[tuple[int, int]] = []
    line = 1
    for a, b in sorted(spans):
        if a > line:
            out.append((line, a - 1))
        line = max(line, b + 1)
    if line <= nlines:
        out.append((line, nlines))
    return out


def _prepare(index: IndexView) -> Prepared:
    files = sorted(index.files())
    symbols: dict[str, FileSymbols] = {}
    texts: dict[str, str] = {}
    defs: list[Definition] = []
    passages: dict[int, list[str]] = {}
    passage_owner: list[tuple[str, int | None]] = []  # passage → (file, definition or None)
    passage_span: list[tuple[int, int]] = []  # passage → its lines
    file_docs: dict[str, list[str]] = {}
    path_docs: dict[str, list[str]] = {}
    file_tokens: dict[str, int] = {}
    line_prefix: dict[str, list[int]] = {}
    users: dict[str, set[str]] = defaultdict(set)
    for path in files:
        fs = index.file(path)
        text = index.text(path) or ""
        texts[path] = text
        ptoks = tokenize(path.rsplit(".", 1)[0].replace("/", " ").replace(".", " "))
        path_docs[path] = ptoks
        lines = text.split("\n")
        line_toks = [tokenize(line) for line in lines]
        file_docs[path] = ptoks + [t for toks in line_toks for t in toks]
        prefix = [0]
        for line in text.split("\n"):
            prefix.append(prefix[-1] + count_tokens(line) + 1)
        line_prefix[path] = prefix
        file_tokens[path] = prefix[-1]
        if fs is None:
            continue
        symbols[path] = fs
        for r in fs.references:
            users[r.name].add(path)
        leaf_spans: list[tuple[int, int]] = []
        for d in fs.definitions:
            i = len(defs)
            defs.append(d)
            head = tokenize(d.name) * 2 + tokenize(d.qualname) + ptoks
            if d.kind in CONTAINER_KINDS:
                passages[len(passage_owner)] = head + tokenize(d.signature)
                passage_owner.append((path, i))
                passage_span.append((d.start_line, d.start_line))
                continue
            leaf_spans.append((d.start_line, d.end_line))
            for a, b in _passages(d.start_line, d.end_line):
                passages[len(passage_owner)] = head + _flat(line_toks, a, b)
                passage_owner.append((path, i))
                passage_span.append((a, b))
        for start, end in _uncovered(len(lines), leaf_spans):
            for a, b in _passages(start, end):
                toks = _flat(line_toks, a, b)
                if toks:
                    passages[len(passage_owner)] = ptoks + toks
                    passage_owner.append((path, None))
                    passage_span.append((a, b))
    defs_by_name: dict[str, list[int]] = defaultdict(list)
    def_ids: dict[tuple[str, int, str], int] = {}
    by_key: dict[DefKey, Definition] = {}
    defs_by_parts: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(defs):
        defs_by_name[d.name].append(i)
        def_ids[(d.path, d.start_byte, d.qualname)] = i
        by_key.setdefault((d.path, d.qualname), d)
    for name, ids in defs_by_name.items():
        defs_by_parts["_".join(split_identifier(name))].extend(ids)
    graph: dict[str, dict[str, float]] = defaultdict(dict)
    callees: dict[DefKey, list[DefKey]] = defaultdict(list)
    callers: dict[DefKey, list[DefKey]] = defaultdict(list)
    _add_edges(index, graph, callees, callers)
    compiled = Graph.compile(graph, tuple(files))
    return Prepared(
        files=files,
        symbols=symbols,
        texts=texts,
        defs=defs,
        def_ids=def_ids,
        defs_by_name=dict(defs_by_name),
        defs_by_parts=dict(defs_by_parts),
        passage_bm25=BM25(passages),
        passage_owner=passage_owner,
        passage_span=passage_span,
        file_bm25=BM25(file_docs),
        path_bm25=BM25(path_docs),
        graph=compiled,
        file_tokens=file_tokens,
        line_prefix=line_prefix,
        global_rank=personalized_pagerank(compiled, {}),
        callees=dict(callees),
        callers=dict(callers),
        by_key=by_key,
        users=dict(users),
    )


def _add_edges(
    index: IndexView,
    graph: dict[str, dict[str, float]],
    callees: dict[DefKey, list[DefKey]],
    callers: dict[DefKey, list[DefKey]],
) -> None:
    """File → file weights from imports (1 each) and resolved references, both directions.

    The index resolves each reference to the definitions it most plausibly means (imports
    first) and splits its weight when several remain; repeated references grow as a square
    root. Each edge gets a reverse edge at half weight, so rank also flows from a definition
    to its users. Definition-level edges are kept for the builder's callers and callees.
    """

    def add(a: str, b: str, w: float) -> None:
        if a == b or w <= 0:
            return
        graph[a][b] = graph[a].get(b, 0.0) + w
        graph[b][a] = graph[b].get(a, 0.0) + REVERSE_WEIGHT * w

    for src, targets in index.file_edges().items():
        for dst in targets:
            add(src, dst, IMPORT_WEIGHT)
    pair: dict[tuple[str, str], float] = defaultdict(float)
    for e in index.symbol_edges():
        pair[(e.path, e.target_path)] += e.weight
        if e.source is not None:
            src_key, dst_key = (e.path, e.source), (e.target_path, e.target)
            if len(callees[src_key]) < 16:
                callees[src_key].append(dst_key)
            if len(callers[dst_key]) < 16:
                callers[dst_key].append(src_key)
    for (a, b), w in pair.items():
        add(a, b, math.sqrt(w))
    for node, out in list(graph.items()):
        if len(out) > MAX_OUT_EDGES:
            keep = sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_OUT_EDGES]
            graph[node] = dict(keep)


_CACHE_LOCK = threading.Lock()
_CACHE: weakref.WeakKeyDictionary[object, tuple[tuple[tuple[str, str], ...], Prepared]] = (
    weakref.WeakKeyDictionary()
)


def _fingerprint(index: IndexView) -> tuple[tuple[str, str], ...]:
    """The index's generation counter when it has one (cheap), else every file's content hash."""
    generation = getattr(index, "generation", None)
    if isinstance(generation, int):
        return (("generation", str(generation)),)
    out: list[tuple[str, str]] = []
    for path in index.files():
        fs = index.file(path)
        out.append((path, fs.content_hash if fs is not None else ""))
    return tuple(sorted(out))


def prepared(index: IndexView) -> Prepared:
    """The request-independent tables for ``index``, rebuilt only when its files changed."""
    key = _fingerprint(index)
    with _CACHE_LOCK:
        try:
            hit = _CACHE.get(index)
        except TypeError:
            hit = None
    if hit is not None and hit[0] == key:
        return hit[1]
    prep = _prepare(index)
    with _CACHE_LOCK, contextlib.suppress(TypeError):
        _CACHE[index] = (key, prep)
    return prep


def _match_paths(prep: Prepared, mentioned: dict[str, int | None]) -> dict[str, float]:
    """Files a mentioned path refers to: exact, then by trailing path components."""
    out: dict[str, float] = {}
    for mention in mentioned:
        parts = [p for p in mention.split("/") if p not in ("", ".", "..")]
        if not parts:
            continue
        best: list[str] = []
        best_len = 0
        for path in prep.files:
            fparts = path.split("/")
            k = 0
            while k < min(len(parts), len(fparts)) and parts[-1 - k] == fparts[-1 - k]:
                k += 1
            if k == 0:
                continue
            if k > best_len:
                best, best_len = [path], k
            elif k == best_len:
                best.append(path)
        if best and len(best) <= AMBIGUOUS_DEFS:
            for path in best:
                out[path] = max(out.get(path, 0.0), 1.0 / len(best))
    return out


def _enclosing(fs: FileSymbols, line: int) -> Definition | None:
    best: Definition | None = None
    for d in fs.definitions:
        if d.start_line <= line <= d.end_line and (
            best is None or d.end_line - d.start_line <= best.end_line - best.start_line
        ):
            best = d
    return best


def _rrf(ranking: Iterable[str]) -> dict[str, float]:
    return {key: 1.0 / (RRF_K + i + 1) for i, key in enumerate(ranking)}


def _ranked(scores: dict[str, float]) -> list[str]:
    return [k for k, v in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])) if v > 0]


@dataclass
class Signals:
    """The separate pieces of evidence for one request, before fusion."""

    mention_file: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    explicit: set[str] = field(default_factory=set)  # named by path, under the cursor, open
    mention_def: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    def_lex: dict[int, float] = field(default_factory=dict)
    passage_lex: dict[int, float] = field(default_factory=dict)
    file_lex: dict[str, float] = field(default_factory=dict)
    path_lex: dict[str, float] = field(default_factory=dict)
    file_deflex: dict[str, float] = field(default_factory=dict)
    walk: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    def_reasons: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


def signals(prep: Prepared, request: ContextRequest) -> Signals:
    """Mentions, lexical scores and the personalized walk for ``request``."""
    terms = extract_terms(request.text, *request.diagnostics)
    sig = Signals()
    mention_file, reasons = sig.mention_file, sig.reasons
    _mentions(prep, terms, sig)
    _phrases(prep, terms, sig)
    for path, w in _match_paths(prep, terms.paths).items():
        mention_file[path] += 2.0 * w
        sig.explicit.add(path)
        reasons[path].append("path named in the request")
    if request.path and request.path in prep.symbols:
        mention_file[request.path] += 3.0
        sig.explicit.add(request.path)
        reasons[request.path].append("file under the cursor")
        lines = request.line_range or ((request.line, request.line) if request.line else None)
        if lines:
            enc = _enclosing(prep.symbols[request.path], lines[0])
            di = prep.def_ids.get((enc.path, enc.start_byte, enc.qualname)) if enc else None
            if di is not None:
                sig.mention_def[di] += 3.0
                sig.def_reasons[di].append("definition under the cursor")
    for paths, label in ((request.open_paths, "open in the editor"),
                         (request.recent_paths, "recently edited")):
        for path in paths:
            if path in prep.file_tokens:
                mention_file[path] += 0.5
                sig.explicit.add(path)
                reasons[path].append(label)

    query = terms.tokens
    sig.file_lex = prep.file_bm25.scores(query)
    sig.path_lex = prep.path_bm25.scores(query)
    # A definition (and a file) scores as its best passage.
    sig.passage_lex = prep.passage_bm25.scores(query)
    for k, s in sig.passage_lex.items():
        p, di = prep.passage_owner[k]
        if s > sig.file_deflex.get(p, 0.0):
            sig.file_deflex[p] = s
        if di is not None and s > sig.def_lex.get(di, 0.0):
            sig.def_lex[di] = s

    # Structure: restart the walk at the mentions and the head of the lexical lists.
    seeds: dict[str, float] = defaultdict(float)
    total_mention = sum(mention_file.values())
    for path, w in mention_file.items():
        seeds[path] += w / total_mention
    for lex in (sig.file_deflex, sig.file_lex):
        head = _ranked(lex)[:LEXICAL_SEEDS]
        if head:
            top = lex[head[0]]
            norm = sum(lex[p] / top for p in head)
            for p in head:
                seeds[p] += 0.5 * (lex[p] / top) / norm
    ppr = personalized_pagerank(prep.graph, seeds)
    sig.walk = {p: r for p, r in ppr.items() if p in prep.file_tokens}
    return sig


def fuse(prep: Prepared, sig: Signals) -> tuple[list[RankedFile], list[RankedDefinition]]:
    """Reciprocal rank fusion of the signals, with reasons."""
    fused: dict[str, float] = defaultdict(float)
    for ranking in (_ranked(dict(sig.mention_file)), _ranked(sig.file_deflex),
                    _ranked(sig.file_lex), _ranked(sig.walk)):
        for p, s in _rrf(ranking).items():
            fused[p] += s
    for p in list(fused):
        if is_test_path(p) and p not in sig.explicit:
            fused[p] *= TEST_PENALTY

    files: list[RankedFile] = []
    for p in _ranked(dict(fused)) + sorted(set(prep.files) - set(fused)):
        why = list(dict.fromkeys(sig.reasons.get(p, [])))
        if sig.file_deflex.get(p):
            why.append(f"lexical match with its definitions (bm25 {sig.file_deflex[p]:.1f})")
        elif sig.file_lex.get(p):
            why.append(f"lexical match with the file (bm25 {sig.file_lex[p]:.1f})")
        if sig.walk.get(p) and not sig.mention_file.get(p):
            why.append(f"linked to the request's code (pagerank {sig.walk[p]:.4f})")
        files.append(RankedFile(path=p, score=round(fused.get(p, 0.0), 6), reasons=why,
                                tokens=prep.file_tokens.get(p, 0)))

    # Definitions: their own evidence, plus the standing of their file.
    file_rank = {f.path: i for i, f in enumerate(files)}
    def_scores: dict[int, float] = defaultdict(float)
    for id_ranking in (_ranked_ids(dict(sig.mention_def)), _ranked_ids(sig.def_lex)):
        for pos, di in enumerate(id_ranking):
            def_scores[di] += 1.0 / (RRF_K + pos + 1)
    for di in list(def_scores):
        def_scores[di] += 0.5 / (RRF_K + file_rank.get(prep.defs[di].path, len(files)) + 1)
    ranked_defs: list[RankedDefinition] = []
    for i in heapq.nsmallest(MAX_RANKED_DEFS, def_scores, key=lambda x: (-def_scores[x], x)):
        why = list(dict.fromkeys(sig.def_reasons.get(i, [])))
        if sig.def_lex.get(i):
            why.append(f"lexical match (bm25 {sig.def_lex[i]:.1f})")
        ranked_defs.append(RankedDefinition(prep.defs[i], round(def_scores[i], 6), why))
    return files, ranked_defs


def rank(index: IndexView, request: ContextRequest) -> tuple[list[RankedFile], list[RankedDefinition]]:
    """Every file ranked best first, and the definitions that matter, both with reasons."""
    prep = prepared(index)
    return fuse(prep, signals(prep, request))


def _uses(prep: Prepared, name: str, weight: float, sig: Signals) -> None:
    """Files that refer to a name the request names (half the weight of defining it)."""
    users = prep.users.get(name)
    if not users and ("_" in name or any(c.isupper() for c in name[1:])):
        users = prep.users.get("_".join(split_identifier(name)))
    if not users or len(users) > AMBIGUOUS_DEFS:
        return
    w = USE_WEIGHT * weight / len(users)
    for p in users:
        sig.mention_file[p] += w
        sig.reasons[p].append(f"uses {name}, named in the request")


def _phrases(prep: Prepared, terms: RequestTerms, sig: Signals) -> None:
    """Verbatim text from the request (quotes, pasted code, flags) found in few files."""
    postings = prep.file_bm25.postings
    for phrase in terms.phrases[:MAX_PHRASES]:
        # Only files holding the phrase's rarest word can hold the phrase.
        lists = [postings.get(t) for t in set(tokenize(phrase))]
        if not lists or any(not lst for lst in lists):
            continue
        rarest = min(lists, key=lambda lst: len(lst or ()))
        hits: list[str] = []
        for path, _ in rarest or ():
            if phrase in prep.texts[path]:
                hits.append(path)
                if len(hits) > AMBIGUOUS_DEFS:
                    break
        if not hits or len(hits) > AMBIGUOUS_DEFS:
            continue
        w = 1.0 / len(hits)
        shown = phrase if len(phrase) <= 40 else phrase[:37] + "..."
        for p in hits:
            sig.mention_file[p] += w
            sig.reasons[p].append(f"contains text quoted in the request: {shown!r}")


def _ranked_ids(scores: dict[int, float], limit: int = 1000) -> list[int]:
    """The ``limit`` best keys (beyond that, a rank-fusion share is negligible)."""
    best = heapq.nsmallest(limit, scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [k for k, v in best if v > 0]


def _mentions(prep: Prepared, terms: RequestTerms, sig: Signals) -> None:
    """Identifiers the request names that the project defines; rarer names weigh more."""
    for name, weight in terms.identifiers.items():
        ids: list[int] | None = prep.defs_by_name.get(name)
        if not ids and ("_" in name or any(c.isupper() for c in name[1:])):
            # ``--max-depth`` / ``maxDepth`` / ``MaxDepth`` can all name ``max_depth``.
            ids = prep.defs_by_parts.get("_".join(split_identifier(name)))
        if weight >= 0.5:
            _uses(prep, name, weight, sig)
        if not ids or len(ids) > AMBIGUOUS_DEFS:
            continue
        w = weight / len(ids)
        for i in ids:
            d = prep.defs[i]
            sig.mention_def[i] += w
            sig.mention_file[d.path] += w
            sig.def_reasons[i].append(f"named in the request: {name}")
            sig.reasons[d.path].append(f"defines {name}, named in the request")
