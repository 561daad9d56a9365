"""Embedding similarity in ranking: vectors from Ollama's /api/embed (the stand-in), kept in
SQLite by content digest, fused with the other evidence."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from standins import StandinServer
from standins.embedders import concept_embedder

from lsp_server.config import ModelSettings, Settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.builder import build_context
from lsp_server.context.rank.embeddings import (
    Embed,
    EmbeddingStore,
    SemanticIndex,
    SemanticSpec,
    drain,
)
from lsp_server.context.rank.ranking import ContextRequest, prepared, rank
from lsp_server.context.rank.tables import Prepared
from lsp_server.providers import make_provider

# What the stand-in embedding model "understands": words of one concept share a dimension.
CONCEPTS = [
    {"limit", "limited", "cap", "max", "results", "hits", "number", "truncate"},
    {"colour", "color", "colors", "paint", "palette", "theme"},
    {"render", "rows", "table", "print", "layout"},
    {"clock", "time", "timestamp", "seconds", "date"},
]


concept_vector = concept_embedder(CONCEPTS)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "quota.py").write_text("def truncate_found(found, cap):\n    return found[:cap]\n")
    (root / "app" / "palette.py").write_text("def paint(cell, theme):\n    return theme[cell]\n")
    (root / "app" / "table.py").write_text("def render_rows(rows):\n    return '\\n'.join(rows)\n")
    (root / "app" / "clock.py").write_text("def timestamp(seconds):\n    return seconds * 1000\n")
    return root


@pytest.fixture
def ollama() -> Iterator[StandinServer]:
    with StandinServer("ollama", models=["nomic-embed-text:latest"], embedder=concept_vector) as srv:
        yield srv


@pytest.fixture
def index(project: Path, tmp_path: Path) -> Iterator[ProjectIndex]:
    index = ProjectIndex.open(project, settings=Settings(), state_dir=tmp_path / "state")
    index.refresh()
    yield index
    index.close()


@pytest.fixture
async def embed(ollama: StandinServer) -> AsyncIterator[Embed]:
    """The real Ollama client embedding through the stand-in."""
    provider = make_provider(ModelSettings(**ollama.model_settings(model="nomic-embed-text")), {})

    async def call(texts: Sequence[str]) -> list[list[float]]:
        return await provider.embed(list(texts))  # type: ignore[attr-defined, no-any-return]

    yield call
    await provider.aclose()


async def fill(semantic: SemanticIndex, prep: Prepared, embed: Embed,
               max_batches: int | None = None) -> int:
    """Queue what has no vector and embed it, as a build and the server do between them."""
    semantic.request_missing(prep)
    stored = await drain(semantic.store, embed, max_batches=max_batches)
    semantic.reload()
    return stored


async def test_vectors_are_stored_once_per_content_and_lift_a_file_with_no_shared_words(
    index: ProjectIndex, embed: Embed, ollama: StandinServer, tmp_path: Path,
) -> None:
    prep = prepared(index)
    store = EmbeddingStore(tmp_path / "state" / "embeddings.sqlite3", "nomic-embed-text")
    semantic = SemanticIndex(store)
    embedded = await fill(semantic, prep, embed)
    assert embedded == len({p for p in prep.passage_span}) > 0
    assert semantic.coverage(prep) == (len(prep.passage_span), len(prep.passage_span))
    calls = len([r for r in ollama.requests if r.kind == "embed"])
    # Every passage has its vector now: a second fill asks the model nothing.
    assert await fill(semantic, prep, embed) == 0
    assert len([r for r in ollama.requests if r.kind == "embed"]) == calls

    request = ContextRequest(text="Show only a limited number of hits")
    # No word of the request is in quota.py: without embeddings it is not first.
    plain, _ = rank(index, request)
    assert plain[0].path != "app/quota.py"
    (vector,) = await embed([request.text])
    request = ContextRequest(text=request.text, semantic=SemanticSpec(
        str(tmp_path / "state" / "embeddings.sqlite3"), "nomic-embed-text", tuple(vector)))
    files, _ = rank(index, request)
    assert files[0].path == "app/quota.py"
    assert any("similar in meaning" in r for r in files[0].reasons)
    ctx = build_context(index, request, budget_tokens=2000, settings=Settings(),
                        for_cloud=False)
    assert "truncate_found" in ctx.text
    store.close()

    # A restart reads the vectors back from SQLite: nothing is embedded again.
    reopened = SemanticIndex(EmbeddingStore(tmp_path / "state" / "embeddings.sqlite3",
                                            "nomic-embed-text"))
    assert await fill(reopened, prep, embed) == 0
    assert reopened.coverage(prep)[0] == len(prep.passage_span)
    # Another model's vectors are its own.
    other = SemanticIndex(EmbeddingStore(tmp_path / "state" / "embeddings.sqlite3", "other-model"))
    assert other.coverage(prep)[0] == 0


async def test_an_edited_passage_is_embedded_again_and_partial_coverage_still_scores(
    project: Path, index: ProjectIndex, embed: Embed, tmp_path: Path,
) -> None:
    prep = prepared(index)
    semantic = SemanticIndex(EmbeddingStore(tmp_path / "e.sqlite3", "m"))
    # One batch only: some passages have vectors, the rest do not score yet.
    from lsp_server.context.rank import embeddings
    embeddings_batch = embeddings.BATCH
    embeddings.BATCH = 2
    try:
        assert await fill(semantic, prep, embed, max_batches=1) == 2
    finally:
        embeddings.BATCH = embeddings_batch
    have, total = semantic.coverage(prep)
    assert have == 2 < total
    (vector,) = await embed(["colour theme"])
    scores = semantic.file_scores(prep, np.asarray(vector, dtype=np.float32))
    assert 0 < len(scores) < len(prep.files)
    await fill(semantic, prep, embed)

    (project / "app" / "clock.py").write_text("def timestamp(seconds):\n    return seconds * 60\n")
    index.refresh()
    prep = prepared(index)
    assert semantic.coverage(prep)[0] == semantic.coverage(prep)[1] - 1
    assert await fill(semantic, prep, embed) == 1


async def test_a_build_queues_what_is_missing_and_drain_embeds_it_for_the_next_request(
    index: ProjectIndex, embed: Embed, tmp_path: Path,
) -> None:
    """The process that ranks (maybe a context worker) and the one that holds the model meet
    in the store: ranking queues passages without vectors, ``drain`` embeds them."""
    import pickle

    from lsp_server.context.rank.embeddings import STORE_FILENAME, SemanticSpec, drain

    store_path = tmp_path / "state" / STORE_FILENAME
    text = "Show only a limited number of hits"
    (vector,) = await embed([text])
    spec = SemanticSpec(str(store_path), "nomic-embed-text", tuple(vector))
    request = ContextRequest(text=text, semantic=spec)
    assert pickle.loads(pickle.dumps(request)) == request  # crosses to a worker process

    first, _ = rank(index, request)  # nothing embedded yet: ranks without it, queues all
    assert not any("similar in meaning" in r for f in first for r in f.reasons)
    store = EmbeddingStore(store_path, "nomic-embed-text")
    queued = store.pending_count()
    assert queued == len(prepared(index).passage_span)
    rank(index, request)
    assert store.pending_count() == queued  # queued once, not per request

    assert await drain(store, embed) == queued
    assert store.pending_count() == 0 and store.count() == queued
    files, _ = rank(index, request)
    assert files[0].path == "app/quota.py"
    assert any("similar in meaning" in r for r in files[0].reasons)
    store.close()
