"""Reading one streamed answer: its text, tokens and first-token time as they arrive, throttled
progress, the early-stop monitor, and the tier's latency budget.

:func:`consume` reads a provider's stream into a :class:`StreamedAnswer` and returns the final
:class:`~lsp_server.providers.base.Completion`, or None when the answer was stopped (the reason
is ``StreamedAnswer.stopped``): by the early-stop monitor, by ``routing.first_token_timeout_s``
or by ``routing.tier_timeout_s``. A stream that keeps trickling past the model's own bound
(``timeout_seconds`` per try) is a retryable failure instead. Leaving :func:`consume` closes the
HTTP stream, so a cancelled request stops the vendor's generation too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from lsp_server.config import ModelSettings, RoutingSettings, Tier
from lsp_server.context.tokens import count_tokens
from lsp_server.errors import RetryableProviderError
from lsp_server.providers.base import Completion, Prompt, Provider, StreamDelta, Usage
from lsp_server.routing.early_stop import Monitor

PROGRESS_EVERY_S = 0.25  # streamed-token progress is throttled to this interval


class StreamedAnswer:
    """One streamed answer as it arrives: its text, tokens, first-token time and throttled
    progress; ``take`` says whether the early-stop monitor wants it stopped."""

    def __init__(self, name: str, tier: Tier, monitor: Monitor | None,
                 progress: Callable[[str], None], started: float) -> None:
        self.name = name
        self.tier = tier
        self.monitor = monitor
        self._progress = progress
        self.started = started
        self.parts: list[str] = []
        self.tokens = 0
        self.first_token_ms: float | None = None
        self.stopped: str | None = None
        self.usage: Usage | None = None  # the server's own count so far, when it sends one
        self._told = 0.0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def take(self, delta: StreamDelta) -> bool:
        now = time.perf_counter()
        if self.first_token_ms is None:
            self.first_token_ms = (now - self.started) * 1000
        self.parts.append(delta.text)
        self.tokens += max(1, count_tokens(delta.text))
        if delta.usage is not None:
            self.usage = delta.usage
        if now - self._told >= PROGRESS_EVERY_S:
            self._told = now
            self._progress(f"{self.name} ({self.tier}): {self.tokens} tokens")
        if self.monitor is not None:
            self.stopped = self.monitor.feed(delta.text, delta.tool_call)
        return self.stopped is not None


def _earliest(started: float, first: float | None, total: float | None) -> float | None:
    """The loop time of the nearest of two limits counted from ``started`` (None: none)."""
    limits = [x for x in (first, total) if x is not None]
    return started + min(limits) if limits else None


async def consume(provider: Provider, model: ModelSettings, tier: Tier, prompt: Prompt,
                  stream: StreamedAnswer, routing: RoutingSettings) -> Completion | None:
    """The streamed answer's Completion, or None when the router stopped it (the reason
    is ``stream.stopped``). Leaving this function closes the HTTP stream."""
    first_limit = routing.first_token_timeout_s.get(tier)
    total_limit = routing.tier_timeout_s.get(tier)
    # Reads are bounded by httpx, but a stream that keeps trickling (keep-alive comments,
    # a server that never ends) is not: the whole call gets the model's own bound too.
    hard_limit = model.timeout_seconds * (model.max_retries + 1)
    if total_limit is None or hard_limit < total_limit:
        total_limit, hard = hard_limit, True
    else:
        hard = False
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = _earliest(started, first_limit, total_limit)
    items = provider.stream(prompt)
    async with contextlib.aclosing(items):  # type: ignore[type-var]
        try:
            async with asyncio.timeout_at(deadline) as budget:
                async for item in items:
                    if isinstance(item, Completion):
                        return item
                    if stream.first_token_ms is None:
                        budget.reschedule(_earliest(started, None, total_limit))
                    if stream.take(item):
                        return None
        except TimeoutError:
            if stream.first_token_ms is None and first_limit is not None and (
                    first_limit <= total_limit):
                stream.stopped = (f"no first token within {first_limit:g} s "
                                  f"(routing.first_token_timeout_s for {tier})")
            elif hard:
                raise RetryableProviderError(
                    f"{model.name}: no complete answer within {total_limit:g}s "
                    "(timeout_seconds)", provider=model.name) from None
            else:
                stream.stopped = (f"not finished within {total_limit:g} s "
                                  f"(routing.tier_timeout_s for {tier})")
            return None
    raise AssertionError("unreachable: a provider stream ends with its Completion or raises")
