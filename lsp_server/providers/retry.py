"""Retry transient provider failures with exponential backoff and jitter, honouring Retry-After.

Only :class:`~lsp_server.errors.RetryableProviderError` is retried (429, 5xx, 529, resets,
timeouts); everything else propagates at once. A server's ``Retry-After`` hint is followed
as given, unless it asks for longer than ``max_retry_after``: then waiting would stall the
editor, so the error is raised at once and the router can fall back to another model.

Waits go through ``policy.sleep`` and are multiplied by ``policy.scale``, so tests inject a
recording sleep or set ``AGENTIC_OPTIMIZER_RETRY_SCALE=0.001`` for subprocesses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from lsp_server.errors import MalformedResponseError, RateLimitedError, RetryableProviderError

log = logging.getLogger(__name__)

ENV_RETRY_SCALE = "AGENTIC_OPTIMIZER_RETRY_SCALE"

T = TypeVar("T")


def _env_scale() -> float:
    raw = os.environ.get(ENV_RETRY_SCALE, "").strip()
    try:
        value = float(raw) if raw else 1.0
    except ValueError:
        return 1.0
    return value if value >= 0 else 1.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before trying a failed call again."""

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 30.0
    scale: float = field(default_factory=_env_scale)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: Callable[[], float] = random.random

    def delay(self, retry: int, error: RetryableProviderError) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based), or None to give up now."""
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            hint = max(0.0, error.retry_after)
            if hint > self.max_retry_after:
                return None
            return float(hint * self.scale)
        backoff = min(self.max_delay, self.base_delay * (2**retry))
        # "Equal jitter": half the backoff is fixed, half random, so clients spread out.
        return float((backoff / 2 + backoff / 2 * self.rng()) * self.scale)


def _give_up(error: RetryableProviderError, attempts: int) -> RetryableProviderError:
    if attempts > 1:
        error.message = f"{error.message} (gave up after {attempts} attempts)"
        error.args = (error.message,)
    return error


async def _wait_or_raise(
    policy: RetryPolicy, retry: int, error: RetryableProviderError, label: str
) -> None:
    wait = policy.delay(retry, error) if retry < policy.max_retries else None
    if wait is None:
        raise _give_up(error, retry + 1) from None
    log.info("%s: %s; retry %d of %d in %.2fs", label, error, retry + 1, policy.max_retries, wait)
    await policy.sleep(wait)


async def call_with_retries(
    call: Callable[[], Awaitable[T]], policy: RetryPolicy, label: str
) -> T:
    """Run ``call`` until it succeeds, a non-retryable error occurs, or retries run out."""
    retry = 0
    while True:
        try:
            return await call()
        except RetryableProviderError as exc:
            await _wait_or_raise(policy, retry, exc, label)
            retry += 1


async def stream_with_retries(
    open_stream: Callable[[], AsyncGenerator[T, None]], policy: RetryPolicy, label: str
) -> AsyncIterator[T]:
    """Yield from a fresh stream per attempt; retry only while nothing has been yielded.

    Once part of an answer went out, retrying would repeat it, so a failure after that point
    becomes a :class:`MalformedResponseError` (the caller must drop the partial text).
    """
    retry = 0
    while True:
        yielded = False
        try:
            async with contextlib.aclosing(open_stream()) as items:
                async for item in items:
                    yielded = True
                    yield item
            return
        except RetryableProviderError as exc:
            if yielded:
                raise MalformedResponseError(
                    f"{exc.message}; the stream broke after part of the answer was sent, "
                    "so the partial answer must be discarded",
                    provider=exc.provider, status=exc.status,
                ) from None
            await _wait_or_raise(policy, retry, exc, label)
            retry += 1
