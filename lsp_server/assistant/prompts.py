"""The prompt for one model: system text, the context, and the request-specific tail.

The system text comes from the edits engine (per task kind and edit format) and the context
from the context builder; the tail (the instruction, the selection, the diagnostics and, when
escalating, why the previous answer was not accepted) changes with every request, so it goes
last, after the cacheable prefix. A prompt for a cloud model is written from the cloud
context and has secrets redacted from the selection, instruction and diagnostics too.

Each call's output limit is sized to the task and its target (:func:`output_budget`): an edit
restates the selected code and its change, so its limit follows the selection's size; prose gets
the task kind's typical length with headroom. ``models[].max_output_tokens`` stays the ceiling.
The stop sequences are markers of a model starting a new turn or question of its own, which no
answer format contains (the edit formats allow several blocks, so their end markers cannot end
an answer).

A local model's server caches the prompt by prefix (llama.cpp, Ollama), and on a CPU reading the
prompt is most of the call's time; so a local prompt opens with one system text for every
request (:data:`LOCAL_SYSTEM`), then the context, and the task's own rules (per kind and edit
format) go in the tail with the instruction: two requests on the same project share everything
up to the request-specific part, whatever their kinds.

A ``terse`` prompt style (an A/B variant's ``prompt_style``) adds one line to the system text
asking for the answer alone: no commentary around edits, prose in at most three sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsp_server.assistant.values import AssistRequest, Target
from lsp_server.config import ModelSettings, PromptStyle
from lsp_server.context.privacy import PrivacyFilter
from lsp_server.context.tokens import count_tokens
from lsp_server.edits import system_prompt
from lsp_server.providers.base import Prompt
from lsp_server.routing.classifier import Classification
from lsp_server.routing.kinds import profile

if TYPE_CHECKING:
    from lsp_server.context.rank.builder import ContextResult

ANSWER_SYSTEM = (
    "You are a precise coding assistant working inside the user's editor. Answer the question "
    "about this project from the context given. Answer in plain Markdown, at most a few short "
    "paragraphs; name files and symbols exactly as they appear. No preamble and no edit blocks."
)
STOP_SEQUENCES = ("\nUser:", "\nQuestion:", "<start_of_turn>", "<|im_start|>")
# An edit answer restates the target (SEARCH, or the whole definition) and writes it anew, with
# a header per block; tests write new code about twice the size of what they test.
EDIT_OVERHEAD_TOKENS = 160
EDIT_FACTOR = {"tests": 3.0}
MIN_OUTPUT_TOKENS = 128
PROSE_HEADROOM = 1.5


def output_budget(model: ModelSettings, cls: Classification, selection: str | None) -> int:
    """The output limit for one call (see the module docstring)."""
    if cls.mode == "edit" and selection is not None:
        factor = EDIT_FACTOR.get(cls.edit_kind or "", 2.0)
        wanted = int(count_tokens(selection) * factor) + EDIT_OVERHEAD_TOKENS
    else:
        wanted = int(profile(cls.edit_kind or cls.kind).output_tokens * PROSE_HEADROOM)
    return min(model.max_output_tokens, max(MIN_OUTPUT_TOKENS, wanted))


LOCAL_SYSTEM = ("You are a precise coding assistant working inside the user's editor. The "
                "project context comes first; the task, its answer format and the instruction "
                "come last. Follow the answer format exactly.")

TERSE = ("Be terse: give only what the answer format requires, with no commentary before or "
         "after it; a prose answer is at most three sentences.")


def selection_text(text: str | None, line_range: tuple[int, int] | None) -> str | None:
    """Lines ``line_range`` (1-based, inclusive) of ``text``."""
    if text is None or line_range is None:
        return None
    lines = text.split("\n")
    start, end = max(1, line_range[0]), min(len(lines), line_range[1])
    if start > end:
        return None
    return "\n".join(lines[start - 1:end])


def instruction_block(
    instruction: str,
    *,
    path: str | None,
    line_range: tuple[int, int] | None,
    selection: str | None,
    diagnostics: Sequence[str] = (),
    failure: str | None = None,
    language: str = "",
) -> str:
    """The tail of the prompt, in a fixed layout."""
    parts: list[str] = []
    if path is not None:
        where = f"{path}" + (f" lines {line_range[0]}-{line_range[1]}" if line_range else "")
        parts.append(f"Target: {where}")
    if selection is not None:
        parts.append(f"Selected code:\n```{language}\n{selection}\n```")
    if diagnostics:
        parts.append("Diagnostics:\n" + "\n".join(f"- {d}" for d in diagnostics))
    parts.append(f"Instruction: {instruction.strip()}")
    if failure:
        parts.append(
            "A previous answer to this request was not accepted: " + failure
            + ". Avoid that problem in your answer."
        )
    return "\n\n".join(parts)


def build_prompt(model: ModelSettings, request: AssistRequest, cls: Classification,
                 target: Target, context: ContextResult, privacy: PrivacyFilter,
                 failure: str | None, style: PromptStyle | None = None) -> Prompt:
    """The prompt for ``model``; ``context`` must be the one built for its audience."""
    system, tail, selection = _outside_context(model, request, cls, target, privacy, failure,
                                               style)
    return Prompt(system=system, stable=context.stable, volatile=context.volatile,
                  instruction=tail, max_output_tokens=output_budget(model, cls, selection),
                  temperature=model.temperature, stop=STOP_SEQUENCES)


def fixed_prompt_tokens(model: ModelSettings, request: AssistRequest, cls: Classification,
                        target: Target, privacy: PrivacyFilter,
                        style: PromptStyle | None = None) -> int:
    """The tokens of ``model``'s first prompt outside the context (system text, selection,
    instruction): what the local context's sizing takes off before the context."""
    system, tail, _ = _outside_context(model, request, cls, target, privacy, None, style)
    return count_tokens(system) + count_tokens(tail)


def _outside_context(model: ModelSettings, request: AssistRequest, cls: Classification,
                     target: Target, privacy: PrivacyFilter, failure: str | None,
                     style: PromptStyle | None) -> tuple[str, str, str | None]:
    """The system text, the tail, and the selection of ``model``'s prompt."""
    if cls.mode == "edit":
        system = system_prompt(cls.edit_kind or "rewrite", model.effective_edit_format)
    elif cls.kind == "explain":
        system = system_prompt("explain", model.effective_edit_format)
    else:
        system = ANSWER_SYSTEM
    if style == "terse":
        system = f"{system}\n\n{TERSE}"
    selection = selection_text(target.text, request.line_range)
    instruction = request.instruction
    diagnostics = [d.show() for d in request.diagnostics]
    if is_cloud(model):
        name = target.rel or "context.txt"
        if selection is not None:
            selection, _ = privacy.redact(selection, name)
        instruction, _ = privacy.redact(instruction, name)
        diagnostics = [privacy.redact(d, name)[0] for d in diagnostics]
    from lsp_server.context.index.languages import language_for  # loads the grammars

    spec = language_for(target.rel) if target.rel is not None else None
    tail = instruction_block(instruction, path=target.rel, line_range=request.line_range,
                             selection=selection, diagnostics=diagnostics, failure=failure,
                             language=spec.name if spec is not None else "")
    if not is_cloud(model):
        system, tail = LOCAL_SYSTEM, f"{system}\n\n{tail}"
    return system, tail, selection


def is_cloud(model: ModelSettings) -> bool:
    """Whether a prompt for ``model`` leaves the machine (everything but the local tier)."""
    return model.tier != "local"
