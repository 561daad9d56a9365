"""``agentic-optimizer doctor``: effective settings, state dir, and which models are usable."""

from __future__ import annotations

import argparse
import json
from typing import Any

from lsp_server.commands.common import add_config_arg, add_project_arg, project_root, settings_for
from lsp_server.config import redacted
from lsp_server.paths import state_dir
from lsp_server.providers.discovery import discover, probe


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "doctor", help="show effective settings and which models are reachable",
        description="Print the effective settings (no secrets), the state directory, and whether "
        "each model is usable. Exits 1 when no model is usable.",
    )
    add_project_arg(p)
    add_config_arg(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    root = project_root(args)
    settings = settings_for(args, root)
    models = discover(settings)
    probes = [probe(m) for m in models]
    usable = any(p.usable for p in probes)
    if args.json:
        print(json.dumps({
            "project": str(root),
            "state_dir": str(state_dir(settings)),
            "settings": redacted(settings),
            "models": [
                {"name": p.model.name, "provider": p.model.provider, "model": p.model.model,
                 "tier": p.model.tier, "usable": p.usable, "detail": p.detail}
                for p in probes
            ],
            "usable": usable,
        }, indent=2))
        return 0 if usable else 1
    print(f"Project:   {root}")
    print(f"State dir: {state_dir(settings)}")
    print("Settings:")
    for line in json.dumps(redacted(settings), indent=2).splitlines():
        print(f"  {line}")
    source = "configured" if settings.models else "discovered from the environment"
    print(f"Models ({source}):")
    if not probes:
        print("  none")
    for p in probes:
        mark = "ok " if p.usable else "-- "
        print(f"  {mark}{p.model.name} [{p.model.tier}] {p.model.provider}:{p.model.model} — {p.detail}")
    if not usable:
        print(
            "\nNo usable model. Start Ollama and pull a model (ollama pull qwen2.5-coder:7b), or set "
            "an API key variable (GROQ_API_KEY, GEMINI_API_KEY, ANTHROPIC_API_KEY, OPENAI_API_KEY)."
        )
        return 1
    return 0
