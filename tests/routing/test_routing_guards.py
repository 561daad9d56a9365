"""Budget, cool-downs and the response cache (real SQLite), each on its own."""

from __future__ import annotations

from pathlib import Path

from lsp_server.config import BudgetSettings, CacheSettings, ModelSettings
from lsp_server.providers.base import Prompt, Usage
from lsp_server.routing.answers import judge_answer
from lsp_server.routing.budget import Budget
from lsp_server.routing.cache import ResponseCache
from lsp_server.routing.health import Health

MODEL = ModelSettings(name="m", provider="openai", model="gpt-4.1-mini", tier="budget")


def test_budget_blocks_paid_calls_but_never_free_ones() -> None:
    budget = Budget(BudgetSettings(daily_usd=0.10))
    assert budget.check(spent_today=0.02, spent_request=0.0, estimate=0.01).allowed
    blocked = budget.check(spent_today=0.095, spent_request=0.0, estimate=0.01)
    assert not blocked.allowed and blocked.reason and "daily budget" in blocked.reason
    assert budget.check(spent_today=5.0, spent_request=0.0, estimate=0.0).allowed


def test_per_request_cap() -> None:
    budget = Budget(BudgetSettings(daily_usd=10.0, per_request_usd=0.01))
    check = budget.check(spent_today=0.0, spent_request=0.008, estimate=0.004)
    assert not check.allowed and check.reason and "per-request" in check.reason


def test_unpriced_model_is_allowed_with_a_warning() -> None:
    check = Budget(BudgetSettings(daily_usd=1.0)).check(spent_today=0.0, spent_request=0.0, estimate=None)
    assert check.allowed and check.reason and "no known price" in check.reason


def test_cooldown_after_repeated_failures_and_recovery() -> None:
    now = [100.0]
    health = Health(failures_before_cooldown=2, cooldown_seconds=30.0, clock=lambda: now[0])
    assert not health.failure("groq", "RetryableProviderError")
    assert health.available("groq")
    assert health.failure("groq", "RetryableProviderError")
    assert not health.available("groq")
    assert 29.0 < health.cooling("groq") <= 30.0
    now[0] += 31.0
    assert health.available("groq")


def test_retry_after_cools_down_at_once_and_success_resets() -> None:
    now = [0.0]
    health = Health(failures_before_cooldown=5, cooldown_seconds=60.0, clock=lambda: now[0])
    assert health.failure("a", "RateLimitedError", retry_after=7.0)
    assert not health.available("a")
    now[0] = 8.0
    assert health.available("a")
    health.failure("a", "x")
    health.success("a")
    assert health.cooling("a") == 0.0


def test_cache_round_trip_key_ttl_and_size(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3", CacheSettings(ttl_seconds=3600, max_entries=2))
    p1 = Prompt(system="s", stable="ctx", instruction="fix it")
    cache.put(MODEL, p1, "answer", Usage(input=100, output=20), "stop")
    hit = cache.get(MODEL, p1)
    assert hit is not None and hit.text == "answer" and hit.usage == Usage(input=100, output=20)
    assert cache.get(MODEL, Prompt(system="s", stable="ctx", instruction="fix it!")) is None
    other = MODEL.model_copy(update={"model": "gpt-4.1"})
    assert cache.get(other, p1) is None
    for i in range(3):
        cache.put(MODEL, Prompt(system="s", instruction=str(i)), "a", Usage())
    assert len(cache) == 2
    cache.close()


def test_cache_expired_entries_miss(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3", CacheSettings(ttl_seconds=0, max_entries=10))
    p = Prompt(system="s", instruction="q")
    cache.put(MODEL, p, "a", Usage())
    assert cache.get(MODEL, p) is None
    cache.close()


def test_prose_answers_are_judged_by_measured_signals() -> None:
    good, _ = judge_answer("`area` multiplies pi by the squared radius and returns it.", "stop")
    cut, reasons = judge_answer("`area` multiplies pi by the squared radius and", "length")
    empty, _ = judge_answer("   ")
    refusal, _ = judge_answer("I'm sorry, I cannot help with that request today.")
    assert good >= 0.9 > cut and empty == 0.0 and refusal < 0.5
    assert any("cut off" in r for r in reasons)
