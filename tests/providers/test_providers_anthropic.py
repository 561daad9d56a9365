"""Anthropic: cache breakpoints, usage normalisation, SSE streaming, and faithfulness of the
stand-in checked with the official ``anthropic`` SDK."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from provider_helpers import SECRET, MakeProvider
from standins import Reply

from lsp_server.errors import MalformedResponseError
from lsp_server.providers import Completion, Prompt, StreamDelta, Usage
from lsp_server.providers.anthropic import request_body

PROMPT = Prompt(system="You edit Rust.", stable="// crate context\nfn a() {}", volatile="fn b() {}",
                instruction="Rename b to c", max_output_tokens=300)
CACHED = Reply("Renamed b to c.", input=2300, output=7, cache_read=2000, cache_write=250)


def sdk(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=SECRET, base_url=url, max_retries=0)


async def test_generate_reports_normalised_usage_and_cache_breakpoints(standin: Any, connect: MakeProvider) -> None:
    srv = standin("anthropic", CACHED)
    done = await connect(srv).generate(PROMPT)
    assert done.text == "Renamed b to c."
    assert done.usage == Usage(input=2300, output=7, cache_read=2000, cache_write=250)
    assert done.stop_reason == "end_turn" and done.provider == "anthropic-standin"
    req = srv.generations[0]
    assert req.headers["anthropic-version"] == "2026-10-21" and req.headers["x-api-key"] == "***"
    body = req.body
    assert body["system"] == [{"type": "text", "text": "You edit Rust.", "cache_control": {"type": "ephemeral"}}]
    first, second = body["messages"][0]["content"]
    assert first == {"type": "text", "text": PROMPT.stable, "cache_control": {"type": "ephemeral"}}
    assert second == {"type": "text", "text": "fn b() {}\n\nRename b to c"}
    assert body["max_tokens"] == 300 and "stream" not in body


async def test_stream_yields_deltas_then_the_same_usage(standin: Any, connect: MakeProvider) -> None:
    srv = standin("anthropic", CACHED)
    items = [item async for item in connect(srv).stream(PROMPT)]
    assert [i.text for i in items if isinstance(i, StreamDelta)] == ["Renamed ", "b ", "to ", "c."]
    final = items[-1]
    assert isinstance(final, Completion) and final.text == "Renamed b to c."
    assert final.usage == Usage(input=2300, output=7, cache_read=2000, cache_write=250)
    assert "first_token_ms" in final.extra
    assert srv.generations[0].body["stream"] is True


async def test_overloaded_error_event_before_text_is_retried(standin: Any, connect: MakeProvider) -> None:
    srv = standin("anthropic", Reply("x", stream_error="overloaded_error"), Reply("second", input=3, output=1))
    items = [item async for item in connect(srv).stream(PROMPT)]
    assert isinstance(items[-1], Completion) and items[-1].text == "second"
    assert len(srv.generations) == 2


async def test_overloaded_error_event_after_text_is_not_a_whole_answer(standin: Any, connect: MakeProvider) -> None:
    srv = standin("anthropic", [Reply("a b c", stream_error="overloaded_error", drop_after=1)] * 3)
    seen: list[str] = []
    with pytest.raises(MalformedResponseError, match="overloaded_error"):
        async for item in connect(srv).stream(PROMPT):
            assert isinstance(item, StreamDelta)
            seen.append(item.text)
    assert seen == ["a "] and len(srv.generations) == 1


def test_the_sdk_reads_the_stand_ins_message_and_usage(standin: Any) -> None:
    srv = standin("anthropic", CACHED, CACHED, api_key=SECRET)
    msg = sdk(srv.url).messages.create(model="claude-sonnet-5-5", max_tokens=50,
                                       messages=[{"role": "user", "content": "hi"}])
    assert msg.content[0].type == "text" and msg.content[0].text == "Renamed b to c."
    assert (msg.usage.input_tokens, msg.usage.cache_read_input_tokens, msg.usage.cache_creation_input_tokens,
            msg.usage.output_tokens) == (50, 2000, 250, 7)
    with sdk(srv.url).messages.stream(model="claude-sonnet-5-5", max_tokens=50,
                                      messages=[{"role": "user", "content": "hi"}]) as stream:
        assert "".join(stream.text_stream) == "Renamed b to c."
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.cache_read_input_tokens, final.usage.output_tokens) == (50, 2000, 7)


def test_the_sdk_sees_the_stand_ins_errors_as_the_real_ones(standin: Any) -> None:
    srv = standin("anthropic", Reply(status=529), Reply(status=429, retry_after=7))
    client = sdk(srv.url)
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert overloaded.value.status_code == 529 and overloaded.value.body["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert limited.value.response.headers["retry-after"] == "7"


@pytest.mark.parametrize("stream", [False, True])
async def test_our_request_carries_what_the_sdk_sends(standin: Any, connect: MakeProvider, stream: bool) -> None:
    srv = standin("anthropic", CACHED, CACHED)
    provider = connect(srv)
    if stream:
        [_ async for _ in provider.stream(PROMPT)]
    else:
        await provider.generate(PROMPT)
    ours = srv.generations[0]
    expected = request_body(provider.settings, PROMPT, stream=stream)
    params: dict[str, Any] = {
        "model": expected["model"], "max_tokens": 300,
        "system": [{"type": "text", "text": "You edit Rust.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": PROMPT.stable, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "fn b() {}\n\nRename b to c"}]}],
    }
    client = sdk(srv.url)
    if stream:
        with client.messages.stream(**params) as s:
            s.until_done()
    else:
        client.messages.create(**params)
    theirs = srv.generations[1]
    assert ours.body == theirs.body
    assert ours.method == theirs.method and ours.path == theirs.path
    for header in ("anthropic-version", "content-type"):
        assert header in ours.headers and header in theirs.headers
    # The SDK authenticates with a bearer token, we with x-api-key; the API takes either.
    assert ours.key_presented and theirs.key_presented
