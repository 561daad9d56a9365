"""Gemini: generateContent / streamGenerateContent over SSE, usageMetadata with cached tokens,
Google's error shapes, and the stand-in checked with the official ``google-genai`` SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from provider_helpers import SECRET, MakeProvider
from standins import Reply

from lsp_server.errors import AuthenticationError, MalformedResponseError, ModelNotFoundError
from lsp_server.providers import Completion, Prompt, StreamDelta, Usage
from lsp_server.providers.gemini import _retry_delay

PROMPT = Prompt(system="You edit Go.", stable="package main", volatile="func b() {}",
                instruction="Rename b", max_output_tokens=256, temperature=0.1)
CACHED = Reply("Renamed it.", input=3000, output=4, cache_read=2048)


def sdk(url: str, key: str = SECRET) -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=url, api_version="v1beta"))


async def test_generate_reports_usage_metadata(standin: Any, connect: MakeProvider) -> None:
    srv = standin("gemini", CACHED)
    done = await connect(srv).generate(PROMPT)
    assert done.text == "Renamed it." and done.stop_reason == "STOP"
    assert done.usage == Usage(input=3000, output=4, cache_read=2048)
    req = srv.generations[0]
    assert req.path == "/v1beta/models/gemini-3.8-flash:generateContent"
    assert req.headers["x-goog-api-key"] == "***" and "key" not in req.query
    assert req.body["systemInstruction"] == {"role": "user", "parts": [{"text": "You edit Go."}]}
    assert req.body["contents"] == [{"role": "user", "parts": [{"text": "package main"},
                                                               {"text": "func b() {}\n\nRename b"}]}]
    assert req.body["generationConfig"] == {"temperature": 0.1, "maxOutputTokens": 256}


async def test_stream_uses_sse_and_reports_the_final_usage(standin: Any, connect: MakeProvider) -> None:
    srv = standin("gemini", CACHED)
    items = [i async for i in connect(srv).stream(PROMPT)]
    assert [i.text for i in items if isinstance(i, StreamDelta)] == ["Renamed ", "it."]
    final = items[-1]
    assert isinstance(final, Completion) and final.usage == Usage(input=3000, output=4, cache_read=2048)
    req = srv.generations[0]
    assert req.path.endswith(":streamGenerateContent") and req.query == {"alt": "sse"}


async def test_an_invalid_key_is_an_authentication_error_not_a_bad_request(standin: Any, connect: MakeProvider) -> None:
    srv = standin("gemini", api_key="the-real-one")
    with pytest.raises(AuthenticationError, match="STANDIN_GEMINI_KEY"):
        await connect(srv).generate(PROMPT)
    assert len(srv.generations) == 1


def test_google_retry_info_in_the_body_is_read() -> None:
    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure"},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "4s"}]}}
    assert _retry_delay(body) == 4.0
    assert _retry_delay({"error": {"code": 429}}) is None


async def test_an_unknown_model_says_to_check_the_model_setting(standin: Any, connect: MakeProvider) -> None:
    srv = standin("gemini", models=["gemini-3.8-flash"])
    provider = connect(srv, model="gemini-9-ultra")
    with pytest.raises(ModelNotFoundError, match="check `model`"):
        await provider.generate(PROMPT)
    assert await provider.available() is False
    assert await connect(srv).available() is True


def test_the_sdk_reads_the_stand_ins_answers(standin: Any) -> None:
    srv = standin("gemini", CACHED, CACHED, api_key=SECRET)
    client = sdk(srv.url)
    done = client.models.generate_content(model="gemini-3.8-flash", contents="hi")
    assert done.text == "Renamed it."
    assert done.usage_metadata is not None
    assert (done.usage_metadata.prompt_token_count, done.usage_metadata.candidates_token_count,
            done.usage_metadata.cached_content_token_count) == (3000, 4, 2048)
    chunks = list(client.models.generate_content_stream(model="gemini-3.8-flash", contents="hi"))
    assert "".join(c.text or "" for c in chunks) == "Renamed it."
    last = chunks[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata is not None and last.usage_metadata.cached_content_token_count == 2048


def test_the_sdk_sees_the_stand_ins_errors_as_the_real_ones(standin: Any) -> None:
    srv = standin("gemini", Reply(status=503), api_key=SECRET)
    client, wrong = sdk(srv.url), sdk(srv.url, key="wrong")
    with pytest.raises(genai_errors.ServerError) as server:
        client.models.generate_content(model="gemini-3.8-flash", contents="hi")
    assert server.value.code == 503 and server.value.status == "UNAVAILABLE"
    with pytest.raises(genai_errors.ClientError) as bad_key:
        wrong.models.generate_content(model="gemini-3.8-flash", contents="hi")
    assert bad_key.value.code == 400 and "API key not valid" in str(bad_key.value.message)


@pytest.mark.parametrize("stream", [False, True])
async def test_our_request_carries_what_the_sdk_sends(standin: Any, connect: MakeProvider, stream: bool) -> None:
    srv = standin("gemini", CACHED, CACHED)
    provider = connect(srv)
    if stream:
        [_ async for _ in provider.stream(PROMPT)]
    else:
        await provider.generate(PROMPT)
    config = types.GenerateContentConfig(system_instruction="You edit Go.", temperature=0.1, max_output_tokens=256)
    contents = [types.Content(role="user", parts=[types.Part(text="package main"),
                                                  types.Part(text="func b() {}\n\nRename b")])]
    client = sdk(srv.url)
    if stream:
        list(client.models.generate_content_stream(model="gemini-3.8-flash", contents=contents, config=config))
    else:
        client.models.generate_content(model="gemini-3.8-flash", contents=contents, config=config)
    ours, theirs = srv.generations
    assert (ours.method, ours.path, ours.query) == (theirs.method, theirs.path, theirs.query)
    assert ours.body == theirs.body
    assert ours.headers["x-goog-api-key"] == theirs.headers["x-goog-api-key"] == "***"


async def test_a_stream_without_a_finish_reason_is_malformed(standin: Any, connect: MakeProvider) -> None:
    chunk = {"candidates": [{"content": {"parts": [{"text": "half"}], "role": "model"}, "index": 0}],
             "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}, "modelVersion": "gemini-3.8-flash"}
    srv = standin("gemini", Reply(raw_events=[json.dumps(chunk)]))
    with pytest.raises(MalformedResponseError, match="finishReason"):
        [_ async for _ in connect(srv).stream(PROMPT)]
    assert len(srv.generations) == 1
