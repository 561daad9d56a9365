"""The tool loop's bounds, through the router with scripted models and scripted tools.

The end-to-end tests (``tests/assistant/test_pipeline_tools.py``) run the real tools on the real
index against vendor stand-ins; these pin each bound: turns, tokens per attempt, the daily
budget before each turn, a repeated call, no progress, cancel, and what a later tier is given.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

import pytest
from test_router import LOCAL as AUTO_LOCAL
from test_router import PREMIUM as AUTO_PREMIUM
from test_router import TIERS, Fleet, Request, ScriptedProvider, plan

from lsp_server.config import BudgetSettings, ModelSettings, RoutingSettings
from lsp_server.providers.base import Completion, Prompt, StreamDelta, Usage
from lsp_server.providers.tools import ToolCall, ToolSpec
from lsp_server.routing.attempts import RoutePlan
from lsp_server.routing.budget import Budget
from lsp_server.routing.early_stop import Expect, Monitor
from lsp_server.routing.router import Router
from lsp_server.routing.tool_loop import ToolOutcome, ToolSession, carry_text

FIND = '@tool find_definition {"name": "%s"}'
# The scripted providers speak the text protocol, which a model gets only when set to it.
LOCAL = AUTO_LOCAL.model_copy(update={"tool_format": "text"})
PREMIUM = AUTO_PREMIUM.model_copy(update={"tool_format": "text"})


@dataclass
class Tools:
    """Answers find_definition with a made-up body per name; records what ran."""

    ran: list[ToolCall] = field(default_factory=list)
    block: asyncio.Event | None = None

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        return (ToolSpec("find_definition", "where a symbol is defined"),)

    async def run(self, call: ToolCall) -> ToolOutcome:
        self.ran.append(call)
        if self.block is not None:
            await self.block.wait()
        if call.error is not None or call.name != "find_definition":
            return ToolOutcome(False, "error: no")
        body = f"def {call.args['name']}(): return 42"
        return ToolOutcome(True, body, found=body)

    def describe(self, call: ToolCall) -> str:
        return f"finding `{call.args.get('name')}`…"


def router(models: list[ModelSettings], fleet: Fleet, *, turns: int = 3, tokens: int = 32000,
           daily: float = 1.0) -> Router:
    return Router(models, routing=RoutingSettings(max_tool_turns=turns,
                                                  max_attempt_tokens=tokens),
                  budget=Budget(BudgetSettings(daily_usd=daily)), fleet=fleet, cache=None)


async def test_each_turn_is_recorded_and_the_answer_follows() -> None:
    local = ScriptedProvider([FIND % "a", FIND % "b", "good"])
    tools = Tools()
    request = Request(runner=tools)
    result = await router([LOCAL], Fleet({"local": local}, {})).run(plan(), request)
    assert result.outcome == "accepted"
    assert [c.args["name"] for c in tools.ran] == ["a", "b"]
    assert [len(a.tool_calls) for a in request.recorded] == [1, 1, 0]
    assert all(a.usage == Usage(100, 10) for a in request.recorded)  # one row per request
    # Each turn's prompt starts with the one before: results are appended at the end.
    texts = [p.instruction for p in local.prompts]
    assert texts[1].startswith(texts[0].split("You may look up code")[0])
    assert "def a(): return 42" in texts[1] and "def b(): return 42" in texts[2]
    assert "finding `a`…" in request.told


async def test_a_repeated_call_stops_the_loop_and_the_next_tier_gets_what_was_found() -> None:
    local = ScriptedProvider([FIND % "a", FIND % "a"])
    premium = ScriptedProvider(["good"])
    tools = Tools()
    request = Request(runner=tools)
    result = await router([LOCAL, PREMIUM], Fleet({"local": local, "premium": premium},
                                                  {"premium": 1e-6})).run(plan(), request)
    assert len(tools.ran) == 1  # the repeat is not run
    stopped = request.recorded[1]
    assert stopped.stopped is not None and "repeated the tool call" in stopped.stopped
    assert result.winner is not None and result.winner.provider == "premium"
    assert "def a(): return 42" in premium.prompts[0].instruction
    assert "earlier attempt's tool calls" in premium.prompts[0].instruction


async def test_turns_are_bounded() -> None:
    local = ScriptedProvider([FIND % "a", FIND % "b", FIND % "c"])
    request = Request(runner=Tools())
    result = await router([LOCAL], Fleet({"local": local}, {}), turns=2).run(plan(), request)
    assert result.outcome == "rejected" and len(local.prompts) == 3
    assert "No tool turns remain" in local.prompts[2].instruction
    last = request.recorded[-1]
    assert last.stopped is not None and "routing.max_tool_turns" in last.stopped


async def test_the_attempt_token_budget_is_checked_before_each_call() -> None:
    local = ScriptedProvider([FIND % "a", "good"])
    request = Request(runner=Tools())
    result = await router([LOCAL], Fleet({"local": local}, {}), tokens=1000).run(
        plan(), request)
    # The first turn spent 110 tokens by its usage; the next prompt is the first plus the
    # tool results, and 110 + it + the output limit fits in 1000: allowed. Then a tight one:
    assert result.outcome == "accepted"
    local = ScriptedProvider([Completion(text=FIND % "a", model="m", usage=Usage(990, 5)), "good"])
    request = Request(runner=Tools())
    result = await router([LOCAL], Fleet({"local": local}, {}), tokens=1000).run(
        plan(), request)
    assert result.outcome == "rejected" and len(local.prompts) == 1
    assert "routing.max_attempt_tokens" in (request.recorded[-1].stopped or "")


async def test_the_daily_budget_is_checked_before_each_turn() -> None:
    premium = ScriptedProvider([FIND % "a", "good"])
    fleet = Fleet({"premium": premium}, {"premium": 5e-6})
    routed = router([PREMIUM], fleet)
    first = ToolSession(Tools(), max_turns=3, max_tokens=32000).prompt(
        await Request().prompt(PREMIUM, None))
    estimate = routed.estimate(PREMIUM, first, 10)
    assert estimate is not None
    # The first call fits the day's budget; the second, with the tool results appended, not.
    request = Request(runner=Tools(), spent=1.0 - estimate * 1.02)
    result = await routed.run(
        RoutePlan(start="premium", tiers=TIERS, allowed=frozenset(TIERS), output_tokens=10),
        request)
    assert len(premium.prompts) == 1 and result.budget_blocked
    assert "daily budget" in (request.recorded[-1].stopped or "")


async def test_turns_that_find_nothing_new_stop_the_loop() -> None:
    local = ScriptedProvider(['@tool nope {"x": 1}', '@tool nope {"x": 2}', "good"])
    request = Request(runner=Tools())
    result = await router([LOCAL], Fleet({"local": local}, {})).run(plan(), request)
    assert result.outcome == "rejected" and len(local.prompts) == 2
    assert "found nothing new" in (request.recorded[-1].stopped or "")


async def test_cancel_stops_the_loop_while_a_tool_runs() -> None:
    local = ScriptedProvider([FIND % "a", "good"])
    tools = Tools(block=asyncio.Event())
    request = Request(runner=tools)
    task = asyncio.ensure_future(router([LOCAL], Fleet({"local": local}, {})).run(plan(), request))
    while not tools.ran:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(local.prompts) == 1 and len(tools.ran) == 1
    (row,) = request.recorded  # the turn's request was made: recorded, with its usage
    assert row.error == "cancelled" and row.usage == Usage(100, 10)


def test_carry_is_bounded_and_each_piece_is_kept_once() -> None:
    text = carry_text(["x = 1", "x = 1", "y " * 5000, "z = 2"])
    assert text.count("x = 1") == 1 and "y y" not in text and "z = 2" in text
    assert carry_text([]) == ""


def test_the_text_prompt_keeps_the_prefix_and_appends_turns() -> None:
    from lsp_server.providers.base import Prompt

    session = ToolSession(Tools(), max_turns=2, max_tokens=5000)
    base = Prompt(system="sys", stable="ctx", instruction="do it")
    first = session.prompt(base)
    assert (first.system, first.stable) == ("sys", "ctx")
    assert first.instruction.startswith("do it\n\nYou may look up code")


async def test_auto_offers_no_text_protocol() -> None:
    """``tool_format = "auto"`` resolving to the text protocol offers no tools: the prompt is
    the request's own and a reply that looks like a call is the answer."""
    local = ScriptedProvider([FIND % "a"])
    tools = Tools()
    request = Request(runner=tools)
    result = await router([AUTO_LOCAL], Fleet({"local": local}, {})).run(plan(), request)
    assert tools.ran == [] and local.prompts[0] == await Request().prompt(AUTO_LOCAL, None)
    assert result.outcome == "rejected" and not request.recorded[0].tool_calls


