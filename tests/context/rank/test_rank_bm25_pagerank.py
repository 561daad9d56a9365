"""BM25 and personalized PageRank on small inputs whose answers are known."""

from __future__ import annotations

import math

import pytest

from lsp_server.context.rank.bm25 import BM25
from lsp_server.context.rank.pagerank import lift, personalized_pagerank


def test_bm25_prefers_rare_terms_and_shorter_documents() -> None:
    docs = {
        "a": ["walk", "dir", "depth"],
        "b": ["walk", "dir", "dir", "dir", "print", "color", "line", "match", "search", "buffer"],
        "c": ["print", "color"],
    }
    bm = BM25(docs)
    scores = bm.scores(["depth", "walk"])
    assert scores["a"] > scores["b"] > 0
    assert "c" not in scores
    assert bm.idf("depth") > bm.idf("walk") > 0


def test_bm25_matches_the_formula() -> None:
    bm = BM25({"x": ["t", "u"], "y": ["u", "u", "v", "w"]}, k1=1.2, b=0.75)
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    avg = 3.0
    norm = 1.2 * (1 - 0.75 + 0.75 * 2 / avg)
    assert bm.scores(["t"])["x"] == pytest.approx(idf * 1 * 2.2 / (1 + norm))
    assert bm.scores([]) == {}



def test_bm25_deferred_build_weighs_like_a_whole_build() -> None:
    docs = {f"d{i}": ["walk", "dir"] * (i + 1) + [f"t{i}", "depth"] for i in range(12)}
    whole = BM25(docs)
    deferred: BM25[str] = BM25()
    deferred.defer_weights()
    for key, tokens in docs.items():
        deferred.add(key, tokens)
    assert deferred.postings == {}  # nothing weighed yet
    deferred.settle()
    assert deferred.postings == whole.postings
    assert deferred.scores(["depth", "walk"]) == whole.scores(["depth", "walk"])
    # after the settle, a document added is weighed at once, as before
    deferred.add("late", ["depth", "t3"])
    assert set(deferred.scores(["depth"])) == set(docs) | {"late"}

def test_pagerank_restarts_at_seeds_and_flows_along_edges() -> None:
    edges = {"a": {"b": 1.0}, "b": {"c": 1.0}, "c": {"a": 1.0}, "x": {"y": 1.0}, "y": {"x": 1.0}}
    rank = personalized_pagerank(edges, {"a": 1.0})
    assert sum(rank.values()) == pytest.approx(1.0)
    assert rank["a"] > rank["b"] > rank["c"] > 0
    assert rank.get("x", 0.0) == pytest.approx(0.0)


def test_pagerank_without_seeds_is_uniform_restart_and_handles_dangling_nodes() -> None:
    rank = personalized_pagerank({"a": {"hub": 1.0}, "b": {"hub": 1.0}, "c": {"hub": 1.0}}, {})
    assert sum(rank.values()) == pytest.approx(1.0)
    assert rank["hub"] > rank["a"] == pytest.approx(rank["b"])


def test_pagerank_weights_split_the_walk() -> None:
    rank = personalized_pagerank({"s": {"heavy": 3.0, "light": 1.0}}, {"s": 1.0})
    assert rank["heavy"] == pytest.approx(3 * rank["light"], rel=1e-6)


def test_lift_discounts_the_hub_every_walk_reaches() -> None:
    # A crate root that declares every module: a walk from leaf "a" reaches it about as much
    # as a's own neighbour "b", but the plain PageRank says the root is where every walk goes.
    edges = {"lib": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0},
             "a": {"lib": 0.5, "b": 1.0}, "b": {"lib": 0.5}, "c": {"lib": 0.5}, "d": {"lib": 0.5}}
    personal = personalized_pagerank(edges, {"a": 1.0})
    overall = personalized_pagerank(edges, {})
    assert personal["lib"] > personal["b"]
    lifted = lift(personal, overall, 1.0)
    assert lifted["b"] > lifted["lib"]
    assert lifted["b"] == pytest.approx(personal["b"] / overall["b"])
    assert lift(personal, overall, 0.0) == personal
    # a node the plain walk never reached is divided by the smallest positive score, not zero
    assert lift({"new": 0.2}, overall, 1.0)["new"] == pytest.approx(0.2 / min(overall.values()))
