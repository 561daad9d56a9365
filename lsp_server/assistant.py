"""The one pipeline both front ends run: request in, result out.

``Assistant.run`` classifies the request, answers index questions with no model, builds the
context (redacted for cloud models), runs the router's cascade with the edits engine as the
judge, and records the request and every attempt in the ledger. The LSP layer and the CLI only
translate arguments and results; nothing here imports pygls or lsprotocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pathspec

from lsp_server.config import ModelSettings, Settings, Tier
from lsp_server.context.documents import DocumentChange, Documents
from lsp_server.context.privacy import PrivacyFilter
from lsp_server.context.rank.terms import extract_terms
from lsp_server.context.tokens import count_tokens
from lsp_server.context_worker import ContextWorker, WorkerUnavailableError
from lsp_server.edits import FileChange, Verdict, system_prompt, unified_diff, verify
from lsp_server.errors import (
    ConfigError,
    NoModelAvailableError,
)
from lsp_server.ledger.prices import PriceBook, runs_locally
from lsp_server.ledger.store import Ledger
from lsp_server.ledger.variants import assign_variant
from lsp_server.paths import state_dir
from lsp_server.providers.base import Completion, Prompt, Provider, Usage
from lsp_server.routing.answers import judge_answer
from lsp_server.routing.cache import ResponseCache
from lsp_server.routing.classifier import Classification, Signals, classify
from lsp_server.routing.health import Health
from lsp_server.routing.kinds import TaskKind, is_task_kind, profile
from lsp_server.routing.prompting import ANSWER_SYSTEM, instruction_block, selection_text
from lsp_server.routing.router import AttemptInfo, Judgement, RoutePlan, Router, RouteResult
from lsp_server.routing.search import answer_search
from lsp_server.routing.symbols import SymbolInfo, symbol_at

if TYPE_CHECKING:
    from lsp_server.context.index.project import IndexStats, ProjectIndex
    from lsp_server.context.rank.builder import ContextResult
    from lsp_server.context.rank.embeddings import SemanticSpec
    from lsp_server.embedding_service import EmbeddingService

__all__ = [
    "AssistRequest",
    "AssistResult",
    "Assistant",
    "AttemptInfo",
    "Estimate",
    "SymbolInfo",
    "TaskKind",
]

log = logging.getLogger(__name__)

CACHE_FILENAME = "responses.sqlite3"
ENABLE_HINT = (
    "no model is available. Start Ollama and pull a model (`ollama serve`, then "
    "`ollama pull qwen2.5-coder:7b`), or set an API key (GROQ_API_KEY, GEMINI_API_KEY, "
    "ANTHROPIC_API_KEY or OPENAI_API_KEY), or list models in agentic-optimizer.toml "
    "([[models]] with provider, model and tier). Search questions (\"where is X defined\", "
    "\"who calls Y\") work without a model."
)


@dataclass(frozen=True)
class AssistRequest:
    """What the user asked. ``path`` is absolute; lines are 1-based and inclusive; the
    cursor is a 1-based line and a 0-based column."""

    kind: TaskKind
    instruction: str
    path: Path | None = None
    line_range: tuple[int, int] | None = None
    cursor: tuple[int, int] | None = None
    diagnostics: tuple[str, ...] = ()
    document_version: int | None = None
    dry_run: bool = False


@dataclass
class AssistResult:
    request_id: str
    kind: str
    answer: str | None
    changes: list[FileChange]
    diff: str
    attempts: list[AttemptInfo]
    cost_usd: float
    premium_cost_usd: float | None
    elapsed_ms: float
    tier: str | None
    model: str | None
    confidence: float | None
    notes: list[str] = field(default_factory=list)
    outcome: str = "accepted"
    document_version: int | None = None
    # Where the time went besides the models: classify_ms, context_ms, verify_ms.
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimate:
    tier: str
    model: str | None
    cost_usd: float | None
    reasons: list[str]


@dataclass
class _Target:
    rel: str | None
    text: str | None
    version: int | None


@dataclass
class _Rates:
    """USD per token for a model, computed once (pricing loads a snapshot on first use)."""

    input: float
    output: float


def _make_provider(model: ModelSettings, environ: Mapping[str, str] | None) -> Provider:
    from lsp_server.providers import make_provider

    return make_provider(model, environ)


class Assistant:
    """The pipeline for one workspace (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        settings: Settings,
        documents: Documents | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        context_process: bool = False,
    ) -> None:
        """``context_process``: build contexts in a child process (the language server's
        choice, so their CPU time never stalls its event loop); the CLI builds in-process."""
        self.root = Path(root).resolve()
        self.settings = settings
        self.documents = documents if documents is not None else Documents()
        self.environ = environ
        self._index: ProjectIndex | None = None
        self._index_stats: IndexStats | None = None
        self._privacy_filter: PrivacyFilter | None = None
        self._local_paths: pathspec.GitIgnoreSpec | None = None
        self._index_lock = threading.Lock()
        self._updates = _IndexUpdates(None)
        self._context_process = context_process
        self._worker: ContextWorker | None = None
        self._embeddings: EmbeddingService | None = None
        self._ledger: Ledger | None = None
        self._cache: ResponseCache | None = None
        self._providers: dict[str, Provider] = {}
        self._models: tuple[ModelSettings, ...] | None = settings.models or None
        self._rates: dict[str, _Rates | None] = {}
        self._premium_rates: _Rates | None = None
        self.health = Health(settings.routing.failures_before_cooldown,
                             settings.routing.cooldown_seconds)
        self.prices = PriceBook(settings)
        self._warm = threading.Thread(target=self._warm_up, name="assistant-warm-up", daemon=True)
        self._warm.start()

    # -- lazily opened parts ------------------------------------------------------------------

    def _warm_up(self) -> None:
        """Discover models and price them off the request path (estimates must be instant)."""
        try:
            models = self.models()
            for model in (*models, self.prices.premium_model):
                self._rates[model.name] = self._rate_of(model)
            self._premium_rates = self._rates.get(self.prices.premium_model.name)
        except Exception:  # warm-up is an optimisation; the request path reports real errors
            return

    def _rate_of(self, model: ModelSettings) -> _Rates | None:
        # A request-sized probe: some vendors charge more per token above 200k input tokens.
        probe = 10_000
        cost_in = self.prices.cost(model, Usage(input=probe))
        cost_out = self.prices.cost(model, Usage(output=probe))
        if cost_in is None or cost_out is None:
            return None
        return _Rates(cost_in / probe, cost_out / probe)

    def models(self) -> tuple[ModelSettings, ...]:
        """The models routed over: exactly the configured ones, else those discovered."""
        if self._models is None:
            from lsp_server.providers.discovery import discover

            self._models = discover(self.settings, self.environ)
        return self._models

    def has_models(self) -> bool:
        return bool(self.models())

    @property
    def index(self) -> ProjectIndex:
        with self._index_lock:
            if self._index is None:
                from lsp_server.context.index.project import ProjectIndex

                # The index reads buffer text from the overlay but hears of changes through
                # ``_IndexUpdates``, so didChange never waits for a re-parse.
                index = ProjectIndex.open(self.root, settings=self.settings, documents=None)
                index.documents = self.documents
                self._updates = _IndexUpdates(index)
                self.documents.subscribe(self._updates.put)
                for path in self.documents.open_paths():
                    doc = self.documents.get(path)
                    if doc is not None:
                        self._updates.put(DocumentChange(doc.path, doc.text, doc.version, ()))
                self._index_stats = index.refresh()
                self._index = index
                self._start_worker()
            index = self._index
        self._updates.flush()
        return index

    def _current_index(self) -> ProjectIndex | None:
        """The index if it is open, with every buffer change made so far applied."""
        index = self._index
        if index is not None:
            self._updates.flush()
        return index

    def _start_worker(self) -> None:
        """Start the context process once the store is current (it reads the index from it)."""
        if not self._context_process or self._worker is not None:
            return
        worker = ContextWorker(self.root, self.settings, self.documents)
        try:
            worker.start()
        except Exception:  # no child process: contexts are built here, as before
            log.warning("could not start the context process; building contexts in-process",
                        exc_info=True)
            return
        self._worker = worker

    def _index_ready(self) -> None:
        """Open (and on first use build) the index; for a worker thread."""
        self.index  # noqa: B018

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger.open(settings=self.settings)
        return self._ledger

    @property
    def cache(self) -> ResponseCache:
        if self._cache is None:
            self._cache = ResponseCache(state_dir(self.settings) / CACHE_FILENAME, self.settings.cache)
        return self._cache

    def _provider(self, model: ModelSettings) -> Provider:
        provider = self._providers.get(model.name)
        if provider is None:
            provider = _make_provider(model, self.environ)
            self._providers[model.name] = provider
        return provider

    def _router(self) -> Router:
        return Router(
            self.models(), settings=self.settings, connect=self._provider, cost=self.prices.cost,
            premium_cost=self.prices.premium_cost, health=self.health, cache=self.cache,
            count_tokens=count_tokens,
        )

    # -- paths and privacy --------------------------------------------------------------------

    def _relative(self, path: Path | None) -> str | None:
        if path is None:
            return None
        absolute = (path if path.is_absolute() else self.root / path).resolve()
        try:
            return absolute.relative_to(self.root).as_posix()
        except ValueError:
            raise ConfigError(f"{path} is outside the project {self.root}") from None

    def _target(self, request: AssistRequest) -> _Target:
        rel = self._relative(request.path)
        if rel is None:
            return _Target(None, None, None)
        absolute = self.root / rel
        text = self.documents.text(absolute)
        version = self.documents.version(absolute)
        return _Target(rel, text, version if version is not None else request.document_version)

    def _privacy(self) -> PrivacyFilter:
        if self._privacy_filter is None:
            self._privacy_filter = PrivacyFilter.from_settings(self.settings.privacy)
        return self._privacy_filter

    def _local_only(self, rel: str | None) -> str | None:
        """Why this request must stay on the local tier, or None."""
        privacy = self.settings.privacy
        if privacy.local_only:
            return "privacy.local_only is set: the request stays on the local tier"
        if rel is not None and privacy.local_only_paths:
            if self._local_paths is None:
                self._local_paths = pathspec.GitIgnoreSpec.from_lines(privacy.local_only_paths)
            if self._local_paths.match_file(rel):
                return f"{rel} matches privacy.local_only_paths: the request stays on the local tier"
        if rel is not None and self._privacy().is_excluded(rel):
            return f"{rel} is excluded by the privacy settings: the request stays on the local tier"
        return None

    # -- classification -----------------------------------------------------------------------

    def _symbol_use(self, rel: str | None, request: AssistRequest) -> tuple[int | None, int | None]:
        """How widely the symbol being changed is used: references, and files they are in."""
        index = self._current_index()
        if rel is None or index is None:
            return None, None
        line = request.cursor[0] if request.cursor else (request.line_range[0] if request.line_range else None)
        if line is None:
            return None, None
        defn = index.definition_at(rel, line)
        if defn is None:
            return None, None
        refs = index.references_named(defn.name)
        return len(refs), len({r.path for r in refs})

    def _signals(self, request: AssistRequest, rel: str | None, *, with_index: bool) -> Signals:
        lines = None
        if request.line_range is not None:
            lines = max(1, request.line_range[1] - request.line_range[0] + 1)
        named = set(extract_terms(request.instruction).paths)
        if rel is not None:
            named.add(rel)
        refs, ref_files = self._symbol_use(rel, request) if with_index else (None, None)
        return Signals(
            kind=request.kind, instruction=request.instruction, has_path=rel is not None,
            target_lines=lines, files=max(1, len(named)), symbol_refs=refs, ref_files=ref_files,
            diagnostics=len(request.diagnostics),
        )

    def _variant_threshold(self, request_id: str) -> tuple[float, str | None]:
        variant = assign_variant(request_id, self.settings.variants)
        threshold = self.settings.routing.escalate_below
        if variant is not None and variant.escalate_below is not None:
            threshold = variant.escalate_below
        return threshold, variant.name if variant is not None else None

    # -- the public API -----------------------------------------------------------------------

    def estimate(self, kind: TaskKind, path: Path | None,
                 line_range: tuple[int, int] | None) -> Estimate:
        """The starting tier and a rough cost, instantly (no I/O, no model): for action titles."""
        rel: str | None = None
        if path is not None:
            try:
                rel = Path(path).relative_to(self.root).as_posix() if path.is_absolute() else path.as_posix()
            except ValueError:
                rel = None
        lines = None if line_range is None else max(1, line_range[1] - line_range[0] + 1)
        cls = classify(Signals(kind=kind, instruction="", has_path=path is not None, target_lines=lines),
                       self.settings.routing.tier_order)
        reasons = list(cls.reasons)
        if cls.tier is None:
            return Estimate("index", None, 0.0, reasons)
        models = self._models if self._models is not None else self.settings.models
        allowed = self._allowed(rel)
        model = self._first_model(models, cls.tier, allowed)
        if model is None:
            return Estimate(cls.tier, None, None, [*reasons, "no model configured for this tier yet"])
        if model.tier != cls.tier:
            reasons.append(f"no usable {cls.tier} model: {model.name} on the {model.tier} tier")
        tokens_in = 400 + int(self.settings.context.budget_tokens * 0.75) + 12 * (lines or 20)
        tokens_out = profile(cls.kind).output_tokens
        if runs_locally(model) and model.price is None:
            cost: float | None = 0.0
        else:
            rates = self._rates.get(model.name)
            cost = None if rates is None else rates.input * tokens_in + rates.output * tokens_out
        return Estimate(model.tier, model.name, cost, reasons)

    def _allowed(self, rel: str | None) -> frozenset[Tier]:
        if self._local_only(rel) is not None:
            return frozenset({"local"})
        return frozenset(self.settings.routing.tier_order)

    def _first_model(self, models: tuple[ModelSettings, ...], start: Tier,
                     allowed: frozenset[Tier]) -> ModelSettings | None:
        order = list(self.settings.routing.tier_order)
        begin = order.index(start) if start in order else 0
        for tier in [*order[begin:], *reversed(order[:begin])]:
            if tier not in allowed:
                continue
            for m in models:
                if m.tier == tier and self.health.available(m.name):
                    return m
        return None

    async def run(self, request: AssistRequest, *,
                  progress: Callable[[str], None] | None = None) -> AssistResult:
        """Answer or edit (see the module docstring). Cancelling records ``cancelled`` and
        re-raises CancelledError."""
        if not is_task_kind(request.kind):
            raise ConfigError(f"unknown task kind {request.kind!r}")
        if not request.instruction.strip():
            raise ConfigError("the instruction is empty")
        if request.dry_run:
            plan = await self.plan(request)
            return AssistResult(
                request_id="", kind=request.kind, answer=format_plan(plan), changes=[], diff="",
                attempts=[], cost_usd=0.0, premium_cost_usd=None, elapsed_ms=0.0,
                tier=plan.get("tier"), model=plan.get("model"), confidence=None,
                notes=list(plan.get("notes", [])), outcome="dry_run",
            )
        t0 = time.perf_counter()
        timings: dict[str, float] = {"classify_ms": 0.0, "context_ms": 0.0, "verify_ms": 0.0}
        target = self._target(request)
        first = classify(self._signals(request, target.rel, with_index=False), self.settings.routing.tier_order)
        timings["classify_ms"] += (time.perf_counter() - t0) * 1000
        if first.search is not None:
            return await asyncio.to_thread(self._answer_search, request, first, t0)
        if not self.models():
            raise NoModelAvailableError(ENABLE_HINT)
        if progress is not None:
            progress("building context")
        contexts = _Contexts(self, request, target, await self._semantic(request))
        # Index work and context building stay off the event loop: the editor is answered
        # meanwhile. Only the audience of the first model to be tried is built now; another
        # is built (in a thread too) if the cascade reaches a model that needs it.
        t1 = time.perf_counter()
        await asyncio.to_thread(self._index_ready)
        cls = await asyncio.to_thread(
            lambda: classify(self._signals(request, target.rel, with_index=True),
                             self.settings.routing.tier_order))
        t2 = time.perf_counter()
        assert cls.tier is not None
        allowed = self._allowed(target.rel)
        first_model = self._first_model(self.models(), cls.tier, allowed)
        await asyncio.to_thread(contexts.get, first_model is not None and first_model.tier != "local")
        self._after_context()
        timings["classify_ms"] += (t2 - t1) * 1000
        timings["context_ms"] += (time.perf_counter() - t2) * 1000
        request_id = uuid.uuid4().hex[:16]
        threshold, variant = self._variant_threshold(request_id)
        notes: list[str] = []
        local_reason = self._local_only(target.rel)
        if local_reason:
            notes.append(local_reason)
        ledger = self.ledger
        ledger.start_request(kind=request.kind, workspace=str(self.root), classification=cls.label(),
                             reasons=cls.reasons, variant=variant, request_id=request_id)
        recorded: list[AttemptInfo] = []

        def record(info: AttemptInfo) -> None:
            recorded.append(info)
            ledger.record_attempt(
                request_id, provider=info.provider, model=info.model, tier=info.tier,
                usage=info.usage, cost_usd=info.cost_usd, latency_ms=info.latency_ms,
                confidence=info.confidence, error_class=info.error, reasons=info.reasons,
            )

        route_plan = RoutePlan(start=cls.tier, tiers=tuple(self.settings.routing.tier_order),
                         allowed=allowed, output_tokens=profile(cls.kind).output_tokens)
        try:
            routed = await self._router().run(
                route_plan,
                prompt_for=lambda model, failure: self._prompt_for(model, request, cls, target,
                                                                   contexts, failure),
                judge=lambda model, text, completion: self._judge(model, text, completion, cls,
                                                                  target, request, threshold,
                                                                  timings),
                record=record, spent_today=ledger.spent_today, progress=progress,
            )
        except BaseException as exc:
            # Cancelled, or an engine error: the request still gets an outcome and its spend.
            elapsed = (time.perf_counter() - t0) * 1000
            outcome = "cancelled" if isinstance(exc, asyncio.CancelledError) else "failed"
            ledger.finish_request(request_id, outcome=outcome,
                                  cost_usd=sum(a.cost_usd or 0.0 for a in recorded),
                                  premium_cost_usd=None, latency_ms=elapsed)
            raise
        result = self._finish(request, cls, target, routed, request_id, t0, notes, contexts)
        result.timings = timings
        return result

    def _prompt_for(self, model: ModelSettings, request: AssistRequest, cls: Classification,
                    target: _Target, contexts: _Contexts,
                    failure: str | None) -> Prompt | Awaitable[Prompt]:
        """The prompt at once if its context is built, else a coroutine that builds it in a
        thread first (the router runs on the event loop)."""
        cloud = model.tier != "local"
        if contexts.ready(cloud):
            return self._prompt(model, request, cls, target, contexts, failure)

        async def later() -> Prompt:
            await asyncio.to_thread(contexts.get, cloud)
            return self._prompt(model, request, cls, target, contexts, failure)

        return later()

    def _prompt(self, model: ModelSettings, request: AssistRequest, cls: Classification,
                target: _Target, contexts: _Contexts, failure: str | None) -> Prompt:
        cloud = model.tier != "local"
        ctx = contexts.get(cloud)
        if cls.mode == "edit":
            system = system_prompt(cls.edit_kind or "rewrite", model.effective_edit_format)
        elif cls.kind == "explain":
            system = system_prompt("explain", model.effective_edit_format)
        else:
            system = ANSWER_SYSTEM
        selection = selection_text(target.text, request.line_range)
        instruction = request.instruction
        diagnostics = list(request.diagnostics)
        if cloud:
            privacy = self._privacy()
            name = target.rel or "context.txt"
            if selection is not None:
                selection, _ = privacy.redact(selection, name)
            instruction, _ = privacy.redact(instruction, name)
            diagnostics = [privacy.redact(d, name)[0] for d in diagnostics]
        language = ""
        if target.rel is not None:
            from lsp_server.context.index.languages import language_for

            spec = language_for(target.rel)
            language = spec.name if spec is not None else ""
        tail = instruction_block(instruction, path=target.rel, line_range=request.line_range,
                                 selection=selection, diagnostics=diagnostics, failure=failure,
                                 language=language)
        return Prompt(system=system, stable=ctx.stable, volatile=ctx.volatile, instruction=tail,
                      max_output_tokens=model.max_output_tokens, temperature=model.temperature)

    async def _judge(self, model: ModelSettings, text: str, completion: Completion | None,
                     cls: Classification, target: _Target, request: AssistRequest,
                     threshold: float, timings: dict[str, float]) -> Judgement:
        start = time.perf_counter()
        try:
            return await self._verdict(model, text, completion, cls, target, request, threshold)
        finally:
            timings["verify_ms"] += (time.perf_counter() - start) * 1000

    async def _verdict(self, model: ModelSettings, text: str, completion: Completion | None,
                       cls: Classification, target: _Target, request: AssistRequest,
                       threshold: float) -> Judgement:
        if cls.mode != "edit":
            stop = completion.stop_reason if completion is not None else None
            confidence, reasons = judge_answer(text, stop)
            return Judgement(confidence >= threshold, confidence, reasons, text)
        def read_text(rel: str) -> str | None:
            return self.documents.text(self.root / rel)

        verdict: Verdict = await asyncio.to_thread(
            verify, text, edit_format=model.effective_edit_format, read_text=read_text,
            root=self.root, settings=self.settings, target_path=target.rel,
            target_lines=request.line_range, threshold=threshold, run_check=True,
        )
        return Judgement(verdict.accepted, verdict.confidence, list(verdict.reasons), verdict)

    def _finish(self, request: AssistRequest, cls: Classification, target: _Target,
                routed: RouteResult, request_id: str, t0: float, notes: list[str],
                contexts: _Contexts) -> AssistResult:
        notes = [*notes, *routed.notes]
        changes: list[FileChange] = []
        diff = ""
        answer: str | None = None
        judgement = routed.judgement
        if judgement is not None:
            if cls.mode == "edit":
                changes = list(judgement.payload.changes)
                diff = unified_diff(changes)
            else:
                answer = str(judgement.payload)
        elif routed.best is not None:
            notes.append(
                f"no answer reached the confidence threshold (best {routed.best.confidence or 0:.2f}): "
                + "; ".join(routed.best.reasons))
        elif not routed.attempts:
            notes.append("no model could be called for this request")
        cloud_ctx = contexts.peek(True)
        if cloud_ctx is not None and cloud_ctx.redactions and any(
                a.tier != "local" for a in routed.attempts):
            notes.append(f"{cloud_ctx.redactions} secret(s) redacted before the cloud call")
        winner = routed.winner
        completed = [a for a in routed.attempts if a.error is None]
        premium = winner.premium_cost_usd if winner else (completed[-1].premium_cost_usd if completed else None)
        elapsed = (time.perf_counter() - t0) * 1000
        outcome = routed.outcome
        self.ledger.finish_request(request_id, outcome=outcome, cost_usd=routed.cost_usd,
                                   premium_cost_usd=premium, latency_ms=elapsed)
        return AssistResult(
            request_id=request_id, kind=request.kind, answer=answer, changes=changes, diff=diff,
            attempts=routed.attempts, cost_usd=routed.cost_usd, premium_cost_usd=premium,
            elapsed_ms=elapsed, tier=winner.tier if winner else None,
            model=winner.model if winner else None,
            confidence=(winner.confidence if winner else (routed.best.confidence if routed.best else None)),
            notes=notes, outcome=outcome, document_version=target.version,
        )

    def _answer_search(self, request: AssistRequest, cls: Classification, t0: float) -> AssistResult:
        assert cls.search is not None
        index = self.index
        all_defs = []
        if cls.search.op == "impls":
            for rel in index.files():
                symbols = index.file(rel)
                if symbols is not None:
                    all_defs.extend(symbols.definitions)
        found = answer_search(index, cls.search, all_definitions=all_defs)
        request_id = uuid.uuid4().hex[:16]
        # What the premium model would have charged: the context it would have been sent, and
        # an answer as long as the index's.
        ctx = _Contexts(self, request, _Target(None, None, None)).get(True)
        sent = count_tokens(ANSWER_SYSTEM) + ctx.tokens + count_tokens(request.instruction)
        usage = Usage(input=sent, output=count_tokens(found.text))
        premium = self.prices.premium_cost(usage)
        elapsed = (time.perf_counter() - t0) * 1000
        ledger = self.ledger
        ledger.start_request(kind=request.kind, workspace=str(self.root), classification=cls.label(),
                             reasons=cls.reasons, request_id=request_id)
        ledger.finish_request(request_id, outcome="index", cost_usd=0.0, premium_cost_usd=premium,
                              latency_ms=elapsed)
        return AssistResult(
            request_id=request_id, kind="search", answer=found.text, changes=[], diff="",
            attempts=[], cost_usd=0.0, premium_cost_usd=premium, elapsed_ms=elapsed, tier=None,
            model=None, confidence=1.0 if found.hits else None,
            notes=[f"answered from the index ({cls.search.describe()}): no model, $0"],
            outcome="index", document_version=request.document_version,
        )

    async def plan(self, request: AssistRequest) -> dict[str, Any]:
        """The ``--dry-run`` view: the tier and why, the context, the cost on each tier. No call."""
        target = self._target(request)
        first = classify(self._signals(request, target.rel, with_index=False), self.settings.routing.tier_order)
        if first.search is not None:
            return {"mode": "search", "tier": None, "model": None, "reasons": list(first.reasons),
                    "search": first.search.describe(), "tiers": [], "notes": [],
                    "context": None}
        contexts = _Contexts(self, request, target, await self._semantic(request))
        local_ctx = await asyncio.to_thread(contexts.get, False)
        self._after_context()
        cls = classify(self._signals(request, target.rel, with_index=True), self.settings.routing.tier_order)
        assert cls.tier is not None
        allowed = self._allowed(target.rel)
        notes = [r for r in (self._local_only(target.rel),) if r]
        models = self.models()
        if not models:
            notes.append(ENABLE_HINT)
        chosen = self._first_model(models, cls.tier, allowed)
        tiers: list[dict[str, Any]] = []
        out_tokens = profile(cls.kind).output_tokens
        cloud_ctx: ContextResult | None = None
        for tier in self.settings.routing.tier_order:
            for model in [m for m in models if m.tier == tier]:
                if model.tier != "local" and cloud_ctx is None:
                    cloud_ctx = await asyncio.to_thread(contexts.get, True)
                prompt = self._prompt(model, request, cls, target, contexts, None)
                tokens_in = count_tokens(prompt.text())
                usage = Usage(input=tokens_in, output=min(out_tokens, model.max_output_tokens))
                tiers.append({
                    "tier": tier, "model": model.name, "provider": model.provider,
                    "input_tokens": tokens_in, "output_tokens": usage.output,
                    "cost_usd": self.prices.cost(model, usage),
                    "allowed": tier in allowed, "cooling_down": not self.health.available(model.name),
                })
        premium_usage = Usage(input=count_tokens(local_ctx.text) + 400, output=out_tokens)
        return {
            "mode": cls.mode, "kind": cls.kind, "tier": chosen.tier if chosen else cls.tier,
            "model": chosen.name if chosen else None, "reasons": list(cls.reasons),
            "score": cls.score, "threshold": self.settings.routing.escalate_below,
            "context": {
                "files": [f.path for f in local_ctx.files if f.in_context],
                "tokens": local_ctx.tokens, "budget": local_ctx.budget,
                "cloud_tokens": cloud_ctx.tokens if cloud_ctx is not None else None,
                "excluded": cloud_ctx.excluded if cloud_ctx is not None else [],
                "redactions": cloud_ctx.redactions if cloud_ctx is not None else 0,
            },
            "tiers": tiers,
            "premium_cost_usd": self.prices.premium_cost(premium_usage),
            "budget": {"daily_usd": self.settings.budget.daily_usd,
                       "spent_today_usd": self.ledger.spent_today(),
                       "per_request_usd": self.settings.budget.per_request_usd},
            "notes": notes,
        }

    def symbol_info(self, path: Path, line: int, column: int) -> SymbolInfo | None:
        """What the index knows at a position (1-based line, 0-based column)."""
        try:
            rel = self._relative(path)
        except ConfigError:
            return None
        if rel is None:
            return None
        index = self._current_index()
        if index is None:
            # The index is being built in the background: wait a little (callers run this in
            # a thread), then answer nothing rather than hold the hover for a whole build.
            if not self._index_lock.acquire(timeout=SYMBOL_WAIT_S):
                return None
            self._index_lock.release()
            index = self.index
        return symbol_at(index, rel, line, column, self.documents.text(self.root / rel))

    def prime(self) -> None:
        """Build the index's lazily derived name tables now (hover and classification read
        them), so the first hover does not pay for them and a caller can settle the heap after."""
        index = self._current_index()
        if index is not None:
            index.definitions_named("")
            index.references_named("")

    def feedback(self, request_id: str, *, rating: int | None = None, rejected: bool = False) -> None:
        self.ledger.feedback(request_id, rating=rating, rejected=rejected)

    def today(self) -> dict[str, Any]:
        """Today's spend for status bars."""
        totals = self.ledger.day_totals()
        return {
            "spent_usd": round(float(totals["spent_usd"]), 6),
            "premium_usd": round(float(totals["premium_usd"]), 6),
            "saved_usd": round(float(totals["saved_usd"]), 6),
            "requests": int(totals["requests"]),
        }

    def metrics_text(self) -> str:
        from lsp_server.ledger.render import render_plain

        return render_plain(self.ledger.summary())

    def reindex(self) -> IndexStats:
        """Bring the index up to date with the disk (the first call builds it)."""
        with self._index_lock:
            opened = self._index is not None
        index = self.index
        if not opened and self._index_stats is not None:
            return self._index_stats
        stats = index.refresh()
        if self._worker is not None:
            self._worker.refresh()
        return stats

    def update_settings(self, settings: Settings) -> None:
        """Take new settings: models, routing, budget, privacy and cache limits apply at once."""
        old_models = self._models
        self.settings = settings
        self.prices = PriceBook(settings)
        self._privacy_filter = None
        self._local_paths = None
        self.health.failures_before_cooldown = settings.routing.failures_before_cooldown
        self.health.cooldown_seconds = settings.routing.cooldown_seconds
        self._models = settings.models or None
        if self._models != old_models:
            stale = list(self._providers.values())
            self._providers = {}
            self._rates = {}
            _close_later(stale)
            self._warm = threading.Thread(target=self._warm_up, name="assistant-warm-up", daemon=True)
            self._warm.start()
        if self._cache is not None:
            self._cache.settings = settings.cache
        if self._ledger is not None:
            self._ledger.settings = settings
        if self._index is not None and hasattr(self._index, "update_settings"):
            self._index.update_settings(settings)
        if self._worker is not None:
            self._worker.update_settings(settings)
        if self._embeddings is not None and not self._embeddings.serves(settings, self.environ):
            service, self._embeddings = self._embeddings, None
            with contextlib.suppress(RuntimeError):  # no running loop: nothing left to close on
                task = asyncio.get_running_loop().create_task(service.aclose())
                _CLOSING.add(task)
                task.add_done_callback(_CLOSING.discard)

    async def _semantic(self, request: AssistRequest) -> SemanticSpec | None:
        """The request's embedding when ``context.embeddings`` is on (None when the model is
        slow or absent)."""
        if not self.settings.context.embeddings:
            return None
        if self._embeddings is None:
            from lsp_server.embedding_service import EmbeddingService

            self._embeddings = EmbeddingService(self.settings, state_dir(self.settings), self.environ)
        return await self._embeddings.spec_for(request.instruction)

    def _after_context(self) -> None:
        """Embed what this build queued, in the background."""
        if self._embeddings is not None:
            self._embeddings.kick()

    async def aclose(self) -> None:
        if self._embeddings is not None:
            service, self._embeddings = self._embeddings, None
            await service.aclose()
        if self._worker is not None:
            worker, self._worker = self._worker, None
            await asyncio.to_thread(worker.close)
        for provider in list(self._providers.values()):
            try:
                await provider.aclose()
            except Exception:  # closing must not mask the shutdown
                continue
        self._providers = {}
        if self._cache is not None:
            self._cache.close()
            self._cache = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        self._updates.close()
        if self._index is not None and hasattr(self._index, "close"):
            self._index.close()
            self._index = None


