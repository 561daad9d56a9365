"""``agentic-optimizer index``: build or refresh the symbol index of a project."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from typing import Any

from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "index",
        help="build or refresh the symbol index of a project",
        description="Parse the project's Rust and Python files (only those changed since the last "
        "run) and store their definitions, references and imports under the state directory.",
    )
    add_project_arg(p)
    add_config_arg(p)
    p.add_argument("--stats", action="store_true",
                   help="also print definition kinds, languages, import resolution and the store path")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--embed", action="store_true",
                   help="also embed every passage that has no vector yet with the local embedding "
                   "model (context.embedding_model), so context.embeddings ranks with all of them")


def run(args: argparse.Namespace) -> int:
    from lsp_server.context.index.project import ProjectIndex

    root = project_root(args)
    settings = settings_for(args, root)
    with ProjectIndex.open(root, settings=settings) as index:
        stats = _refresh(index, show_progress=not args.json and sys.stderr.isatty())
        for note in stats.notes():
            print(f"agentic-optimizer index: {note}", file=sys.stderr)
        out: dict[str, Any] = {"project": str(root), **stats.as_dict()}
        out["elapsed"] = round(stats.elapsed, 3)
        if args.stats:
            out.update(_details(index))
            out["history"] = _history(settings, root)
        if args.embed:
            out["embeddings"] = asyncio.run(_embed(settings, index, show_progress=not args.json
                                                   and sys.stderr.isatty()))
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=False))
        return 0
    print(
        f"{out['files']} files, {out['definitions']} definitions, {out['references']} references "
        f"in {out['elapsed']:.2f} s ({out['parsed']} parsed, {out['reused']} reused, "
        f"{out['removed']} removed)"
    )
    if args.stats:
        print(f"store: {out['store']}")
        print("languages: " + ", ".join(f"{k} {v}" for k, v in out["languages"].items()))
        print("definitions: " + ", ".join(f"{k} {v}" for k, v in out["kinds"].items()))
        imp = out["imports"]
        print(f"imports: {imp['total']} ({imp['resolved']} resolved to project files, "
              f"{imp['external']} external)")
        print(f"file edges: {out['file_edges']}")
        print(out["history"]["line"])
        if out["skipped"] or out["with_notes"]:
            print(f"skipped by the walk: {out['skipped']}; files with notes: {out['with_notes']}")
    if args.embed:
        emb = out["embeddings"]
        print(f"embeddings: {emb['stored']} passages embedded with {emb['model']} "
              f"({emb['passages']} in the project)")
        if not settings.context.embeddings:
            print("note: context.embeddings is off; turn it on for ranking to use these vectors")
    return 0


async def _embed(settings: Any, index: Any, show_progress: bool) -> dict[str, Any]:
    """Embed the project's passages that have no vector yet (raises if the model fails)."""
    from lsp_server.context.rank.ranking import prepared
    from lsp_server.embedding_service import EmbeddingService
    from lsp_server.paths import state_dir

    service = EmbeddingService(settings, state_dir(settings))
    try:
        prep = prepared(index)
        if not show_progress:
            stored, total = await service.embed_project(prep)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            with Progress(TextColumn("embedding"), BarColumn(), MofNCompleteColumn(),
                          transient=True) as bar:
                task = bar.add_task("embed", total=None)
                stored, total = await service.embed_project(
                    prep, lambda done, todo: bar.update(task, completed=done, total=max(done, todo)))
        return {"model": service.model.model, "stored": stored, "passages": total,
                "store": str(service.store_path)}
    finally:
        await service.aclose()


def _refresh(index: Any, show_progress: bool) -> Any:
    if not show_progress:
        return index.refresh()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        transient=True, console=None,
    ) as bar:
        task = bar.add_task("index", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return index.refresh(progress)


def _history(settings: Any, root: Any) -> dict[str, Any]:
    """What the ranker reads from the project's git history, and where the read stopped."""
    from dataclasses import asdict

    from lsp_server.context.rank.history import history_for

    cap = settings.context.history_max_commits
    if not settings.context.history:
        return {"enabled": False, "line": "history: off (context.history = false)"}
    stats = history_for(root, cap).stats
    return {"enabled": True, "max_commits": cap, **asdict(stats), "line": stats.line(cap)}


def _details(index: Any) -> dict[str, Any]:
    langs: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    total = resolved = 0
    for path in index.files():
        fs = index.file(path)
        if fs is None:
            continue
        langs[fs.language] += 1
        kinds.update(d.kind for d in fs.definitions)
        total += len(fs.imports)
        resolved += sum(1 for i in fs.imports if i.target is not None)
    edges = index.file_edges()
    return {
        "store": str(index.store_path),
        "languages": dict(langs.most_common()),
        "kinds": dict(kinds.most_common()),
        "imports": {"total": total, "resolved": resolved, "external": total - resolved},
        "file_edges": sum(len(v) for v in edges.values()),
    }
