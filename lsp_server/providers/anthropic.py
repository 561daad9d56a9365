"""Anthropic's Messages API over httpx, with prompt caching and SSE streaming.

The system text and the stable context prefix each end with a ``cache_control`` breakpoint, so
a repeated request reads them from the prompt cache (billed at a tenth of the input price).
Anthropic reports cached tokens apart from ``input_tokens``; :class:`Usage` adds them back so
``input`` counts every prompt token. A stream that fails keeps the usage reported so far on
the error (final once ``message_delta`` arrived). The request carries no ``temperature``: the API version the
official SDK uses has no sampling parameters.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from lsp_server.config import ModelSettings
from lsp_server.errors import FatalProviderError, ProviderError, RetryableProviderError
from lsp_server.providers.adapter import HttpProviderAdapter
from lsp_server.providers.base import Completion, Prompt, StreamDelta, Usage
from lsp_server.providers.http import Failures, as_int, json_event
from lsp_server.providers.retry import RetryPolicy
from lsp_server.providers.tools import (
    ToolCall,
    anthropic_call,
    anthropic_tools,
    anthropic_turn_messages,
)

# The API version the official SDK (anthropic 2.12) sends. Its Messages schema has no sampling
# parameters any more, so ``temperature`` is not sent to Anthropic.
ANTHROPIC_VERSION = "2026-10-21"
MESSAGES_PATH = "/v1/messages"
MODELS_PATH = "/v1/models"
_CACHE = {"type": "ephemeral"}


def request_body(settings: ModelSettings, prompt: Prompt, *, stream: bool) -> dict[str, Any]:
    """The Messages API body: cached system block, cached stable block, then the volatile ask."""
    content: list[dict[str, Any]] = []
    if prompt.stable:
        content.append({"type": "text", "text": prompt.stable, "cache_control": _CACHE})
    tail = "\n\n".join(p for p in (prompt.volatile, prompt.instruction) if p)
    if tail or not content:
        content.append({"type": "text", "text": tail or "(no instruction)"})
    body: dict[str, Any] = {
        "model": settings.model,
        "max_tokens": prompt.max_output_tokens or settings.max_output_tokens,
        # Tool turns go after the first message: the cached prefix stays the same.
        "messages": [{"role": "user", "content": content}, *anthropic_turn_messages(prompt.turns)],
    }
    if prompt.tools:
        body["tools"] = anthropic_tools(prompt.tools)
        body["tool_choice"] = {"type": prompt.tool_choice}
    if prompt.system:
        body["system"] = [{"type": "text", "text": prompt.system, "cache_control": _CACHE}]
    if prompt.stop:
        body["stop_sequences"] = list(prompt.stop)
    if stream:
        body["stream"] = True
    return body


def usage_from(raw: Any) -> Usage:
    """Normalised usage: ``input`` = uncached + cache-written + cache-read prompt tokens."""
    u = raw if isinstance(raw, dict) else {}
    write = as_int(u.get("cache_creation_input_tokens"))
    read = as_int(u.get("cache_read_input_tokens"))
    return Usage(
        input=as_int(u.get("input_tokens")) + write + read,
        output=as_int(u.get("output_tokens")),
        cache_read=read,
        cache_write=write,
    )


def stream_error(failures: Failures, data: dict[str, Any]) -> ProviderError:
    """The typed error for an ``error`` event sent inside a stream."""
    raw = data.get("error")
    err: dict[str, Any] = raw if isinstance(raw, dict) else {}
    kind = str(err.get("type", "error"))
    message = f"error event in the stream ({kind}: {err.get('message', '')})"
    if kind == "rate_limit_error":
        return failures.rate_limited(message, None)
    if kind in ("overloaded_error", "api_error"):
        return failures.fail(RetryableProviderError, message)
    return failures.fail(FatalProviderError, message)


class AnthropicProvider(HttpProviderAdapter):
    """Claude models through ``POST /v1/messages``."""

    def __init__(
        self,
        settings: ModelSettings,
        *,
        api_key: str | None,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        env = settings.effective_key_env or "api_key_env"
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        super().__init__(
            settings, api_key=api_key, policy=policy, headers=headers, transport=transport,
            auth_hint=f"set {env} to a valid Anthropic API key (console.anthropic.com)",
        )

    def check_path(self) -> str:
        return MODELS_PATH

    native_tools = True

    def _completion(self, message: dict[str, Any], text: str, usage: Usage, stop: Any,
                    calls: tuple[ToolCall, ...] = ()) -> Completion:
        return self.completion(text, usage, stop, message.get("model"),
                               {"id": message.get("id", "")}, tool_calls=calls)

    async def _generate_once(self, prompt: Prompt) -> Completion:
        data = await self.http.post_json(MESSAGES_PATH, request_body(self.settings, prompt, stream=False))
        blocks = data.get("content")
        if data.get("type") != "message" or not isinstance(blocks, list) or "usage" not in data:
            raise self.http.malformed("expected a message with content and usage")
        text = "".join(
            str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text"
        )
        calls = tuple(anthropic_call(b) for b in blocks
                      if isinstance(b, dict) and b.get("type") == "tool_use")
        return self._completion(data, text, usage_from(data.get("usage")), data.get("stop_reason"),
                                calls)

    async def _stream_once(self, prompt: Prompt) -> AsyncGenerator[StreamDelta | Completion, None]:
        body = request_body(self.settings, prompt, stream=True)
        message: dict[str, Any] | None = None
        usage: dict[str, Any] = {}
        parts: list[str] = []
        stop: Any = None
        final = False  # message_delta carries the final output count
        tools: dict[int, tuple[dict[str, Any], list[str]]] = {}  # index: tool_use block, JSON
        try:
            async for event in self.http.post_sse(MESSAGES_PATH, body):
                data = json_event(self.http, event)
                kind = data.get("type")
                if kind == "message_start":
                    msg = data.get("message")
                    if not isinstance(msg, dict):
                        raise self.http.malformed("message_start without a message")
                    message = msg
                    usage.update(msg.get("usage") or {})
                elif kind == "content_block_start":
                    block = data.get("content_block")
                    if isinstance(block, dict) and block.get("type") == "tool_use":
                        tools[as_int(data.get("index"))] = (block, [])
                        yield StreamDelta("", tool_call=str(block.get("name") or "?"))
                elif kind == "content_block_delta":
                    delta = data.get("delta") or {}
                    if delta.get("type") == "input_json_delta":
                        held = tools.get(as_int(data.get("index")))
                        if held is None:
                            raise self.http.malformed("input_json_delta outside a tool_use block")
                        held[1].append(str(delta.get("partial_json") or ""))
                    elif delta.get("type") == "text_delta" and delta.get("text"):
                        parts.append(str(delta["text"]))
                        yield StreamDelta(str(delta["text"]))
                elif kind == "message_delta":
                    stop = (data.get("delta") or {}).get("stop_reason", stop)
                    usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
                    final = True
                elif kind == "message_stop":
                    if message is None:
                        raise self.http.malformed("message_stop before message_start")
                    yield self._completion(message, "".join(parts), usage_from(usage), stop,
                                           tuple(_streamed_call(*tools[i]) for i in sorted(tools)))
                    return
                elif kind == "error":
                    raise stream_error(self.http, data)
            raise self.http.malformed("the stream ended before message_stop")
        except ProviderError as exc:
            reported = usage_from(usage) if usage else None
            raise self.broken_stream(exc, reported, final, "".join(parts)) from None


def _streamed_call(block: dict[str, Any], pieces: list[str]) -> ToolCall:
    """A streamed ``tool_use`` block: its input arrives as ``input_json_delta`` pieces."""
    raw = "".join(pieces)
    try:
        args = json.loads(raw) if raw.strip() else block.get("input") or {}
    except json.JSONDecodeError as exc:
        return ToolCall(name=str(block.get("name") or "?"), id=str(block.get("id") or ""),
                        error=f"the input is not valid JSON ({exc.msg})")
    return anthropic_call({**block, "input": args})
