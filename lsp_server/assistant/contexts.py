"""The context engine as the assistant uses it: one project index, and contexts per request.

:class:`ProjectContext` owns the workspace's index (opened and built on first use, fed every
buffer change through an :class:`~lsp_server.context.index.feed.IndexFeed`), the context process
that builds contexts off the server's GIL (when asked for), and the embedding service (with
``context.embeddings`` on). :class:`RequestContexts` is one request's contexts, built once per
audience: the local model's, and the cloud models' (privacy-filtered and redacted).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lsp_server.assistant.local_budget import Speed, local_context_budget
from lsp_server.assistant.prompts import LOCAL_SYSTEM
from lsp_server.config import Settings, SettingsSource
from lsp_server.context.documents import Documents
from lsp_server.context.index.feed import IndexFeed
from lsp_server.context.tokens import count_tokens
from lsp_server.context.worker import ContextWorker, WorkerUnavailableError
from lsp_server.paths import state_dir
from lsp_server.routing.symbols import SymbolInfo, symbol_at

if TYPE_CHECKING:
    from lsp_server.assistant.values import AssistRequest, Target
    from lsp_server.context.index.project import IndexStats, ProjectIndex
    from lsp_server.context.rank.builder import ContextResult
    from lsp_server.context.rank.embeddings import SemanticSpec
    from lsp_server.embedding_service import EmbeddingService

log = logging.getLogger(__name__)

# How long a hover waits for an index that is being built before answering without it.
SYMBOL_WAIT_S = 1.0


class ProjectContext:
    """The workspace's index and context builders (see the module docstring)."""

    def __init__(self, root: Path, settings: SettingsSource, documents: Documents, *,
                 environ: Mapping[str, str] | None = None, context_process: bool = False) -> None:
        """``context_process``: build contexts in a child process (the language server's
        choice, so their CPU time never stalls its event loop); the CLI builds in-process."""
        self.root = root
        self.documents = documents
        self._settings = settings
        self._environ = environ
        self._context_process = context_process
        self._lock = threading.Lock()
        self._index: ProjectIndex | None = None
        self._feed: IndexFeed | None = None
        self._first_stats: IndexStats | None = None
        self._worker: ContextWorker | None = None
        self._embeddings: EmbeddingService | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._local_prefix: str | None = None
        settings.subscribe(self._settings_changed)

    # -- the index ---------------------------------------------------------------------------

    def index(self) -> ProjectIndex:
        """The index with every buffer change so far applied; the first call builds it."""
        with self._lock:
            if self._index is None:
                self._open()
            index, feed = self._index, self._feed
        assert index is not None and feed is not None
        feed.flush()
        return index

    def _open(self) -> None:
        from lsp_server.context.index.project import ProjectIndex

        index = ProjectIndex.open(self.root, settings=self._settings, documents=self.documents)
        feed = IndexFeed(index)
        feed.follow(self.documents)
        self._first_stats = index.refresh()
        self._index, self._feed = index, feed
        self._start_worker()

    def current(self) -> ProjectIndex | None:
        """The index if it is open (never builds it), with every buffer change applied."""
        index, feed = self._index, self._feed
        if index is None or feed is None:
            return None
        feed.flush()
        return index

    @property
    def worker(self) -> ContextWorker | None:
        """The context process's handle, while one was started."""
        return self._worker

    def _start_worker(self) -> None:
        """Start the context process once the store is current (it reads the index from it)."""
        if not self._context_process or self._worker is not None:
            return
        worker = ContextWorker(self.root, self._settings, self.documents)
        try:
            worker.start()
        except Exception:  # no child process: contexts are built here, as before
            log.warning("could not start the context process; building contexts in-process",
                        exc_info=True)
            return
        self._worker = worker

    def reindex(self) -> IndexStats:
        """Bring the index up to date with the disk (the first call builds it)."""
        with self._lock:
            opened = self._index is not None
        index = self.index()
        if not opened and self._first_stats is not None:
            return self._first_stats
        stats = index.refresh()
        if self._worker is not None:
            self._worker.refresh()
        return stats

    def prime(self) -> None:
        """Build the index's lazily derived name tables now (hover and classification read
        them), so the first hover does not pay for them and a caller can settle the heap after."""
        index = self.current()
        if index is not None:
            index.definitions_named("")
            index.references_named("")

    def symbol_info(self, rel: str, line: int, column: int) -> SymbolInfo | None:
        """What the index knows at a position (1-based line, 0-based column)."""
        index = self.current()
        if index is None:
            # The index is being built in the background: wait a little (callers run this in
            # a thread), then answer nothing rather than hold the hover for a whole build.
            if not self._lock.acquire(timeout=SYMBOL_WAIT_S):
                return None
            self._lock.release()
            index = self.index()
        return symbol_at(index, rel, line, column, self.documents.text(self.root / rel))

    def symbol_use(self, rel: str | None, line: int | None) -> tuple[int | None, int | None]:
        """How widely the definition at ``rel:line`` is used: references, and their files."""
        index = self.current()
        if rel is None or line is None or index is None:
            return None, None
        defn = index.definition_at(rel, line)
        if defn is None:
            return None, None
        refs = index.references_named(defn.name)
        return len(refs), len({r.path for r in refs})

    # -- building contexts -------------------------------------------------------------------

    @property
    def local_prefix(self) -> str | None:
        """The system text and context of the last prompt sent to a local model in this
        workspace: what the local server's prefix cache holds."""
        return self._local_prefix

    def sent_locally(self, prefix: str) -> None:
        """A local model was just sent a prompt opening with ``prefix``."""
        self._local_prefix = prefix

    def build(self, request: AssistRequest, target: Target, semantic: SemanticSpec | None,
              cloud: bool, budget_tokens: int | None = None) -> ContextResult:
        """Rank and cut the context for ``request`` (blocking: call from a thread), within
        ``budget_tokens`` (default ``context.budget_tokens``)."""
        from lsp_server.context.rank.builder import build_context
        from lsp_server.context.rank.ranking import ContextRequest

        creq = ContextRequest(
            text=request.instruction, path=target.rel, line=request.line,
            line_range=request.line_range, open_paths=self._relative(self.documents.open_paths()),
            recent_paths=self._relative(self.documents.recently_edited()),
            diagnostics=tuple(d.message for d in request.diagnostics), semantic=semantic,
        )
        settings = self._settings.current
        budget = settings.context.budget_tokens if budget_tokens is None else budget_tokens
        worker = self._worker
        if worker is not None and worker.alive:
            try:
                return worker.build_now(creq, budget_tokens=budget, for_cloud=cloud)
            except WorkerUnavailableError as exc:
                log.warning("context process: %s; building in-process", exc)
        return build_context(self.index(), creq, budget_tokens=budget, settings=settings,
                             for_cloud=cloud)

    def _relative(self, paths: list[Path]) -> tuple[str, ...]:
        """Project-relative POSIX paths, in order, of those inside the project."""
        out: list[str] = []
        for p in paths:
            try:
                out.append(p.resolve().relative_to(self.root).as_posix())
            except ValueError:
                continue
        return tuple(out)

    async def semantic(self, instruction: str) -> SemanticSpec | None:
        """The request's embedding when ``context.embeddings`` is on (None when the model is
        slow or absent)."""
        settings = self._settings.current
        if not settings.context.embeddings:
            return None
        if self._embeddings is None:
            from lsp_server.embedding_service import EmbeddingService

            self._embeddings = EmbeddingService(settings, state_dir(settings), self._environ)
        return await self._embeddings.spec_for(instruction)

    def built(self) -> None:
        """Embed what a build queued, in the background."""
        if self._embeddings is not None:
            self._embeddings.kick()

    # -- settings and closing ----------------------------------------------------------------

    def _settings_changed(self, old: Settings, new: Settings) -> None:
        service = self._embeddings
        if service is None or service.serves(new, self._environ):
            return
        self._embeddings = None
        try:
            task = asyncio.get_running_loop().create_task(service.aclose())
        except RuntimeError:  # no running loop: nothing left to close on
            return
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        if self._embeddings is not None:
            service, self._embeddings = self._embeddings, None
            await service.aclose()
        if self._worker is not None:
            worker, self._worker = self._worker, None
            await asyncio.to_thread(worker.close)
        if self._feed is not None:
            self._feed.close()
        if self._index is not None:
            index, self._index = self._index, None
            index.close()


