"""Native tool calling on the wire: OpenAI-compatible ``tools``/``tool_calls``, Anthropic
``tool_use``/``tool_result``, Gemini ``functionCall``/``functionResponse`` and Ollama
``tools``/``tool_calls``; our providers against the stand-ins, and the stand-ins checked with
the official SDKs (their answers parsed by the SDK's types, our requests validated against the
SDK's request types)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import anthropic
import ollama
import openai
import pytest
from anthropic.types import MessageParam, ToolParam
from google import genai
from google.genai import types as gtypes
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from provider_helpers import SECRET, MakeProvider
from pydantic import TypeAdapter
from standins import Reply

from lsp_server.assistant.tools import SPECS
from lsp_server.config import ModelSettings
from lsp_server.context.tokens import count_tokens
from lsp_server.errors import FatalProviderError
from lsp_server.providers import Completion, Prompt, StreamDelta
from lsp_server.providers.anthropic import request_body as anthropic_body
from lsp_server.providers.gemini import request_body as gemini_body
from lsp_server.providers.ollama import OllamaProvider
from lsp_server.providers.openai_compat import request_body as openai_body
from lsp_server.providers.tools import ToolCall, ToolTurn

CALLS = [{"name": "find_definition", "args": {"name": "parse_config"}},
         {"name": "read_file", "args": {"path": "src/a.rs", "start_line": 3, "end_line": 9}}]
TURN = ToolTurn("Looking.", (ToolCall("find_definition", {"name": "parse_config"}, id="c1"),),
                ("src/config.rs:3-9 function parse_config\nfn parse_config() {}",))
PROMPT = Prompt(system="You edit.", stable="ctx", instruction="Fix it", max_output_tokens=100,
                tools=SPECS, turns=(TURN,))


async def answer(provider: Any, stream: bool, prompt: Prompt = PROMPT) -> Completion:
    if not stream:
        done: Completion = await provider.generate(prompt)
        return done
    items = [item async for item in provider.stream(prompt)]
    final = items[-1]
    assert isinstance(final, Completion)
    # Each native call is announced as it starts (early stop takes it as a valid start).
    assert [i.tool_call for i in items if isinstance(i, StreamDelta) and i.tool_call] == [
        c.name for c in final.tool_calls]
    return final


def tool_names(vendor: str, body: dict[str, Any]) -> list[str]:
    if vendor == "gemini":
        return [d["name"] for d in body["tools"][0]["functionDeclarations"]]
    return [t.get("name") or t["function"]["name"] for t in body["tools"]]


@pytest.mark.parametrize("vendor", ["openai", "anthropic", "gemini", "ollama"])
@pytest.mark.parametrize("stream", [False, True])
async def test_tool_calls_are_read_from_each_vendor_and_the_results_go_back(
        standin: Any, connect: MakeProvider, vendor: str, stream: bool) -> None:
    srv = standin(vendor, Reply(text="", tool_calls=CALLS), Reply(text="Done."))
    provider = connect(srv, tool_format="native")
    first = dataclasses.replace(PROMPT, turns=())
    done = await answer(provider, stream, first)
    assert [(c.name, dict(c.args), c.error) for c in done.tool_calls] == [
        ("find_definition", {"name": "parse_config"}, None),
        ("read_file", {"path": "src/a.rs", "start_line": 3, "end_line": 9}, None)]
    assert done.text == "" and done.usage.output > 0
    if vendor != "gemini":  # Gemini's calls carry no id; they are answered in order
        assert all(c.id for c in done.tool_calls)
    assert tool_names(vendor, srv.generations[0].body) == [s.name for s in SPECS]
    # The second turn sends the calls and their results back; the vendor accepts them.
    turn = ToolTurn(done.text, done.tool_calls, ("error: no such symbol", "1 fn a() {}"))
    final = await answer(provider, stream, dataclasses.replace(first, turns=(turn,)))
    assert final.text == "Done." and final.tool_calls == ()
    again = srv.generations[1]
    assert again.status == 200 and "1 fn a() {}" in again.raw
    first_message = (again.body.get("contents") or again.body.get("messages"))[0]
    assert first_message == (srv.generations[0].body.get("contents")
                             or srv.generations[0].body.get("messages"))[0]


async def test_gemini_wants_its_thought_signature_back(standin: Any, connect: MakeProvider) -> None:
    srv = standin("gemini", Reply(text="", tool_calls=CALLS[:1]))
    done = await connect(srv).generate(dataclasses.replace(PROMPT, turns=()))
    (call,) = done.tool_calls
    assert call.signature  # Gemini 3's opaque signature, kept with the call
    body = srv.generations[0].body
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    unsigned = ToolTurn("", (dataclasses.replace(call, signature=""),), ("x",))
    with pytest.raises(FatalProviderError, match="thought_signature"):
        await connect(srv, max_retries=0).generate(dataclasses.replace(PROMPT, turns=(unsigned,)))


@pytest.mark.parametrize("stream", [False, True])
async def test_a_gemini_malformed_function_call_is_an_error_not_a_crash(
        standin: Any, connect: MakeProvider, stream: bool) -> None:
    srv = standin("gemini", Reply(text="", stop_reason="MALFORMED_FUNCTION_CALL"), Reply("ok"))
    provider = connect(srv)
    done = await answer(provider, stream, dataclasses.replace(PROMPT, turns=()))
    (call,) = done.tool_calls
    assert call.error is not None and "malformed" in call.error and "find_definition(" in call.error
    # Told back as text: there is no call to echo, and Gemini takes the next request.
    turn = ToolTurn("", done.tool_calls, (f"error: malformed tool call: {call.error}",))
    final = await answer(provider, stream, dataclasses.replace(PROMPT, turns=(turn,)))
    assert final.text == "ok" and srv.generations[1].status == 200


async def test_ollama_auto_asks_the_model_s_capabilities(standin: Any, connect: MakeProvider) -> None:
    srv = standin("ollama", models=["qwen2.5-coder:7b", "gemma3:270m"])
    srv.wire.without_tools = {"gemma3:270m"}
    coder = connect(srv)
    small = connect(srv, model="gemma3:270m")
    assert isinstance(coder, OllamaProvider) and isinstance(small, OllamaProvider)
    assert await coder.tool_format() == "native" and await small.tool_format() == "text"
    assert await coder.tool_format() == "native"
    assert len([r for r in srv.requests if r.kind == "show"]) == 2  # asked once per model
    assert await connect(srv, model="gemma3:270m", tool_format="native").tool_format() == "native"
    assert await connect(srv, tool_format="text").tool_format() == "text"
    # Told to use native tools anyway, the model is refused the way Ollama refuses it.
    with pytest.raises(FatalProviderError, match="does not support tools"):
        await small.generate(dataclasses.replace(PROMPT, turns=()))
    missing = connect(srv, model="nope")
    assert await missing.tool_format() == "text"  # no capabilities known: no native tools


async def test_ollama_sends_no_tools_on_the_turn_that_must_answer(standin: Any,
                                                                   connect: MakeProvider) -> None:
    srv = standin("ollama", "Done.")
    await connect(srv).generate(dataclasses.replace(PROMPT, tool_choice="none"))
    body = srv.generations[0].body
    assert not body.get("tools") and body["messages"][-1]["role"] == "tool"


@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_openai_arguments_are_an_error_not_a_crash(standin: Any, connect: MakeProvider,
                                                                  stream: bool) -> None:
    srv = standin("openai", Reply(text="", tool_calls=[{"name": "read_file", "raw": '{"path": '}]))
    done = await answer(connect(srv, tool_format="native"), stream)
    (call,) = done.tool_calls
    assert call.name == "read_file" and call.error is not None and "not valid JSON" in call.error


def test_our_requests_are_valid_sdk_requests() -> None:
    oa = openai_body(ModelSettings(name="o", provider="openai", model="m", tier="free"), PROMPT,
                     stream=False)
    TypeAdapter(list[ChatCompletionMessageParam]).validate_python(oa["messages"], strict=True)
    TypeAdapter(list[ChatCompletionToolParam]).validate_python(oa["tools"], strict=True)
    assistant, tool = oa["messages"][-2:]
    assert assistant["tool_calls"][0]["function"] == {"name": "find_definition",
                                                     "arguments": '{"name": "parse_config"}'}
    assert tool == {"role": "tool", "tool_call_id": "c1", "content": TURN.results[0]}
    assert oa["messages"][1]["role"] == "user"  # the prompt's prefix comes before the turns
    an = anthropic_body(ModelSettings(name="a", provider="anthropic", model="m", tier="premium"),
                        PROMPT, stream=False)
    TypeAdapter(list[MessageParam]).validate_python(an["messages"])
    TypeAdapter(list[ToolParam]).validate_python(an["tools"])
    _, assistant, results = an["messages"]
    assert assistant["content"][1] == {"type": "tool_use", "id": "c1", "name": "find_definition",
                                       "input": {"name": "parse_config"}}
    assert results["content"][0]["tool_use_id"] == "c1" and an["tool_choice"] == {"type": "auto"}
    signed = dataclasses.replace(PROMPT, turns=(ToolTurn(TURN.text, (dataclasses.replace(
        TURN.calls[0], id="", signature="c2lnbmF0dXJl"),), TURN.results),))
    ge = gemini_body(ModelSettings(name="g", provider="gemini", model="m", tier="budget"), signed)
    contents = [gtypes.Content.model_validate(c) for c in ge["contents"]]
    tools = [gtypes.Tool.model_validate(t) for t in ge["tools"]]
    gtypes.ToolConfig.model_validate(ge["toolConfig"])
    call = contents[1].parts[1]  # type: ignore[index]
    assert call.function_call is not None and call.function_call.args == {"name": "parse_config"}
    assert call.thought_signature == b"signature"
    reply = contents[2].parts[0].function_response  # type: ignore[index]
    assert reply is not None and reply.response == {"result": TURN.results[0]}
    assert [d.name for d in tools[0].function_declarations or ()] == [s.name for s in SPECS]
    last = gemini_body(ModelSettings(name="g", provider="gemini", model="m", tier="budget"),
                       dataclasses.replace(signed, tool_choice="none"))
    assert last["toolConfig"] == {"functionCallingConfig": {"mode": "NONE"}}  # must answer now
    ol = OllamaProvider(ModelSettings(name="l", provider="ollama", model="m", tier="local"))
    request = ol._request(PROMPT)
    messages = [ollama.Message.model_validate(m) for m in request["messages"]]
    [ollama.Tool.model_validate(t) for t in request["tools"]]
    assert messages[-2].tool_calls and messages[-2].tool_calls[0].function.arguments == {
        "name": "parse_config"}
    assert messages[-1].role == "tool" and messages[-1].tool_name == "find_definition"


def test_the_sdks_read_the_stand_ins_tool_calls(standin: Any) -> None:
    srv = standin("openai", *[Reply(text="", tool_calls=CALLS)] * 2, api_key=SECRET)
    client = openai.OpenAI(api_key=SECRET, base_url=srv.url, max_retries=0)
    done = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    calls = done.choices[0].message.tool_calls or []
    assert done.choices[0].finish_reason == "tool_calls"
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls  # type: ignore[union-attr]
            ] == [(c["name"], c["args"]) for c in CALLS]
    chunks = list(client.chat.completions.create(model="m", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    pieces: dict[int, str] = {}
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            pieces[delta.index] = pieces.get(delta.index, "") + (
                delta.function.arguments or "" if delta.function else "")
    assert [json.loads(p) for _, p in sorted(pieces.items())] == [c["args"] for c in CALLS]

    srv = standin("anthropic", *[Reply(text="Let me look.", tool_calls=CALLS)] * 2, api_key=SECRET)
    claude = anthropic.Anthropic(api_key=SECRET, base_url=srv.url, max_retries=0)
    msg = claude.messages.create(model="m", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert msg.stop_reason == "tool_use"
    assert [(b.name, b.input) for b in msg.content if b.type == "tool_use"] == [
        (c["name"], c["args"]) for c in CALLS]
    with claude.messages.stream(model="m", max_tokens=50,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "text" and final.content[0].text == "Let me look."
    assert [(b.name, b.input) for b in final.content if b.type == "tool_use"] == [
        (c["name"], c["args"]) for c in CALLS]


def test_the_sdks_read_gemini_and_ollama_tool_calls(standin: Any) -> None:
    srv = standin("gemini", *[Reply(text="Let me look.", tool_calls=CALLS)] * 2, api_key=SECRET)
    client = genai.Client(api_key=SECRET, http_options=gtypes.HttpOptions(
        base_url=srv.url, api_version="v1beta"))
    config = gtypes.GenerateContentConfig(tools=[gtypes.Tool(function_declarations=[
        gtypes.FunctionDeclaration(name="find_definition", description="d")])])
    done = client.models.generate_content(model="gemini-3.8-flash", contents="hi", config=config)
    assert done.text == "Let me look."
    assert [(c.name, c.args) for c in done.function_calls or ()] == [
        (c["name"], c["args"]) for c in CALLS]
    chunks = list(client.models.generate_content_stream(model="gemini-3.8-flash", contents="hi",
                                                        config=config))
    calls = [c for chunk in chunks for c in chunk.function_calls or ()]
    assert [(c.name, c.args) for c in calls] == [(c["name"], c["args"]) for c in CALLS]
    assert chunks[-1].candidates and chunks[-1].candidates[0].finish_reason == gtypes.FinishReason.STOP

    srv = standin("ollama", *[Reply(text="", tool_calls=CALLS)] * 2)
    local = ollama.Client(host=srv.url)
    messages = [{"role": "user", "content": "hi"}]
    answer = local.chat(model="qwen2.5-coder:7b", messages=messages, tools=[SPECS_OLLAMA])
    assert [(c.function.name, dict(c.function.arguments)) for c in answer.message.tool_calls or ()
            ] == [(c["name"], c["args"]) for c in CALLS]
    parts = list(local.chat(model="qwen2.5-coder:7b", messages=messages, tools=[SPECS_OLLAMA],
                            stream=True))
    streamed = [c for p in parts for c in p.message.tool_calls or ()]
    assert [c.function.name for c in streamed] == [c["name"] for c in CALLS] and parts[-1].done


SPECS_OLLAMA = {"type": "function", "function": {"name": "find_definition", "description": "d",
                                                 "parameters": SPECS[1].json_schema()}}


def test_an_echoed_protocol_is_not_a_call() -> None:
    """A small model that repeats its prompt must not call the example by accident."""
    from lsp_server.providers.tools import parse_text_calls, text_protocol

    assert parse_text_calls(text_protocol(SPECS, 3)) == ()


def test_token_estimates_count_the_tool_declarations() -> None:
    """Vendors bill the declarations as input: the estimate of a prompt that offers tools (the
    budget check before a tool turn, the usage of a vendor that reports none) counts them,
    while the prompt's text (cache keys, stored prompts) stays the text."""
    bare = Prompt(system="You answer questions about code.", instruction="What does f do?")
    offered = dataclasses.replace(bare, tools=SPECS)
    assert offered.text() == bare.text() == bare.billed_text()
    extra = count_tokens(offered.billed_text()) - count_tokens(bare.billed_text())
    assert 200 < extra < 1000, extra
