"""Ranking tables kept current across editor changes equal tables built from scratch."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.context.documents import Documents, TextChange
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.builder import _select
from lsp_server.context.rank.ranking import ContextRequest, fuse, signals, tables_for
from lsp_server.context.rank.tables import Prepared, build_tables
from lsp_server.text import Position, Span

REQUESTS = [
    ContextRequest("area of a circle shape is wrong"),
    ContextRequest("Length conversion to meters loses precision", path="src/units.rs", line=3),
    ContextRequest("restock fails when price_of is missing", open_paths=("inventory/models.py",)),
    ContextRequest("rename helper_fn_new and fix `Shape::area`"),
]
SNIPPETS = ["\npub fn helper_fn_new() -> u32 { 1 }\n", "\ndef helper_fn_new():\n    return area(1)\n",
            "x", "\n", "}", "{", " area ", "fn ", "def ", "import os\n", "use crate::units::Length;\n"]


def canonical(prep: Prepared) -> dict[str, object]:
    """The tables with their private integer ids replaced by what the ids stand for."""
    def d_key(i: int) -> tuple[object, ...]:
        d = prep.defs[i]
        return (d.path, d.qualname, d.start_byte)

    def p_key(k: int) -> tuple[object, ...]:
        path, owner = prep.passage_owner[k]
        return (path, d_key(owner) if owner is not None else None, prep.passage_span[k])

    return {
        "files": prep.files,
        "texts": prep.texts,
        "defs": sorted((prep.defs[i] for i in prep.defs), key=repr),
        "by_name": {n: sorted(map(d_key, ids)) for n, ids in prep.defs_by_name.items()},
        "by_parts": {n: sorted(map(d_key, ids)) for n, ids in prep.defs_by_parts.items()},
        "def_ids": sorted((k, d_key(i)) for k, i in prep.def_ids.items()),
        "passages": sorted(((p_key(k), sorted(prep.passage_bm25.counts(k).items()))
                            for k in prep.passage_owner), key=repr),
        "passage_df": {t: len(ps) for t, ps in prep.passage_bm25.postings.items()},
        "file_postings": prep.file_bm25.postings,
        "file_tokens": prep.file_tokens,
        "line_prefix": prep.line_prefix,
        "by_key": prep.by_key,
        "users": prep.users,
        "graph": prep.graph,
        "global_rank": prep.global_rank,
        "callees": prep.callees,
        "callers": {k: prep.callers_of(k) for k in prep.by_key},
    }


def ranked(prep: Prepared) -> list[object]:
    """Ranked files, ranked definitions and the context text for every request."""
    out: list[object] = []
    for request in REQUESTS:
        files, defs = fuse(prep, signals(prep, request))
        out.append([(f.path, f.score, f.reasons) for f in files])
        out.append([(d.definition.path, d.definition.qualname, d.score) for d in defs])
        result = _select(prep, request, budget_tokens=600, settings=Settings(), for_cloud=True, started=0.0)
        out.append((result.stable, result.volatile, [(f.path, f.ranges) for f in result.files]))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tables_after_random_edits_equal_a_fresh_build(tree: Path, tmp_path: Path, seed: int) -> None:
    docs = Documents()
    idx = ProjectIndex.open(tree, documents=docs, state_dir=tmp_path / "s")
    docs.subscribe(idx.update_document)
    idx.refresh()
    rng = random.Random(seed)
    paths = ["src/lib.rs", "src/units.rs", "src/shapes/mod.rs", "inventory/models.py", "inventory/pricing.py"]
    versions = dict.fromkeys(paths, 1)
    with tables_for(idx) as kept:
        first = ranked(kept)
    for step in range(40):
        rel = rng.choice(paths)
        path = tree / rel
        if docs.text(path) is None:
            docs.open(path, path.read_text(), 1)
        text = docs.text(path) or ""
        lines = text.split("\n")
        line = rng.randrange(len(lines))
        col = rng.randrange(len(lines[line]) + 1)
        versions[rel] += 1
        if rng.random() < 0.7:
            change = TextChange(rng.choice(SNIPPETS), Span(Position(line, col), Position(line, col)))
        else:
            end = Position(line, min(len(lines[line]), col + rng.randrange(1, 12)))
            change = TextChange("", Span(Position(line, col), end))
        docs.change(path, [change], versions[rel])
        if step % 7 == 3:
            docs.close(path)  # back to the disk version
        if step % 4 == 0:
            with tables_for(idx) as again:
                assert again is kept  # the same tables, updated in place
                ranked(again)
    with tables_for(idx) as again:
        assert again is kept
        fresh = build_tables(idx)
        for bm in (kept.passage_bm25, kept.file_bm25):
            bm.reweight()
        assert canonical(kept) == canonical(fresh)
        assert ranked(kept) == ranked(fresh)
        assert ranked(kept) != first  # the edits did change what ranking reads
    idx.close()


def test_unchanged_index_is_not_rescanned(tree: Path, tmp_path: Path) -> None:
    idx = ProjectIndex.open(tree, state_dir=tmp_path / "s")
    idx.refresh()
    with tables_for(idx) as prep:
        defs = dict(prep.defs)
    with tables_for(idx) as again:
        assert again is prep and again.defs == defs
    docs_free_edit = tree / "src/units.rs"
    docs_free_edit.write_text(docs_free_edit.read_text() + "\npub fn added_on_disk() {}\n")
    idx.refresh()
    with tables_for(idx) as after:
        assert after is prep
        assert "added_on_disk" in after.defs_by_name
        # definitions of untouched files keep their ids
        kept = {i for i, d in defs.items() if d.path != "src/units.rs"}
        assert kept <= set(after.defs)
    idx.close()


PROBE = """
import sys
from pathlib import Path
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.tables import build_tables
idx = ProjectIndex.open(Path(sys.argv[1]), state_dir=Path(sys.argv[2]))
idx.refresh()
prep = build_tables(idx)
print(repr(sorted(prep.global_rank.items())))
idx.close()
"""


def test_the_graph_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """Forty modules importing each other: the walk's weights are float sums, and a set's
    order (which varies with ``PYTHONHASHSEED``) must not decide the order they are added in."""
    rng = random.Random(4)
    pkg = tmp_path / "tree" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for i in range(40):
        others = rng.sample([j for j in range(40) if j != i], 6)
        body = [f"from pkg.m{j} import f{j}" for j in others]
        body += [f"def f{i}(x):"] + [f"    x = f{j}(x) + f{j}(x)" for j in others[: rng.randint(1, 6)]]
        (pkg / f"m{i}.py").write_text("\n".join([*body, "    return x"]) + "\n")
    outputs = set()
    for seed in ("1", "2", "3"):
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, str(tmp_path / "tree"), str(tmp_path / f"s{seed}")],
            capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.add(proc.stdout)
    assert len(outputs) == 1