# -- early stop while tools are offered --------------------------------------------------------

EDIT = Expect(mode="edit", edit_format="search_replace", language="rust", question="fix it",
              header_within_tokens=16)
ESSAY = "The function computes the total of all the lines given to it, one by one. " * 20
PREAMBLE = "I need the definition of the helper before I can write the edit for it. " * 3


def test_the_monitor_takes_a_tool_call_as_a_valid_start() -> None:
    # In the text protocol: an @tool line, even after a short preamble.
    text = Monitor(dataclasses.replace(EDIT, tools="text"))
    for piece in ("Let me look.\n", '@tool find_definition {"name": "a"}\n', ESSAY):
        assert text.feed(piece) is None
    assert text.tool_turn
    # A native tool call starts: the reply is a tool turn.
    native = Monitor(dataclasses.replace(EDIT, tools="native"))
    assert native.feed("Let me look.") is None and native.feed("", "find_definition") is None
    assert native.feed(ESSAY) is None and native.tool_turn
    # Without tools offered, neither is a start: the same reply cannot become an edit.
    bare = Monitor(EDIT)
    bare.feed('@tool find_definition {"name": "a"}\n')
    bare.feed("", "find_definition")
    assert bare.feed(ESSAY) is not None and not bare.tool_turn
    # With tools offered, a reply that is neither a call nor an edit is still stopped.
    prose = Monitor(dataclasses.replace(EDIT, tools="text"))
    assert any(prose.feed(ESSAY[i:i + 8]) for i in range(0, len(ESSAY), 8))
    assert "no edit block" in (prose.reason or "")
    # A @toolbox line is not a call.
    assert Monitor(dataclasses.replace(EDIT, tools="text")).feed("@toolbox " + ESSAY) is not None


