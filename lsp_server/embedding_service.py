"""The model side of ``context.embeddings``: request vectors now, passage vectors in the background.

A context build (in the server or in its context process) ranks with the vectors already in
the store and queues the passages that have none (:mod:`lsp_server.context.rank.embeddings`). This
service, which lives where the event loop and the model client are, embeds each request's text
before its context is built, waiting at most ``context.embedding_timeout_ms`` so a slow or
absent model never holds a request up, and drains the queue in the background between
requests. The model is a local Ollama embedding model: code never leaves the machine for it.

A failing model is reported once in the log and rested for :data:`REST_SECONDS`; requests
meanwhile rank without embeddings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lsp_server.config import ModelSettings, Settings
from lsp_server.context.rank.embeddings import (
    STORE_FILENAME,
    EmbeddingStore,
    SemanticSpec,
    drain,
    semantic_index,
)
from lsp_server.context.rank.tables import Prepared
from lsp_server.errors import AgenticError
from lsp_server.providers.discovery import ollama_url

log = logging.getLogger(__name__)

REST_SECONDS = 60.0


def embedding_model_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> ModelSettings:
    """The Ollama model that embeds: ``context.embedding_model`` at ``context.embedding_base_url``,
    else at the first ``ollama`` model's URL, else where ``$OLLAMA_HOST`` says."""
    ctx = settings.context
    url = ctx.embedding_base_url
    if not url:
        url = next((m.base_url for m in settings.models if m.provider == "ollama" and m.base_url), None)
    return ModelSettings(name="embeddings", provider="ollama", model=ctx.embedding_model,
                         base_url=url or ollama_url(environ), tier="local",
                         timeout_seconds=30.0, max_retries=0)


class EmbeddingService:
    """Embeds requests and queued passages with one local model; never raises to its caller."""

    def __init__(self, settings: Settings, state_dir: Path,
                 environ: Mapping[str, str] | None = None) -> None:
        from lsp_server.providers import make_provider

        self.model = embedding_model_settings(settings, environ)
        self.timeout = settings.context.embedding_timeout_ms / 1000.0
        self.store_path = state_dir / STORE_FILENAME
        self.store = EmbeddingStore(self.store_path, self.model.model)
        self._provider = make_provider(self.model, environ)
        self._resting_until = 0.0
        self._drainer: asyncio.Task[None] | None = None

    def serves(self, settings: Settings, environ: Mapping[str, str] | None = None) -> bool:
        """True while ``settings`` still ask for this service as it is."""
        return (settings.context.embeddings
                and embedding_model_settings(settings, environ) == self.model
                and settings.context.embedding_timeout_ms / 1000.0 == self.timeout)

    @property
    def resting(self) -> bool:
        return time.monotonic() < self._resting_until

    def _failed(self, what: str, exc: BaseException) -> None:
        if not self.resting:
            log.warning("embeddings: %s failed with %s (%s); ranking without them for %.0f s",
                        what, self.model.model, exc, REST_SECONDS)
        self._resting_until = time.monotonic() + REST_SECONDS

    async def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        from lsp_server.providers.ollama import OllamaProvider

        if not isinstance(self._provider, OllamaProvider):
            # only Ollama embeds; embedding_model_settings always makes an Ollama model
            raise AgenticError("the embedding provider cannot embed")
        return await self._provider.embed(list(texts))

    async def spec_for(self, text: str) -> SemanticSpec | None:
        """The request's vector with the store's place, or None (model slow, absent, resting)."""
        if self.resting or not text.strip():
            return None
        try:
            (vector,) = await asyncio.wait_for(self._embed([text[:4000]]), self.timeout)
        except (TimeoutError, AgenticError, ValueError, OSError) as exc:
            self._failed("embedding the request", exc)
            return None
        return SemanticSpec(str(self.store_path), self.model.model, tuple(vector))

    async def embed_project(self, prep: Prepared,
                            progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """Embed every passage of ``prep`` that has no vector yet, now: (stored, passages).

        For ``index --embed`` and benchmarks, which want the whole project embedded before
        ranking; unlike the background drain, a failing model raises :class:`AgenticError`.
        """
        def queue() -> tuple[int, int]:
            with prep.lock:
                semantic = semantic_index(prep, str(self.store_path), self.model.model)
                have, total = semantic.coverage(prep)
            return total - have, total

        missing, total = await asyncio.to_thread(queue)
        try:
            stored = await drain(self.store, self._embed,
                                 progress=None if progress is None else (lambda n: progress(n, missing)))
        except (AgenticError, ValueError, OSError) as exc:
            raise AgenticError(f"embedding model {self.model.model} at {self.model.base_url}: {exc}") from exc
        return stored, total

    def kick(self) -> None:
        """Start embedding what context builds queued, unless that is already under way."""
        if self.resting or (self._drainer is not None and not self._drainer.done()):
            return
        self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            stored = await drain(self.store, self._embed)
            if stored:
                log.info("embeddings: stored %d passage vectors", stored)
        except asyncio.CancelledError:
            raise
        except (AgenticError, ValueError, OSError) as exc:
            self._failed("embedding passages", exc)

    async def aclose(self) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._drainer
        await self._provider.aclose()
        self.store.close()
