"""``agentic-optimizer context``: show the ranked context a request would send.

    agentic-optimizer context --project DIR --budget TOKENS [--file F --line N]
                              [--format text|json] (REQUEST | --request-file F)

Text output is the context itself (stable map, then the request's snippets) followed by the
ranked files; JSON is the shape documented in the README: files best first (at least the top 50
even beyond the budget), paths relative to the project, 1-based inclusive line ranges, tokens.
With ``context.embeddings`` on, the request is embedded by the local embedding model first and
the output says how many of the project's passages have vectors (``index --embed`` fills them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for
from lsp_server.errors import ConfigError

if TYPE_CHECKING:
    from lsp_server.config import Settings
    from lsp_server.context.rank.embeddings import SemanticSpec


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "context", help="show the ranked context a request would send"
    )
    add_project_arg(p)
    add_config_arg(p)
    p.add_argument("--budget", type=int, metavar="TOKENS",
                   help="token budget (default: context.budget_tokens from the settings)")
    p.add_argument("--file", metavar="F", help="the file under the cursor (relative to --project)")
    p.add_argument("--line", type=int, metavar="N", help="the cursor line in --file (1-based)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--cloud", action="store_true",
                   help="apply the privacy filter as for a cloud model (exclusions, redaction)")
    p.add_argument("--request-file", type=Path, metavar="F", help="read the request from a file")
    p.add_argument("request", nargs="?", help="the request text")


def _request_text(args: argparse.Namespace) -> str:
    from lsp_server.context.index.parse_file import is_binary  # tree-sitter: loaded only when run

    if args.request_file is not None:
        if args.request:
            raise ConfigError("give the request as text or with --request-file, not both")
        try:
            data: bytes = args.request_file.read_bytes()
        except OSError as exc:
            raise ConfigError(f"--request-file {args.request_file}: {exc.strerror or exc}") from exc
        if is_binary(data):
            raise ConfigError(f"--request-file {args.request_file}: binary content, not a request")
        text = data.decode("utf-8", errors="replace")
        if not text.strip():
            raise ConfigError(f"--request-file {args.request_file}: the request is empty")
        return text
    if args.request is None:
        raise ConfigError("no request: give it as text or with --request-file F")
    if not args.request.strip():
        raise ConfigError("the request is empty")
    return str(args.request)


def _relative(root: Path, file: str | None) -> str | None:
    if not file:
        return None
    path = Path(file)
    if not path.is_absolute() and (root / path).exists():
        return path.as_posix()
    candidate = path if path.is_absolute() else Path.cwd() / path
    if not candidate.exists():
        where = "" if path.is_absolute() else f" in the project {root} or the current directory"
        raise ConfigError(f"--file {file}: no such file{where}")
    try:
        return candidate.resolve().relative_to(root).as_posix()
    except ValueError as exc:
        raise ConfigError(f"--file {file}: not inside the project {root}") from exc


def _check_cursor(lines: int | None, rel: str, line: int | None) -> None:
    """A --file the index does not hold (``lines`` None) is ranked without, said on stderr;
    a --line past its end is an error, not a cursor silently nowhere."""
    if lines is None:
        print(f"agentic-optimizer context: --file {rel}: not a source file of the index; "
              "ranking without it", file=sys.stderr)
        return
    if line is not None and line > max(lines, 1):
        raise ConfigError(f"--line {line}: {rel} has {lines} line{'s' if lines != 1 else ''}")


def _one_blas_thread() -> None:
    """Before numpy loads: one BLAS thread for this process. Its matrices (the latent SVD of
    a first build, one product per request) are too small to gain from more, and OpenBLAS
    starting and spinning a thread per core cost seconds on a busy machine (the SVD of
    tokio's tables took 14-18 s at load average 10 with two threads, 0.6 s with one). A
    user's own setting is kept."""
    if "numpy" in sys.modules:
        return
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def run(args: argparse.Namespace) -> int:
    _one_blas_thread()
    from lsp_server.context.index.project import ProjectIndex
    from lsp_server.context.rank.builder import build_context
    from lsp_server.context.rank.ranking import ContextRequest
    from lsp_server.context.rank.tables import sync_once

    root = project_root(args)
    settings = settings_for(args, root)
    text = _request_text(args)
    budget = args.budget if args.budget is not None else settings.context.budget_tokens
    if budget <= 0:
        raise ConfigError(f"--budget {budget}: expected a positive number of tokens")
    if args.line is not None and not args.file:
        raise ConfigError("--line needs --file")
    if args.line is not None and args.line < 1:
        raise ConfigError(f"--line {args.line}: lines are numbered from 1")
    rel = _relative(root, args.file)

    index = ProjectIndex.open(root, settings=settings)
    for note in index.refresh().notes():
        print(f"agentic-optimizer context: {note}", file=sys.stderr)
    if rel is not None:
        fs = index.file(rel)
        _check_cursor(fs.lines if fs is not None else None, rel, args.line)
    # This process answers one request: the tables are loaded, or built with the least
    # memory (the index gives back its decoded files once the graph is linked).
    started = time.perf_counter()
    synced_ms = sync_once(index).last_sync_ms
    loaded_ms = (time.perf_counter() - started) * 1000.0
    semantic = asyncio.run(_request_vector(settings, text)) if settings.context.embeddings else None
    request = ContextRequest(text=text, path=rel, line=args.line,
                             open_paths=(rel,) if rel else (), semantic=semantic)
    result = build_context(index, request, budget_tokens=budget, settings=settings,
                           for_cloud=bool(args.cloud))
    # Reported as when build_context synced the tables itself: part of the time, and the sync's share.
    result.elapsed_ms += loaded_ms
    result.prepare_ms = synced_ms
    coverage = _coverage(index, semantic) if semantic is not None else None
    out = sys.stdout
    if args.format == "json":
        shown = result.to_json()
        if coverage is not None:
            shown["embeddings"] = coverage
        json.dump(shown, out, indent=2)
        out.write("\n")
        return 0
    out.write(result.stable)
    out.write(result.volatile)
    prepared = (f" ({result.prepare_ms:.0f} ms of it preparing the ranking tables, which a "
                "running server keeps)" if result.prepare_ms >= 1 else "")
    out.write(f"\n# {result.tokens} of {result.budget} tokens, {result.elapsed_ms:.0f} ms{prepared}\n")
    for i, f in enumerate(result.files[:50], 1):
        mark = "*" if f.in_context else " "
        ranges = ",".join(f"{a}-{b}" for a, b in f.ranges)
        why = "; ".join(f.reasons[:3])
        out.write(f"{i:3}. {mark} {f.path}  score {f.score:.4f}  {ranges}  {why}\n")
    if result.excluded:
        out.write(f"# kept out by privacy settings: {', '.join(result.excluded)}\n")
    if coverage is not None:
        out.write(f"# embeddings ({coverage['model']}): {coverage['embedded']} of "
                  f"{coverage['passages']} passages have vectors"
                  + ("; `agentic-optimizer index --embed` embeds the rest\n"
                     if coverage["embedded"] < coverage["passages"] else "\n"))
    return 0


async def _request_vector(settings: Settings, text: str) -> SemanticSpec | None:
    """The request's embedding (``context.embeddings``), or None with a warning on stderr."""
    from lsp_server.embedding_service import EmbeddingService
    from lsp_server.paths import state_dir

    service = EmbeddingService(settings, state_dir(settings))
    try:
        spec = await service.spec_for(text)
    finally:
        await service.aclose()
    if spec is None:
        sys.stderr.write(f"agentic-optimizer: the embedding model {service.model.model} did not "
                         f"answer at {service.model.base_url}; ranked without embeddings\n")
    return spec


def _coverage(index: Any, spec: SemanticSpec) -> dict[str, Any]:
    from lsp_server.context.rank.embeddings import semantic_index
    from lsp_server.context.rank.ranking import tables_for

    with tables_for(index) as prep:
        have, total = semantic_index(prep, spec.store_path, spec.model).coverage(prep)
    return {"model": spec.model, "embedded": have, "passages": total}