class NativeStream(ScriptedProvider):
    """Streams its script: each step's text in pieces, then its native tool call if it has one
    (a tool-call delta, then a Completion carrying the call)."""

    def __init__(self, steps: list[tuple[str, ToolCall | None]]) -> None:
        super().__init__([])
        self.steps = steps

    async def stream(self, prompt: Prompt) -> AsyncIterator[StreamDelta | Completion]:
        self.prompts.append(prompt)
        text, call = self.steps.pop(0)
        for i in range(0, len(text), 6):
            yield StreamDelta(text[i:i + 6])
        if call is not None:
            yield StreamDelta("", tool_call=call.name)
        yield Completion(text=text, model="m", usage=Usage(input=100, output=10),
                         tool_calls=(call,) if call is not None else ())

    async def tool_format(self) -> Literal["native", "text"]:
        return "native"


async def test_early_stop_stays_on_while_tools_are_offered() -> None:
    """A tool turn runs to its end (text protocol and native), and a later reply that can no
    longer become an edit is stopped early, though tools were still offered."""
    local = ScriptedProvider(["Let me look.\n" + FIND % "a", ESSAY])
    request = Request(runner=Tools(), expectation=EDIT)
    result = await router([LOCAL], Fleet({"local": local}, {}), turns=3).run(plan(), request)
    turn, stopped = request.recorded
    assert turn.tool_calls and turn.stopped is None  # the @tool reply was not stopped
    assert stopped.stopped is not None and "no edit block" in stopped.stopped
    assert stopped.usage.output < 100 and result.outcome == "rejected"

    native = NativeStream([("Let me look that up.", ToolCall("find_definition", {"name": "a"},
                                                             id="c1")), (ESSAY, None)])
    native_model = AUTO_LOCAL.model_copy(update={"tool_format": "native"})
    request = Request(runner=Tools(), expectation=EDIT)
    await router([native_model], Fleet({"local": native}, {}), turns=3).run(plan(), request)
    turn, stopped = request.recorded
    assert [c.name for c in turn.tool_calls] == ["find_definition"] and turn.stopped is None
    assert stopped.stopped is not None and "no edit block" in stopped.stopped
