"""Any OpenAI-compatible ``/chat/completions`` endpoint over httpx: OpenAI, Groq, OpenRouter,
DeepSeek, LM Studio, vLLM, llama.cpp server.

The base URL includes the version path (``https://api.groq.com/openai/v1``). Caching is
automatic on these services (a repeated prefix is cached), so the prompt keeps its stable parts
first; ``prompt_tokens`` already includes the cached ones (``prompt_tokens_details.cached_tokens``,
or DeepSeek's ``prompt_cache_hit_tokens``). A local server on a loopback address needs no key.
When a server reports no usage at all, it is estimated and the completion says so
(``Completion.usage_estimated``). A stream that fails after its usage chunk keeps that usage on
the error.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from lsp_server.config import ModelSettings
from lsp_server.errors import FatalProviderError, ProviderError, RetryableProviderError
from lsp_server.providers.adapter import HttpProviderAdapter
from lsp_server.providers.base import Completion, Prompt, StreamDelta, Usage
from lsp_server.providers.http import Failures, as_int, is_loopback, json_event
from lsp_server.providers.retry import RetryPolicy
from lsp_server.providers.tools import (
    OpenAIStreamCalls,
    ToolCall,
    openai_calls,
    openai_tools,
    openai_turn_messages,
)

CHAT_PATH = "/chat/completions"
MODELS_PATH = "/models"


def uses_max_completion_tokens(settings: ModelSettings) -> bool:
    """OpenAI itself wants ``max_completion_tokens``; compatible servers know ``max_tokens``."""
    return (httpx.URL(settings.effective_base_url).host or "") == "api.openai.com"


def fixed_temperature(settings: ModelSettings) -> bool:
    """OpenAI's reasoning models (o-series, gpt-5 family) reject any temperature but the default."""
    return uses_max_completion_tokens(settings) and re.match(r"(o\d|gpt-5)", settings.model) is not None


def request_body(settings: ModelSettings, prompt: Prompt, *, stream: bool) -> dict[str, Any]:
    """System message, then one user message with the stable prefix first (for prefix caching)."""
    user = "\n\n".join(p for p in (prompt.stable, prompt.volatile, prompt.instruction) if p)
    messages: list[dict[str, Any]] = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    messages.append({"role": "user", "content": user or "(no instruction)"})
    messages += openai_turn_messages(prompt.turns)  # after the rest: the prefix stays cached
    limit = prompt.max_output_tokens or settings.max_output_tokens
    body: dict[str, Any] = {"model": settings.model, "messages": messages}
    if not fixed_temperature(settings):
        body["temperature"] = settings.temperature if prompt.temperature is None else prompt.temperature
    body["max_completion_tokens" if uses_max_completion_tokens(settings) else "max_tokens"] = limit
    if prompt.stop:
        body["stop"] = list(prompt.stop)
    if prompt.tools:
        body["tools"] = openai_tools(prompt.tools)
        body["tool_choice"] = prompt.tool_choice
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        if settings.tier == "local" and is_loopback(settings.effective_base_url):
            # A local server on this machine: llama.cpp's then sends its counts with every
            # chunk, so an answer the router stops (before the final usage chunk) is billed from
            # the server's own count. A cloud API is never sent the field.
            body["timings_per_token"] = True
    return body


def usage_so_far(raw: Any) -> Usage | None:
    """llama.cpp's ``timings`` of a chunk as usage so far (the prompt's cached and processed
    tokens, the tokens generated), or None when the chunk has none."""
    if not isinstance(raw, dict) or "prompt_n" not in raw or "predicted_n" not in raw:
        return None
    cached = as_int(raw.get("cache_n"))
    return Usage(input=cached + as_int(raw.get("prompt_n")), output=as_int(raw.get("predicted_n")),
                 cache_read=cached)


def usage_from(raw: Any) -> Usage | None:
    """Normalised usage, or None when the server reported none."""
    if not isinstance(raw, dict):
        return None
    details = raw.get("prompt_tokens_details")
    cached = as_int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    cached = cached or as_int(raw.get("prompt_cache_hit_tokens"))
    return Usage(
        input=as_int(raw.get("prompt_tokens")),
        output=as_int(raw.get("completion_tokens")),
        cache_read=cached,
    )


