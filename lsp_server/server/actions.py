"""Which assistant actions to offer for a selection or a diagnostic, as data.

Listing is instant and free: titles carry the starting tier and estimated cost from
``Assistant.estimate`` (no model call, no I/O).
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types as lsp

from lsp_server import wire
from lsp_server.routing.kinds import TaskKind

EXPLAIN_INSTRUCTION = "Explain what this code does and why."


# refactor.*, not source.*: VS Code's light bulb (Ctrl+.) lists quickfix and refactor kinds but
# keeps source.* for the "Source Action..." menu, where most users never look.
DOCUMENT_KIND = "refactor.agentic.document"
TESTS_KIND = "refactor.agentic.tests"


@dataclass(frozen=True)
class ActionSpec:
    kind: TaskKind
    lsp_kind: str
    label: str
    instruction: str
    needs_selection: bool = True


SELECTION_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("rewrite", lsp.CodeActionKind.RefactorRewrite, "Simplify selection",
               "Simplify this code without changing its behaviour."),
    ActionSpec("explain", lsp.CodeActionKind.Empty, "Explain selection",
               EXPLAIN_INSTRUCTION),
    ActionSpec("document", DOCUMENT_KIND, "Document selection",
               "Write documentation comments for the definitions in this code."),
    ActionSpec("tests", TESTS_KIND, "Generate tests for selection",
               "Write unit tests for this code in the project's usual style."),
)

SETUP_TITLE = "AI: Set up a model…"
"""The action offered beside the others when no model is set up (runs ``agentic.setupModels``)."""


def format_cost(cost_usd: float | None) -> str:
    """Short cost label for titles and status bars: $0, ~$0.0031, or ? when unpriced."""
    if cost_usd is None:
        return "$?"
    if cost_usd == 0:
        return "$0"
    if cost_usd < 0.01:
        return f"~${cost_usd:.4f}"
    return f"~${cost_usd:.2f}"


def title(label: str, tier: str, cost_usd: float | None, missing: str | None = None) -> str:
    """``AI: <label> · <tier> · <cost>``, or ``AI: <label> · <what is missing>``."""
    if missing is not None:
        return f"AI: {label} · {missing}"
    return f"AI: {label} · {tier} · {format_cost(cost_usd)}"


def short(message: str, limit: int = 48) -> str:
    first = message.strip().splitlines()[0] if message.strip() else message
    return first if len(first) <= limit else first[: limit - 1] + "…"


def action_data(
    kind: TaskKind, instruction: str, uri: str, rng: wire.Range, version: int | None,
    diagnostics: list[wire.DiagnosticRef],
) -> wire.ActionData:
    """What travels with a code action to resolve or to the runAction command."""
    return {"kind": kind, "instruction": instruction, "uri": uri, "range": rng,
            "version": version, "diagnostics": diagnostics}


def diagnostic_ref(diag: lsp.Diagnostic, rng: wire.Range) -> wire.DiagnosticRef:
    """What a fix action carries of the LSP diagnostic it fixes (``rng``: its range as JSON)."""
    return {"message": diag.message, "source": diag.source,
            "code": None if diag.code is None else str(diag.code), "range": rng}


def is_empty(rng: lsp.Range) -> bool:
    return rng.start.line == rng.end.line and rng.start.character == rng.end.character


def supports_resolve_edit(caps: lsp.ClientCapabilities | None) -> bool:
    """Whether the client resolves a code action's ``edit`` lazily (VS Code does)."""
    try:
        props = caps.text_document.code_action.resolve_support.properties  # type: ignore[union-attr]
    except AttributeError:
        return False
    return "edit" in (props or [])
