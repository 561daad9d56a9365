"""Questions the index answers with no model: "where is X defined", "who calls Y", "what
implements Z". The answer costs $0; the premium call it avoided (the context the model would
have been sent and an answer as long as the index's, in the premium model's tokens) is recorded
as its estimated value, reported as an avoided call and never as savings."""

from __future__ import annotations

import time
import uuid

from lsp_server.assistant.contexts import RequestContexts
from lsp_server.assistant.parts import Parts
from lsp_server.assistant.prompts import ANSWER_SYSTEM
from lsp_server.assistant.recording import RequestRecorder
from lsp_server.assistant.values import NO_TARGET, AssistRequest, AssistResult
from lsp_server.context.index.model import Definition
from lsp_server.routing.classifier import Classification
from lsp_server.routing.search import answer_search


def answer_from_index(parts: Parts, request: AssistRequest, cls: Classification,
                      t0: float) -> tuple[AssistResult, RequestRecorder]:
    """Blocking (the index may be built): call from a thread. The recorder is returned so
    the caller can wait for the request's rows (:meth:`RequestRecorder.settled`)."""
    assert cls.search is not None
    index = parts.project.index()
    all_defs: list[Definition] = []
    if cls.search.op == "impls":
        for rel in index.files():
            symbols = index.file(rel)
            if symbols is not None:
                all_defs.extend(symbols.definitions)
    found = answer_search(index, cls.search, all_definitions=all_defs)
    # What the premium model would have been sent: the context for this question, and an
    # answer as long as the index's.
    context = RequestContexts(parts.project, request, NO_TARGET).get(True)
    replaced = parts.savings.premium_usage(
        "\n\n".join((ANSWER_SYSTEM, context.text, request.instruction)), found.text)
    elapsed = (time.perf_counter() - t0) * 1000
    recorder = RequestRecorder(parts.ledger_writer, parts.savings,
                               request_id=uuid.uuid4().hex[:16], kind=request.kind,
                               workspace=str(parts.root), classification=cls.label(),
                               reasons=cls.reasons)
    cost = recorder.answered_by_index(replaced, elapsed)
    return AssistResult(
        request_id=recorder.request_id, kind="search", answer=found.text, changes=[], diff="",
        attempts=[], cost_usd=0.0, premium_cost_usd=cost.premium_cost_usd, elapsed_ms=elapsed,
        tier=None, model=None, confidence=1.0 if found.hits else None,
        notes=[f"answered from the index ({cls.search.describe()}): no model, $0"],
        outcome="index", document_version=request.document_version,
    ), recorder
