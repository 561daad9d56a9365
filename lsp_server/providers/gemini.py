"""Google's Gemini API (``generateContent`` / ``streamGenerateContent?alt=sse``) over httpx.

The key travels in the ``x-goog-api-key`` header, never in the URL, so it cannot end up in an
error message or a log line. ``promptTokenCount`` already includes ``cachedContentTokenCount``;
thinking tokens (``thoughtsTokenCount``) are billed as output and counted there. A stream
reports usage with every chunk, final with the chunk that has the ``finishReason``; a stream
that fails keeps the usage reported so far on the error, and one that reported none gets an
estimate, marked as such.

Tools are offered as ``functionDeclarations`` and the answer's ``functionCall`` parts become the
completion's tool calls (streamed or not: Gemini sends a call whole, in one chunk); earlier
turns follow the prompt as ``model``/``user`` contents, so the prefix stays the same (see
:mod:`lsp_server.providers.tools`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import httpx

from lsp_server.config import ModelSettings
from lsp_server.errors import (
    AuthenticationError,
    FatalProviderError,
    ProviderError,
    RetryableProviderError,
)
from lsp_server.providers.adapter import HttpProviderAdapter
from lsp_server.providers.base import Completion, Prompt, StreamDelta, Usage
from lsp_server.providers.http import as_int, json_event, vendor_message
from lsp_server.providers.retry import RetryPolicy
from lsp_server.providers.tools import (
    ToolCall,
    gemini_calls,
    gemini_tools,
    gemini_turn_contents,
)

API_VERSION = "v1beta"


def model_path(settings: ModelSettings) -> str:
    return f"/{API_VERSION}/models/{settings.model.removeprefix('models/')}"


def request_body(settings: ModelSettings, prompt: Prompt) -> dict[str, Any]:
    """``contents`` with the stable prefix as its own first part, system text apart."""
    parts: list[dict[str, Any]] = []
    if prompt.stable:
        parts.append({"text": prompt.stable})
    tail = "\n\n".join(p for p in (prompt.volatile, prompt.instruction) if p)
    if tail or not parts:
        parts.append({"text": tail or "(no instruction)"})
    body: dict[str, Any] = {
        # Tool turns go after the first content: the prefix stays the same.
        "contents": [{"role": "user", "parts": parts}, *gemini_turn_contents(prompt.turns)],
        "generationConfig": {
            "temperature": settings.temperature if prompt.temperature is None else prompt.temperature,
            "maxOutputTokens": prompt.max_output_tokens or settings.max_output_tokens,
        },
    }
    if prompt.stop:
        body["generationConfig"]["stopSequences"] = list(prompt.stop)
    if prompt.tools:
        body["tools"] = gemini_tools(prompt.tools)
        body["toolConfig"] = {"functionCallingConfig": {"mode": prompt.tool_choice.upper()}}
    if prompt.system:
        body["systemInstruction"] = {"role": "user", "parts": [{"text": prompt.system}]}
    return body


def usage_from(raw: Any) -> Usage:
    u = raw if isinstance(raw, dict) else {}
    return Usage(
        input=as_int(u.get("promptTokenCount")) + as_int(u.get("toolUsePromptTokenCount")),
        output=as_int(u.get("candidatesTokenCount")) + as_int(u.get("thoughtsTokenCount")),
        cache_read=as_int(u.get("cachedContentTokenCount")),
    )


def _retry_delay(body: Any) -> float | None:
    """``RetryInfo.retryDelay`` ("30s") from a Google error body."""
    err = body.get("error") if isinstance(body, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    for detail in details if isinstance(details, list) else ():
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


class GeminiProvider(HttpProviderAdapter):
    """Gemini models through the Generative Language API."""

    native_tools = True

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
            headers={"x-goog-api-key": api_key} if api_key else {},
            auth_hint=f"set {env} to a valid Gemini API key (aistudio.google.com/apikey)",
            classify=self._classify,
        )

    def check_path(self) -> str:
        return model_path(self.settings)

    def _classify(self, status: int, body: Any, raw: str) -> ProviderError | None:
        """Google says "API key not valid" with a 400, and puts the retry hint in the body."""
        if status == 400 and ("API_KEY_INVALID" in raw or "API key not valid" in raw):
            return self.http.fail(
                AuthenticationError,
                f"the API key was rejected ({status} {vendor_message(body, raw)}); {self.http.auth_hint}",
                status,
            )
        if status == 429:
            hint = _retry_delay(body)
            return self.http.rate_limited(f"rate limited (429 {vendor_message(body, raw)})", hint) if hint is not None else None
        return None

    def _candidate(self, data: dict[str, Any]) -> tuple[str, Any, tuple[ToolCall, ...]]:
        """The text of the first candidate, its finish reason (None while streaming) and the
        function calls it makes."""
        if "error" in data and "candidates" not in data:
            raise self._error_in_body(data)
        candidates = data.get("candidates")
        if not candidates:
            feedback = data.get("promptFeedback") or {}
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                blocked = self.http.fail(
                    FatalProviderError, f"the prompt was blocked ({feedback['blockReason']})"
                )
                if "usageMetadata" in data:  # what the vendor counted for the blocked prompt
                    blocked.usage = usage_from(data["usageMetadata"])
                raise blocked
            if "usageMetadata" in data:
                return "", None, ()
            raise self.http.malformed("expected candidates or usageMetadata")
        first = candidates[0] if isinstance(candidates, list) else None
        if not isinstance(first, dict):
            raise self.http.malformed("a candidate is not an object")
        parts = (first.get("content") or {}).get("parts") or []
        text = "".join(
            str(p.get("text", "")) for p in parts if isinstance(p, dict) and not p.get("thought")
        )
        finish = first.get("finishReason")
        return text, finish, gemini_calls(parts, finish, first.get("finishMessage"))

    def _error_in_body(self, data: dict[str, Any]) -> ProviderError:
        raw = data.get("error")
        err: dict[str, Any] = raw if isinstance(raw, dict) else {}
        code = as_int(err.get("code"))
        message = f"error in the response ({err.get('status', code)}: {err.get('message', '')})"
        if code == 429:
            return self.http.rate_limited(message, _retry_delay(data))
        if code >= 500:
            return self.http.fail(RetryableProviderError, message)
        return self.http.fail(FatalProviderError, message)

    def _completion(self, data: dict[str, Any], text: str, usage: Usage | None, stop: Any,
                    prompt: Prompt | None = None, calls: tuple[ToolCall, ...] = ()) -> Completion:
        return self.completion(text, usage, stop, data.get("modelVersion"),
                               {"id": data.get("responseId", "")}, prompt, calls)

    async def _generate_once(self, prompt: Prompt) -> Completion:
        path = f"{model_path(self.settings)}:generateContent"
        data = await self.http.post_json(path, request_body(self.settings, prompt))
        text, stop, calls = self._candidate(data)
        if "usageMetadata" not in data:
            raise self.http.malformed("no usageMetadata")
        return self._completion(data, text, usage_from(data.get("usageMetadata")), stop,
                                calls=calls if prompt.tools else ())

    async def _stream_once(self, prompt: Prompt) -> AsyncGenerator[StreamDelta | Completion, None]:
        path = f"{model_path(self.settings)}:streamGenerateContent"
        parts: list[str] = []
        last: dict[str, Any] = {}
        usage: Usage | None = None
        stop: Any = None
        calls: list[ToolCall] = []
        try:
            async for event in self.http.post_sse(path, request_body(self.settings, prompt), params={"alt": "sse"}):
                data = json_event(self.http, event)
                text, finish, found = self._candidate(data)
                calls += found
                for call in found if prompt.tools else ():
                    yield StreamDelta("", tool_call=call.name)
                last = data
                if "usageMetadata" in data:
                    usage = usage_from(data["usageMetadata"])
                if text:
                    parts.append(text)
                    yield StreamDelta(text)
                stop = finish or stop
            if stop is None:
                raise self.http.malformed("the stream ended without a finishReason")
        except ProviderError as exc:
            raise self.broken_stream(exc, usage, stop is not None, "".join(parts)) from None
        yield self._completion(last, "".join(parts), usage, stop, prompt,
                               tuple(calls) if prompt.tools else ())
