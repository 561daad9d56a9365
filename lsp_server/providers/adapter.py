"""Behaviour every vendor adapter shares: retries around one attempt, latency, a cached
availability check, token estimates, and a repr that never shows a key.

A vendor module subclasses :class:`ProviderAdapter` and writes three things: one non-streamed
attempt, one streamed attempt (an async generator of deltas ending with the Completion), and a
cheap reachability check.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Literal

import httpx

from lsp_server.config import ModelSettings
from lsp_server.context.tokens import count_tokens
from lsp_server.errors import (
    AuthenticationError,
    MalformedResponseError,
    ProviderError,
    RetryableProviderError,
)
from lsp_server.providers.base import (
    NOTHING_BILLED,
    Availability,
    Completion,
    Prompt,
    StreamDelta,
    Usage,
)
from lsp_server.providers.http import Classifier, VendorHttp
from lsp_server.providers.retry import RetryPolicy, call_with_retries, stream_with_retries
from lsp_server.providers.tools import ToolCall

AVAILABILITY_TTL_SECONDS = 10.0


class ProviderAdapter(ABC):
    """Base of the vendor adapters; implements the :class:`~lsp_server.providers.base.Provider`
    protocol on top of ``_generate_once``, ``_stream_once`` and ``_check``, which each vendor
    module writes."""

    needs_key = True
    native_tools = False  # what tool_format "auto" resolves to: the vendor's tool calling

    def __init__(
        self, settings: ModelSettings, *, api_key: str | None, policy: RetryPolicy | None = None
    ) -> None:
        self.settings = settings
        self._api_key = api_key
        self.policy = policy or RetryPolicy(max_retries=settings.max_retries)
        self.label = f"{settings.name} ({settings.provider} {settings.model})"
        self._availability: tuple[float, Availability] | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.settings.name!r}, model={self.settings.model!r}, "
            f"base_url={self.settings.effective_base_url!r})"
        )

    # -- what a vendor implements ---------------------------------------------------------

    @abstractmethod
    async def _generate_once(self, prompt: Prompt) -> Completion:
        """One non-streamed call (no retries: :meth:`generate` retries)."""

    @abstractmethod
    def _stream_once(self, prompt: Prompt) -> AsyncGenerator[StreamDelta | Completion, None]:
        """One streamed call: text deltas, then the Completion."""

    @abstractmethod
    async def _check(self) -> Availability:
        """Whether the endpoint answers and accepts the key."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close the HTTP connections."""

    # -- the Provider protocol ------------------------------------------------------------

    async def tool_format(self) -> Literal["native", "text"]:
        """``models[].tool_format``; ``auto`` is native where :meth:`_auto_native` says so."""
        chosen = self.settings.tool_format
        if chosen != "auto":
            return chosen
        return "native" if await self._auto_native() else "text"

    async def _auto_native(self) -> bool:
        """Whether ``auto`` means native tool calling for this model (a vendor whose support
        depends on the model asks its server)."""
        return self.native_tools

    def _require_key(self) -> None:
        if self.needs_key and not self._api_key:
            env = self.settings.effective_key_env or "api_key_env"
            raise AuthenticationError(  # no request is made, so nothing is billed
                f"{self.label}: no API key; set the environment variable {env}",
                provider=self.settings.name, usage=NOTHING_BILLED,
            )

    async def generate(self, prompt: Prompt) -> Completion:
        """One complete answer, retrying transient failures per the policy.

        ``latency_ms`` is the answering try's; the failed tries before it are ``tries``.
        """
        self._require_key()
        tries: list[ProviderError] = []
        start = time.perf_counter()

        async def once() -> Completion:
            nonlocal start
            start = time.perf_counter()
            # httpx's timeouts bound each read; a body that keeps trickling in (a server that
            # streams forever into a non-streamed call) would never end, so the whole try is
            # bounded too. Its billing is unknown, like a read timeout's.
            try:
                async with asyncio.timeout(self.settings.timeout_seconds):
                    return await self._generate_once(prompt)
            except TimeoutError:
                raise RetryableProviderError(
                    f"{self.label}: no complete answer within "
                    f"{self.settings.timeout_seconds:g}s (timeout_seconds)",
                    provider=self.settings.name) from None

        done = await call_with_retries(once, self.policy, self.label, tries)
        return dataclasses.replace(
            done, latency_ms=(time.perf_counter() - start) * 1000, tries=tuple(tries))

    async def stream(self, prompt: Prompt) -> AsyncIterator[StreamDelta | Completion]:
        """Text deltas as they arrive, then the Completion. Cancelling closes the HTTP stream.

        As for :meth:`generate`, the Completion carries the failed tries before it.
        """
        self._require_key()
        tries: list[ProviderError] = []
        start = time.perf_counter()
        first: float | None = None
        parts: list[str] = []

        def open_stream() -> AsyncGenerator[StreamDelta | Completion, None]:
            nonlocal start
            start = time.perf_counter()
            return self._stream_once(prompt)

        async for item in stream_with_retries(open_stream, self.policy, self.label, tries):
            if isinstance(item, Completion):
                if item.text != "".join(parts):
                    raise MalformedResponseError(
                        f"{self.label}: the streamed text does not add up to the final answer",
                        provider=self.settings.name,
                    )
                now = time.perf_counter()
                extra = dict(item.extra)
                if first is not None:
                    extra["first_token_ms"] = (first - start) * 1000
                yield dataclasses.replace(item, latency_ms=(now - start) * 1000, extra=extra,
                                          tries=tuple(tries))
                return
            if first is None:
                first = time.perf_counter()
            parts.append(item.text)
            yield item
        raise MalformedResponseError(
            f"{self.label}: the stream ended without a final answer", provider=self.settings.name
        )

    async def diagnose(self) -> Availability:
        """Check reachability now (no cache, no retries)."""
        if self.needs_key and not self._api_key:
            env = self.settings.effective_key_env or "api_key_env"
            return Availability(False, f"API key variable {env} is not set")
        return await self._check()

    async def available(self) -> bool:
        """Whether the model can be called; the answer is cached for a few seconds."""
        now = time.monotonic()
        if self._availability is not None and now - self._availability[0] < AVAILABILITY_TTL_SECONDS:
            return self._availability[1].ok
        result = await self.diagnose()
        self._availability = (time.monotonic(), result)
        return result.ok

    def count_tokens(self, text: str) -> int:
        """An estimate good to about 15% (see :mod:`lsp_server.context.tokens`)."""
        return count_tokens(text)

    def estimate_usage(self, prompt: Prompt, text: str) -> Usage:
        """Usage estimated from the prompt and the answer, for a vendor that reported none."""
        return Usage(input=self.count_tokens(prompt.billed_text()), output=self.count_tokens(text))

    def completion(
        self, text: str, usage: Usage | None, stop: object, raw_model: object,
        extra: dict[str, object], prompt: Prompt | None = None,
        tool_calls: tuple[ToolCall, ...] = (),
    ) -> Completion:
        """A Completion for this model (``model`` as configured, ``raw_model`` as reported),
        with the native tool calls the answer asks for.

        ``usage`` None means the vendor reported none: it is estimated from ``prompt`` and the
        answer, and the Completion says so (``usage_estimated``).
        """
        estimated = usage is None
        if usage is None:
            usage = self.estimate_usage(prompt or Prompt(system=""), text)
        return Completion(
            text=text,
            model=self.settings.model,
            usage=usage,
            stop_reason=str(stop) if stop is not None else None,
            provider=self.settings.name,
            raw_model=str(raw_model or self.settings.model),
            extra=extra,
            usage_estimated=estimated,
            tool_calls=tool_calls,
        )

    def broken_stream(self, exc: ProviderError, reported: Usage | None, final: bool,
                      text: str) -> ProviderError:
        """``exc`` with the usage a stream reported before it failed (see
        :mod:`lsp_server.errors`): as reported when the vendor's final count had arrived;
        otherwise an estimate, its output at least the text already streamed."""
        if exc.usage is None and reported is not None:
            if final:
                exc.usage = reported
            else:
                streamed = self.count_tokens(text) if text else 0
                exc.usage = dataclasses.replace(reported, output=max(reported.output, streamed))
                exc.usage_estimated = True
        return exc


class HttpProviderAdapter(ProviderAdapter):
    """An adapter that talks to its vendor through :class:`VendorHttp` (all but Ollama)."""

    def __init__(
        self,
        settings: ModelSettings,
        *,
        api_key: str | None,
        policy: RetryPolicy | None,
        headers: Mapping[str, str],
        auth_hint: str,
        classify: Classifier | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings, api_key=api_key, policy=policy)
        self.http = VendorHttp(
            settings, headers={"accept": "application/json", **headers}, secret=api_key,
            auth_hint=auth_hint, classify=classify, transport=transport,
        )

    @abstractmethod
    def check_path(self) -> str:
        """A cheap GET that needs a valid key (a model list)."""

    async def _check(self) -> Availability:
        ok, detail = await self.http.check(self.check_path())
        return Availability(ok, detail)

    async def aclose(self) -> None:
        await self.http.aclose()
