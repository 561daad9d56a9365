"""Ranking tables built for a one-off command (least memory) equal the usual ones, and the
compact stores they use behave as the dicts they replace."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import pytest
from test_latent import corpus
from test_rank_tables import canonical, ranked

from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.bm25 import BM25
from lsp_server.context.rank.latent import LatentIndex
from lsp_server.context.rank.passage_table import PassageTable
from lsp_server.context.rank.ranking import tables_for
from lsp_server.context.rank.stored_texts import StoredTexts
from lsp_server.context.rank.tables import Prepared, build_tables, sync_once


def test_one_off_tables_equal_a_usual_build(tree: Path, tmp_path: Path) -> None:
    usual_index = ProjectIndex.open(tree, state_dir=tmp_path / "a")
    usual_index.refresh()
    usual = build_tables(usual_index)
    idx = ProjectIndex.open(tree, state_dir=tmp_path / "b")
    idx.refresh()
    once = sync_once(idx)
    assert once.last_sync_files == len(usual.files) > 0
    with tables_for(idx) as prep:
        assert prep is once and prep.last_sync_ms == 0.0  # synced already: not redone
        assert canonical(prep) == canonical(usual)
        assert ranked(prep) == ranked(usual)
    # The index gave back its decoded tables and still answers (decoding them again).
    assert idx.edges_by_file() == usual_index.edges_by_file()
    assert idx.definitions_named("area") == usual_index.definitions_named("area")
    usual_index.close()
    idx.close()


def test_each_file_edges_are_the_edges_by_file(tree: Path, tmp_path: Path) -> None:
    idx = ProjectIndex.open(tree, state_dir=tmp_path / "s")
    idx.refresh()
    streamed = dict(idx.each_file_edges())
    assert streamed == idx.edges_by_file()
    assert any(streamed.values())
    idx.close()


def test_one_off_tables_after_a_change_on_disk(tree: Path, tmp_path: Path) -> None:
    """A snapshot brought up to date by a one-off command (not a first build: relinked
    the usual way, then the index's tables dropped) equals a fresh build."""
    idx = ProjectIndex.open(tree, state_dir=tmp_path / "s")
    idx.refresh()
    first = sync_once(idx)
    # a file whose body calls other definitions: its callees and caller entries must go
    caller = next(key[0] for key, out in first.callees.items() if out and key[0].endswith(".py"))
    idx.close()
    units = tree / "src/units.rs"
    units.write_text(units.read_text() + "\npub fn added_on_disk() -> u32 { 2 }\n")
    (tree / caller).write_text("# emptied\n")
    again = ProjectIndex.open(tree, state_dir=tmp_path / "s")
    again.refresh()
    prep = sync_once(again)
    assert prep.loaded and prep.last_sync_files == 2
    assert not any(key[0] == caller for key in prep.callees)
    fresh = build_tables(again)
    for bm in (prep.passage_bm25, prep.file_bm25):
        bm.reweight()
    assert canonical(prep) == canonical(fresh)
    assert ranked(prep) == ranked(fresh)
    again.close()


def test_bulk_bm25_counted_into_arrays_equals_dicts() -> None:
    rng = random.Random(5)
    words = [f"w{i}" for i in range(40)]
    docs = {f"d{i}": rng.choices(words, k=rng.randrange(0, 30)) for i in range(60)}
    plain: BM25[str] = BM25(docs)
    bulk: BM25[str] = BM25()
    bulk.defer_weights()
    for key, toks in docs.items():
        bulk.add(key, toks)
    bulk.settle()
    for q in (["w1"], ["w2", "w3", "w2"], words[:10], ["absent"]):
        assert list(bulk.scores(q).items()) == list(plain.scores(q).items())
    assert dict(bulk.postings) == dict(plain.postings)
    # A removal in the middle of a bulk build falls back to per-document counts.
    mixed: BM25[str] = BM25()
    mixed.defer_weights()
    for key, toks in docs.items():
        mixed.add(key, toks)
        if key == "d10":
            mixed.remove("d3")
            mixed.add("d3", docs["d3"])
    mixed.settle()
    again: BM25[str] = BM25({k: v for k, v in docs.items() if k != "d3"} | {"d3": docs["d3"]})
    assert mixed.scores(words[:12]) == pytest.approx(again.scores(words[:12]))
    assert mixed.counts("d3") == plain.counts("d3")


def test_latent_from_packed_columns_equals_the_constructor() -> None:
    docs = corpus(per_topic=20)
    bm: BM25[str] = BM25(docs)
    columns = bm.columns()
    assert columns is not None
    a = LatentIndex(bm.postings, bm.idf, docs)
    b = LatentIndex.from_columns(columns, bm.idf, docs)
    assert a.rank > 0 and a.term_ids == b.term_ids and a.row_of == b.row_of
    for name in ("term_vectors", "doc_vectors", "singular_values"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    bm.add("src/new.rs", ["exit", "code"])
    assert bm.columns() is None  # not packed yet: the postings view is the one to use


def test_stored_texts_round_trip() -> None:
    texts = StoredTexts()
    samples = {"a.py": "def f():\n    return 1\n", "b.rs": "", "c.py": "x = '\udcff'  # lone surrogate\n",
               "d.md": "héllo wörld ✓\n" * 200}
    for path, text in samples.items():
        texts[path] = text
    assert dict(texts) == samples and len(texts) == 4 and "a.py" in texts
    assert texts.get("missing", "") == "" and texts.stored_bytes() < sum(len(t) for t in samples.values())
    del texts["a.py"]
    assert "a.py" not in texts
    assert dict(pickle.loads(pickle.dumps(texts))) == {k: v for k, v in samples.items() if k != "a.py"}


def test_passage_table_reads_as_the_dicts_it_replaces() -> None:
    table = PassageTable()
    owners: dict[int, tuple[str, int | None]] = {}
    spans: dict[int, tuple[int, int]] = {}
    rng = random.Random(2)
    for k in range(200):
        if k % 7 == 6:
            continue  # an id handed out but never recorded
        path, owner, span = f"f{k % 5}.py", (None if k % 3 == 0 else k * 2), (k, k + rng.randrange(60))
        table.add(k, path, owner, span)
        owners[k], spans[k] = (path, owner), span
    for k in rng.sample(sorted(owners), 40):
        table.remove(k)
        del owners[k], spans[k]
    for view, want in ((table.owners, owners), (table.spans, spans)):
        assert dict(view) == want and list(view) == list(want) and len(view) == len(want)
        assert all(k in view for k in want) and 6 not in view and -1 not in view and "x" not in view
    with pytest.raises(KeyError):
        table.owners[6]
    with pytest.raises(ValueError):
        table.add(3, "f.py", None, (1, 2))  # ids only grow
    back = pickle.loads(pickle.dumps(table))
    assert dict(back.owners) == owners and dict(back.spans) == spans
    back.add(500, "new.py", 1, (1, 1))
    assert back.owners[500] == ("new.py", 1)


def test_prepared_snapshot_state_round_trips(tree: Path, tmp_path: Path) -> None:
    idx = ProjectIndex.open(tree, state_dir=tmp_path / "s")
    idx.refresh()
    prep = build_tables(idx)
    back: Prepared = pickle.loads(pickle.dumps(prep))
    assert canonical(back) == canonical(prep)
    assert ranked(back) == ranked(prep)
    idx.close()
