"""Failure handling shared by every provider, run against each vendor's stand-in."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from provider_helpers import SECRET, MakeProvider, RecordingSleep
from standins import Reply, StandinServer

from lsp_server.errors import (
    AuthenticationError,
    MalformedResponseError,
    RateLimitedError,
    RetryableProviderError,
)
from lsp_server.providers import Completion, Prompt, StreamDelta

VENDORS = ["anthropic", "openai", "gemini", "ollama"]
CLOUD = ["anthropic", "openai", "gemini"]
OVERLOAD = {"anthropic": 529, "openai": 503, "gemini": 503, "ollama": 503}
PROMPT = Prompt(system="You are terse.", stable="fn main() {}", volatile="// cursor here", instruction="Say hi")


async def collect(stream: Any) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    async for item in stream:
        if isinstance(item, StreamDelta):
            deltas.append(item.text)
        else:
            return deltas, item
    raise AssertionError("the stream ended without a Completion")


@pytest.mark.parametrize("vendor", VENDORS)
async def test_rate_limit_is_retried_after_the_servers_hint(
    vendor: str, standin: Any, connect: MakeProvider, sleeps: RecordingSleep
) -> None:
    srv: StandinServer = standin(vendor, Reply(status=429, retry_after=3), Reply(status=429, retry_after=1),
                                 Reply("fine", input=10, output=1))
    done = await connect(srv).generate(PROMPT)
    assert done.text == "fine"
    assert len(srv.generations) == 3
    if vendor == "ollama":  # the ollama client drops response headers: plain backoff instead
        assert len(sleeps.waits) == 2
    else:
        assert sleeps.waits == [3.0, 1.0]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_retries_stop_after_max_retries(
    vendor: str, standin: Any, connect: MakeProvider, sleeps: RecordingSleep
) -> None:
    srv = standin(vendor, [Reply(status=500)] * 5)
    with pytest.raises(RetryableProviderError) as info:
        await connect(srv, max_retries=3).generate(PROMPT)
    assert len(srv.generations) == 4
    assert "gave up after 4 attempts" in str(info.value)
    assert info.value.provider == f"{vendor}-standin"
    assert sleeps.waits == [0.375, 0.75, 1.5]  # equal jitter with rng=0.5: 0.75 * 0.5 * 2**n


@pytest.mark.parametrize("vendor", VENDORS)
async def test_overload_then_success_streams(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply(status=500), Reply(status=OVERLOAD[vendor]),
                  Reply("all good now", input=50, output=3))
    deltas, done = await collect(connect(srv).stream(PROMPT))
    assert "".join(deltas) == "all good now" == done.text
    assert (done.usage.input, done.usage.output) == (50, 3)
    assert len(srv.generations) == 3


@pytest.mark.parametrize("vendor", CLOUD)  # Ollama's client exposes no Retry-After header
async def test_long_retry_after_is_not_waited_for(
    vendor: str, standin: Any, connect: MakeProvider, sleeps: RecordingSleep
) -> None:
    srv = standin(vendor, Reply(status=429, retry_after=3600), Reply("never"))
    with pytest.raises(RateLimitedError) as info:
        await connect(srv).generate(PROMPT)
    assert info.value.retry_after == 3600
    assert sleeps.waits == [] and len(srv.generations) == 1


@pytest.mark.parametrize("vendor", VENDORS)
async def test_auth_failure_is_not_retried(vendor: str, standin: Any, connect: MakeProvider, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    srv = standin(vendor, api_key="the-right-key")
    provider = connect(srv, key=SECRET) if vendor != "ollama" else connect(srv)
    if vendor == "ollama":
        srv.add(Reply(status=401, error_message="unauthorized"))
    with pytest.raises(AuthenticationError) as info:
        await provider.generate(PROMPT)
    assert len(srv.generations) == 1
    message = str(info.value)
    assert f"{vendor}-standin" in message
    if vendor != "ollama":
        assert f"STANDIN_{vendor.upper()}_KEY" in message
    for text in (message, repr(info.value), repr(provider), caplog.text):
        assert SECRET not in text


@pytest.mark.parametrize("vendor", CLOUD)
async def test_scripted_401_and_403_are_authentication_errors(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply(status=401), Reply(status=403))
    provider = connect(srv)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            await provider.generate(PROMPT)
    assert len(srv.generations) == 2


@pytest.mark.parametrize("vendor", ["anthropic", "gemini"])
async def test_missing_key_fails_before_any_request(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor)
    provider = connect(srv, key=None)
    with pytest.raises(AuthenticationError, match=f"set the environment variable STANDIN_{vendor.upper()}_KEY"):
        await provider.generate(PROMPT)
    assert await provider.available() is False
    assert srv.requests == []


async def test_a_local_openai_compatible_server_needs_no_key(standin: Any, connect: MakeProvider) -> None:
    srv = standin("openai", Reply("local answer"))
    done = await connect(srv, key=None).generate(PROMPT)
    assert done.text == "local answer"
    assert not srv.generations[0].key_presented


async def test_openai_without_key_is_rejected_by_a_server_that_wants_one(standin: Any, connect: MakeProvider) -> None:
    srv = standin("openai", api_key="needed")
    with pytest.raises(AuthenticationError, match="STANDIN_OPENAI_KEY"):
        await connect(srv, key=None).generate(PROMPT)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_bad_request_is_fatal_and_names_the_reason(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply(status=400, error_message="max_tokens: too large"))
    with pytest.raises(Exception) as info:
        await connect(srv).generate(PROMPT)
    assert type(info.value).__name__ == "FatalProviderError"
    assert "max_tokens: too large" in str(info.value)
    assert len(srv.generations) == 1


@pytest.mark.parametrize("vendor", VENDORS)
async def test_malformed_body_is_a_typed_error_without_retry(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply(malformed='{"not": "the vendor format"'), Reply(malformed='{"unexpected": true}'))
    provider = connect(srv)
    with pytest.raises(MalformedResponseError):
        await provider.generate(PROMPT)
    with pytest.raises(MalformedResponseError):
        await provider.generate(PROMPT)
    assert len(srv.generations) == 2


@pytest.mark.parametrize("vendor", VENDORS)
async def test_malformed_stream_event_is_a_typed_error(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply("never shown", malformed="{oops"))
    with pytest.raises(MalformedResponseError):
        await collect(connect(srv).stream(PROMPT))
    assert len(srv.generations) == 1


@pytest.mark.parametrize("vendor", VENDORS)
async def test_connection_dropped_mid_stream_is_never_a_whole_answer(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor, Reply("one two three four five", drop_after=2))
    seen: list[str] = []
    with pytest.raises(MalformedResponseError, match="partial answer must be discarded"):
        async for item in connect(srv).stream(PROMPT):
            assert not isinstance(item, Completion)
            seen.append(item.text)
    assert "".join(seen) == "one two "
    assert len(srv.generations) == 1  # partial text went out: no silent retry


@pytest.mark.parametrize("vendor", ["anthropic", "openai", "ollama"])  # Gemini: its own test
async def test_a_stream_that_ends_without_its_closing_event_is_malformed(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor, Reply("cut short here", truncate=True))
    seen: list[str] = []
    with pytest.raises(MalformedResponseError):
        async for item in connect(srv).stream(PROMPT):
            assert not isinstance(item, Completion)
            seen.append(item.text)
    assert "".join(seen) == "cut short here"
    assert len(srv.generations) == 1


@pytest.mark.parametrize("vendor", VENDORS)
async def test_connection_dropped_before_any_text_is_retried(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply("lost", drop_after=0), Reply("second try", input=5, output=2))
    deltas, done = await collect(connect(srv).stream(PROMPT))
    assert done.text == "second try" and "".join(deltas) == "second try"
    assert len(srv.generations) == 2


@pytest.mark.parametrize("vendor", VENDORS)
async def test_connection_dropped_mid_body_is_retried(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply("lost", drop_after=1), Reply("complete", input=5, output=1))
    done = await connect(srv).generate(PROMPT)
    assert done.text == "complete"
    assert len(srv.generations) == 2


@pytest.mark.parametrize("vendor", VENDORS)
async def test_cancelling_the_task_closes_the_stream(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply("a b c d e f g h i j", chunk_delay=0.3))
    provider = connect(srv)
    got: list[str] = []

    async def consume() -> None:
        async for item in provider.stream(PROMPT):
            if isinstance(item, StreamDelta):
                got.append(item.text)

    task = asyncio.create_task(consume())
    while not got:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    closed = await asyncio.to_thread(srv.wait_for, lambda reqs: reqs[-1].disconnected, 5.0)
    assert closed, "the stand-in never saw the connection close"
    assert len(got) < 10


@pytest.mark.parametrize("vendor", VENDORS)
async def test_cancelling_generate_closes_the_request(vendor: str, standin: Any, connect: MakeProvider) -> None:
    srv = standin(vendor, Reply("slow", delay=5))
    task = asyncio.create_task(connect(srv).generate(PROMPT))
    await asyncio.to_thread(srv.wait_for, lambda reqs: len(reqs) == 1, 5.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(srv.wait_for, lambda reqs: reqs[-1].disconnected, 5.0)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_read_timeout_is_retryable_and_says_which_setting(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor, Reply("late", delay=2), Reply("late", delay=2))
    with pytest.raises(RetryableProviderError, match="timeout_seconds"):
        await connect(srv, timeout_seconds=0.2, max_retries=1).generate(PROMPT)
    assert len(srv.generations) == 2


@pytest.mark.parametrize("vendor", VENDORS)
async def test_nothing_listening_is_a_connection_error(vendor: str, connect: MakeProvider) -> None:
    dead = StandinServer(vendor).start()
    dead.stop()  # the port is now closed
    provider = connect(dead, max_retries=1)
    with pytest.raises(RetryableProviderError, match=r"connect|not answering"):
        await provider.generate(PROMPT)
    assert await provider.available() is False


@pytest.mark.parametrize("vendor", VENDORS)
async def test_the_key_never_reaches_a_body_or_a_visible_header(
    vendor: str, standin: Any, connect: MakeProvider
) -> None:
    srv = standin(vendor)
    provider = connect(srv)
    await provider.generate(PROMPT)
    await collect(provider.stream(PROMPT))
    await provider.available()
    for req in srv.requests:
        assert SECRET not in req.raw and SECRET not in req.path and SECRET not in str(req.query)
        assert SECRET not in str(req.headers)
        if vendor != "ollama":
            assert req.key_presented