# How long a hover waits for an index that is being built before answering without it.
SYMBOL_WAIT_S = 1.0

# How long typing must pause before buffer changes are applied to the index unasked.
INDEX_QUIET_S = 0.05


class _IndexUpdates:
    """Buffer changes reach the index from one thread, in order, off the caller's path.

    ``didChange`` runs on the server's event loop: the overlay takes the new text at once, but
    re-parsing and re-extracting a large file takes milliseconds of mostly GIL-holding work.
    Changes are applied once typing pauses for :data:`INDEX_QUIET_S` (a burst of keystrokes
    does not compete with the requests that follow each one), or at once when a reader needs
    the index: readers :meth:`flush` first, so they see every change made before they asked.
    A change not newer than one already applied (the start-up snapshot racing an event) is
    skipped.
    """

    def __init__(self, index: ProjectIndex | None) -> None:
        self._index = index
        self._queue: deque[DocumentChange] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._flushing = 0
        self._last_put = 0.0
        self._closed = index is None
        self._versions: dict[Path, int] = {}
        if index is not None:
            threading.Thread(target=self._run, name="index-updates", daemon=True).start()

    def put(self, change: DocumentChange) -> None:
        with self._cond:
            if not self._closed:
                self._queue.append(change)
                self._last_put = time.monotonic()
                self._cond.notify_all()

    def flush(self) -> None:
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: self._closed or (not self._queue and not self._busy))
            finally:
                self._flushing -= 1

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()

    def _in_order(self, change: DocumentChange) -> DocumentChange | None:
        last = self._versions.get(change.path)
        if change.closed:
            self._versions.pop(change.path, None)
            return change
        if last is not None and change.version <= last:
            return None
        self._versions[change.path] = change.version
        if last is None and change.edits:  # edits from a version the index never saw
            return DocumentChange(change.path, change.text, change.version, ())
        return change

    def _run(self) -> None:
        assert self._index is not None
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or bool(self._queue))
                while not self._closed and not self._flushing:
                    quiet = time.monotonic() - self._last_put
                    if quiet >= INDEX_QUIET_S:
                        break
                    self._cond.wait(INDEX_QUIET_S - quiet)
                if self._closed:
                    return
                change = self._queue.popleft()
                self._busy = True
            try:
                ordered = self._in_order(change)
                if ordered is not None:
                    self._index.update_document(ordered)  # logs and recovers, never raises
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


