"""The cascade alone, through its two protocols: a scripted request and scripted models.

The end-to-end tests (``tests/assistant``) run the same cascade with the real providers
against vendor stand-ins; these pin the decisions themselves: which model is tried, when the
cascade escalates or falls back, what the budget stops, and that every attempt is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from lsp_server.config import BudgetSettings, CacheSettings, ModelSettings, RoutingSettings, Tier
from lsp_server.errors import (
    AuthenticationError,
    MalformedResponseError,
    ProviderError,
    RateLimitedError,
    RetryableProviderError,
)
from lsp_server.providers.base import Completion, Prompt, Provider, StreamDelta, Usage
from lsp_server.routing.attempts import AttemptInfo, Judgement, RoutePlan
from lsp_server.routing.budget import Budget
from lsp_server.routing.cache import ResponseCache
from lsp_server.routing.early_stop import Expect
from lsp_server.routing.health import Health
from lsp_server.routing.router import Router
from lsp_server.routing.tool_loop import ToolRunner

TIERS: tuple[Tier, ...] = ("local", "free", "budget", "premium")
LOCAL = ModelSettings(name="local", provider="ollama", model="m-local", tier="local")
FREE = ModelSettings(name="free", provider="openai", model="m-free", tier="free",
                     base_url="http://127.0.0.1:9/v1")
FREE2 = ModelSettings(name="free2", provider="openai", model="m-free2", tier="free",
                      base_url="http://127.0.0.1:9/v1")
PREMIUM = ModelSettings(name="premium", provider="anthropic", model="m-premium", tier="premium")


class ScriptedProvider:
    """Answers from a script: a text, a Completion, or an exception to raise."""

    def __init__(self, script: list[str | Completion | Exception]) -> None:
        self.script = script
        self.prompts: list[Prompt] = []

    async def tool_format(self) -> Literal["native", "text"]:
        return "text"

    async def generate(self, prompt: Prompt) -> Completion:
        self.prompts.append(prompt)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, Completion):
            return step
        return Completion(text=step, model="scripted", usage=Usage(input=100, output=10))

    async def stream(self, prompt: Prompt) -> AsyncIterator[StreamDelta | Completion]:
        """The scripted answer as a stream: its text in pieces of a few characters, then
        the Completion (the router consumes every answer as a stream)."""
        done = await self.generate(prompt)
        for i in range(0, len(done.text), 4):
            yield StreamDelta(done.text[i:i + 4])
        yield done


def failure(cls: type[ProviderError], status: int | None, *, usage: Usage | None = None,
            estimated: bool = False, latency_ms: float = 5.0,
            tries: tuple[ProviderError, ...] = ()) -> ProviderError:
    """A provider error as a provider raises it: with its billing, latency and earlier tries."""
    error = cls(f"HTTP {status}", provider="x", status=status, usage=usage)
    error.usage_estimated, error.latency_ms, error.tries = estimated, latency_ms, tries
    return error


@dataclass
class Fleet:
    providers: dict[str, ScriptedProvider]
    price: dict[str, float]
    health: Health = field(default_factory=Health)

    def provider(self, model: ModelSettings) -> Provider:
        return self.providers[model.name]  # type: ignore[return-value]

    def cost(self, model: ModelSettings, usage: Usage) -> float | None:
        return self.price.get(model.name, 0.0) * (usage.input + usage.output)


@dataclass
class Request:
    """Accepts an answer whose text is "good"; records everything it is told."""

    spent: float = 0.0
    recorded: list[AttemptInfo] = field(default_factory=list)
    failures: list[str | None] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    expectation: Expect | None = None
    runner: ToolRunner | None = None

    async def prompt(self, model: ModelSettings, failure: str | None) -> Prompt:
        self.failures.append(failure)
        return Prompt(system="s", instruction=f"for {model.name}", max_output_tokens=50)

    async def judge(self, model: ModelSettings, text: str,
                    completion: Completion | None) -> Judgement:
        good = text == "good"
        return Judgement(good, 1.0 if good else 0.2, [] if good else ["not good"], text)

    def record(self, attempt: AttemptInfo) -> None:
        self.recorded.append(attempt)

    def spent_today(self) -> float:
        return self.spent

    def progress(self, text: str) -> None:
        self.told.append(text)

    def expect(self, model: ModelSettings) -> Expect | None:
        return self.expectation

    def tools(self, model: ModelSettings) -> ToolRunner | None:
        return self.runner


def router(models: list[ModelSettings], fleet: Fleet, *, daily: float = 1.0,
           cache: ResponseCache | None = None, max_attempts: int = 4) -> Router:
    return Router(models, routing=RoutingSettings(max_attempts=max_attempts),
                  budget=Budget(BudgetSettings(daily_usd=daily)), fleet=fleet, cache=cache)


def plan(start: Tier = "local", allowed: tuple[Tier, ...] = TIERS) -> RoutePlan:
    return RoutePlan(start=start, tiers=TIERS, allowed=frozenset(allowed), output_tokens=10)


async def test_a_rejected_answer_escalates_with_the_reason_and_the_next_tier_answers() -> None:
    fleet = Fleet({"local": ScriptedProvider(["bad"]), "premium": ScriptedProvider(["good"])},
                  {"premium": 1e-4})
    request = Request()
    result = await router([LOCAL, PREMIUM], fleet).run(plan(), request)
    assert result.outcome == "accepted" and result.winner is not None
    assert result.winner.provider == "premium"
    assert request.failures == [None, "not good"]
    assert [a.provider for a in request.recorded] == ["local", "premium"]
    assert request.recorded == result.attempts
    assert result.cost_usd == pytest.approx(1e-4 * 110)
    assert any("escalated from the local tier" in n for n in result.notes)


async def test_a_transport_failure_falls_back_within_the_tier_and_is_recorded() -> None:
    fleet = Fleet({"free": ScriptedProvider([RetryableProviderError("503", provider="free")]),
                   "free2": ScriptedProvider(["good"])}, {})
    request = Request()
    result = await router([FREE, FREE2], fleet).run(plan("free"), request)
    assert result.outcome == "accepted" and result.winner is not None
    assert result.winner.provider == "free2"
    first = request.recorded[0]
    assert first.provider == "free" and first.error and "RetryableProviderError" in first.error
    assert any("free failed" in n for n in result.notes)


async def test_the_budget_skips_a_paid_call_and_cheaper_tiers_are_tried_below_the_start() -> None:
    fleet = Fleet({"local": ScriptedProvider(["good"]), "premium": ScriptedProvider(["good"])},
                  {"premium": 1.0})
    request = Request(spent=0.5)
    result = await router([LOCAL, PREMIUM], fleet, daily=1.0).run(plan("premium"), request)
    assert result.budget_blocked and fleet.providers["premium"].prompts == []
    assert result.winner is not None and result.winner.provider == "local"
    assert any("daily budget reached" in n for n in result.notes)


async def test_privacy_narrows_the_tiers_and_nothing_else_is_called() -> None:
    fleet = Fleet({"local": ScriptedProvider(["bad"]), "premium": ScriptedProvider(["good"])}, {})
    result = await router([LOCAL, PREMIUM], fleet).run(plan(allowed=("local",)), Request())
    assert result.outcome == "rejected" and fleet.providers["premium"].prompts == []


async def test_max_attempts_stops_the_cascade() -> None:
    fleet = Fleet({"local": ScriptedProvider(["bad"]), "free": ScriptedProvider(["bad"]),
                   "premium": ScriptedProvider(["good"])}, {})
    result = await router([LOCAL, FREE, PREMIUM], fleet, max_attempts=2).run(plan(), Request())
    assert result.outcome == "rejected" and len(result.attempts) == 2
    assert any("routing.max_attempts" in n for n in result.notes)


async def test_a_repeat_is_answered_from_the_cache_for_nothing(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3", CacheSettings())
    fleet = Fleet({"premium": ScriptedProvider(["good"])}, {"premium": 1e-4})
    first = await router([PREMIUM], fleet, cache=cache).run(plan("premium"), Request())
    request = Request()
    again = await router([PREMIUM], fleet, cache=cache).run(plan("premium"), request)
    cache.close()
    assert first.outcome == "accepted" and again.outcome == "cache_hit"
    hit = request.recorded[0]
    assert hit.cached and hit.cost_usd == 0.0 and hit.usage == Usage()
    assert hit.answer_usage == Usage(input=100, output=10)  # what the cached answer cost once


async def test_a_cancelled_call_is_recorded_before_the_cancellation_propagates() -> None:
    class Hanging(ScriptedProvider):
        async def generate(self, prompt: Prompt) -> Completion:
            await asyncio.sleep(60)
            raise AssertionError("not reached")

    fleet = Fleet({"local": Hanging([])}, {})
    request = Request()
    task = asyncio.create_task(router([LOCAL], fleet).run(plan(), request))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [a.error for a in request.recorded] == ["cancelled"]
    cancelled = request.recorded[0]
    assert cancelled.cost_usd is None and cancelled.cost_status == "unknown"


async def test_tries_the_provider_retried_are_recorded_before_the_answer() -> None:
    tries = (failure(RetryableProviderError, 503, latency_ms=7.0),
             failure(RateLimitedError, 429, usage=Usage(), latency_ms=3.0))
    answer = Completion(text="good", model="m", usage=Usage(input=100, output=10), latency_ms=40.0,
                        tries=tries)
    fleet = Fleet({"premium": ScriptedProvider([answer])}, {"premium": 1e-4})
    request = Request()
    result = await router([PREMIUM], fleet).run(plan("premium"), request)
    assert request.recorded == result.attempts
    first, second, last = request.recorded
    assert first.error is not None and "RetryableProviderError: HTTP 503" in first.error
    assert (first.latency_ms, first.cost_usd, first.cost_status) == (7.0, None, "unknown")
    assert second.error is not None and "RateLimitedError" in second.error
    assert (second.latency_ms, second.cost_usd, second.cost_status) == (3.0, 0.0, "measured")
    assert last.error is None and last.accepted and last.latency_ms == 40.0
    assert last.cost_usd == pytest.approx(1e-4 * 110) and last.cost_status == "measured"
    assert result.winner is last
    assert result.cost_usd == pytest.approx(1e-4 * 110)
    assert fleet.health.available("premium")  # retried tries are not failures of the model


async def test_a_failure_is_recorded_with_its_earlier_tries_and_its_reported_usage() -> None:
    earlier = failure(RetryableProviderError, 503, latency_ms=2.0)
    final = failure(MalformedResponseError, None, usage=Usage(input=50, output=3), tries=(earlier,))
    fleet = Fleet({"free": ScriptedProvider([final]), "free2": ScriptedProvider(["good"])},
                  {"free": 1e-3})
    request = Request()
    result = await router([FREE, FREE2], fleet).run(plan("free"), request)
    assert [a.provider for a in request.recorded] == ["free", "free", "free2"]
    retried, broken = request.recorded[:2]
    assert retried.cost_status == "unknown" and retried.cost_usd is None
    assert broken.usage == Usage(input=50, output=3) and broken.cost_status == "measured"
    assert broken.cost_usd == pytest.approx(1e-3 * 53) and broken.latency_ms == 5.0
    assert result.cost_usd == pytest.approx(1e-3 * 53)


async def test_a_stream_broken_before_the_final_count_is_an_estimated_cost() -> None:
    broken = failure(MalformedResponseError, None, usage=Usage(input=40, output=4), estimated=True)
    fleet = Fleet({"free": ScriptedProvider([broken])}, {"free": 1e-3})
    request = Request()
    await router([FREE], fleet).run(plan("free"), request)
    (attempt,) = request.recorded
    assert attempt.cost_status == "estimated" and attempt.cost_usd == pytest.approx(1e-3 * 44)


@pytest.mark.parametrize(("error", "cost", "status"), [
    (failure(AuthenticationError, 401, usage=Usage()), 0.0, "measured"),
    (failure(RateLimitedError, 429, usage=Usage()), 0.0, "measured"),
    (failure(RetryableProviderError, None), None, "unknown"),  # a read timeout
    (failure(RetryableProviderError, 500), None, "unknown"),
    (ValueError("a bug"), None, "unknown"),
])
async def test_a_failure_is_measured_at_nothing_only_when_nothing_was_billed(
    error: Exception, cost: float | None, status: str
) -> None:
    fleet = Fleet({"free": ScriptedProvider([error])}, {"free": 1e-3})
    request = Request()
    result = await router([FREE], fleet).run(plan("free"), request)
    (attempt,) = request.recorded
    assert attempt.error is not None and attempt.usage == Usage()
    assert (attempt.cost_usd, attempt.cost_status) == (cost, status)
    assert result.outcome == "failed"


async def test_an_estimated_answer_is_recorded_as_estimated() -> None:
    answer = Completion(text="good", model="m", usage=Usage(input=80, output=5), usage_estimated=True)
    fleet = Fleet({"free": ScriptedProvider([answer])}, {"free": 1e-3})
    request = Request()
    result = await router([FREE], fleet).run(plan("free"), request)
    (attempt,) = request.recorded
    assert attempt.accepted and attempt.cost_status == "estimated"
    assert attempt.usage == Usage(input=80, output=5) and attempt.cost_usd == pytest.approx(1e-3 * 85)
    assert result.winner is attempt


class Streaming(ScriptedProvider):
    """Streams one text in pieces with a pause before each; notes when its stream is closed."""

    def __init__(self, text: str, *, first_delay: float = 0.0, delay: float = 0.0) -> None:
        super().__init__([])
        self.text, self.first_delay, self.delay = text, first_delay, delay
        self.sent = 0
        self.closed = False

    async def stream(self, prompt: Prompt) -> AsyncIterator[StreamDelta | Completion]:
        self.prompts.append(prompt)
        try:
            await asyncio.sleep(self.first_delay)
            for i in range(0, len(self.text), 5):
                await asyncio.sleep(self.delay)
                self.sent += 1
                yield StreamDelta(self.text[i:i + 5])
            yield Completion(text=self.text, model="m", usage=Usage(input=100, output=99))
        finally:
            self.closed = True


ESSAY = "The function computes the total area of all the shapes given to it, one by one. " * 30
EDIT_EXPECT = Expect(mode="edit", edit_format="search_replace", language="rust", question="doc it")


async def test_an_answer_that_cannot_become_an_edit_is_stopped_early_and_escalated() -> None:
    local = Streaming(ESSAY)
    fleet = Fleet({"local": local, "premium": ScriptedProvider(["good"])}, {"premium": 1e-4})
    request = Request(expectation=EDIT_EXPECT)
    result = await router([LOCAL, PREMIUM], fleet).run(plan(), request)
    assert result.winner is not None and result.winner.provider == "premium"
    stopped = request.recorded[0]
    assert stopped.stopped is not None and "no edit block" in stopped.stopped
    assert not stopped.accepted and stopped.error is None and stopped.cost_status == "estimated"
    assert 0 < stopped.usage.output < 120 and stopped.usage.input > 0
    assert stopped.first_token_ms is not None
    assert local.closed and local.sent < len(ESSAY) // 5 // 4  # most of it was never asked for
    assert request.failures[1] is not None and "stopped early" in request.failures[1]
    assert any(t.startswith("local (local):") and "tokens" in t for t in request.told)


async def test_no_first_token_within_the_tier_budget_escalates() -> None:
    local = Streaming("good", first_delay=5.0)
    fleet = Fleet({"local": local, "premium": ScriptedProvider(["good"])}, {})
    routing = RoutingSettings(first_token_timeout_s={"local": 0.05}, tier_timeout_s={"local": 9})
    request = Request()
    result = await Router([LOCAL, PREMIUM], routing=routing, budget=Budget(BudgetSettings()),
                          fleet=fleet, cache=None).run(plan(), request)
    assert result.winner is not None and result.winner.provider == "premium"
    first = request.recorded[0]
    assert first.stopped is not None and "routing.first_token_timeout_s" in first.stopped
    assert first.usage.output == 0 and first.cost_status == "estimated" and local.closed


async def test_an_answer_past_the_tier_total_budget_is_stopped() -> None:
    local = Streaming("good " * 200, delay=0.01)
    fleet = Fleet({"local": local, "premium": ScriptedProvider(["good"])}, {})
    routing = RoutingSettings(first_token_timeout_s={"local": 5}, tier_timeout_s={"local": 0.1})
    request = Request()
    result = await Router([LOCAL, PREMIUM], routing=routing, budget=Budget(BudgetSettings()),
                          fleet=fleet, cache=None).run(plan(), request)
    first = request.recorded[0]
    assert first.stopped is not None and "routing.tier_timeout_s" in first.stopped
    assert first.usage.output > 0 and local.closed and result.winner is not None


async def test_cancelling_closes_the_stream() -> None:
    local = Streaming("good " * 100, delay=0.02)
    fleet = Fleet({"local": local}, {})
    request = Request()
    task = asyncio.create_task(router([LOCAL], fleet).run(plan(), request))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert local.closed and [a.error for a in request.recorded] == ["cancelled"]


async def _trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An event stream that never ends: keep-alive comments every 50 ms (each one resets
    httpx's read timeout)."""
    try:
        while (await reader.readline()).strip():
            pass
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"transfer-encoding: chunked\r\n\r\n")
        for _ in range(2000):
            writer.write(b"d\r\n: keep-alive\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def test_a_stream_that_never_ends_fails_at_the_models_timeout() -> None:
    from lsp_server.providers import make_provider

    server = await asyncio.start_server(_trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    endless = ModelSettings(name="free", provider="openai", model="m", tier="free",
                            base_url=f"http://127.0.0.1:{port}/v1", timeout_seconds=0.5,
                            max_retries=0, api_key_env="NO_SUCH_KEY_VAR")
    provider = make_provider(endless, {"NO_SUCH_KEY_VAR": "not-a-real-key-0123"})
    fleet = Fleet({"free": provider, "premium": ScriptedProvider(["good"])}, {})  # type: ignore[dict-item]
    request = Request()
    try:
        result = await router([endless, PREMIUM], fleet).run(plan("free"), request)
    finally:
        await provider.aclose()
        server.close()
        await server.wait_closed()
    first = request.recorded[0]
    assert first.error is not None and "no complete answer within 0.5s" in first.error
    assert first.cost_status == "unknown" and first.cost_usd is None
    assert result.winner is not None and result.winner.provider == "premium"
