"""Retry transient provider failures with exponential backoff and jitter, honouring Retry-After.

Only :class:`~lsp_server.errors.RetryableProviderError` is retried (429, 5xx, 529, resets,
timeouts); everything else propagates at once. A server's ``Retry-After`` hint is followed
as given, unless it asks for longer than ``max_retry_after``: then waiting would stall the
editor, so the error is raised at once and the router can fall back to another model.

Every try is accounted for: a failed try gets its ``latency_ms``, and the error finally raised
carries the earlier failed tries in ``tries`` (see :mod:`lsp_server.errors`); a caller that
passes a ``tries`` list gets the failed tries of a call that succeeded in the end. The router
records each failed try as an attempt of its own rather than summing its usage into the
answer: each try has its own error, latency and billing status (measured, estimated, unknown), which a
sum would blur, and one row per try matches the vendor's invoice line by line.

Waits go through ``policy.sleep`` and are multiplied by ``policy.scale``, so tests inject a
recording sleep or set ``AGENTIC_OPTIMIZER_RETRY_SCALE=0.001`` for subprocesses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from lsp_server.errors import (
    MalformedResponseError,
    ProviderError,
    RateLimitedError,
    RetryableProviderError,
)

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


def _failed(exc: ProviderError, started: float, tries: list[ProviderError]) -> ProviderError:
    """Stamp a failed try with its latency and the failed tries before it."""
    exc.latency_ms = (time.perf_counter() - started) * 1000
    exc.tries = tuple(tries)
    return exc


async def _wait_or_raise(
    policy: RetryPolicy, retry: int, error: RetryableProviderError, label: str
) -> None:
    wait = policy.delay(retry, error) if retry < policy.max_retries else None
    if wait is None:
        raise _give_up(error, retry + 1) from None
    log.info("%s: %s; retry %d of %d in %.2fs", label, error, retry + 1, policy.max_retries, wait)
    await policy.sleep(wait)


async def _retry_or_raise(
    policy: RetryPolicy, retry: int, exc: ProviderError, label: str, tries: list[ProviderError]
) -> None:
    """Raise ``exc`` (with the earlier tries) unless it is retryable and retries remain; else
    wait, and count it as a failed try."""
    if not isinstance(exc, RetryableProviderError):
        raise exc from None
    await _wait_or_raise(policy, retry, exc, label)
    exc.tries = ()
    tries.append(exc)


async def call_with_retries(
    call: Callable[[], Awaitable[T]], policy: RetryPolicy, label: str,
    tries: list[ProviderError] | None = None,
) -> T:
    """Run ``call`` until it succeeds, a non-retryable error occurs, or retries run out.

    The failed tries of a call that succeeds are appended to ``tries`` when given.
    """
    failed: list[ProviderError] = [] if tries is None else tries
    retry = 0
    while True:
        started = time.perf_counter()
        try:
            return await call()
        except ProviderError as exc:
            await _retry_or_raise(policy, retry, _failed(exc, started, failed), label, failed)
            retry += 1


async def stream_with_retries(
    open_stream: Callable[[], AsyncGenerator[T, None]], policy: RetryPolicy, label: str,
    tries: list[ProviderError] | None = None,
) -> AsyncIterator[T]:
    """Yield from a fresh stream per attempt; retry only while nothing has been yielded.

    Once part of an answer went out, retrying would repeat it, so a failure after that point
    becomes a :class:`MalformedResponseError` (the caller must drop the partial text). Failed
    tries are accounted for as in :func:`call_with_retries`.
    """
    failed: list[ProviderError] = [] if tries is None else tries
    retry = 0
    while True:
        yielded = False
        started = time.perf_counter()
        try:
            async with contextlib.aclosing(open_stream()) as items:
                async for item in items:
                    yielded = True
                    yield item
            return
        except ProviderError as exc:
            _failed(exc, started, failed)
            if yielded and isinstance(exc, RetryableProviderError):
                broken = MalformedResponseError(
                    f"{exc.message}; the stream broke after part of the answer was sent, "
                    "so the partial answer must be discarded",
                    provider=exc.provider, status=exc.status,
                )
                broken.carry_accounting(exc)
                raise broken from None
            await _retry_or_raise(policy, retry, exc, label, failed)
            retry += 1
