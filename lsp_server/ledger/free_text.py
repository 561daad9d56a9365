"""What the ledger keeps of free text: reasons, errors, stop reasons and tool-call summaries,
bounded in length and with anything key-shaped masked (:mod:`lsp_server.keys`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lsp_server.keys import mask_keys


def scrub(text: str, limit: int | None = 500) -> str:
    """Mask key-looking strings and cap the length (None: no cap) of text bound for the ledger."""
    return mask_keys(text, "[redacted]")[:limit]


def reasons_json(reasons: Sequence[str]) -> str:
    """An attempt's or a request's reasons as stored: a JSON list, each scrubbed."""
    return json.dumps([scrub(str(r), 200) for r in reasons])


TOOL_CALLS_KEPT = 16  # calls listed per attempt (all are counted)
TOOL_ARGS_CHARS = 160  # an argument summary's length


def tool_calls_json(calls: Sequence[Mapping[str, Any]]) -> str | None:
    """An attempt's tool calls for the ledger: name, a bounded and scrubbed summary of the
    arguments, and whether the call was answered (None: no calls)."""
    if not calls:
        return None
    kept = []
    for call in calls[:TOOL_CALLS_KEPT]:
        args = json.dumps(call.get("args") or {}, sort_keys=True, default=str)
        kept.append({"name": scrub(str(call.get("name", "?")), 64),
                     "args": scrub(args, TOOL_ARGS_CHARS), "ok": bool(call.get("ok"))})
    return json.dumps(kept)
