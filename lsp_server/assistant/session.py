"""The assistant of one workspace: opens its parts when first needed and closes them.

:class:`Assistant` is the one stateful object the language server and the CLI hold. It owns the
parts a request runs through (the models, the privacy policy, the index and context builders,
the ledger, the response cache) and reads settings from one
:class:`~lsp_server.config.SettingsSource`, which the front end replaces when the user changes
them. Running a request is the pipeline's job (:mod:`~lsp_server.assistant.pipeline`);
planning and estimates are :mod:`~lsp_server.assistant.planning`'s.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from lsp_server.assistant import pipeline, planning
from lsp_server.assistant.contexts import ProjectContext
from lsp_server.assistant.models import ModelPool
from lsp_server.assistant.policy import PrivacyPolicy
from lsp_server.assistant.targets import relative
from lsp_server.assistant.values import AssistRequest, AssistResult, DaySpend, Estimate, Plan
from lsp_server.config import ModelSettings, Settings, SettingsSource
from lsp_server.context.documents import Documents
from lsp_server.errors import ConfigError
from lsp_server.ledger.savings import SavingsPolicy
from lsp_server.ledger.spool import Spool
from lsp_server.ledger.store import Ledger
from lsp_server.ledger.writer import LedgerWriter
from lsp_server.paths import state_dir
from lsp_server.routing.cache import ResponseCache
from lsp_server.routing.kinds import TaskKind
from lsp_server.routing.symbols import SymbolInfo

if TYPE_CHECKING:
    from lsp_server.context.index.project import IndexStats

CACHE_FILENAME = "responses.sqlite3"


class Assistant:
    """The parts of one workspace's assistant and its public API (see the module docstring)."""

    def __init__(self, root: Path, settings: Settings | SettingsSource,
                 documents: Documents | None = None, *,
                 environ: Mapping[str, str] | None = None, context_process: bool = False) -> None:
        """``context_process``: build contexts in a child process (the language server's
        choice, so their CPU time never stalls its event loop); the CLI builds in-process."""
        self._root = Path(root).resolve()
        self._source = SettingsSource.of(settings)
        self._documents = documents if documents is not None else Documents()
        self._models = ModelPool(self._source, environ)
        self._privacy = PrivacyPolicy(self._source)
        self._project = ProjectContext(self._root, self._source, self._documents,
                                       environ=environ, context_process=context_process)
        self._savings = SavingsPolicy(self._models.prices, self._models.premium_model)
        self._lock = threading.Lock()
        self._ledger: Ledger | None = None
        self._writer: LedgerWriter | None = None
        self._cache: ResponseCache | None = None

    # -- the parts (read by the pipeline through assistant.parts.Parts) ------------------------

    @property
    def root(self) -> Path:
        return self._root

    @property
    def documents(self) -> Documents:
        return self._documents

    @property
    def settings(self) -> Settings:
        return self._source.current

    @property
    def models(self) -> ModelPool:
        return self._models

    @property
    def privacy(self) -> PrivacyPolicy:
        return self._privacy

    @property
    def project(self) -> ProjectContext:
        return self._project

    @property
    def savings(self) -> SavingsPolicy:
        return self._savings

    @property
    def ledger(self) -> Ledger:
        with self._lock:
            if self._ledger is None:
                self._ledger = Ledger.open(settings=self._source)
            return self._ledger

    @property
    def ledger_writer(self) -> LedgerWriter:
        """Writes requests' rows on its own connection and thread (the ledger opens there)."""
        with self._lock:
            if self._writer is None:
                self._writer = LedgerWriter(lambda: self.ledger,
                                            spool=Spool.for_settings(self.settings))
            return self._writer

    @property
    def cache(self) -> ResponseCache:
        with self._lock:
            if self._cache is None:
                self._cache = ResponseCache(state_dir(self.settings) / CACHE_FILENAME,
                                            self._source)
            return self._cache

    # -- requests ----------------------------------------------------------------------------

    async def run(self, request: AssistRequest, *,
                  progress: Callable[[str], None] | None = None) -> AssistResult:
        """Answer or edit (see :mod:`~lsp_server.assistant.pipeline`)."""
        return await pipeline.run(self, request, progress)

    async def plan(self, request: AssistRequest) -> Plan:
        """The ``--dry-run`` view of a request: no model is called."""
        return await planning.plan(self, request)

    def estimate(self, kind: TaskKind, path: Path | None,
                 line_range: tuple[int, int] | None) -> Estimate:
        """The starting tier and a rough cost, instantly: for action titles."""
        return planning.estimate(self, kind, path, line_range)

    def has_models(self, *, paid_tiers: bool = True) -> bool:
        """Whether a model may be asked; ``paid_tiers`` False counts only local models."""
        allowed = self.privacy.allowed_tiers(None, paid=paid_tiers)
        return any(m.tier in allowed for m in self._models.models())

    def model_list(self) -> tuple[ModelSettings, ...]:
        """The models routed over (configured, else discovered)."""
        return self._models.models()

    # -- the index ---------------------------------------------------------------------------

    def symbol_info(self, path: Path, line: int, column: int) -> SymbolInfo | None:
        """What the index knows at a position (1-based line, 0-based column); blocking."""
        try:
            rel = relative(self._root, path)
        except ConfigError:
            return None
        return self._project.symbol_info(rel, line, column)

    def reindex(self) -> IndexStats:
        """Bring the index up to date with the disk (the first call builds it); blocking."""
        return self._project.reindex()

    def prime(self) -> None:
        """Build the index's lazily derived name tables now (see ProjectContext.prime)."""
        self._project.prime()

    # -- the ledger --------------------------------------------------------------------------

    def feedback(self, request_id: str, *, rating: int | None = None,
                 rejected: bool = False) -> None:
        self.ledger.feedback(request_id, rating=rating, rejected=rejected)

    def today(self) -> DaySpend:
        """Today's spend for status bars."""
        totals = self.ledger.day_totals()
        return DaySpend(spent_usd=round(float(totals["spent_usd"]), 6),
                        premium_usd=round(float(totals["premium_usd"]), 6),
                        saved_usd=round(float(totals["saved_usd"]), 6),
                        requests=int(totals["requests"]))

    def metrics_text(self) -> str:
        from lsp_server.ledger.render import render_plain

        return render_plain(self.ledger.summary())

    # -- closing -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._project.aclose()
        await self._models.aclose()
        with self._lock:
            cache, self._cache = self._cache, None
            ledger, self._ledger = self._ledger, None
            writer, self._writer = self._writer, None
        if cache is not None:
            cache.close()
        if writer is not None:  # its last try may wait out the busy timeout: not on the loop
            await asyncio.to_thread(writer.close)
        if ledger is not None:
            ledger.close()
