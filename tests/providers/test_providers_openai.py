"""OpenAI-compatible endpoints: usage with cached tokens, SSE with include_usage, and the
stand-in checked with the official ``openai`` SDK."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from provider_helpers import SECRET, MakeProvider
from standins import Reply

from lsp_server.config import ModelSettings
from lsp_server.errors import AuthenticationError
from lsp_server.providers import Completion, Prompt, StreamDelta, Usage
from lsp_server.providers.openai_compat import request_body, usage_so_far

PROMPT = Prompt(system="You edit Python.", stable="def a(): ...", volatile="def b(): ...",
                instruction="Add a docstring to b", max_output_tokens=200, temperature=0.2)
CACHED = Reply("Done: added it.", input=1500, output=5, cache_read=1024)


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=SECRET, base_url=url, max_retries=0)


async def test_generate_reports_cached_tokens_inside_input(standin: Any, connect: MakeProvider) -> None:
    srv = standin("openai", CACHED)
    done = await connect(srv).generate(PROMPT)
    assert done.text == "Done: added it." and done.stop_reason == "stop"
    assert done.usage == Usage(input=1500, output=5, cache_read=1024, cache_write=0)
    req = srv.generations[0]
    assert req.path == "/v1/chat/completions" and req.headers["authorization"] == "***"
    assert req.body["messages"] == [
        {"role": "system", "content": "You edit Python."},
        {"role": "user", "content": "def a(): ...\n\ndef b(): ...\n\nAdd a docstring to b"},
    ]
    assert req.body["max_tokens"] == 200 and req.body["temperature"] == 0.2


async def test_stream_asks_for_usage_and_reports_it(standin: Any, connect: MakeProvider) -> None:
    srv = standin("openai", CACHED)
    items = [i async for i in connect(srv).stream(PROMPT)]
    assert "".join(i.text for i in items if isinstance(i, StreamDelta)) == "Done: added it."
    final = items[-1]
    assert isinstance(final, Completion)
    assert final.usage == Usage(input=1500, output=5, cache_read=1024)
    assert srv.generations[0].body["stream_options"] == {"include_usage": True}


async def test_a_server_without_usage_gets_an_estimate_marked_as_such(standin: Any, connect: MakeProvider) -> None:
    body = ('{"id":"x","object":"chat.completion","created":1,"model":"local",'
            '"choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}')
    srv = standin("openai", Reply(malformed=body))
    done = await connect(srv).generate(PROMPT)
    assert done.text == "hello" and done.usage_estimated is True
    assert done.usage.input > 0 and done.usage.output > 0


def test_openai_itself_gets_max_completion_tokens_and_no_temperature_for_reasoning_models() -> None:
    gpt5 = ModelSettings(name="o", provider="openai", model="gpt-5.4-mini", tier="budget")
    body = request_body(gpt5, PROMPT, stream=False)
    assert body["max_completion_tokens"] == 200 and "max_tokens" not in body and "temperature" not in body
    groq = ModelSettings(name="g", provider="openai", model="llama-3.3-70b-versatile", tier="free",
                         base_url="https://api.groq.com/openai/v1")
    body = request_body(groq, PROMPT, stream=True)
    assert body["max_tokens"] == 200 and body["temperature"] == 0.2


async def test_the_vendors_echo_of_a_key_is_masked(standin: Any, connect: MakeProvider) -> None:
    srv = standin("openai", api_key="another-key")
    with pytest.raises(AuthenticationError) as info:
        await connect(srv).generate(PROMPT)
    assert "sk-proj-" not in str(info.value) and "***" in str(info.value)


def test_the_sdk_reads_the_stand_ins_completion_and_stream(standin: Any) -> None:
    srv = standin("openai", CACHED, CACHED, api_key=SECRET)
    client = sdk(srv.url)
    done = client.chat.completions.create(model="gpt-5.4-mini", messages=[{"role": "user", "content": "hi"}])
    assert done.choices[0].message.content == "Done: added it."
    assert done.usage is not None and done.usage.prompt_tokens == 1500 and done.usage.completion_tokens == 5
    assert done.usage.prompt_tokens_details is not None and done.usage.prompt_tokens_details.cached_tokens == 1024
    chunks = list(client.chat.completions.create(model="gpt-5.4-mini", messages=[{"role": "user", "content": "hi"}],
                                                 stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Done: added it."
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens_details is not None
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 1024


def test_the_sdk_sees_the_stand_ins_errors_as_the_real_ones(standin: Any) -> None:
    srv = standin("openai", Reply(status=429, retry_after=2), api_key=SECRET)
    with pytest.raises(openai.RateLimitError) as info:
        sdk(srv.url).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert info.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.AuthenticationError) as auth:
        openai.OpenAI(api_key="wrong", base_url=srv.url, max_retries=0).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}])
    assert auth.value.code == "invalid_api_key"


@pytest.mark.parametrize("stream", [False, True])
async def test_our_request_carries_what_the_sdk_sends(standin: Any, connect: MakeProvider, stream: bool) -> None:
    srv = standin("openai", CACHED, CACHED)
    provider = connect(srv)
    if stream:
        [_ async for _ in provider.stream(PROMPT)]
    else:
        await provider.generate(PROMPT)
    params: dict[str, Any] = {
        "model": provider.settings.model, "max_tokens": 200, "temperature": 0.2,
        "messages": [{"role": "system", "content": "You edit Python."},
                     {"role": "user", "content": "def a(): ...\n\ndef b(): ...\n\nAdd a docstring to b"}],
    }
    if stream:
        params |= {"stream": True, "stream_options": {"include_usage": True}}
        list(sdk(srv.url).chat.completions.create(**params))
    else:
        sdk(srv.url).chat.completions.create(**params)
    ours, theirs = srv.generations
    assert ours.body == theirs.body
    assert (ours.method, ours.path) == (theirs.method, theirs.path)
    assert ours.headers["authorization"] == theirs.headers["authorization"] == "***"
    assert ours.headers["content-type"] == theirs.headers["content-type"] == "application/json"


async def test_groq_usage_in_x_groq_is_read(standin: Any, connect: MakeProvider) -> None:
    chunks = [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "llama",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hey"}, "finish_reason": None}]},
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "llama",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
         "x_groq": {"id": "req_1", "usage": {"prompt_tokens": 77, "completion_tokens": 1, "total_tokens": 78}}},
    ]
    srv = standin("openai", Reply(raw_events=[*map(json.dumps, chunks), "[DONE]"]))
    items = [i async for i in connect(srv).stream(PROMPT)]
    final = items[-1]
    assert isinstance(final, Completion) and final.text == "hey"
    assert final.usage == Usage(input=77, output=1) and not final.usage_estimated


def test_a_local_server_is_asked_for_its_count_with_every_chunk() -> None:
    """Only a local-tier model on this machine is sent llama.cpp's ``timings_per_token`` (a
    cloud API would refuse an unknown field); a chunk's ``timings`` read as usage so far."""
    prompt = Prompt(system="s", instruction="i")
    local = ModelSettings(name="l", provider="openai", model="m", tier="local",
                          base_url="http://127.0.0.1:8080/v1")
    remote = local.model_copy(update={"base_url": "https://api.example.com/v1"})
    cloud = local.model_copy(update={"tier": "premium"})
    assert request_body(local, prompt, stream=True)["timings_per_token"] is True
    for settings, stream in ((local, False), (remote, True), (cloud, True)):
        assert "timings_per_token" not in request_body(settings, prompt, stream=stream)
    assert usage_so_far({"cache_n": 30, "prompt_n": 70, "predicted_n": 5}) == Usage(
        input=100, output=5, cache_read=30)
    assert usage_so_far({"predicted_n": 5}) is None and usage_so_far(None) is None