class _Contexts:
    """The request's context, built once per audience (local model / cloud model)."""

    def __init__(self, assistant: Assistant, request: AssistRequest, target: _Target,
                 semantic: SemanticSpec | None = None) -> None:
        self.assistant = assistant
        self.request = request
        self.target = target
        self.semantic = semantic
        self._built: dict[bool, ContextResult] = {}
        self._lock = threading.Lock()

    def get(self, cloud: bool) -> ContextResult:
        with self._lock:
            if cloud not in self._built:
                self._built[cloud] = self._build(cloud)
            return self._built[cloud]

    def ready(self, cloud: bool) -> bool:
        return cloud in self._built

    def peek(self, cloud: bool) -> ContextResult | None:
        return self._built.get(cloud)

    def _build(self, cloud: bool) -> ContextResult:
        from lsp_server.context.rank.builder import build_context
        from lsp_server.context.rank.ranking import ContextRequest

        a = self.assistant
        open_paths: list[str] = []
        for p in a.documents.open_paths():
            try:
                open_paths.append(p.resolve().relative_to(a.root).as_posix())
            except ValueError:
                continue
        req = self.request
        line = req.cursor[0] if req.cursor else (req.line_range[0] if req.line_range else None)
        creq = ContextRequest(
            text=req.instruction, path=self.target.rel, line=line, line_range=req.line_range,
            open_paths=tuple(open_paths), diagnostics=tuple(req.diagnostics),
            semantic=self.semantic,
        )
        worker = a._worker
        if worker is not None and worker.alive:
            try:
                return worker.build_now(creq, budget_tokens=a.settings.context.budget_tokens,
                                        for_cloud=cloud)
            except WorkerUnavailableError as exc:
                log.warning("context process: %s; building in-process", exc)
        return build_context(a.index, creq, budget_tokens=a.settings.context.budget_tokens,
                             settings=a.settings, for_cloud=cloud)


