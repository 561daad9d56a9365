"""The parts of a workspace's assistant that the pipeline, planning and index answers use.

:class:`~lsp_server.assistant.session.Assistant` owns and opens them; the modules that run a
request see them through :class:`Parts`, which names only what they read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from lsp_server.assistant.contexts import ProjectContext
from lsp_server.assistant.models import ModelPool
from lsp_server.assistant.policy import PrivacyPolicy
from lsp_server.config import Settings
from lsp_server.context.documents import Documents
from lsp_server.ledger.savings import SavingsPolicy
from lsp_server.ledger.store import Ledger
from lsp_server.ledger.writer import LedgerWriter
from lsp_server.routing.cache import ResponseCache

NO_MODEL = "no model set up"
"""What action titles say when no model is configured and discovery found none."""

ENABLE_HINT = (
    "no model is available. Start Ollama and pull a model (`ollama serve`, then "
    "`ollama pull qwen2.5-coder:7b`), or set an API key (GROQ_API_KEY, GEMINI_API_KEY, "
    "ANTHROPIC_API_KEY or OPENAI_API_KEY), or list models in agentic-optimizer.toml "
    "([[models]] with provider, model and tier). Search questions (\"where is X defined\", "
    "\"who calls Y\") work without a model."
)


class Parts(Protocol):
    @property
    def root(self) -> Path:
        """The workspace root (resolved)."""

    @property
    def documents(self) -> Documents:
        """The editor's buffers over the files on disk."""

    @property
    def settings(self) -> Settings:
        """The current settings (read once per request, so a request sees one version)."""

    @property
    def models(self) -> ModelPool:
        """The models, their clients, health and prices."""

    @property
    def privacy(self) -> PrivacyPolicy:
        """Whether a request must stay local, and the redaction filter."""

    @property
    def project(self) -> ProjectContext:
        """The index and the context builders."""

    @property
    def ledger(self) -> Ledger:
        """The ledger, for reading (opened on first use)."""

    @property
    def ledger_writer(self) -> LedgerWriter:
        """Where every request and attempt is recorded, in order, off the event loop."""

    @property
    def cache(self) -> ResponseCache:
        """Answers by model and prompt (opened on first use)."""

    @property
    def savings(self) -> SavingsPolicy:
        """What a request cost and would have cost on the premium model."""