def body_error(failures: Failures, data: dict[str, Any]) -> ProviderError:
    """The typed error for an ``{"error": ...}`` object sent with a 200 or inside a stream."""
    err = data.get("error")
    detail = err if isinstance(err, dict) else {"message": str(err)}
    code = detail.get("code")
    message = f"error in the response ({detail.get('type') or code or 'error'}: {detail.get('message', '')})"
    if code in (429, "429", "rate_limit_exceeded"):
        return failures.rate_limited(message, None)
    if (isinstance(code, int) and code >= 500) or code in ("server_error", "overloaded"):
        return failures.fail(RetryableProviderError, message)
    return failures.fail(FatalProviderError, message)


class OpenAICompatProvider(HttpProviderAdapter):
    """Chat models behind an OpenAI-compatible ``/chat/completions``."""

    def __init__(
        self,
        settings: ModelSettings,
        *,
        api_key: str | None,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        env = settings.effective_key_env or "api_key_env"
        super().__init__(
            settings, api_key=api_key, policy=policy, transport=transport,
            headers={"authorization": f"Bearer {api_key}"} if api_key else {},
            auth_hint=f"set {env} to a valid key for {settings.effective_base_url}",
        )
        self.needs_key = not is_loopback(settings.effective_base_url)
        # A local server's tool support depends on how it was started (llama.cpp: --jinja),
        # so "auto" is native only for remote APIs.
        self.native_tools = self.needs_key

    def check_path(self) -> str:
        return MODELS_PATH

    def _completion(
        self, data: dict[str, Any], text: str, usage: Usage | None, stop: Any, prompt: Prompt,
        calls: tuple[ToolCall, ...] = (),
    ) -> Completion:
        return self.completion(text, usage, stop, data.get("model"), {"id": data.get("id", "")},
                               prompt, calls)

    async def _generate_once(self, prompt: Prompt) -> Completion:
        data = await self.http.post_json(CHAT_PATH, request_body(self.settings, prompt, stream=False))
        if "error" in data and "choices" not in data:
            raise body_error(self.http, data)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self.http.malformed("expected a chat.completion with choices")
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise self.http.malformed("the first choice has no message")
        text = str(message.get("content") or "")
        return self._completion(data, text, usage_from(data.get("usage")),
                                choices[0].get("finish_reason"), prompt,
                                openai_calls(message.get("tool_calls")))

    async def _stream_once(self, prompt: Prompt) -> AsyncGenerator[StreamDelta | Completion, None]:
        body = request_body(self.settings, prompt, stream=True)
        first: dict[str, Any] = {}
        parts: list[str] = []
        stop: Any = None
        usage: Usage | None = None  # sent once, at the end: when present, it is the final count
        calls = OpenAIStreamCalls()
        try:
            async for event in self.http.post_sse(CHAT_PATH, body):
                if event.data.strip() == "[DONE]":
                    yield self._completion(first, "".join(parts), usage, stop, prompt,
                                           calls.calls())
                    return
                data = json_event(self.http, event)
                if "error" in data and "choices" not in data:
                    raise body_error(self.http, data)
                first = first or data
                groq = data.get("x_groq")  # Groq's own place for stream usage
                usage = usage_from(data.get("usage")) or (
                    usage_from(groq.get("usage")) if isinstance(groq, dict) else None) or usage
                for choice in data.get("choices") or ():
                    if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                        continue
                    delta = choice.get("delta") or {}
                    for name in calls.take(delta.get("tool_calls")):
                        yield StreamDelta("", tool_call=name)
                    content = delta.get("content")
                    if content:
                        parts.append(str(content))
                        yield StreamDelta(str(content), usage=usage_so_far(data.get("timings")))
                    stop = choice.get("finish_reason") or stop
            raise self.http.malformed("the stream ended before [DONE]")
        except ProviderError as exc:
            raise self.broken_stream(exc, usage, True, "".join(parts)) from None
