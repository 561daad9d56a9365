"""``agentic-optimizer eval`` on ``examples/eval-tools`` with and without tools, per tier.

Each tier is one vendor stand-in (local: Ollama, free: an OpenAI-compatible API, budget:
Gemini, premium: Anthropic) playing a model that uses tools (``tests/standins/looking.py``):
offered tools, it asks for the definition the prompt left out with its vendor's native tool
calling (or the text protocol, with ``--text``), and answers with the task's reference once the
definition is in the request; offered none, it guesses. The stand-ins know nothing the request
does not contain, so the figures measure the product's tool loop end to end on each vendor's
wire format (tool calls answered from the index, results sent back, every turn recorded), not a
model's skill. With real models, the same two configs with your own models give the comparison
(README, "Tools").

For each tier, two configs that differ only in ``routing.max_tool_turns`` (0 and 3), both with
``context.budget_tokens = 512``; the eval commands are the ones a user runs:

    agentic-optimizer eval --suite examples/eval-tools --config tools-off.toml --json
    agentic-optimizer eval --suite examples/eval-tools --config tools-on.toml --json

    python bench/tools_eval.py [--text] [--keep DIR]

``--keep DIR`` leaves the configs there. The OpenAI-compatible stand-in listens on a loopback
address, where ``tool_format = "auto"`` means no tools (a local server), so its config says
``native``, as ``auto`` means for a remote API.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from standins import StandinServer  # noqa: E402
from standins.looking import EVAL_TOOLS_LOOKUPS, looking_oracle  # noqa: E402

from lsp_server.evaluation.suite import load_suite  # noqa: E402

SUITE = REPO / "examples" / "eval-tools"
TIERS = {"local": "ollama", "free": "openai", "budget": "gemini", "premium": "anthropic"}
PRICES = {"free": (0.59, 0.79), "budget": (0.30, 2.50), "premium": (3.0, 15.0)}
KEY = "sk-bench-not-real"


def config_text(tier: str, server: StandinServer, turns: int, text: bool) -> str:
    vendor = TIERS[tier]
    lines = ["[[models]]", f'name = "{tier}-model"', f'provider = "{vendor}"',
             f'model = "{server.model_settings()["model"]}"', f'tier = "{tier}"',
             f'base_url = "{server.url}"', "max_retries = 0"]
    if vendor != "ollama":
        lines.append(f'api_key_env = "BENCH_{vendor.upper()}_KEY"')
    if tier in PRICES:
        lines.append(f"price = {{ input = {PRICES[tier][0]}, output = {PRICES[tier][1]} }}")
    if text:
        lines.append('tool_format = "text"')
    elif vendor == "openai":
        lines.append('tool_format = "native"')
    lines += ["", "[routing]", f"max_tool_turns = {turns}", "", "[context]",
              "budget_tokens = 512", ""]
    return "\n".join(lines)


def run_eval(config: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "lsp_server", "eval", "--suite", str(SUITE), "--config",
         str(config), "--json"], capture_output=True, text=True, env=env, check=False)
    if done.returncode not in (0, 1):  # 1: a wrong answer was accepted (the guesses)
        raise SystemExit(f"eval failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text", action="store_true", help="the text protocol for every tier")
    parser.add_argument("--keep", type=Path, help="write the configs here")
    args = parser.parse_args()
    import os

    tasks = load_suite(SUITE)
    fallback = looking_oracle(tasks, EVAL_TOOLS_LOOKUPS)
    env = dict(os.environ)
    env.update({f"BENCH_{v.upper()}_KEY": KEY for v in TIERS.values() if v != "ollama"})
    rows = []
    with tempfile.TemporaryDirectory(prefix="ao-tools-eval-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for tier, vendor in TIERS.items():
            with StandinServer(vendor, fallback=fallback,
                               api_key=None if vendor == "ollama" else KEY) as server:
                result: dict[int, dict[str, Any]] = {}
                for turns in (0, 3):
                    config = folder / f"{tier}-tools-{'on' if turns else 'off'}.toml"
                    config.write_text(config_text(tier, server, turns, args.text))
                    result[turns] = run_eval(config, env)
                rows.append((tier, vendor, result))
    mode = "text protocol" if args.text else "native tool calling"
    print(f"examples/eval-tools ({len(tasks)} tasks), context.budget_tokens = 512, {mode}")
    print("| tier (stand-in) | solved, tools off | solved, tools on (3 turns) | tool calls | "
          "model calls off / on | wrong accepted off / on | cost off / on |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for tier, vendor, result in rows:
        off, on = result[0], result[3]

        def solved(r: dict[str, Any]) -> str:
            o = r["overall"]
            return f"{o['solved']} of {o['tasks']} ({o['solved'] / o['tasks']:.0%})"

        def tier_sum(r: dict[str, Any], key: str) -> int:
            return sum(int(t[key]) for t in r["tiers"])

        print(f"| {tier} ({vendor}) | {solved(off)} | {solved(on)} | "
              f"{tier_sum(on, 'tool_calls')} | {tier_sum(off, 'calls')} / {tier_sum(on, 'calls')} | "
              f"{off['overall']['wrong_accepted']} / {on['overall']['wrong_accepted']} | "
              f"${off['overall']['cost_usd']:.6f} / ${on['overall']['cost_usd']:.6f} |")


if __name__ == "__main__":
    main()
