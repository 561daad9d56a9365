"""A second editor in its own process for the shared-cache test: runs one ``ask`` with the
settings and environment given as JSON, prints what answered it as one JSON line.
``python team_editor.py SETTINGS_JSON ROOT INSTRUCTION ENVIRON_JSON``"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.config import parse_settings


async def main() -> None:
    settings = parse_settings(json.loads(sys.argv[1]))
    assistant = Assistant(Path(sys.argv[2]), settings, environ=json.loads(sys.argv[4]))
    try:
        result = await assistant.run(AssistRequest(kind="ask", instruction=sys.argv[3]))
    finally:
        await assistant.aclose()
    print(json.dumps({"outcome": result.outcome, "tier": result.tier, "cost_usd": result.cost_usd,
                      "cached": [a.cached for a in result.attempts], "answer": result.answer}))


if __name__ == "__main__":
    asyncio.run(main())
