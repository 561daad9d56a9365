"""``context.embeddings`` through the Assistant: the request is embedded by a local Ollama
embedding model (the stand-in), passages are embedded in the background, and the next
request's context ranks with them; a missing embedding model never fails a request."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from standins import StandinServer
from standins.embedders import concept_embedder

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.config import Settings, SettingsSource, parse_settings
from lsp_server.context.rank.embeddings import STORE_FILENAME, EmbeddingStore

CONCEPTS = [
    {"limit", "limited", "cap", "max", "hits", "number", "truncate"},
    {"colour", "color", "paint", "palette", "theme"},
    {"render", "rows", "table", "layout"},
]


concept_vector = concept_embedder(CONCEPTS)


def _project(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "quota.py").write_text("def truncate_found(found, cap):\n    return found[:cap]\n")
    (root / "app" / "palette.py").write_text("def paint(cell, theme):\n    return theme[cell]\n")
    (root / "app" / "table.py").write_text("def render_rows(rows):\n    return '\\n'.join(rows)\n")
    # Code that shares neither words nor meaning with the question, enough to fill the budget.
    for i in range(30):
        (root / "app" / f"a_layout_{i}.py").write_text(
            f"def render_rows_{i}(rows):\n    return [str(r) for r in rows]\n")
    return root


def _settings(chat: StandinServer, embed_url: str, state: Path) -> Settings:
    return parse_settings({
        "models": [chat.model_settings(name="local", max_retries=0)],
        "context": {"embeddings": True, "embedding_model": "nomic-embed-text",
                    "embedding_base_url": embed_url, "embedding_timeout_ms": 5000,
                    "budget_tokens": 400},
        "cache": {"enabled": False},
        "state_dir": str(state),
    })


async def test_passages_embedded_in_the_background_rank_the_next_request(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    with StandinServer("ollama", fallback="It keeps the first hits.",
                       models=["qwen2.5-coder:7b", "nomic-embed-text:latest"],
                       embedder=concept_vector) as srv:
        settings = _settings(srv, srv.url, tmp_path / "state")
        source = SettingsSource(settings)
        assistant = Assistant(root, source)
        request = AssistRequest(kind="explain", instruction="Where do we keep only a limited number of hits?")
        try:
            await assistant.run(request)
            store = EmbeddingStore(tmp_path / "state" / STORE_FILENAME, "nomic-embed-text")
            # The passages are embedded in the background, on the running loop.
            for _ in range(200):
                if store.count() >= 3 and store.pending_count() == 0:
                    break
                await asyncio.sleep(0.05)
            assert store.count() >= 3 and store.pending_count() == 0
            await assistant.run(request)
            store.close()
            # Turned off from the editor: the next request asks the embedding model nothing.
            embeds_so_far = len([r for r in srv.requests if r.kind == "embed"])
            off = settings.model_copy(update={"context": settings.context.model_copy(
                update={"embeddings": False})})
            source.replace(off)
            await assistant.run(request)
            assert len([r for r in srv.requests if r.kind == "embed"]) == embeds_so_far
        finally:
            await assistant.aclose()
        embeds = [r for r in srv.requests if r.kind == "embed"]
        assert embeds and all(r.body["model"] == "nomic-embed-text" for r in embeds)
        chats = [r for r in srv.requests if r.kind in ("generate", "stream")]
        assert len(chats) == 3
        # The second prompt, ranked with the passage vectors, carries the code that shares
        # no word with the question; the first, ranked on words, had no room for it.
        assert "## app/quota.py" not in chats[0].raw
        assert "## app/quota.py" in chats[1].raw


async def test_a_missing_embedding_model_is_logged_once_and_requests_still_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    root = _project(tmp_path / "proj")
    with StandinServer("ollama", fallback="It keeps the first hits.",
                       models=["qwen2.5-coder:7b"]) as srv:
        assistant = Assistant(root, _settings(srv, srv.url, tmp_path / "state"))
        request = AssistRequest(kind="explain", instruction="Where do we keep only a limited number of hits?")
        try:
            with caplog.at_level(logging.WARNING, logger="lsp_server.embedding_service"):
                first = await assistant.run(request)
                second = await assistant.run(request)
        finally:
            await assistant.aclose()
    assert first.outcome == second.outcome == "accepted"
    warnings = [r for r in caplog.records if "embeddings:" in r.getMessage()]
    assert len(warnings) == 1 and "nomic-embed-text" in warnings[0].getMessage()
    # Resting after the failure: the second request did not ask again.
    assert len([r for r in srv.requests if r.kind == "embed"]) == 1
