"""Latent semantic indexing: words that share files reach each other; updates fold in."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from lsp_server.config import Settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank import latent as latent_module
from lsp_server.context.rank.bm25 import BM25
from lsp_server.context.rank.latent import LatentIndex
from lsp_server.context.rank.ranking import ContextRequest, rank, tables_for

TOPICS = {
    "exit": ["exit", "status", "code", "process", "failure", "terminate"],
    "color": ["color", "palette", "theme", "ansi", "highlight", "style"],
    "walk": ["walk", "directory", "recursive", "ignore", "hidden", "traverse"],
}


def corpus(seed: int = 3, per_topic: int = 20) -> dict[str, list[str]]:
    """Files each drawing most of their words from one topic, plus common filler."""
    rng = random.Random(seed)
    docs: dict[str, list[str]] = {}
    filler = ["value", "result", "config", "option", "buffer", "string", "number", "handle"]
    for topic, words in TOPICS.items():
        for i in range(per_topic):
            chosen = rng.sample(words, 4)
            docs[f"src/{topic}_{i}.rs"] = chosen * 3 + rng.sample(filler, 3)
    return docs


def latent_of(docs: dict[str, list[str]]) -> tuple[LatentIndex, BM25[str]]:
    bm: BM25[str] = BM25(docs)
    return LatentIndex(bm.postings, bm.idf, docs), bm


def test_a_file_without_the_query_words_is_reached_through_the_words_it_shares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(latent_module, "RANK", 3)  # one dimension per topic of this small corpus
    docs = corpus()
    docs["src/exit_target.rs"] = ["status", "code", "terminate", "failure"] * 3  # never says "exit"
    li, bm = latent_of(docs)
    scores = li.scores(["exit", "process"])
    assert "src/exit_target.rs" not in bm.scores(["exit", "process"])  # no lexical match at all
    ranked = sorted(scores, key=lambda p: -scores[p])
    assert ranked.index("src/exit_target.rs") < 25
    # every file of another topic comes after it
    others = [p for p in ranked if p.startswith(("src/color_", "src/walk_"))]
    assert all(ranked.index(p) > ranked.index("src/exit_target.rs") for p in others)


def test_the_randomized_svd_finds_the_leading_singular_values() -> None:
    docs = corpus(seed=5, per_topic=30)
    li, bm = latent_of(docs)
    files = sorted(docs)
    terms = sorted(li.term_ids, key=li.term_ids.__getitem__)
    dense = np.array([[bm.postings[t].get(p, 0.0) * bm.idf(t) for t in terms] for p in files])
    exact = np.linalg.svd(dense, compute_uv=False)[: li.rank]
    assert np.allclose(li.singular_values[:10], exact[:10], rtol=1e-3)


def test_fold_in_moves_a_changed_file_and_drop_forgets_a_removed_one() -> None:
    docs = corpus()
    li, bm = latent_of(docs)
    before = li.scores(["color", "palette"])
    assert "src/walk_0.rs" not in sorted(before, key=lambda p: -before[p])[:20]
    # walk_0 is rewritten to be about colours
    bm.add("src/walk_0.rs", ["color", "palette", "theme", "ansi"] * 3)
    li.fold_in("src/walk_0.rs", bm.doc_weights("src/walk_0.rs"))
    after = li.scores(["color", "palette"])
    assert "src/walk_0.rs" in sorted(after, key=lambda p: -after[p])[:21]
    li.drop("src/color_0.rs")
    assert "src/color_0.rs" not in li.scores(["color", "palette"])
    assert li.folded == 2 and not li.stale


def test_a_small_project_gets_no_latent_list() -> None:
    docs = {f"src/f{i}.rs": ["exit", "status", "code"] for i in range(latent_module.MIN_FILES - 1)}
    li, _bm = latent_of(docs)
    assert li.rank == 0 and li.scores(["exit"]) == {}


def test_the_tables_fold_in_edits_and_ranking_names_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    for path, words in corpus().items():
        (root / path).write_text(f"// {' '.join(words)}\nfn item() {{}}\n")
    index = ProjectIndex.open(root, settings=Settings(), state_dir=tmp_path / "state")
    index.refresh()
    with tables_for(index) as prep:
        assert prep.latent is not None and prep.latent.rank > 0
        built = prep.latent
    files, _defs = rank(index, ContextRequest("the theme palette is wrong"))
    top = files[0]
    assert top.path.startswith("src/color_")
    assert any("vocabulary" in why for f in files[:10] for why in f.reasons)
    # a new file is folded into the same latent index, not rebuilt
    (root / "src/new_colors.rs").write_text("// color palette theme ansi highlight\nfn item() {}\n")
    index.refresh()
    with tables_for(index) as prep:
        assert prep.latent is built and built.folded == 1
        assert "src/new_colors.rs" in prep.latent.scores(["palette", "theme"])
    index.close()


def test_a_huge_vocabulary_is_capped_at_its_most_widespread_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(latent_module, "MAX_TERMS", 10)
    docs = corpus()
    li, bm = latent_of(docs)
    assert len(li.term_ids) == 10
    df = {t: len(bm.postings[t]) for t in bm.postings if 2 <= len(bm.postings[t]) <= len(docs) / 2}
    assert min(df[t] for t in li.term_ids) >= max(d for t, d in df.items() if t not in li.term_ids)
