"""Rank a project's files and definitions for one request.

Kinds of evidence, each meaningful on its own, fused by reciprocal rank:

* **Mentions** — what the request names that the index knows: identifiers defined in the
  project (rarer names weigh more), paths (suffix match), CLI flags (``--max-depth`` →
  ``max_depth``), the symbol and file under the cursor, open and recent buffers, diagnostics.
* **Lexical** — BM25 of the request over definitions (name, qualified name, signature, body)
  and over whole files (path + text).
* **Structure** — a personalized PageRank over the file reference graph (imports and
  references resolved to the files defining them), restarted at the mentions and the best
  lexical hits, so code linked to what the request names rises even when it shares no words.
* **Latent** — cosine similarity in a latent semantic space of the project's own files
  (:mod:`latent`), at half weight: words that occur in the same files meet there. With
  ``context.embeddings``, an embedding model's similarity is one more list.
* **History** — with ``context.history`` in a git repository (:mod:`history`): BM25 over the
  messages of the commits that touched each file, the files that changed together with the
  best-ranked files of the lists above, and how often and lately each file changed (computed
  for the benchmarks, weighted 0 in the fusion: see :data:`FUSION`).

Reciprocal rank fusion (Cormack et al., k = 60) needs no score calibration between these
signals; each ranked file and definition carries the reasons it was picked.
"""

from __future__ import annotations

import contextlib
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lsp_server.context.index.model import Definition
from lsp_server.context.rank.embeddings import SemanticSpec, query_for
from lsp_server.context.rank.history import History
from lsp_server.context.rank.pagerank import lift, personalized_pagerank
from lsp_server.context.rank.passages import CONTAINER_KINDS
from lsp_server.context.rank.tables import IndexView, Prepared, tables_of

__all__ = ["CONTAINER_KINDS", "FUSION", "ContextRequest", "FusionWeights", "IndexView", "Prepared",
           "RankedDefinition", "RankedFile", "Signals", "fuse", "fused_scores", "prepared", "rank",
           "signals", "tables_for"]
from lsp_server.context.rank.terms import RequestTerms, extract_terms, split_identifier, tokenize

RRF_K = 60.0
# Names defined in more places than this say little about where to look (``new``, ``fmt``).
AMBIGUOUS_DEFS = 12
# Only the best lexical hits restart the walk: the head of the list, not its long tail.
LEXICAL_SEEDS = 10
# The walk's scores are divided by the plain PageRank to this power (see pagerank.lift), so
# hubs every walk reaches do not outrank what this request's seeds reach. Measured on the dev
# sets and held-out rows (0.25: four rows gain a hit, none loses one) and on 456 commits of 13
# other repositories (11 rows gain, 4 lose); 0.5 and more lose Rust dev and Python dev Acc@5.
HUB_EXPONENT = 0.25
USE_WEIGHT = 0.5
# An open buffer (and the latest edit; earlier edits count 1/2, 1/3, ... of it) as a mention.
WORKING_SET_WEIGHT = 0.5
# Verbatim search is for what the user quoted or pasted, not whole logs.
MAX_PHRASES = 24
MAX_RANKED_DEFS = 300
# The innermost project frames of a traceback (or a panic's location), at most this many,
# each counting half as much as the one below it.
MAX_RAISE_SITES = 3
# Embedding similarity is named as a reason only for the files it ranks this high.
SEMANTIC_REASON_TOP = 20
# Co-change starts from the best files of the other lists' fusion, each counting
# 1 / (1 + its rank), and from the file under the cursor at full weight.
COCHANGE_SEEDS = 5
BODY_KINDS = frozenset({"function", "method", "macro", "const", "static", "type", "struct",
                        "enum", "field", "variable", "constant"})
# Tests, benches, examples, documentation and vendored copies of other projects rarely need
# the change a request asks for, unless named (their fused score is scaled by
# ``FusionWeights.peripheral``).
PERIPHERAL_DIRS = frozenset({
    "test", "tests", "testing", "bench", "benches", "example", "examples", "fixtures",
    "doc", "docs", "vendor", "vendored", "_vendor", "third_party", "thirdparty",
})


