"""A workspace and a four-tier model line-up on vendor stand-ins, for the pipeline tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standins import StandinServer

from lsp_server.assistant import Assistant, AssistRequest, AssistResult
from lsp_server.config import Settings, parse_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEY = "test-key-not-secret"
# Prices in USD per million tokens for the cloud stand-ins (each plays a paid vendor).
PRICES: dict[str, dict[str, float]] = {
    "free": {"input": 0.59, "output": 0.79},
    "budget": {"input": 0.30, "output": 2.50},
    "premium": {"input": 3.0, "output": 15.0},
}
VENDOR_OF_TIER = {"local": "ollama", "free": "openai", "budget": "gemini", "premium": "anthropic"}


@dataclass
class Lineup:
    """One stand-in per tier, and the settings/environment that point the engine at them."""

    servers: dict[str, StandinServer]
    environ: dict[str, str]

    def settings(self, tiers: Sequence[str] = ("local", "free", "budget", "premium"),
                 **sections: Any) -> Settings:
        models = []
        for tier in tiers:
            server = self.servers[tier]
            overrides: dict[str, Any] = {"name": f"{tier}-model", "tier": tier, "max_retries": 0}
            if tier in PRICES:
                overrides["price"] = PRICES[tier]
            models.append(server.model_settings(**overrides))
        return parse_settings({"models": models, **sections})

    async def run(self, root: Path, settings: Settings, request: AssistRequest,
                  progress: Callable[[str], None] | None = None) -> AssistResult:
        """One request through a fresh assistant on ``root`` with these stand-ins, closed after."""
        assistant = Assistant(root, settings, environ=self.environ)
        try:
            return await assistant.run(request, progress=progress)
        finally:
            await assistant.aclose()

    def calls(self, tier: str) -> int:
        return len(self.servers[tier].generations)

    def cloud_bodies(self) -> str:
        """Every request body any cloud stand-in received, as one string."""
        return "\n".join(r.raw for tier in ("free", "budget", "premium")
                         for r in self.servers[tier].requests)


def start_lineup(start: Callable[..., StandinServer]) -> Lineup:
    servers: dict[str, StandinServer] = {}
    environ: dict[str, str] = {}
    for tier, vendor in VENDOR_OF_TIER.items():
        server = start(vendor, api_key=None if vendor == "ollama" else KEY)
        servers[tier] = server
        if vendor != "ollama":
            environ[f"STANDIN_{vendor.upper()}_KEY"] = KEY
    return Lineup(servers, environ)


def copy_example(name: str, dest: Path) -> Path:
    root = dest / name
    shutil.copytree(EXAMPLES / name, root)
    return root


GOOD_EXPLANATION = (
    "`total_value` walks the stock's quantities and multiplies each SKU's unit price by the "
    "quantity on hand, summing the products into one float."
)


def explain(root: Path) -> AssistRequest:
    """An explanation of ``total_value`` in the python-pkg example (lines 8-10)."""
    return AssistRequest(kind="explain", instruction="Explain what this function computes.",
                         path=root / "inventory" / "pricing.py", line_range=(8, 10))
