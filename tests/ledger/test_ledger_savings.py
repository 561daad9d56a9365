"""The one savings policy and the one recorder: what a request cost, what it would have cost on
the premium model, and the rows every path writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.assistant.recording import RequestRecorder
from lsp_server.config import ModelSettings, PriceOverride, Settings
from lsp_server.ledger.prices import PriceBook
from lsp_server.ledger.savings import SavingsPolicy
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Usage
from lsp_server.routing.router import AttemptInfo

# A premium model at $10 in / $50 out per million tokens, so figures are easy to check.
PREMIUM = ModelSettings(name="p", provider="anthropic", model="p-model", tier="premium",
                        price=PriceOverride(input=10.0, output=50.0))
SETTINGS = Settings(models=(PREMIUM,))


def premium_of(usage: Usage) -> float:
    return (usage.input * 10.0 + usage.output * 50.0) / 1e6


def attempt(*, cost: float | None, usage: Usage, error: str | None = None, cached: bool = False,
            answer_usage: Usage | None = None) -> AttemptInfo:
    return AttemptInfo("m", "model", "free", None, [], usage, cost, 1.0, error, cached=cached,
                       answer_usage=answer_usage)


POLICY = SavingsPolicy(PriceBook(SETTINGS))
FAILED = attempt(cost=0.0, usage=Usage(), error="RetryableProviderError: 503")
REJECTED = attempt(cost=0.001, usage=Usage(input=1000, output=100))
ACCEPTED = attempt(cost=0.002, usage=Usage(input=2000, output=200))


def test_an_accepted_request_is_priced_on_its_answer() -> None:
    cost = POLICY.request([FAILED, REJECTED, ACCEPTED], ACCEPTED)
    assert cost.cost_usd == pytest.approx(0.003)
    assert cost.premium_cost_usd == pytest.approx(premium_of(Usage(input=2000, output=200)))


def test_a_rejected_request_is_priced_on_its_last_answer_and_a_failed_one_not_at_all() -> None:
    rejected = POLICY.request([REJECTED, FAILED], None)
    assert rejected.premium_cost_usd == pytest.approx(premium_of(REJECTED.usage))
    failed = POLICY.request([FAILED], None)
    assert failed.cost_usd == 0.0 and failed.premium_cost_usd is None
    assert POLICY.unfinished([REJECTED]).premium_cost_usd is None


def test_a_cache_hit_counts_the_tokens_of_the_call_that_made_the_answer() -> None:
    hit = attempt(cost=0.0, usage=Usage(), cached=True, answer_usage=Usage(input=500, output=50))
    cost = POLICY.request([hit], hit)
    assert cost.cost_usd == 0.0
    assert cost.premium_cost_usd == pytest.approx(premium_of(Usage(input=500, output=50)))


def test_an_unpriced_attempt_adds_nothing_to_the_cost() -> None:
    unpriced = attempt(cost=None, usage=Usage(input=10, output=10))
    assert POLICY.request([unpriced, REJECTED], None).cost_usd == pytest.approx(0.001)


def test_the_recorder_writes_one_request_its_attempts_and_its_costs(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3", SETTINGS) as ledger:
        recorder = RequestRecorder(ledger, POLICY, request_id="r" * 16, kind="fix",
                                   workspace="/w", classification="edit:free", reasons=["x"])
        recorder.attempt(REJECTED)
        recorder.attempt(ACCEPTED)
        cost = recorder.finish("accepted", ACCEPTED, 12.0)
        row = ledger.request("r" * 16)
        index = RequestRecorder(ledger, POLICY, request_id="i" * 16, kind="search",
                                workspace="/w", classification="search:index", reasons=[])
        replaced = index.answered_by_index(Usage(input=3000, output=40), 2.0)
        index_row = ledger.request("i" * 16)
        gone = RequestRecorder(ledger, POLICY, request_id="c" * 16, kind="ask", workspace="/w",
                               classification="ask:free", reasons=[])
        gone.attempt(REJECTED)
        gone.abandon("cancelled", 5.0)
        gone_row = ledger.request("c" * 16)
    assert row is not None and row["outcome"] == "accepted" and row["attempt_count"] == 2
    assert row["cost_usd"] == pytest.approx(cost.cost_usd)
    assert row["premium_cost_usd"] == pytest.approx(cost.premium_cost_usd)
    assert index_row is not None and index_row["outcome"] == "index" and index_row["cost_usd"] == 0
    assert index_row["premium_cost_usd"] == pytest.approx(replaced.premium_cost_usd)
    assert replaced.premium_cost_usd == pytest.approx(premium_of(Usage(input=3000, output=40)))
    assert gone_row is not None and gone_row["outcome"] == "cancelled"
    assert gone_row["cost_usd"] == pytest.approx(0.001) and gone_row["premium_cost_usd"] is None
