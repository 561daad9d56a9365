"""The local context's budget from the local model's measured speed (a pure function)."""

from __future__ import annotations

import pytest

from lsp_server.assistant.local_budget import (
    CACHED_COST,
    DEFAULT_PROMPT_TPS,
    MIN_CONTEXT_TOKENS,
    PROMPT_SHARE,
    UNFINISHED_FACTOR,
    Speed,
    estimate_speed,
    local_context_budget,
)
from lsp_server.ledger.store import CallTiming


def timing(tokens: int, first_ms: float | None, total_ms: float, out: int = 50) -> CallTiming:
    return CallTiming(input_tokens=tokens, output_tokens=out, latency_ms=total_ms,
                      first_token_ms=first_ms)


def test_no_usable_call_is_no_estimate() -> None:
    assert estimate_speed([]) is None
    # too few input tokens to measure reading speed
    assert estimate_speed([timing(20, 100.0, 500.0)]) is None


def test_prompt_speed_is_input_over_time_to_first_token() -> None:
    speed = estimate_speed([timing(1000, 4000.0, 6000.0, out=80)])
    assert speed is not None
    assert speed.prompt_tps == pytest.approx(250.0)
    assert speed.generation_tps == pytest.approx(40.0)  # 80 tokens in the 2 s after the first
    assert speed.samples == 1


def test_prefix_cached_calls_do_not_make_the_model_look_fast() -> None:
    slow = [timing(1000, 4000.0, 5000.0) for _ in range(3)]  # 250 tokens/s
    cached = [timing(1000, 10.0, 1000.0)]  # the same prompt again, read from the cache
    speed = estimate_speed(slow + cached)
    assert speed is not None and speed.prompt_tps == pytest.approx(250.0)


def test_a_call_with_no_first_token_counts_below_its_whole_time() -> None:
    # stopped at the first-token limit: read 500 tokens in more than 10 s (under 50 tokens/s)
    speed = estimate_speed([timing(500, None, 10_000.0, out=0)])
    assert speed is not None
    assert speed.prompt_tps == pytest.approx(50.0 * UNFINISHED_FACTOR)
    assert speed.generation_tps is None
    # the next context is cut well below a prompt that did not start in time
    big = estimate_speed([timing(2000, None, 10_000.0, out=0)])
    assert local_context_budget(big, 10.0, ceiling=8000) * 2 <= 2000


def test_budget_fits_prompt_reading_into_the_first_token_budget() -> None:
    speed = Speed(prompt_tps=250.0, generation_tps=40.0, samples=5)
    budget = local_context_budget(speed, 10.0, ceiling=8000, fixed_tokens=200)
    assert budget == int(250 * 10 * PROMPT_SHARE) - 200
    # prompt reading time with this budget stays within the share of the first-token budget
    assert (budget + 200) / speed.prompt_tps <= 10.0 * PROMPT_SHARE


def test_slower_model_smaller_context_and_ceiling_holds() -> None:
    fast = local_context_budget(Speed(5000.0, None, 3), 10.0, ceiling=8000)
    medium = local_context_budget(Speed(400.0, None, 3), 10.0, ceiling=8000)
    slow = local_context_budget(Speed(40.0, None, 3), 10.0, ceiling=8000)
    assert fast == 8000  # a GPU reads the whole configured budget in time
    assert fast > medium > slow
    assert slow == MIN_CONTEXT_TOKENS  # never below the builder's floor


def test_default_speed_before_any_measurement() -> None:
    assert local_context_budget(None, 10.0, ceiling=8000) == int(
        DEFAULT_PROMPT_TPS * 10.0 * PROMPT_SHARE)
    # no first-token budget for the tier: nothing to fit, the configured budget
    assert local_context_budget(None, None, ceiling=8000) == 8000
    assert local_context_budget(Speed(10.0, None, 1), None, ceiling=3000) == 3000


def test_prefix_cached_tokens_are_nearly_free() -> None:
    speed = Speed(prompt_tps=200.0, generation_tps=None, samples=4)
    cold = local_context_budget(speed, 10.0, ceiling=8000)
    warm = local_context_budget(speed, 10.0, ceiling=8000, reused_tokens=600)
    assert warm == int(600 + cold - 600 * CACHED_COST)
    assert warm > cold
    # cached tokens beyond what even their small cost allows are not all counted
    huge = local_context_budget(speed, 10.0, ceiling=10**9, reused_tokens=10**7)
    assert huge == int(200 * 10 * PROMPT_SHARE / CACHED_COST)