@dataclass(frozen=True)
class LocalSizing:
    """How to size the local model's context (:mod:`~lsp_server.assistant.local_budget`):
    its measured speed (None: not measured yet), its first-token budget, the ceiling
    (``context.budget_tokens``) and the prompt's tokens outside the context."""

    speed: Speed | None
    first_token_s: float | None
    ceiling: int
    fixed_tokens: int

    def budget(self, reused_tokens: int = 0) -> int:
        return local_context_budget(self.speed, self.first_token_s, ceiling=self.ceiling,
                                    fixed_tokens=self.fixed_tokens, reused_tokens=reused_tokens)


class RequestContexts:
    """One request's context, built once per audience (local model / cloud model).

    With ``local_sizing`` the local context is cut to the local model's speed: first within
    what it can read with nothing cached; then, when the previous local prompt's prefix is
    known, counting the prefix this context shares with it as nearly free, which is kept only
    if the shared prefix really pays for the larger context."""

    def __init__(self, project: ProjectContext, request: AssistRequest, target: Target,
                 semantic: SemanticSpec | None = None,
                 local_sizing: LocalSizing | None = None) -> None:
        self._project = project
        self._request = request
        self._target = target
        self._semantic = semantic
        self._local_sizing = local_sizing
        self._built: dict[bool, ContextResult] = {}
        self._lock = threading.Lock()

    def get(self, cloud: bool) -> ContextResult:
        """The context for a cloud (True) or local (False) model; blocking on first build."""
        with self._lock:
            if cloud not in self._built:
                if cloud or self._local_sizing is None:
                    built = self._project.build(self._request, self._target, self._semantic,
                                                cloud)
                else:
                    built = self._sized_local(self._local_sizing)
                self._built[cloud] = built
            return self._built[cloud]

    def _sized_local(self, sizing: LocalSizing) -> ContextResult:
        def build(budget: int) -> ContextResult:
            return self._project.build(self._request, self._target, self._semantic, False,
                                       budget_tokens=budget)

        cold = sizing.budget()
        previous = self._project.local_prefix
        if previous is None:
            return build(cold)
        warm_budget = sizing.budget(reused_tokens=_context_tokens(previous))
        if warm_budget <= cold:
            return build(cold)
        warm = build(warm_budget)
        shared = _shared_start(previous, local_prefix(LOCAL_SYSTEM, warm))
        if warm.tokens <= sizing.budget(reused_tokens=_context_tokens(shared)):
            return warm
        return build(cold)

    async def aget(self, cloud: bool) -> ContextResult:
        """:meth:`get` off the event loop."""
        if cloud in self._built:
            return self._built[cloud]
        return await asyncio.to_thread(self.get, cloud)

    def peek(self, cloud: bool) -> ContextResult | None:
        return self._built.get(cloud)


def _shared_start(a: str, b: str) -> str:
    """The longest text both ``a`` and ``b`` start with."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def _context_tokens(prefix: str) -> int:
    """The tokens of a local prompt's ``prefix`` past the system text (which the sizing
    counts among the prompt's fixed part)."""
    return max(0, count_tokens(prefix) - count_tokens(LOCAL_SYSTEM))


def local_prefix(system: str, context: ContextResult) -> str:
    """What a local prompt with ``system`` and ``context`` opens with, before its tail."""
    return "\n\n".join(p for p in (system, context.stable, context.volatile) if p)
