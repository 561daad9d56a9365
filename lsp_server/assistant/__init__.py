"""The assistant: the pipeline both front ends run, request in, result out.

A request is classified, answered from the index when it can be, else given a context
(redacted for cloud models) and routed through the cascade of models with the edits engine as
the judge; the request and every attempt are recorded in the ledger. The language server and
the CLI only translate arguments and results; nothing here imports pygls or lsprotocol.

The modules, in the order a request meets them:

* :mod:`.values` — the typed request, result, plan and estimate;
* :mod:`.session` — :class:`Assistant`, which owns the parts and closes them;
* :mod:`.pipeline` — one request: classify → context → route → finish;
* :mod:`.classify`, :mod:`.targets`, :mod:`.policy` — what the classifier is told, where the
  request points, whether it must stay local;
* :mod:`.contexts`, :mod:`.prompts`, :mod:`.judging`, :mod:`.recording` — the context, the
  prompt, the verdict on an answer, the ledger rows;
* :mod:`.models` — the models, their clients, health and prices;
* :mod:`.index_answers`, :mod:`.planning` — answers with no model, and plans with no call.
"""

from __future__ import annotations

from lsp_server.assistant.session import Assistant
from lsp_server.assistant.values import (
    AssistRequest,
    AssistResult,
    DaySpend,
    Estimate,
    Plan,
    PlanBudget,
    PlanContext,
    PlanTier,
)
from lsp_server.routing.attempts import AttemptInfo
from lsp_server.routing.kinds import TaskKind
from lsp_server.routing.symbols import SymbolInfo

__all__ = [
    "AssistRequest",
    "AssistResult",
    "Assistant",
    "AttemptInfo",
    "DaySpend",
    "Estimate",
    "Plan",
    "PlanBudget",
    "PlanContext",
    "PlanTier",
    "SymbolInfo",
    "TaskKind",
]