@dataclass(frozen=True)
class FusionWeights:
    """How much each ranked list counts in the fusion (one vote = 1.0).

    Mentions name many files in a long request (every frame of a log, every type it touches);
    whole-file lexical evidence is steadier. Latent similarity (the project's own co-occurring
    words) is a weak list on its own: half a vote. A raise site (the innermost project frame of
    a traceback, or a panic's location) counts as ``raise_site`` first places. Measured on the
    dev sets and on held-out rows from other repositories (bench/mine_commits.py); see
    bench/fusion_oracle.py for what other weightings reach on the same rows.
    """

    mentions: float = 0.6
    definitions: float = 1.0  # BM25 over definitions and passages, a file as its best passage
    file_text: float = 1.25  # BM25 over whole files (path + text)
    walk: float = 1.0  # personalized PageRank from the mentions and lexical hits
    semantic: float = 1.0  # embedding similarity, when ``context.embeddings`` is on
    latent: float = 0.5
    raise_site: float = 2.0
    peripheral: float = 0.5  # the factor on tests, benches, docs and vendored files not named
    # The history lists (``context.history``; empty outside a git repository). Chosen on the
    # dev sets (bench/README.md, "History as evidence"): co-change keeps the head of the
    # ranking and reorders what follows; commit messages and recency, at any weight tried,
    # cost more rows than they gained, so messages count a tenth of a vote and recency none.
    history_text: float = 0.1  # BM25 over the messages of the commits that touched each file
    cochange: float = 0.5  # files that changed with the best-ranked files
    recency: float = 0.0  # how often and lately a file changed: the same for every request
    # k in 1 / (k + rank): the common 60 lets agreement between lists outweigh one list's
    # order. A small k trusts each list's top more; bench/fusion_oracle.py sweeps it.
    rank_constant: float = RRF_K


FUSION = FusionWeights()


@dataclass(frozen=True)
class ContextRequest:
    """A request as the ranker sees it. Paths are relative POSIX; lines are 1-based."""

    text: str
    path: str | None = None
    line: int | None = None
    line_range: tuple[int, int] | None = None
    open_paths: tuple[str, ...] = ()
    recent_paths: tuple[str, ...] = ()  # edited through the editor, most recent first
    diagnostics: tuple[str, ...] = ()
    # The request's embedding and where passage vectors are stored (``context.embeddings``).
    semantic: SemanticSpec | None = None


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


def is_peripheral_path(path: str) -> bool:
    """Tests, benches, examples, docs and vendored code: rarely what a request asks to change.

    A ``packages`` directory below the top level is a vendored copy in Python projects
    (``requests/packages/urllib3``); at the top level it is a monorepo's own code.
    """
    parts = path.lower().split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    return (
        any(p in PERIPHERAL_DIRS for p in parts[:-1])
        or "packages" in parts[1:-1]
        or stem.startswith("test_")
        or stem.endswith("_test")
        or stem in ("tests", "test", "conftest")
    )


@contextlib.contextmanager
def tables_for(index: IndexView) -> Iterator[Prepared]:
    """The ranking tables of ``index``, synced and locked for as long as the caller reads."""
    prep = tables_of(index)
    with prep.lock:
        prep.sync(index)
        yield prep


def prepared(index: IndexView) -> Prepared:
    """The synced tables of ``index``, unlocked: for single-threaded callers (benchmarks)."""
    with tables_for(index) as prep:
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


def _enclosing(definitions: list[Definition], line: int) -> Definition | None:
    best: Definition | None = None
    for d in definitions:
        if d.start_line <= line <= d.end_line and (
            best is None or d.end_line - d.start_line <= best.end_line - best.start_line
        ):
            best = d
    return best


def _rrf(ranking: Iterable[str], k: float) -> dict[str, float]:
    return {key: 1.0 / (k + i + 1) for i, key in enumerate(ranking)}


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
    file_deflex: dict[str, float] = field(default_factory=dict)
    walk: dict[str, float] = field(default_factory=dict)
    raise_site: dict[str, float] = field(default_factory=dict)
    semantic: dict[str, float] = field(default_factory=dict)  # best passage cosine per file
    latent: dict[str, float] = field(default_factory=dict)  # latent semantic cosine per file
    history_text: dict[str, float] = field(default_factory=dict)  # commit-message BM25 per file
    cochange: dict[str, float] = field(default_factory=dict)
    cochange_seeds: set[str] = field(default_factory=set)  # what the co-change list started from
    recency: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    def_reasons: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


