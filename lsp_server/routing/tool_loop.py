"""The bounded tool loop of one attempt: the model asks for tools, the index answers at $0, the
model asks again or answers.

The router calls a model; when the answer asks for tools (:meth:`ToolSession.calls_in`), the
session runs them (:meth:`ToolSession.answer`) and gives the router the next prompt
(:meth:`ToolSession.prompt`): the same system text, context and instruction, with the turns so
far appended at the end, so a provider's prompt cache keeps hitting the prefix on every turn.
Each turn is a vendor request, recorded by the router as an attempt row of its own.

The loop is bounded, and a bound reached stops it (the attempt is rejected and the router
escalates): at most ``routing.max_tool_turns`` tool turns, at most ``routing.max_attempt_tokens``
tokens (prompt and answer of every turn, counted before each call), the daily budget (the
router's own check, before each call), the same call asked for twice, and two turns in a row
that learn nothing new (every call refused, malformed or answered as before).

What the tools found (the definitions and references they returned) is kept in
:attr:`ToolSession.found`, so a more expensive tier that follows a rejected attempt gets it in
its prompt (:func:`carry_text`) instead of rediscovering it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from lsp_server.context.tokens import count_tokens
from lsp_server.providers.base import Completion, Prompt
from lsp_server.providers.tools import (
    ToolCall,
    ToolSpec,
    ToolTurn,
    parse_text_calls,
    text_protocol,
    text_transcript,
)
from lsp_server.routing.early_stop import Expect

ToolFormat = Literal["text", "native"]
CARRY_TOKENS = 2000  # what a rejected attempt's tools found, at most, in the next tier's prompt
NO_PROGRESS_TURNS = 2  # turns in a row that learn nothing before the loop stops


def offered_format(setting: str, resolved: ToolFormat) -> ToolFormat | None:
    """How ``model`` is offered tools, None: not at all.

    ``resolved`` is the provider's answer for ``models[].tool_format`` (``setting``). With
    ``auto`` a model gets tools only when they resolve to its vendor's native tool calling: a
    model without it (a small local model behind a text-only server) rarely calls tools in the
    text protocol, and the protocol's instructions cost it prompt time on every request. The
    text protocol is used when the user asks for it (``tool_format = "text"``)."""
    if setting == "auto" and resolved == "text":
        return None
    return resolved


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """A tool's answer as the loop sees it (``found``: code it showed, for a later tier)."""

    ok: bool
    text: str
    found: str = ""


class ToolRunner(Protocol):
    """The request's tools (answered from the index, no model call)."""

    @property
    def specs(self) -> tuple[ToolSpec, ...]: ...

    async def run(self, call: ToolCall) -> ToolOutcome: ...

    def describe(self, call: ToolCall) -> str:
        """The progress line while ``call`` runs ("searching `parse_config`…")."""


@dataclass
class ToolCallInfo:
    """One tool call of an attempt, as shown to the user and in ``--json``."""

    name: str
    args: dict[str, Any]
    ok: bool
    result_tokens: int
    error: str | None = None  # why it was refused or failed (the model was told)

    def label(self) -> str:
        args = ", ".join(f"{k}={json.dumps(v)}" for k, v in self.args.items())
        return f"{self.name}({args})" + ("" if self.ok else f" → {self.error}")


