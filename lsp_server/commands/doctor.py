"""``agentic-optimizer doctor``: effective settings, state dir, whether each model is reachable,
and which edit checks (compiler, related tests, test isolation) can run on the project.

Each model is checked through its provider's ``diagnose()``: Ollama must answer and have the
model pulled; a cloud model needs its key variable set and its endpoint must accept the key
(a model-list request, which costs no tokens). All models are checked at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from typing import Any

from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for
from lsp_server.config import ModelSettings, Settings, redacted
from lsp_server.edits.availability import available_checks
from lsp_server.paths import state_dir
from lsp_server.providers.base import Availability
from lsp_server.providers.discovery import discover
from lsp_server.providers.factory import make_provider


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "doctor", help="show effective settings and which models are reachable",
        description="Print the effective settings (no secrets), the state directory, and whether "
        "each model is reachable. Exits 1 when no model is reachable.",
    )
    add_project_arg(p)
    add_config_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


async def check_models(models: Sequence[ModelSettings]) -> list[Availability]:
    """Reachability of every model, checked concurrently."""

    async def one(model: ModelSettings) -> Availability:
        provider = make_provider(model)
        try:
            return await provider.diagnose()
        finally:
            await provider.aclose()

    return list(await asyncio.gather(*(one(m) for m in models)))


def _embeddings_report(settings: Settings) -> dict[str, Any] | None:
    """The embedding model's reachability and what is stored, when ``context.embeddings`` is on.

    Embeddings are optional: a missing embedding model is reported, never an exit failure.
    """
    if not settings.context.embeddings:
        return None
    from lsp_server.context.rank.embeddings import STORE_FILENAME, EmbeddingStore
    from lsp_server.embedding_service import embedding_model_settings

    model = embedding_model_settings(settings)
    (check,) = asyncio.run(check_models([model]))
    store = EmbeddingStore(state_dir(settings) / STORE_FILENAME, model.model)
    try:
        stored, queued = store.count(), store.pending_count()
    finally:
        store.close()
    return {"model": model.model, "base_url": model.effective_base_url, "usable": check.ok,
            "detail": check.detail, "stored_vectors": stored, "queued_passages": queued}


def ledger_report(settings: Settings) -> dict[str, Any]:
    """Which ledger is in use (this machine's file or a team's database) and whether it
    answers: opened (and migrated) and its day's spend read."""
    from lsp_server.errors import ConfigError, LedgerError
    from lsp_server.ledger.identity import ledger_url, redact
    from lsp_server.ledger.reservations import team_spent_on
    from lsp_server.ledger.store import Ledger

    try:
        url = ledger_url(settings)
    except ConfigError as exc:
        return {"kind": "shared", "where": None, "reachable": False, "detail": str(exc)}
    where = (f"{redact(url)} (team {settings.ledger.team})" if url
             else str(Ledger.default_path(settings)))
    kind = "shared" if url else "sqlite"
    try:
        with Ledger.open(settings=settings) as ledger:
            spent = team_spent_on(ledger, ledger.today()) if url else ledger.spent_today()
    except LedgerError as exc:
        return {"kind": kind, "where": where, "reachable": False, "detail": str(exc)}
    scope = "the team" if url else "this machine"
    return {"kind": kind, "where": where, "reachable": True,
            "detail": f"reachable; {scope} spent ${spent:.4f} today"}


def run(args: argparse.Namespace) -> int:
    root = project_root(args)
    settings = settings_for(args, root)
    models = discover(settings)
    checks = asyncio.run(check_models(models)) if models else []
    usable = any(c.ok for c in checks)
    embeddings = _embeddings_report(settings)
    edit_checks = available_checks(root, settings)
    ledger = ledger_report(settings)
    if args.json:
        print(json.dumps({
            "project": str(root),
            "state_dir": str(state_dir(settings)),
            "settings": redacted(settings),
            "models": [
                {"name": m.name, "provider": m.provider, "model": m.model, "tier": m.tier,
                 "base_url": m.effective_base_url, "usable": c.ok, "detail": c.detail}
                for m, c in zip(models, checks, strict=True)
            ],
            "usable": usable,
            "embeddings": embeddings,
            "edit_checks": [{"name": c.name, "available": c.available, "detail": c.detail}
                            for c in edit_checks],
            "ledger": ledger,
        }, indent=2))
        return 0 if usable else 1
    print(f"Project:   {root}")
    print(f"State dir: {state_dir(settings)}")
    print("Settings:")
    for line in json.dumps(redacted(settings), indent=2).splitlines():
        print(f"  {line}")
    source = "configured" if settings.models else "discovered from the environment"
    print(f"Models ({source}):")
    if not models:
        print("  none")
    for m, c in zip(models, checks, strict=True):
        mark = "ok " if c.ok else "-- "
        print(f"  {mark}{m.name} [{m.tier}] {m.provider}:{m.model} — {c.detail}")
    if embeddings is not None:
        mark = "ok " if embeddings["usable"] else "-- "
        print(f"Embeddings (context.embeddings):\n  {mark}ollama:{embeddings['model']} — "
              f"{embeddings['detail']}; {embeddings['stored_vectors']} passage vectors stored")
    print("Edit checks (what the verifier can run on this project's edits):")
    for e in edit_checks:
        print(f"  {'ok ' if e.available else '-- '}{e.name} — {e.detail}")
    mark = "ok " if ledger["reachable"] else "-- "
    label = "shared (ledger.url)" if ledger["kind"] == "shared" else "this machine's SQLite file"
    print(f"Ledger ({label}):\n  {mark}{ledger['where']} — {ledger['detail']}")
    if not usable:
        print(
            "\nNo reachable model. Start Ollama and pull a model (ollama pull qwen2.5-coder:7b), or set "
            "an API key variable (GROQ_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY, OPENAI_API_KEY)."
        )
        return 1
    return 0
