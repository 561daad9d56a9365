"""What the classifier is told about a request, before and after the index is open.

The first look uses only the request (instant: a search question is answered from the index
with no model, and action titles need a tier at once); the second adds how widely the
symbol being changed is used, which the index knows.
"""

from __future__ import annotations

from lsp_server.assistant.contexts import ProjectContext
from lsp_server.assistant.values import AssistRequest
from lsp_server.config import Settings
from lsp_server.context.rank.terms import extract_terms
from lsp_server.routing.classifier import Classification, Signals, classify


def first_look(request: AssistRequest, rel: str | None, settings: Settings) -> Classification:
    return classify(_signals(request, rel, (None, None)), settings.routing.tier_order)


def with_index(request: AssistRequest, rel: str | None, settings: Settings,
               project: ProjectContext) -> Classification:
    """Blocking (the index may be read): call from a thread."""
    use = project.symbol_use(rel, request.line)
    return classify(_signals(request, rel, use), settings.routing.tier_order)


def _signals(request: AssistRequest, rel: str | None,
             use: tuple[int | None, int | None]) -> Signals:
    lines = None
    if request.line_range is not None:
        lines = max(1, request.line_range[1] - request.line_range[0] + 1)
    named = set(extract_terms(request.instruction).paths)
    if rel is not None:
        named.add(rel)
    return Signals(
        kind=request.kind, instruction=request.instruction, has_path=rel is not None,
        target_lines=lines, files=max(1, len(named)), symbol_refs=use[0], ref_files=use[1],
        diagnostics=len(request.diagnostics),
    )
