"""The one savings policy and the one recorder: what a request cost, what it would have cost on
the premium model, and the rows every path writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.assistant.models import ModelPool
from lsp_server.assistant.recording import RequestRecorder
from lsp_server.config import ModelSettings, PriceOverride, Settings, SettingsSource
from lsp_server.context.tokens import count_tokens
from lsp_server.ledger.prices import DEFAULT_PREMIUM, PriceBook
from lsp_server.ledger.savings import CL100K_PER_ESTIMATE, SavingsPolicy, estimated_tokens
from lsp_server.ledger.store import Ledger
from lsp_server.ledger.writer import LedgerWriter
from lsp_server.providers.base import Usage
from lsp_server.providers.discovery import DEFAULT_MODELS
from lsp_server.routing.attempts import AttemptInfo

# A premium model at $10 in / $50 out per million tokens, so figures are easy to check.
PREMIUM = ModelSettings(name="p", provider="anthropic", model="p-model", tier="premium",
                        price=PriceOverride(input=10.0, output=50.0))
SETTINGS = Settings(models=(PREMIUM,))


def premium_of(usage: Usage) -> float:
    return (usage.input * 10.0 + usage.output * 50.0) / 1e6


def attempt(*, cost: float | None, usage: Usage, error: str | None = None, cached: bool = False,
            answer_usage: Usage | None = None, provider: str = "m") -> AttemptInfo:
    return AttemptInfo(provider, "model", "free", None, [], usage, cost, 1.0, error, cached=cached,
                       answer_usage=answer_usage)


POLICY = SavingsPolicy(PriceBook(SETTINGS))
FAILED = attempt(cost=0.0, usage=Usage(), error="RetryableProviderError: 503")
REJECTED = attempt(cost=0.001, usage=Usage(input=1000, output=100))
ACCEPTED = attempt(cost=0.002, usage=Usage(input=2000, output=200))
# The accepted call's prompt and answer counted for the premium model's tokenizer.
ESTIMATE = Usage(input=1500, output=120)


def test_an_accepted_request_is_priced_on_its_answer_in_the_premium_models_tokens() -> None:
    cost = POLICY.request([FAILED, REJECTED, ACCEPTED], ACCEPTED, ESTIMATE)
    assert cost.cost_usd == pytest.approx(0.003)
    # the cheap model's own token counts (another tokenizer) are not the premium model's
    assert cost.premium_cost_usd == pytest.approx(premium_of(ESTIMATE))


def test_the_premium_models_own_answer_is_priced_on_its_reported_tokens() -> None:
    own = attempt(cost=0.03, usage=Usage(input=2100, output=230), provider="p")
    cost = POLICY.request([REJECTED, own], own, ESTIMATE)
    assert cost.premium_cost_usd == pytest.approx(premium_of(own.usage))


def test_a_request_without_an_accepted_answer_has_no_premium_equivalent() -> None:
    rejected = POLICY.request([REJECTED, FAILED], None)
    assert rejected.cost_usd == pytest.approx(0.001) and rejected.premium_cost_usd is None
    failed = POLICY.request([FAILED], None)
    assert failed.cost_usd == 0.0 and failed.premium_cost_usd is None
    assert POLICY.unfinished([REJECTED]).premium_cost_usd is None


def test_a_cache_hit_is_valued_at_its_prompt_and_answer() -> None:
    hit = attempt(cost=0.0, usage=Usage(), cached=True, answer_usage=Usage(input=500, output=50))
    cost = POLICY.request([hit], hit, ESTIMATE)
    assert cost.cost_usd == 0.0
    assert cost.premium_cost_usd == pytest.approx(premium_of(ESTIMATE))


def test_an_unpriced_attempt_adds_nothing_to_the_cost() -> None:
    unpriced = attempt(cost=None, usage=Usage(input=10, output=10))
    assert POLICY.request([unpriced, REJECTED], None).cost_usd == pytest.approx(0.001)


def test_the_baseline_is_the_premium_model_the_router_uses() -> None:
    """With discovered models the premium route is the discovered premium model: the savings
    baseline is that model, not the reference default."""
    other = ModelSettings(name="q", provider="anthropic", model="q-model", tier="premium",
                          price=PriceOverride(input=1.0, output=5.0))
    policy = SavingsPolicy(PriceBook(SETTINGS), lambda: other)
    assert policy.premium_model is other
    cost = policy.request([ACCEPTED], ACCEPTED, ESTIMATE)
    assert cost.premium_cost_usd == pytest.approx(premium_of(ESTIMATE) / 10)
    pool = ModelPool(SettingsSource(Settings()),
                     {"ANTHROPIC_API_KEY": "k", "OLLAMA_HOST": "127.0.0.1:9"})
    discovered = next(m for m in DEFAULT_MODELS if m.tier == "premium")
    assert pool.premium_model() == discovered != DEFAULT_PREMIUM
    assert pool.prices.premium_model == DEFAULT_PREMIUM  # what the old baseline was


def test_premium_tokens_are_the_estimate_scaled_to_a_real_tokenizer() -> None:
    text = "fn main() {\n    println!(\"hello, world\");\n}\n" * 20
    usage = POLICY.premium_usage(text, "ok")
    assert usage.input == round(count_tokens(text) * CL100K_PER_ESTIMATE) < count_tokens(text)
    assert usage.output == estimated_tokens("ok")


def test_the_recorder_writes_one_request_its_attempts_and_its_costs(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    with Ledger.open(path, SETTINGS) as ledger:
        writer = LedgerWriter(lambda: ledger)
        recorder = RequestRecorder(writer, POLICY, request_id="r" * 16, kind="fix",
                                   workspace="/w", classification="edit:free", reasons=["x"])
        recorder.attempt(REJECTED, estimate=Usage(input=900, output=90))
        recorder.attempt(ACCEPTED, estimate=ESTIMATE)
        cost = recorder.finish("accepted", ACCEPTED, 12.0)
        assert writer.flush(10)
        row = ledger.request("r" * 16)
        index = RequestRecorder(writer, POLICY, request_id="i" * 16, kind="search",
                                workspace="/w", classification="search:index", reasons=[])
        replaced = index.answered_by_index(Usage(input=3000, output=40), 2.0)
        assert writer.flush(10)
        index_row = ledger.request("i" * 16)
        gone = RequestRecorder(writer, POLICY, request_id="c" * 16, kind="ask", workspace="/w",
                               classification="ask:free", reasons=[])
        gone.attempt(REJECTED)
        gone.abandon("cancelled", 5.0)
        writer.close()
        gone_row = ledger.request("c" * 16)
    assert (writer.written, writer.lost) == (9, 0)  # 4 + 2 + 3 rows written, none lost
    assert row is not None and row["outcome"] == "accepted" and row["attempt_count"] == 2
    assert row["cost_usd"] == pytest.approx(cost.cost_usd)
    assert row["premium_cost_usd"] == pytest.approx(premium_of(ESTIMATE))
    assert cost.premium_cost_usd == pytest.approx(premium_of(ESTIMATE))
    assert row["answered_model"] == "model"
    assert index_row is not None and index_row["outcome"] == "index" and index_row["cost_usd"] == 0
    assert index_row["premium_cost_usd"] == pytest.approx(replaced.premium_cost_usd)
    assert replaced.premium_cost_usd == pytest.approx(premium_of(Usage(input=3000, output=40)))
    assert gone_row is not None and gone_row["outcome"] == "cancelled"
    assert gone_row["cost_usd"] == pytest.approx(0.001) and gone_row["premium_cost_usd"] is None
