"""Native tool calling on the wire: OpenAI-compatible ``tools``/``tool_calls`` and Anthropic
``tool_use``/``tool_result``, our providers against the stand-ins, and the stand-ins checked
with the official SDKs (their answers parsed by the SDK's types, our requests validated
against the SDK's request types)."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import MessageParam, ToolParam
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from provider_helpers import SECRET, MakeProvider
from pydantic import TypeAdapter
from standins import Reply

from lsp_server.assistant.tools import SPECS
from lsp_server.providers import Completion, Prompt
from lsp_server.providers.anthropic import request_body as anthropic_body
from lsp_server.providers.openai_compat import request_body as openai_body
from lsp_server.providers.tools import ToolCall, ToolTurn

CALLS = [{"name": "find_definition", "args": {"name": "parse_config"}},
         {"name": "read_file", "args": {"path": "src/a.rs", "start_line": 3, "end_line": 9}}]
TURN = ToolTurn("Looking.", (ToolCall("find_definition", {"name": "parse_config"}, id="c1"),),
                ("src/config.rs:3-9 function parse_config\nfn parse_config() {}",))
PROMPT = Prompt(system="You edit.", stable="ctx", instruction="Fix it", max_output_tokens=100,
                tools=SPECS, turns=(TURN,))


async def answer(provider: Any, stream: bool) -> Completion:
    if not stream:
        done: Completion = await provider.generate(PROMPT)
        return done
    items = [item async for item in provider.stream(PROMPT)]
    assert isinstance(items[-1], Completion)
    return items[-1]


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
async def test_tool_calls_are_read_from_each_vendor(standin: Any, connect: MakeProvider,
                                                    vendor: str, stream: bool) -> None:
    srv = standin(vendor, Reply(text="", tool_calls=CALLS))
    done = await answer(connect(srv, tool_format="native"), stream)
    assert [(c.name, dict(c.args), c.error) for c in done.tool_calls] == [
        ("find_definition", {"name": "parse_config"}, None),
        ("read_file", {"path": "src/a.rs", "start_line": 3, "end_line": 9}, None)]
    assert all(c.id for c in done.tool_calls) and done.text == ""
    assert done.usage.output > 0
    body = srv.generations[0].body
    assert [t.get("name") or t["function"]["name"] for t in body["tools"]] == [s.name for s in SPECS]


@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_openai_arguments_are_an_error_not_a_crash(standin: Any, connect: MakeProvider,
                                                                  stream: bool) -> None:
    srv = standin("openai", Reply(text="", tool_calls=[{"name": "read_file", "raw": '{"path": '}]))
    done = await answer(connect(srv, tool_format="native"), stream)
    (call,) = done.tool_calls
    assert call.name == "read_file" and call.error is not None and "not valid JSON" in call.error


def test_our_requests_are_valid_sdk_requests() -> None:
    from lsp_server.config import ModelSettings

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


def test_an_echoed_protocol_is_not_a_call() -> None:
    """A small model that repeats its prompt must not call the example by accident."""
    from lsp_server.providers.tools import parse_text_calls, text_protocol

    assert parse_text_calls(text_protocol(SPECS, 3)) == ()