@dataclass
class ToolSession:
    """The tool loop of one attempt (see the module docstring)."""

    runner: ToolRunner
    max_turns: int
    max_tokens: int
    format: ToolFormat = "text"
    carry: str = ""
    turns: list[ToolTurn] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    tokens: int = 0  # prompt and answer tokens of the turns so far
    _seen_calls: set[str] = field(default_factory=set)
    _seen_results: set[str] = field(default_factory=set)
    _idle: int = 0

    @property
    def turns_left(self) -> int:
        return self.max_turns - len(self.turns)

    def expect(self, expect: Expect) -> Expect:
        """What early stop accepts from the next reply: while turns are left, a tool call in
        this session's format too."""
        return dataclasses.replace(expect, tools=self.format if self.turns_left > 0 else None)

    def prompt(self, base: Prompt) -> Prompt:
        """The prompt of the next turn: ``base`` unchanged in front, what is new at the end."""
        tail: list[str] = []
        if self.carry:
            tail.append(self.carry)
        if self.format == "native":
            extra = "\n\n".join(tail)
            # The tools stay in every turn's request (a vendor refuses tool results without
            # them); when the turns are used up the model may no longer call them.
            return dataclasses.replace(
                base, instruction="\n\n".join(p for p in (base.instruction, extra) if p),
                tools=self.runner.specs, turns=tuple(self.turns),
                tool_choice="auto" if self.turns_left > 0 else "none")
        if self.turns_left > 0:
            tail.append(text_protocol(self.runner.specs, self.turns_left))
        else:
            tail.append("No tool turns remain: give your final answer now.")
        if self.turns:
            tail.append(text_transcript(tuple(self.turns)))
        return dataclasses.replace(
            base, instruction="\n\n".join(p for p in (base.instruction, *tail) if p))

    def calls_in(self, completion: Completion) -> tuple[ToolCall, ...]:
        """The tool calls an answer asks for (empty: it is the final answer)."""
        if self.format == "native":
            return completion.tool_calls
        return parse_text_calls(completion.text)

    def admit(self, prompt: Prompt, output_tokens: int) -> str | None:
        """Why the next call may not be made (None: it may), checked before each call."""
        if len(self.turns) > self.max_turns:
            return f"more than {self.max_turns} tool turns (routing.max_tool_turns)"
        need = self.tokens + count_tokens(prompt.billed_text()) + output_tokens
        if self.turns and need > self.max_tokens:
            return (f"the next turn would bring the attempt to {need} tokens, over "
                    f"{self.max_tokens} (routing.max_attempt_tokens)")
        return None

    def spent(self, input_tokens: int, output_tokens: int) -> None:
        self.tokens += input_tokens + output_tokens

    async def answer(self, text: str, calls: tuple[ToolCall, ...],
                     progress: Any) -> tuple[list[ToolCallInfo], str | None]:
        """Run ``calls`` and keep the turn; returns what ran, and why the loop must stop
        (None: go on). Nothing runs when the turns are used up or a call repeats."""
        if self.turns_left <= 0:
            return [], f"asked for tools after {self.max_turns} tool turns (routing.max_tool_turns)"
        repeated = next((c for c in calls if c.error is None and c.key() in self._seen_calls),
                        None)
        if repeated is not None:
            return [], f"repeated the tool call {repeated.name} {json.dumps(dict(repeated.args))}"
        infos: list[ToolCallInfo] = []
        results: list[str] = []
        learned = False
        for call in calls:
            progress(self.runner.describe(call))
            outcome = await self.runner.run(call)
            self._seen_calls.add(call.key())
            results.append(outcome.text)
            infos.append(ToolCallInfo(call.name, dict(call.args), outcome.ok,
                                      count_tokens(outcome.text),
                                      None if outcome.ok else outcome.text))
            if outcome.ok and outcome.text not in self._seen_results:
                learned = True
                self._seen_results.add(outcome.text)
                if outcome.found:
                    self.found.append(outcome.found)
        self.turns.append(ToolTurn(text, calls, tuple(results)))
        self._idle = 0 if learned else self._idle + 1
        if self._idle >= NO_PROGRESS_TURNS:
            return infos, f"{NO_PROGRESS_TURNS} tool turns in a row found nothing new"
        return infos, None


def carry_text(found: list[str]) -> str:
    """What earlier tool calls found, bounded, for the next tier's prompt."""
    if not found:
        return ""
    head = "Code found by an earlier attempt's tool calls (from the project index):"
    kept: list[str] = []
    used = count_tokens(head)
    for piece in dict.fromkeys(found):  # each piece once, first seen first
        cost = count_tokens(piece)
        if used + cost > CARRY_TOKENS:
            continue  # too big for what is left: a smaller piece after it may still fit
        kept.append(piece)
        used += cost
    return "\n\n".join([head, *kept]) if kept else ""
