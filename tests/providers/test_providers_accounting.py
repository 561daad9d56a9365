"""What every try of a call is billed for, against each vendor's stand-in: retried tries travel
with the answer or the final error, failures carry the usage the wire reported (or say that
their billing is unknown), and estimated usage is marked as such."""

from __future__ import annotations

from typing import Any

import pytest
from provider_helpers import MakeProvider
from standins import Reply, StandinServer

from lsp_server.errors import (
    FatalProviderError,
    MalformedResponseError,
    ProviderError,
    RetryableProviderError,
)
from lsp_server.providers import Completion, Prompt, StreamDelta, Usage

VENDORS = ["anthropic", "openai", "gemini", "ollama"]
PROMPT = Prompt(system="You are terse.", stable="fn main() {}", volatile="// cursor here", instruction="Say hi")


async def stream_to_end(provider: Any) -> tuple[list[str], Completion | None]:
    deltas: list[str] = []
    async for item in provider.stream(PROMPT):
        if isinstance(item, StreamDelta):
            deltas.append(item.text)
        else:
            return deltas, item
    return deltas, None


@pytest.mark.parametrize("vendor", VENDORS)
async def test_an_answer_after_retries_carries_each_failed_try(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor, Reply(status=503), Reply(status=429), Reply("fine", input=10, output=1))
    done = await connect(srv).generate(PROMPT)
    assert done.text == "fine" and done.usage == Usage(input=10, output=1)
    assert not done.usage_estimated
    assert [type(t).__name__ for t in done.tries] == ["RetryableProviderError", "RateLimitedError"]
    server_error, rate_limited = done.tries
    assert server_error.usage is None  # a 5xx may come after generation: billing unknown
    assert rate_limited.usage == Usage()  # a 429 is refused before generation: not billed
    assert all(t.latency_ms is not None and t.latency_ms >= 0 for t in done.tries)
    assert all(t.tries == () for t in done.tries)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_an_answer_without_retries_has_no_tries(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply("fine", input=10, output=1))
    provider = connect(srv)
    assert (await provider.generate(PROMPT)).tries == ()
    srv.add(Reply(status=500), Reply("again", input=10, output=1))
    _, done = await stream_to_end(provider)
    assert done is not None and done.text == "again" and len(done.tries) == 1


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_500_after_a_retryable_503_carries_the_503(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply(status=503), Reply(status=500))
    with pytest.raises(RetryableProviderError) as info:
        await connect(srv, max_retries=1).generate(PROMPT)
    final = info.value
    assert final.status == 500 and final.usage is None and final.latency_ms is not None
    assert [t.status for t in final.tries] == [503]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_refusal_after_a_retry_is_billed_nothing_and_keeps_the_retry(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor, Reply(status=500), Reply(status=400, error_message="bad request"))
    with pytest.raises(FatalProviderError) as info:
        await connect(srv).generate(PROMPT)
    assert info.value.usage == Usage() and not info.value.usage_estimated
    assert [t.status for t in info.value.tries] == [500]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_read_timeout_has_unknown_billing(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply("late", delay=2))
    with pytest.raises(RetryableProviderError) as info:
        await connect(srv, timeout_seconds=0.2, max_retries=0).generate(PROMPT)
    assert info.value.usage is None and info.value.tries == ()


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_server_never_reached_bills_nothing(vendor: str, connect: MakeProvider) -> None:
    dead = StandinServer(vendor).start()
    dead.stop()
    with pytest.raises(RetryableProviderError) as info:
        await connect(dead, max_retries=1).generate(PROMPT)
    assert info.value.usage == Usage()
    assert [t.usage for t in info.value.tries] == [Usage()]


async def test_a_missing_key_bills_nothing(standin: Any, connect: MakeProvider) -> None:
    with pytest.raises(ProviderError) as info:
        await connect(standin("anthropic"), key=None).generate(PROMPT)
    assert info.value.usage == Usage()


@pytest.mark.parametrize("vendor", ["anthropic", "openai"])
async def test_a_stream_that_breaks_after_its_final_usage_keeps_it(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor, Reply("all of it", input=50, output=3, drop_before_end=True))
    with pytest.raises(MalformedResponseError) as info:
        await stream_to_end(connect(srv))
    assert info.value.usage == Usage(input=50, output=3)
    assert not info.value.usage_estimated
    assert len(srv.generations) == 1


@pytest.mark.parametrize("vendor", ["anthropic", "gemini"])
async def test_a_stream_that_breaks_midway_keeps_the_usage_reported_so_far_as_an_estimate(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor, Reply("one two three four five six", input=40, output=6, drop_after=3))
    with pytest.raises(MalformedResponseError) as info:
        await stream_to_end(connect(srv))
    usage = info.value.usage
    assert usage is not None and info.value.usage_estimated
    assert usage.input == 40  # the prompt count came with the first event
    assert usage.output >= 3  # at least the text already streamed


async def test_an_error_event_midway_keeps_the_usage_reported_so_far(standin: Any, connect: MakeProvider) -> None:
    srv = standin("anthropic", Reply("one two three", input=40, drop_after=1, stream_error="overloaded_error"))
    with pytest.raises(MalformedResponseError) as info:
        await stream_to_end(connect(srv))
    assert info.value.usage is not None and info.value.usage.input == 40 and info.value.usage_estimated


@pytest.mark.parametrize("vendor", ["openai", "ollama"])
async def test_a_stream_without_usage_that_breaks_has_unknown_billing(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor, Reply("one two three four", drop_after=2))
    with pytest.raises(MalformedResponseError) as info:
        await stream_to_end(connect(srv))
    assert info.value.usage is None


@pytest.mark.parametrize("vendor", ["openai", "ollama"])
async def test_a_server_without_usage_gets_an_estimate_marked_as_such(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor, Reply("hello there", report_usage=False), Reply("hello again", report_usage=False))
    provider = connect(srv)
    done = await provider.generate(PROMPT)
    assert done.usage_estimated and done.usage.input > 0 and done.usage.output > 0
    _, streamed = await stream_to_end(provider)
    assert streamed is not None and streamed.usage_estimated and streamed.usage.output > 0


@pytest.mark.parametrize("vendor", VENDORS)
async def test_reported_usage_is_not_marked_estimated(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply("hi", input=12, output=1), Reply("hi", input=12, output=1))
    provider = connect(srv)
    assert not (await provider.generate(PROMPT)).usage_estimated
    _, streamed = await stream_to_end(provider)
    assert streamed is not None and not streamed.usage_estimated
