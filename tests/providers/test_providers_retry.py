"""Backoff, Retry-After parsing, error mapping and key scrubbing, as plain functions."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from lsp_server.config import ModelSettings
from lsp_server.errors import (
    AuthenticationError,
    FatalProviderError,
    ModelNotFoundError,
    RateLimitedError,
    RetryableProviderError,
)
from lsp_server.providers.http import Failures, is_loopback, parse_retry_after, scrub
from lsp_server.providers.retry import ENV_RETRY_SCALE, RetryPolicy, call_with_retries

MODEL = ModelSettings(name="m", provider="openai", model="gpt", tier="budget", api_key_env="MY_KEY")


def test_backoff_doubles_with_jitter_and_caps() -> None:
    low = RetryPolicy(rng=lambda: 0.0, scale=1.0)
    high = RetryPolicy(rng=lambda: 1.0, scale=1.0)
    err = RetryableProviderError("x")
    assert [low.delay(n, err) for n in range(3)] == [0.25, 0.5, 1.0]
    assert [high.delay(n, err) for n in range(3)] == [0.5, 1.0, 2.0]
    assert high.delay(10, err) == 20.0  # max_delay


def test_retry_after_is_followed_scaled_and_capped() -> None:
    policy = RetryPolicy(scale=0.5, max_retry_after=30)
    assert policy.delay(0, RateLimitedError("x", retry_after=10)) == 5.0
    assert policy.delay(0, RateLimitedError("x", retry_after=31)) is None
    assert policy.delay(0, RateLimitedError("x", retry_after=None)) is not None


def test_scale_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_RETRY_SCALE, "0.001")
    assert RetryPolicy().scale == 0.001
    monkeypatch.setenv(ENV_RETRY_SCALE, "nonsense")
    assert RetryPolicy().scale == 1.0


async def test_only_retryable_errors_are_retried() -> None:
    calls: list[int] = []

    async def no_sleep(_: float) -> None:
        return None

    async def fatal() -> None:
        calls.append(1)
        raise FatalProviderError("no")

    with pytest.raises(FatalProviderError):
        await call_with_retries(fatal, RetryPolicy(max_retries=5, sleep=no_sleep), "t")
    assert calls == [1]


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after({"retry-after": when}, now=1_000_000) == 30.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_status_codes_map_to_typed_errors_naming_model_and_fix() -> None:
    f = Failures(MODEL, secret="sk-live-abcdefghijklmnop", auth_hint="set MY_KEY to a valid key")
    auth = f.status_error(401, '{"error": {"message": "bad key sk-live-abcdefghijklmnop"}}', {})
    assert isinstance(auth, AuthenticationError) and "set MY_KEY" in str(auth) and "m (openai gpt)" in str(auth)
    assert "sk-live-abcdefghijklmnop" not in str(auth)
    assert isinstance(f.status_error(403, "", {}), AuthenticationError)
    assert isinstance(f.status_error(404, "", {}), ModelNotFoundError)
    limited = f.status_error(429, "", {"retry-after": "2"})
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 2.0
    for status in (408, 500, 502, 503, 504, 529):
        plain = f.status_error(status, "<html>oops</html>", {})
        assert type(plain) is RetryableProviderError and plain.status == status
    overloaded = f.status_error(529, "", {"retry-after": "4"})
    assert isinstance(overloaded, RateLimitedError) and (overloaded.status, overloaded.retry_after) == (529, 4.0)
    bad = f.status_error(400, '{"error": {"type": "invalid_request_error", "message": "max_tokens"}}', {})
    assert type(bad) is FatalProviderError and "invalid_request_error: max_tokens" in str(bad)
    assert isinstance(f.transport_error(httpx.ConnectTimeout("t")), RetryableProviderError)
    assert "timeout_seconds" in str(f.transport_error(httpx.ReadTimeout("t")))


def test_scrub_masks_our_key_and_key_shaped_strings() -> None:
    text = "key=abc123 sk-proj-ABCDEFGH12345678 AIzaSyA1234567890abcdefgh gsk_0123456789abcdef plain-words"
    cleaned = scrub(text, ("abc123",))
    assert "abc123" not in cleaned and "sk-proj-" not in cleaned and "AIza" not in cleaned and "gsk_" not in cleaned
    assert "plain-words" in cleaned and "skeleton_function_name" in scrub("skeleton_function_name")


def test_loopback() -> None:
    assert is_loopback("http://127.0.0.1:1234/v1") and is_loopback("http://localhost:8080/v1")
    assert not is_loopback("https://api.groq.com/openai/v1")
