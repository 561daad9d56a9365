"""``agentic.setupModels``: the way out of "no model set up", offered in the code action list.

Opens the workspace's ``agentic-optimizer.toml`` in the editor, first writing one with commented
examples of each way to get a model when there is none (an existing file is never changed), and
says in one message what is missing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types as lsp

from lsp_server.assistant.parts import ENABLE_HINT
from lsp_server.config import CONFIG_FILENAME

TEMPLATE = """\
# Agentic Optimizer: the models the router may call, cheapest tier first.
# Uncomment one block (or several: the router tries local, free, budget, premium in that order)
# and save; the server picks the change up at once. API keys are read from the environment
# variable named by api_key_env, never from this file.

# A local model, free and private: `ollama serve`, then `ollama pull qwen2.5-coder:7b`.
# [[models]]
# name = "local-qwen"
# provider = "ollama"
# model = "qwen2.5-coder:7b"
# tier = "local"

# A free cloud tier: export GROQ_API_KEY=... before starting the editor.
# [[models]]
# name = "groq-llama"
# provider = "openai"
# model = "llama-3.3-70b-versatile"
# tier = "free"
# base_url = "https://api.groq.com/openai/v1"
# api_key_env = "GROQ_API_KEY"

# A premium model for what the cheaper ones cannot do: export ANTHROPIC_API_KEY=...
# [[models]]
# name = "claude"
# provider = "anthropic"
# model = "claude-sonnet-4-5"
# tier = "premium"
# api_key_env = "ANTHROPIC_API_KEY"
"""


def ensure_config(root: Path) -> tuple[Path, bool]:
    """The workspace's config file, written from :data:`TEMPLATE` if absent; (path, created)."""
    path = root / CONFIG_FILENAME
    try:
        # "x": never overwrite a file that appeared in the meantime.
        with path.open("x", encoding="utf-8") as out:
            out.write(TEMPLATE)
    except FileExistsError:
        return path, False
    return path, True


async def open_setup(root: Path) -> tuple[lsp.ShowDocumentParams, str]:
    """What to open and what to say; the file is written off the event loop."""
    path, created = await asyncio.to_thread(ensure_config, root)
    verb = "wrote" if created else "opened"
    message = (f"Agentic Optimizer: {ENABLE_HINT[0].upper()}{ENABLE_HINT[1:]} "
               f"({verb} {CONFIG_FILENAME} with examples to uncomment.)")
    return lsp.ShowDocumentParams(uri=path.as_uri(), take_focus=True), message