def signals(prep: Prepared, request: ContextRequest, history: History | None = None) -> Signals:
    """Mentions, lexical scores, the personalized walk and, when given, embedding
    similarity and the project's history for ``request``."""
    terms = extract_terms(request.text, *request.diagnostics)
    sig = Signals()
    if request.semantic is not None:
        sig.semantic = query_for(prep, request.semantic).file_scores(prep)
    mention_file, reasons = sig.mention_file, sig.reasons
    _mentions(prep, terms, sig)
    _phrases(prep, terms, sig)
    for path, w in _match_paths(prep, terms.paths).items():
        mention_file[path] += 2.0 * w
        sig.explicit.add(path)
        reasons[path].append("path named in the request")
    _raise_sites(prep, terms, sig)
    if request.path and prep.has_symbols(request.path):
        mention_file[request.path] += 3.0
        sig.explicit.add(request.path)
        reasons[request.path].append("file under the cursor")
        lines = request.line_range or ((request.line, request.line) if request.line else None)
        if lines:
            enc = _enclosing(prep.definitions_of(request.path) or [], lines[0])
            di = prep.def_ids.get((enc.path, enc.start_byte, enc.qualname)) if enc else None
            if di is not None:
                sig.mention_def[di] += 3.0
                sig.def_reasons[di].append("definition under the cursor")
    # The editor's working set: what the user has open, and edited lately (the latest edit
    # counting most). Modest weights: a request is usually about something near the work at
    # hand, but not necessarily the file last touched.
    for path in request.open_paths:
        if path in prep.file_tokens:
            mention_file[path] += WORKING_SET_WEIGHT
            sig.explicit.add(path)
            reasons[path].append("open in the editor")
    for rank, path in enumerate(request.recent_paths):
        if path in prep.file_tokens:
            mention_file[path] += WORKING_SET_WEIGHT / (1 + rank)
            sig.explicit.add(path)
            reasons[path].append("recently edited")

    query = terms.tokens
    sig.file_lex = prep.file_bm25.scores(query)
    if prep.latent is not None:
        sig.latent = prep.latent.scores(query)
    # A definition (and a file) scores as its best passage.
    sig.passage_lex = prep.passage_bm25.scores(query)
    for k, s in sig.passage_lex.items():
        p, di = prep.passage_owner[k]
        if s > sig.file_deflex.get(p, 0.0):
            sig.file_deflex[p] = s
        if di is not None and s > sig.def_lex.get(di, 0.0):
            sig.def_lex[di] = s

    # Structure: restart the walk at the mentions and the head of the lexical (and, with
    # embeddings, the semantic) lists.
    seeds: dict[str, float] = defaultdict(float)
    total_mention = sum(mention_file.values())
    for path, w in mention_file.items():
        seeds[path] += w / total_mention
    for lex in (sig.file_deflex, sig.file_lex, sig.semantic):
        head = _ranked(lex)[:LEXICAL_SEEDS]
        if head:
            top = lex[head[0]]
            norm = sum(lex[p] / top for p in head)
            for p in head:
                seeds[p] += 0.5 * (lex[p] / top) / norm
    ppr = lift(personalized_pagerank(prep.graph, seeds), prep.global_rank, HUB_EXPONENT)
    sig.walk = {p: r for p, r in ppr.items() if p in prep.file_tokens}
    if history is not None:
        _history(prep, request, query, history, sig)
    return sig


def _history(prep: Prepared, request: ContextRequest, query: list[str], history: History,
             sig: Signals) -> None:
    """The history lists. Co-change is seeded by the fusion of the other lists (at the
    shipped weights), so it brings in what changes with the files already found."""
    known = prep.file_tokens
    sig.history_text = history.message_scores(query, known)
    sig.recency = history.recency(known)
    seeds = {p: 1.0 / (1 + i) for i, p in enumerate(_ranked(fused_scores(sig, FUSION))[:COCHANGE_SEEDS])}
    if request.path in known:
        seeds[request.path] = 1.0
    sig.cochange = history.cochange(seeds, known)
    sig.cochange_seeds = set(seeds)


def fused_scores(sig: Signals, weights: FusionWeights = FUSION) -> dict[str, float]:
    """Each file's reciprocal-rank-fusion score (files with no evidence are left out)."""
    fused: dict[str, float] = defaultdict(float)
    for scores, weight in ((sig.mention_file, weights.mentions), (sig.file_deflex, weights.definitions),
                           (sig.file_lex, weights.file_text), (sig.walk, weights.walk),
                           (sig.semantic, weights.semantic), (sig.latent, weights.latent),
                           (sig.history_text, weights.history_text),
                           (sig.cochange, weights.cochange), (sig.recency, weights.recency)):
        if not weight:  # a list switched off is not even sorted
            continue
        for p, s in _rrf(_ranked(scores), weights.rank_constant).items():
            fused[p] += weight * s
    # A raise site is precise where present: the innermost counts as two first places,
    # the frames above it half as much each, so their order survives the fusion.
    for p, w in sig.raise_site.items():
        fused[p] += weights.raise_site * w / (weights.rank_constant + 1.0)
    for p in list(fused):
        if is_peripheral_path(p) and p not in sig.explicit:
            fused[p] *= weights.peripheral
    return fused