_CLOSING: set[asyncio.Task[None]] = set()


def _close_later(providers: list[Provider]) -> None:
    """Close replaced providers on the running loop, if there is one."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for provider in providers:
        task = loop.create_task(provider.aclose())
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)


def format_plan(plan: dict[str, Any]) -> str:
    """The dry-run plan as text for a terminal."""
    if plan.get("mode") == "search":
        return (f"search: {plan.get('search')} — answered from the index, no model, $0\n"
                + "\n".join(f"  - {r}" for r in plan.get("reasons", [])))
    lines = [f"mode: {plan['mode']}   start tier: {plan['tier']}   model: {plan.get('model') or '-'}"]
    lines.append("why:")
    lines += [f"  - {r}" for r in plan.get("reasons", [])]
    ctx = plan.get("context") or {}
    files = ctx.get("files", [])
    lines.append(f"context: {ctx.get('tokens', 0)} tokens of {ctx.get('budget', 0)} from "
                 f"{len(files)} file(s)" + (f": {', '.join(files[:12])}" if files else ""))
    if ctx.get("excluded"):
        lines.append(f"  excluded from cloud prompts: {', '.join(ctx['excluded'])}")
    if ctx.get("redactions"):
        lines.append(f"  secrets redacted for cloud models: {ctx['redactions']}")
    lines.append("estimated cost per tier:")
    for t in plan.get("tiers", []):
        cost = t["cost_usd"]
        shown = "unpriced" if cost is None else f"${cost:.5f}"
        flags = "" if t["allowed"] else "  (not allowed: privacy)"
        if t.get("cooling_down"):
            flags += "  (cooling down)"
        lines.append(f"  {t['tier']:<8} {t['model']:<20} {t['input_tokens']:>6} in / "
                     f"{t['output_tokens']:>5} out  {shown}{flags}")
    premium = plan.get("premium_cost_usd")
    if premium is not None:
        lines.append(f"premium model alone: ${premium:.5f}")
    for note in plan.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)
