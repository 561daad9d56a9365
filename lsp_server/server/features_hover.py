"""``textDocument/hover``: index facts at once, then a cached model explanation when enabled.

Explanations use local models only unless ``hover.paid_tiers`` is on: without a local model,
hovering makes no model call at all.

Hover never blocks the editor: the explanation is awaited for at most ``hover.timeout_ms``; a
slower one keeps running in the background, lands in the cache for the next hover, and the
first hover offers the Explain command instead.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from lsprotocol import types as lsp

from lsp_server.assistant import AssistRequest
from lsp_server.errors import AgenticError
from lsp_server.server.app import AgenticServer
from lsp_server.server.convert import uri_to_path
from lsp_server.server.hover_text import content_key, symbol_markdown
from lsp_server.text import Position

log = logging.getLogger(__name__)

PENDING_NOTE = "_An explanation is on its way: hover again, or run **Agentic: Explain**._"


def _column(ls: AgenticServer, path: Path, pos: lsp.Position) -> int:
    """String column of an LSP position (the client counts in its negotiated encoding)."""
    offset = ls.documents.offset(path, Position(pos.line, pos.character))
    if offset is None:
        return pos.character
    text = ls.documents.text(path) or ""
    return offset - (text.rfind("\n", 0, offset) + 1)


async def _explain(ls: AgenticServer, key: str, request: AssistRequest) -> str | None:
    try:
        result = await ls.get_assistant().run(request)
    except (AgenticError, asyncio.CancelledError) as exc:
        log.info("hover explanation not available: %s", exc)
        return None
    finally:
        ls.hover_tasks.pop(key, None)
    if result.answer:
        ls.explanations.put(key, result.answer.strip())
        return result.answer.strip()
    return None


def register(server: AgenticServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: AgenticServer, params: lsp.HoverParams) -> lsp.Hover | None:
        settings = ls.settings.hover
        path = uri_to_path(params.text_document.uri)
        if not settings.enabled or path is None:
            return None
        try:
            assistant = ls.get_assistant()
            column = _column(ls, path, params.position)
            # In a thread: after an edit the index re-reads the file's symbols, which must not
            # hold up the requests behind this one.
            info = await asyncio.to_thread(assistant.symbol_info, path, params.position.line + 1,
                                           column)
        except AgenticError as exc:
            log.info("hover: %s", exc)
            return None
        if info is None:
            return None
        parts = [symbol_markdown(info)]
        if settings.explain and assistant.has_models(paid_tiers=settings.paid_tiers):
            key = content_key(info.qualname, info.text or info.signature)
            cached = ls.explanations.get(key)
            if cached is not None:
                parts.append(cached)
            else:
                task = ls.hover_tasks.get(key)
                if task is None:
                    request = AssistRequest(
                        kind="explain",
                        instruction=f"Explain `{info.name}` in two or three sentences.",
                        path=path, line_range=(info.line, info.end_line),
                        cursor=(params.position.line + 1, column),
                        paid_tiers=settings.paid_tiers, tools=False,
                    )
                    task = asyncio.create_task(_explain(ls, key, request))
                    ls.hover_tasks[key] = task
                done, _ = await asyncio.wait({task}, timeout=settings.timeout_ms / 1000)
                answer = task.result() if done else None
                parts.append(answer if answer else PENDING_NOTE)
        return lsp.Hover(
            contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(parts))
        )