def fuse(prep: Prepared, sig: Signals) -> tuple[list[RankedFile], list[RankedDefinition]]:
    """Reciprocal rank fusion of the signals, with reasons."""
    fused = fused_scores(sig)
    semantic_head = set(_ranked(sig.semantic)[:SEMANTIC_REASON_TOP])
    latent_head = set(_ranked(sig.latent)[:SEMANTIC_REASON_TOP])
    history_head = set(_ranked(sig.history_text)[:SEMANTIC_REASON_TOP])
    # The seeds head their own co-change list: "changed together" is said of what they bring.
    cochange_head = set([p for p in _ranked(sig.cochange) if p not in sig.cochange_seeds]
                        [:SEMANTIC_REASON_TOP])
    files: list[RankedFile] = []
    for p in _ranked(dict(fused)) + sorted(set(prep.files) - set(fused)):
        why = list(dict.fromkeys(sig.reasons.get(p, [])))
        if sig.file_deflex.get(p):
            why.append(f"lexical match with its definitions (bm25 {sig.file_deflex[p]:.1f})")
        elif sig.file_lex.get(p):
            why.append(f"lexical match with the file (bm25 {sig.file_lex[p]:.1f})")
        if p in semantic_head:
            why.append(f"similar in meaning to the request (cosine {sig.semantic[p]:.2f})")
        elif p in latent_head:
            why.append(f"shares this project's vocabulary with the request (latent cosine {sig.latent[p]:.2f})")
        if sig.walk.get(p) and not sig.mention_file.get(p):
            why.append(f"linked to the request's code (walk score {sig.walk[p]:.4f})")
        if p in history_head:
            why.append(f"the commits that changed it match the request (bm25 {sig.history_text[p]:.1f})")
        if p in cochange_head:
            why.append("changed together with the files above in past commits")
        files.append(RankedFile(path=p, score=round(fused.get(p, 0.0), 6), reasons=why,
                                tokens=prep.file_tokens.get(p, 0)))

    # Definitions: their own evidence, plus the standing of their file.
    file_rank = {f.path: i for i, f in enumerate(files)}
    def_scores: dict[int, float] = defaultdict(float)
    for id_ranking in (_ranked_ids(prep, dict(sig.mention_def)), _ranked_ids(prep, sig.def_lex)):
        for pos, di in enumerate(id_ranking):
            def_scores[di] += 1.0 / (RRF_K + pos + 1)
    for di in list(def_scores):
        def_scores[di] += 0.5 / (RRF_K + file_rank.get(prep.defs[di].path, len(files)) + 1)
    ranked_defs: list[RankedDefinition] = []
    for i in heapq.nsmallest(MAX_RANKED_DEFS, def_scores,
                            key=lambda x: (-def_scores[x], prep.place[x])):
        why = list(dict.fromkeys(sig.def_reasons.get(i, [])))
        if sig.def_lex.get(i):
            why.append(f"lexical match (bm25 {sig.def_lex[i]:.1f})")
        ranked_defs.append(RankedDefinition(prep.defs[i], round(def_scores[i], 6), why))
    return files, ranked_defs


def rank(index: IndexView, request: ContextRequest, history: History | None = None,
         ) -> tuple[list[RankedFile], list[RankedDefinition]]:
    """Every file ranked best first, and the definitions that matter, both with reasons."""
    with tables_for(index) as prep:
        return fuse(prep, signals(prep, request, history))


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
        for path in rarest or ():
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


def _raise_sites(prep: Prepared, terms: RequestTerms, sig: Signals) -> None:
    """The project's own code nearest to where the error was raised weighs most.

    A traceback names every frame from the entry point down; the fix is usually in the
    innermost frames that belong to the project (not in the test that triggered them, nor
    in the library code below them), so those files get extra weight, halving outward.
    """
    weight = 1.0
    seen: set[str] = set()
    for site in terms.raise_sites:
        matched = [p for p in _match_paths(prep, {site: None}) if not is_peripheral_path(p)]
        fresh = [p for p in matched if p not in seen]
        if not fresh:
            continue
        for path in fresh:
            sig.raise_site[path] = weight / len(fresh)
            sig.explicit.add(path)
            sig.reasons[path].append("where the reported error was raised")
        seen.update(fresh)
        weight /= 2.0
        if len(seen) >= MAX_RAISE_SITES:
            break


def _ranked_ids(prep: Prepared, scores: dict[int, float], limit: int = 1000) -> list[int]:
    """The ``limit`` best keys (beyond that, a rank-fusion share is negligible).

    Equal scores are ordered by where the definitions are, so the order does not depend on
    the ids the tables happened to give them.
    """
    place = prep.place
    best = heapq.nsmallest(limit, scores.items(), key=lambda kv: (-kv[1], place[kv[0]]))
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
